import { AssertionError } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../src/errors.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { expectErrorContains, expectErrorType } from '../../src/testing/assertions.js';
import { createTestPool, cleanDatabase } from '../../src/testing/database.js';
import { initTestEnv, loadTestConfig, resolveTestEnv } from '../../src/testing/env.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { PackFixture } from '../../src/testing/fixtures/packs.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { TestTransaction, withTestTransaction } from '../../src/testing/transaction.js';
import { withTransaction } from '../../src/db/transaction.js';

const pool = createTestPool();
afterAll(() => pool.end());

async function packExists(ref: string): Promise<boolean> {
  return (await pool.query('SELECT 1 FROM packs WHERE ref = $1', [ref])).rowCount === 1;
}

describe('withTestTransaction', () => {
  it('rolls back what the function wrote when it resolves', async () => {
    const ref = uniqueName('rolled');
    const seen = await withTestTransaction(pool, async (db) => {
      await new PackFixture(ref).create(db);
      return PackRepository.findByRef(db, ref);
    });
    expect(seen?.ref).toBe(ref);
    expect(await packExists(ref)).toBe(false);
  });

  it('rolls back and rethrows when the function throws', async () => {
    const ref = uniqueName('thrown');
    await expect(
      withTestTransaction(pool, async (db) => {
        await new PackFixture(ref).create(db);
        throw new Error('test failed midway');
      }),
    ).rejects.toThrow('test failed midway');
    expect(await packExists(ref)).toBe(false);
  });

  it('lets code under test nest transactions as savepoints inside it', async () => {
    const ref = uniqueName('nested');
    await withTestTransaction(pool, async (db) => {
      await withTransaction(db, (tx) => new PackFixture(ref).create(tx));
      expect(await PackRepository.findByRef(db, ref)).not.toBeNull();
    });
    expect(await packExists(ref)).toBe(false);
  });

  it('returns its client to the pool every time, whether the function resolves or throws', async () => {
    // One connection: a client kept after any call would leave none idle.
    const single = createTestPool({ maxConnections: 1 });
    try {
      for (let i = 0; i < 6; i++) {
        if (i % 2 === 0) {
          expect(await withTestTransaction(single, async (db) => (await db.query<{ n: number }>('SELECT $1::int AS n', [i])).rows[0]!.n)).toBe(i);
        } else {
          await expect(withTestTransaction(single, async () => Promise.reject(new Error(`failure ${i}`)))).rejects.toThrow(`failure ${i}`);
        }
        expect({ total: single.totalCount, idle: single.idleCount, waiting: single.waitingCount }).toEqual({ total: 1, idle: 1, waiting: 0 });
      }
    } finally {
      await single.end();
    }
  });
});

describe('TestTransaction', () => {
  it('rolls back on rollback() and tolerates a second call', async () => {
    const ref = uniqueName('manual');
    const tx = await TestTransaction.begin(pool);
    await new PackFixture(ref).create(tx.client);
    await tx.rollback();
    await tx.rollback();
    expect(await packExists(ref)).toBe(false);
  });

  it('survives a database error inside the transaction', async () => {
    const tx = await TestTransaction.begin(pool);
    await expect(tx.client.query('SELECT 1/0')).rejects.toThrow('division by zero');
    await tx.rollback();
    expect((await pool.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
  });
});

describe('cleanDatabase', () => {
  it('empties every table, children first, so foreign keys never get in the way', async () => {
    const pack = await new PackFixture().create(pool);
    await pool.query(`INSERT INTO actions (pack_id, pack_ref, name, ref, runner_type) VALUES ($1, $2, 'a', $2 || '.a', 'noop')`, [pack.id, pack.ref]);
    await pool.query(`INSERT INTO identities (login) VALUES ($1)`, [uniqueName('user')]);
    await cleanDatabase(pool);
    const counts = await pool.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM packs) + (SELECT count(*) FROM actions) + (SELECT count(*) FROM identities) AS n`,
    );
    expect(counts.rows[0]!.n).toBe(0);
    const history = await pool.query<{ n: number }>('SELECT count(*) AS n FROM schema_migrations');
    expect(history.rows[0]!.n).toBeGreaterThan(0);
  });
});

describe('expectErrorContains and expectErrorType', () => {
  it('return the error when it matches', async () => {
    const error = await expectErrorType(Promise.reject(new NotFoundError('pack', 'id', 1)), NotFoundError);
    expect(error.field).toBe('id');
    expect((await expectErrorType(Promise.reject(new NotFoundError('pack', 'id', 1)), 'ATTUNE_NOT_FOUND')).entity).toBe('pack');
    expect((await expectErrorContains(() => Promise.reject(new Error('disk full')), 'disk')).message).toBe('disk full');
  });

  it('fail with a message saying what was expected and what came', async () => {
    await expect(expectErrorType(Promise.reject(new ValidationError('bad')), NotFoundError)).rejects.toThrow(
      'Expected NotFoundError, got ValidationError (ATTUNE_VALIDATION): bad',
    );
    await expect(expectErrorType(Promise.reject(new Error('plain')), 'ATTUNE_NOT_FOUND')).rejects.toThrow('Expected ATTUNE_NOT_FOUND, got Error');
    await expect(expectErrorContains(Promise.reject(new Error('other')), 'wanted')).rejects.toThrow('Expected an error containing "wanted"');
    await expect(expectErrorContains(Promise.resolve(1), 'x')).rejects.toBeInstanceOf(AssertionError);
    await expect(expectErrorType(Promise.resolve(1), NotFoundError)).rejects.toThrow('Expected the promise to reject');
  });
});

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const folders: string[] = [];
function folder(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'attune-kit-env-'));
  folders.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}
afterAll(() => folders.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Runs `script` (TypeScript, ESM) with tsx in `cwd`, with no ATTUNE__ variable but those in `env`. */
function runScript(cwd: string, script: string, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const file = path.join(cwd, 'script.mts');
  writeFileSync(file, script);
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ATTUNE__') && name !== 'NODE_ENV'));
  const result = spawnSync(path.join(repoRoot, 'node_modules/.bin/tsx'), [file], { cwd, env: { ...clean, ...env }, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('test environment', () => {
  /** The kit's settings as documented in test/README.md, written out here independently of the code. */
  const KIT_DEFAULTS = {
    ATTUNE__DATABASE__NAME: 'attune_test',
    ATTUNE__DATABASE__MAX_CONNECTIONS: '4',
    ATTUNE__DATABASE__LOG_STATEMENTS: 'true',
    ATTUNE__DATABASE__STATEMENT_TIMEOUT_MS: '30000',
    ATTUNE__LOG__LEVEL: 'info',
    ATTUNE__SECURITY__ENABLE_AUTH: 'false',
    ATTUNE__SECURITY__ENCRYPTION_KEY: 'test-only-encryption-key-0123456789abcdef',
  };

  it('a project without .env.test gets the kit defaults, not the production ones', () => {
    expect(resolveTestEnv({ cwd: folder(), env: {} })).toEqual(KIT_DEFAULTS);
    const config = loadConfig({ cwd: folder(), env: resolveTestEnv({ cwd: folder(), env: {} }), envFiles: [] });
    expect(config.database).toMatchObject({ name: 'attune_test', maxConnections: 4, logStatements: true, statementTimeoutMs: 30000 });
    expect(config.security.enableAuth).toBe(false);
    expect(config.log.level).toBe('info');
  });

  it("initTestEnv in a folder without .env.test (as in a pack author's project) yields the kit defaults", () => {
    // The kit as published: its code without Attune's .env.test anywhere near it.
    const published = folder({ 'package.json': '{"type":"module"}' });
    cpSync(path.join(repoRoot, 'src'), path.join(published, 'src'), { recursive: true });
    symlinkSync(path.join(repoRoot, 'node_modules'), path.join(published, 'node_modules'));
    const src = pathToFileURL(path.join(published, 'src/testing/env.ts')).href;
    const result = runScript(
      folder(),
      `import { loadTestConfig } from ${JSON.stringify(src)};
       const config = loadTestConfig();
       console.log(JSON.stringify({ database: config.database, enableAuth: config.security.enableAuth, level: config.log.level, nodeEnv: process.env.NODE_ENV }));`,
    );
    expect(result.stderr).toBe('');
    const seen = JSON.parse(result.stdout) as { database: Record<string, unknown> };
    expect('url' in seen.database).toBe(false);
    expect(seen).toMatchObject({
      database: { name: 'attune_test', maxConnections: 4, logStatements: true, statementTimeoutMs: 30000 },
      enableAuth: false,
      level: 'info',
      nodeEnv: 'test',
    });
  });

  it("a project's .env.test overrides the kit defaults, and real variables override both", () => {
    const dir = folder({ '.env.test': 'ATTUNE__DATABASE__MAX_CONNECTIONS=7\nATTUNE__DATABASE__NAME=pack_tests\nATTUNE__LOG__LEVEL=warn\n' });
    const resolved = resolveTestEnv({ cwd: dir, env: { ATTUNE__DATABASE__NAME: 'from_env' } });
    const { ATTUNE__DATABASE__NAME: setInTheEnvironment, ...others } = KIT_DEFAULTS;
    expect(setInTheEnvironment).toBe('attune_test');
    expect(resolved).toStrictEqual({ ...others, ATTUNE__DATABASE__MAX_CONNECTIONS: '7', ATTUNE__LOG__LEVEL: 'warn' });
  });

  it("Attune's own .env.test sets exactly the kit defaults (it is the example to copy)", () => {
    expect(resolveTestEnv({ cwd: repoRoot, env: {} })).toEqual(KIT_DEFAULTS);
  });

  it('initTestEnv never overrides a variable already set, and reads only once', () => {
    initTestEnv();
    // The harness set this worker's URL before any test file ran; .env.test has none.
    expect(loadTestConfig().database.url).toMatch(/_r[0-9a-z]+_\d+_\d+$/);
    process.env.ATTUNE__DATABASE__MAX_CONNECTIONS = '9';
    try {
      initTestEnv();
      expect(loadTestConfig().database.maxConnections).toBe(9);
    } finally {
      process.env.ATTUNE__DATABASE__MAX_CONNECTIONS = '4';
    }
  });

  it('gives each worker its own database', async () => {
    const name = (await pool.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    expect(name).toBe(new URL(process.env.ATTUNE__DATABASE__URL!).pathname.slice(1));
    expect(name).toMatch(new RegExp(`_${process.env.VITEST_POOL_ID ?? 1}$`));
  });

  it('makes fixture names unique across calls', () => {
    const names = new Set(Array.from({ length: 100 }, () => uniqueName('x')));
    expect(names.size).toBe(100);
  });
});

describe('createTestPool statement logging', () => {
  it('logs every statement with its duration at debug, never its values', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const logged = createTestPool({ logger: createLogger('debug', sink), maxConnections: 1 });
    try {
      await logged.query('SELECT $1::text AS secret_value', ['do-not-log-me']);
    } finally {
      await logged.end();
    }
    const statement = lines.find((line) => line.sql === 'SELECT $1::text AS secret_value');
    expect(statement).toMatchObject({ msg: 'sql', level: 20, ms: expect.any(Number) });
    expect(JSON.stringify(lines)).not.toContain('do-not-log-me');
  });

  it('writes to stderr when ATTUNE__LOG__LEVEL=debug, and stays quiet at the default level', () => {
    const src = pathToFileURL(path.join(repoRoot, 'src/testing/database.ts')).href;
    const script = `import { createTestPool } from ${JSON.stringify(src)};
      const pool = createTestPool();
      await pool.query('SELECT 40 + 2 AS answer');
      await pool.end();
      console.log('done');`;
    const url = process.env.ATTUNE__DATABASE__URL!;
    const debug = runScript(folder(), script, { ATTUNE__DATABASE__URL: url, ATTUNE__LOG__LEVEL: 'debug' });
    expect(debug.stdout.trim()).toBe('done');
    const sqlLines = debug.stderr.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(sqlLines).toContainEqual(expect.objectContaining({ msg: 'sql', sql: 'SELECT 40 + 2 AS answer' }));
    const quiet = runScript(folder(), script, { ATTUNE__DATABASE__URL: url });
    expect({ stdout: quiet.stdout.trim(), stderr: quiet.stderr }).toEqual({ stdout: 'done', stderr: '' });
  });
});
