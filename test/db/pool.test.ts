import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { checkConnection, createPool, describeConnectionFailure } from '../../src/db/pool.js';
import { createLogger } from '../../src/log.js';
import { DatabaseUnavailableError } from '../../src/errors.js';
import { expectErrorType } from '../../src/testing/assertions.js';

const url = process.env.ATTUNE__DATABASE__URL!;
const pools: { end(): Promise<void> }[] = [];
afterAll(async () => {
  for (const pool of pools) await pool.end();
});

describe('createPool', () => {
  it('sets search_path to the attune schema and returns BIGINTs as numbers', async () => {
    const pool = createPool({ url, maxConnections: 2 });
    pools.push(pool);
    const result = await pool.query<{ path: string; big: number; n: number }>(
      `SELECT current_setting('search_path') AS path, 9007199254740991::bigint AS big, count(*) AS n FROM (VALUES (1), (2)) v`,
    );
    expect(result.rows[0]).toEqual({ path: 'attune,public', big: Number.MAX_SAFE_INTEGER, n: 2 });
    // Unqualified names resolve in the attune schema.
    expect((await pool.query(`SELECT to_regclass('packs')::text AS t`)).rows[0]).toEqual({ t: 'packs' });
    expect((await pool.query(`SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = 'packs'::regclass`)).rows[0]).toEqual({ nspname: 'attune' });
  });

  it('refuses a BIGINT beyond the safe integer range instead of rounding it', async () => {
    const pool = createPool({ url, maxConnections: 1 });
    pools.push(pool);
    await expect(pool.query('SELECT 9007199254740993::bigint AS big')).rejects.toThrow('safe integer');
  });

  it('applies the statement timeout', async () => {
    const pool = createPool({ url, maxConnections: 1, statementTimeoutMs: 50 });
    pools.push(pool);
    await expect(pool.query('SELECT pg_sleep(1)')).rejects.toThrow(/statement timeout/);
  });

  it('logs statement text and duration when asked, never parameter values', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const pool = createPool({ url, maxConnections: 1, logStatements: true, logger: createLogger('debug', sink) });
    pools.push(pool);
    await pool.query('SELECT $1::text AS secret_value', ['hunter2-parameter']);
    await new Promise((resolve) => setImmediate(resolve));
    const logged = lines.join('');
    expect(logged).toContain('SELECT $1::text AS secret_value');
    expect(logged).toContain('"ms"');
    expect(logged).not.toContain('hunter2-parameter');
  });
});

describe('checkConnection', () => {
  it('reports the server version of a reachable server', async () => {
    const { serverVersion } = await checkConnection(url);
    expect(serverVersion).toMatch(/^\d+/);
  });

  it('turns a refused connection into one line naming host and port and what to check', async () => {
    const error = await expectErrorType(checkConnection('postgres://postgres:pw@127.0.0.1:1/attune', 2000), DatabaseUnavailableError);
    expect(error.message).toContain('127.0.0.1:1');
    expect(error.message).toContain('is PostgreSQL running');
    expect(error.message).not.toContain('pw@');
    expect(error.message.split('\n')).toHaveLength(1);
  });

  it('explains a missing database', async () => {
    const error = await expectErrorType(checkConnection(url.replace(/\/[^/?]+(\?|$)/, '/attune_missing_db$1')), DatabaseUnavailableError);
    expect(error.message).toContain("database 'attune_missing_db' does not exist");
  });

  it('gives a hint for unknown hosts, bad passwords and time-outs', () => {
    const base = 'postgres://u:p@db.invalid:5432/x';
    expect(describeConnectionFailure(base, Object.assign(new Error('getaddrinfo'), { code: 'ENOTFOUND' })).message).toContain("host name 'db.invalid'");
    expect(describeConnectionFailure(base, Object.assign(new Error('auth'), { code: '28P01' })).message).toContain('user name and password');
    expect(describeConnectionFailure(base, new Error('Connection terminated due to connection timeout')).message).toContain('no answer in time');
  });

  it('names the server a ?host= / ?port= parameter selects, as the driver connects there', () => {
    const error = describeConnectionFailure('postgres://u@a.example:5433/x?host=b.example&port=6543', Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
    expect(error.message).toContain('Cannot connect to PostgreSQL at b.example:6543');
    expect(error.message).toContain('listening on b.example:6543?');
  });
});
