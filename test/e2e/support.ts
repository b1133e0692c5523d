/*
 * Attune as a user runs it: `attune up` (or a role command) in a child
 * process, spoken to over HTTP on loopback. Used by test/e2e and
 * test/cli/up.test.ts.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePort } from '../../src/db/embedded.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'src/cli/main.ts');

/** A throwaway folder any user can enter (as root the embedded server runs as `postgres`, which must reach its data folder). */
export function scratchFolder(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), `attune-${prefix}-`));
  chmodSync(dir, 0o755);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Settings for an `attune up` of its own: data, CLI config and ports in `dir`, quick sweeps. */
export async function isolatedEnv(dir: string, extra: Record<string, string | undefined> = {}): Promise<Record<string, string | undefined>> {
  return {
    // Nested as the default .attune/postgres is, in a folder that does not exist yet (a fresh checkout).
    ATTUNE__DATABASE__EMBEDDED_DATA_DIR: path.join(dir, '.attune', 'postgres'),
    ATTUNE__DATABASE__EMBEDDED_PORT: String(await findFreePort()),
    ATTUNE__API__PORT: String(await findFreePort()),
    ATTUNE__WORKER__DATA_DIR: path.join(dir, 'data'),
    ATTUNE__SENSORS__DATA_DIR: path.join(dir, 'data'),
    ATTUNE_CLI_CONFIG: path.join(dir, 'cli', 'config.yaml'),
    ATTUNE__LOG__LEVEL: 'info',
    // As a user gets it: the test kit turns authentication off for in-process tests.
    ATTUNE__SECURITY__ENABLE_AUTH: 'true',
    // Neither the run's database nor the test kit's settings: each test says what it wants.
    ATTUNE__DATABASE__URL: undefined,
    DATABASE_URL: undefined,
    ...extra,
  };
}

/** A running `attune <args>` child: its output so far, and how it ended. */
export class AttuneProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  /** `group`: in a process group of its own, as a shell runs a command, so `stop(…, { group: true })` acts as a terminal's Ctrl-C. */
  constructor(args: string[], env: Record<string, string | undefined>, options: { group?: boolean } = {}) {
    const base: NodeJS.ProcessEnv = { ...process.env };
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined) delete base[name];
      else base[name] = value;
    }
    // One process (no tsx wrapper in between), so a signal sent to it is the one attune gets.
    this.child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: base, detached: options.group ?? false });
    this.child.stdout.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (code) => resolve(code));
    });
  }

  /** Resolves with the first stderr line matching `pattern`; rejects when the process exits first. */
  async waitForMessage(pattern: RegExp): Promise<RegExpMatchArray> {
    for (;;) {
      const match = this.stderr.match(pattern);
      if (match) return match;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`attune exited (${this.child.exitCode ?? this.child.signalCode}) before printing ${pattern}:\n${this.stderr}\n${this.stdout.slice(-4000)}`);
      }
      await sleep(25);
    }
  }

  /** Resolves once a JSON log line's msg starts with `prefix`. */
  async waitForLog(prefix: string): Promise<Record<string, unknown>> {
    for (;;) {
      const line = this.logLines().find((entry) => typeof entry.msg === 'string' && entry.msg.startsWith(prefix));
      if (line) return line;
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`attune exited before logging '${prefix}':\n${this.stderr}`);
      await sleep(25);
    }
  }

  /** The JSON log lines on stdout so far. */
  logLines(): Array<Record<string, unknown>> {
    return this.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Sends `signal` (to its whole process group with `group`) and resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', options: { group?: boolean } = {}): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      if (options.group) process.kill(-this.child.pid!, signal);
      else this.child.kill(signal);
    }
    return this.exited;
  }
}

/** `attune up` started, and ready: its API URL (from the banner on stderr). */
export async function startUp(
  env: Record<string, string | undefined>,
  args: string[] = [],
  options: { group?: boolean } = {},
): Promise<{ up: AttuneProcess; apiUrl: string }> {
  const up = new AttuneProcess(['up', ...args], env, options);
  // The banner's last line: everything above it (URLs, the first admin) has been printed.
  await up.waitForMessage(/Ctrl-C stops Attune/);
  const [, apiUrl] = await up.waitForMessage(/API +(http:\/\/\S+)\/api\/v1/);
  return { up, apiUrl: apiUrl! };
}

/** A JSON request to the API; `token` as a bearer. Resolves with the status and the parsed body. */
export async function api(
  baseUrl: string,
  method: string,
  route: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; text: string }> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(`${baseUrl}${route}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text };
}

/** Waits until `check` returns a value other than undefined or false, re-checking every 100 ms (the test's timeout bounds it). */
export async function eventually<T>(check: () => Promise<T | undefined | false>): Promise<T> {
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    await sleep(100);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
