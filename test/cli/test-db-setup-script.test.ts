import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { TABLES } from '../../src/db/tables.js';

// scripts/test-db-setup.sh, run as an operator runs it. Databases it creates
// are named attune_cli_test_<random> and dropped after the file.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = path.join(ROOT, 'scripts/test-db-setup.sh');
const { adminUrl } = inject('attuneTemplate');
const scratch: string[] = [];

afterAll(async () => {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    for (const name of scratch) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
});

function script(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  // Start from a clean slate: the variables the script reads come from `env` only.
  for (const name of Object.keys(base)) if (name.startsWith('ATTUNE__') || name.startsWith('POSTGRES_')) delete base[name];
  for (const name of ['NO_COLOR', 'FORCE_COLOR']) delete base[name];
  for (const [name, value] of Object.entries(env)) if (value !== undefined) base[name] = value;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT, ...args], { cwd: ROOT, env: base, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** POSTGRES_* variables for the test server and database `name`. */
function postgresVariables(name: string): Record<string, string> {
  const url = new URL(adminUrl);
  return {
    POSTGRES_HOST: url.hostname,
    POSTGRES_PORT: url.port || '5432',
    POSTGRES_USER: decodeURIComponent(url.username || 'postgres'),
    POSTGRES_PASSWORD: decodeURIComponent(url.password),
    POSTGRES_DB: name,
  };
}

describe('scripts/test-db-setup.sh', () => {
  it('help prints the usage, plain when piped', async () => {
    const run = await script(['help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: scripts\/test-db-setup\.sh \[command\]/);
    for (const command of ['setup', 'create', 'drop', 'reset', 'migrate', 'clean', 'verify', 'status', 'stop']) {
      expect(run.stdout).toMatch(new RegExp(`^ {2}${command} `, 'm'));
    }
    expect(run.stdout).not.toContain('\u001b[');
  });

  it('refuses an unknown command with exit 1', async () => {
    const run = await script(['explode']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("error: unknown command 'explode'");
  });

  it('builds the URL from POSTGRES_* and runs setup, status and drop through the CLI', async () => {
    const name = `attune_cli_test_${randomBytes(5).toString('hex')}`;
    scratch.push(name);
    const env = postgresVariables(name);

    const setup = await script(['setup'], env);
    expect(setup.stderr).toBe('');
    expect(setup.code).toBe(0);
    expect(setup.stdout).toContain(`✓ Created database ${name}`);
    expect(setup.stdout).toContain(`✓ Database ${name} is ready`);
    if (env.POSTGRES_PASSWORD) expect(setup.stdout).not.toContain(env.POSTGRES_PASSWORD);

    const status = await script(['status'], env);
    expect(status.code).toBe(0);
    const tables = status.stdout.split('\n').filter((line) => /^ {2}\S/.test(line));
    expect(tables.map((line) => line.trim().split(/\s+/)[0])).toEqual([...TABLES]);

    const drop = await script(['drop'], env);
    expect(drop.code).toBe(0);
    expect(drop.stdout).toContain(`✓ Dropped database ${name}`);
  }, 60_000);

  it('stop runs attune db stop on the embedded data folder, with no connection check', async () => {
    const dataDir = path.join(tmpdir(), `attune-script-stop-${randomBytes(4).toString('hex')}`);
    const run = await script(['stop'], { ATTUNE__DATABASE__EMBEDDED_DATA_DIR: dataDir });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`✓ No embedded PostgreSQL is running in ${dataDir}; nothing to stop\n`);
  });

  it('stops before the CLI when the server does not answer', async () => {
    const run = await script(['status'], { POSTGRES_HOST: '127.0.0.1', POSTGRES_PORT: '1' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('127.0.0.1:1');
    expect(run.stdout).not.toContain('Tables');
  });

  it('passes options through: drop of a non-test name needs --force', async () => {
    const run = await script(['drop'], { ...postgresVariables('attune_production') });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("Refusing to drop database 'attune_production'");
  });
});
