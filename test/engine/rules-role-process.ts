/* Runs `attune rules` in a child process, as an operator would, and reads its JSON log lines. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'src/cli/main.ts');

/** A running `attune <role>` child. */
export class RoleProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: Record<string, string | undefined>) {
    const base: NodeJS.ProcessEnv = { ...process.env, ATTUNE__LOG__LEVEL: 'info' };
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined) delete base[name];
      else base[name] = value;
    }
    this.child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: base });
    this.child.stdout.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (code) => resolve(code));
    });
  }

  /** The JSON log lines written so far. */
  logLines(): Array<Record<string, unknown>> {
    return this.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Resolves once a log line's msg starts with `prefix`; rejects if the process exits first. */
  async waitForLog(prefix: string): Promise<Record<string, unknown>> {
    for (;;) {
      const line = this.logLines().find((entry) => typeof entry.msg === 'string' && entry.msg.startsWith(prefix));
      if (line) return line;
      if (this.child.exitCode !== null) throw new Error(`attune exited (${this.child.exitCode}) before logging '${prefix}': ${this.stderr}${this.stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Waits until `check` holds, re-checking every 50 ms (the test's own timeout bounds it). */
export async function eventually(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 50));
}
