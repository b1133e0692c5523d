import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findFreePort, runningEmbeddedServer } from '../../src/db/embedded.js';
import { TABLES } from '../../src/db/tables.js';

// End to end: the real entry point in a child process, as an operator runs it.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'src/cli/main.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `attune <args>` with a clean environment: no colour settings, log level info, and `env` on top. */
function attune(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const base: NodeJS.ProcessEnv = { ...process.env, ATTUNE__LOG__LEVEL: 'info' };
  for (const name of ['NO_COLOR', 'FORCE_COLOR', 'ATTUNE_CONFIG']) delete base[name];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete base[name];
    else base[name] = value;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: base, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function workerUrl(): string {
  const url = process.env.ATTUNE__DATABASE__URL;
  if (!url) throw new Error('the test harness sets ATTUNE__DATABASE__URL per worker');
  return url;
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

describe('attune db (the real CLI)', () => {
  it('status on the worker database: exit 0, every table in order, plain text on a pipe', async () => {
    const run = await attune(['db', 'status'], { ATTUNE__DATABASE__URL: workerUrl() });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Server\s+PostgreSQL \S+ at /m);
    expect(run.stdout).toMatch(/^Migrations \d+ applied .*, none pending$/m);
    const tableLines = run.stdout.split('\n').filter((line) => /^ {2}\S/.test(line));
    expect(tableLines.map((line) => line.trim().split(/\s+/)[0])).toEqual([...TABLES]);
    expect(run.stdout).not.toContain('\u001b[');
  });

  it('verify on the worker database passes; FORCE_COLOR colours it', async () => {
    const run = await attune(['db', 'verify'], { ATTUNE__DATABASE__URL: workerUrl(), FORCE_COLOR: '1' });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('\u001b[32m✓\u001b[39m');
    expect(run.stdout).toContain('matches the schema');
  });

  it('an unreachable server: one line naming host and port, exit 1, no stack', async () => {
    const run = await attune(['db', 'status'], { ATTUNE__DATABASE__URL: 'postgres://postgres@127.0.0.1:1/x' });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: Cannot connect to PostgreSQL at 127\.0\.0\.1:1 .*is PostgreSQL running and listening on 127\.0\.0\.1:1\?$/);
  });

  it('a malformed ATTUNE__DATABASE__URL: one line naming the setting, exit 1', async () => {
    const run = await attune(['db', 'status'], { ATTUNE__DATABASE__URL: 'not a url' });
    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split('\n')).toEqual([
      'error: Invalid setting ATTUNE__DATABASE__URL: is not a valid URL; expected postgres://user@host:5432/database',
    ]);
  });

  it('--url overrides ATTUNE__DATABASE__URL and is named when malformed', async () => {
    const good = await attune(['db', 'status', '--url', workerUrl()], { ATTUNE__DATABASE__URL: 'postgres://postgres@127.0.0.1:1/x' });
    expect(good.code).toBe(0);
    const bad = await attune(['db', '--url', 'mysql://h/db', 'status']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("error: Invalid setting --url: must start with postgres:// or postgresql://, got 'mysql://'\n");
  });

  it('drop of a non-test name is refused before any connection, exit 1', async () => {
    const run = await attune(['db', 'drop'], { ATTUNE__DATABASE__URL: 'postgres://postgres@127.0.0.1:1/attune_production' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: Refusing to drop database 'attune_production': .*pass --force to drop it anyway\n$/);
  });

  it('--help describes every command; an unknown command fails', async () => {
    const help = await attune(['db', '--help']);
    expect(help.code).toBe(0);
    for (const command of ['setup', 'create', 'drop', 'reset', 'migrate', 'clean', 'verify', 'status', 'stop']) {
      expect(help.stdout).toMatch(new RegExp(`^ {2}${command}\\b`, 'm'));
    }
    expect(help.stdout).toContain('ATTUNE__DATABASE__URL');
    const dropHelp = await attune(['db', 'drop', '--help']);
    expect(dropHelp.stdout).toContain('--force');
    const unknown = await attune(['db', 'explode']);
    expect(unknown.code).toBe(2); // a usage error
    expect(unknown.stderr).toContain("unknown command 'explode'");
  });

  it('embedded mode: setup and status start the server in the data folder and stop it after', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'attune-cli-embedded-'));
    // As root the server runs as another OS user, who must be able to enter the folder.
    chmodSync(root, 0o755);
    const port = await findFreePort();
    const env = {
      ATTUNE__DATABASE__URL: undefined,
      ATTUNE__DATABASE__EMBEDDED_DATA_DIR: path.join(root, 'data'),
      ATTUNE__DATABASE__EMBEDDED_PORT: String(port),
      ATTUNE__DATABASE__NAME: 'attune_cli_test_embedded',
    };
    try {
      const setup = await attune(['db', 'setup'], env);
      expect(setup.stderr).toBe('');
      expect(setup.code).toBe(0);
      expect(setup.stdout).toContain(`Started embedded PostgreSQL at 127.0.0.1:${port}`);
      expect(setup.stdout).toContain('✓ Created database attune_cli_test_embedded');
      expect(setup.stdout).toMatch(/✓ Database attune_cli_test_embedded is ready: applied \d+ migrations/);
      expect(existsSync(path.join(root, 'data', 'PG_VERSION'))).toBe(true);
      expect(await portIsFree(port)).toBe(true);

      const status = await attune(['db', 'status'], env);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(new RegExp(`^Server\\s+PostgreSQL \\S+ at 127\\.0\\.0\\.1:${port} \\(embedded, data in `, 'm'));
      expect(status.stdout).toMatch(/^Database\s+attune_cli_test_embedded /m);
      expect(status.stdout).toContain('none pending');
      expect(await portIsFree(port)).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 120_000);

  it('a server left running by a killed command: later commands name it and how to stop it; db stop stops it', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'attune-cli-leftover-'));
    chmodSync(root, 0o755);
    const dataDir = path.join(root, 'data');
    const port = await findFreePort();
    const env = {
      ATTUNE__DATABASE__URL: undefined,
      ATTUNE__DATABASE__EMBEDDED_DATA_DIR: dataDir,
      ATTUNE__DATABASE__EMBEDDED_PORT: String(port),
      ATTUNE__DATABASE__NAME: 'attune_cli_test_leftover',
    };
    // A command killed while its server runs: start one in a child process, then SIGKILL the child.
    const script = `
      const { EmbeddedServer } = await import('./src/db/embedded.ts');
      await new EmbeddedServer({ dataDir: process.env.DATA_DIR, port: Number(process.env.PORT), durability: 'none' }).start();
      console.log('ready');
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: dataDir, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
        child.once('exit', (code) => reject(new Error(`the child exited (${code}) before its server was ready`)));
      });
      const killed = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await killed;
      const leftover = runningEmbeddedServer(dataDir);
      expect(leftover?.port).toBe(port);

      const status = await attune(['db', 'status'], env);
      expect(status.code).toBe(1);
      expect(status.stdout).toBe('');
      expect(status.stderr).toBe(
        `error: Attune's embedded PostgreSQL for ${dataDir} is already running (pid ${leftover!.pid}, port ${port}): another command is using it, ` +
          "or one that was killed left it running; stop it with 'attune db stop' (in a checkout: npm run db:stop), then try again\n",
      );

      const stop = await attune(['db', 'stop'], env);
      expect(stop.stderr).toBe('');
      expect(stop.code).toBe(0);
      expect(stop.stdout).toBe(`✓ Stopped the embedded PostgreSQL in ${dataDir} (pid ${leftover!.pid}, port ${port})\n`);
      expect(runningEmbeddedServer(dataDir)).toBeUndefined();
      expect(await portIsFree(port)).toBe(true);

      // Commands work again; the database was never created, and the advice names the command that works here.
      const again = await attune(['db', 'status'], env);
      expect(again.code).toBe(1);
      expect(again.stdout).toContain("✗ Database attune_cli_test_leftover does not exist; run 'npm run db:setup'");
      expect(await portIsFree(port)).toBe(true);
    } finally {
      child.kill('SIGKILL');
      await attune(['db', 'stop'], env);
      rmSync(root, { recursive: true, force: true });
    }
  }, 120_000);
});
