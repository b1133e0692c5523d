import pg from 'pg';
import type { Logger } from 'pino';
import { parseDatabaseUrl, redactUrl } from '../config.js';
import { DatabaseUnavailableError } from '../errors.js';
import { attuneCommand } from '../invocation.js';

/**
 * Anything that runs a query: a pool, a checked-out client, or a client with
 * an open transaction. Every repository function takes one first, so callers
 * decide the transaction boundaries.
 */
export interface Executor {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}

/** The schema every Attune table lives in. */
export const SCHEMA = 'attune';

/** Set on every connection so SQL can stay unqualified. */
export const SEARCH_PATH = `${SCHEMA}, public`;

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * Type parsers for Attune connections: BIGINT ids and counts come back as
 * numbers (ids stay far below 2^53) rather than strings.
 */
export const attuneTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => toSafeNumber(value);
    if (oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

function toSafeNumber(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`BIGINT ${text} exceeds JavaScript's safe integer range`);
  return value;
}

/** Options for `createPool`. */
export interface PoolOptions {
  url: string;
  maxConnections?: number;
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
  /** When set with `logStatements`, every statement's text and duration is logged at debug (never its values). */
  logger?: Logger;
  logStatements?: boolean;
  applicationName?: string;
}

/** Creates a pool whose connections use the attune search_path and number-typed ids. */
export function createPool(options: PoolOptions): pg.Pool {
  const settings = [`-c search_path=${SEARCH_PATH.replace(' ', '')}`];
  if (options.statementTimeoutMs) settings.push(`-c statement_timeout=${options.statementTimeoutMs}`);
  const config: pg.PoolConfig = {
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    options: settings.join(' '),
    types: attuneTypes,
    application_name: options.applicationName ?? 'attune',
  };
  if (options.logStatements && options.logger) config.Client = loggingClient(options.logger);
  const pool = new pg.Pool(config);
  // An idle client that loses its server emits 'error' on the pool; without a
  // listener that would crash the process. The next checkout reconnects.
  pool.on('error', (error) => options.logger?.warn({ err: error.message }, 'idle database connection failed'));
  // A checked-out client has no pool listener: a connection terminated between
  // its queries (pg_terminate_backend, a server restart) would emit an unheard
  // 'error' and crash the process. Its holder sees the failure on its next
  // query (withTransaction then discards the client), so logging is enough.
  pool.on('connect', (client) => {
    client.on('error', (error) => options.logger?.warn({ err: error.message }, 'database connection failed while in use'));
  });
  return pool;
}

/**
 * A Client class that logs each statement's text and duration, never its
 * parameter values. The pool calls `query` with a callback, direct callers
 * without one; both forms are timed.
 */
function loggingClient(logger: Logger): typeof pg.Client {
  return class LoggingClient extends pg.Client {
    override query(...args: unknown[]): never {
      const first = args[0] as string | { text?: string };
      const sql = typeof first === 'string' ? first : first?.text;
      const started = performance.now();
      const done = (error?: Error | null) => {
        const ms = +(performance.now() - started).toFixed(2);
        if (error) logger.debug({ sql, ms, err: error.message }, 'sql failed');
        else logger.debug({ sql, ms }, 'sql');
      };
      const last = args.length - 1;
      if (typeof args[last] === 'function') {
        const callback = args[last] as (error: Error | null, result?: unknown) => void;
        args[last] = (error: Error | null, result?: unknown) => {
          done(error);
          callback(error, result);
        };
      }
      const result = (super.query as (...a: unknown[]) => unknown)(...args);
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<unknown>).then(() => done(), (error: Error) => done(error));
      }
      return result as never;
    }
  } as unknown as typeof pg.Client;
}

/**
 * Opens one connection and runs `SELECT 1`. A failure becomes one clear
 * DatabaseUnavailableError naming host, port and what to check, not a stack.
 */
export async function checkConnection(url: string, timeoutMs = 5000): Promise<{ serverVersion: string }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  // A backend terminated between connect and query emits 'error' on the client; unheard, it would crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const result = await client.query<{ server_version: string }>('SHOW server_version');
    return { serverVersion: shortVersion(result.rows[0]!.server_version) };
  } catch (error) {
    throw describeConnectionFailure(url, error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** `15.20 (Debian 15.20-0+deb12u1)` → `15.20`: the packager's suffix says nothing an operator needs. */
export function shortVersion(version: string): string {
  return version.split(' ')[0] ?? version;
}

/** Turns a failed connection attempt into one line a person can act on. */
export function describeConnectionFailure(url: string, error: unknown): DatabaseUnavailableError {
  const { host, port, database } = urlParts(url);
  const code = (error as { code?: string }).code;
  const reason = (error as Error).message ?? String(error);
  let hint: string;
  if (code === 'ECONNREFUSED') hint = `is PostgreSQL running and listening on ${host}:${port}?`;
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') hint = `does the host name '${host}' resolve?`;
  else if (code === '3D000') hint = `database '${database}' does not exist; run '${attuneCommand('db setup')}' or '${attuneCommand('db create')}'`;
  else if (code === '28P01' || code === '28000') hint = 'check the user name and password in ATTUNE__DATABASE__URL';
  else if (/timeout/i.test(reason)) hint = `no answer in time; check the host, port and any firewall between here and ${host}:${port}`;
  else hint = 'check ATTUNE__DATABASE__URL';
  return new DatabaseUnavailableError(
    `Cannot connect to PostgreSQL at ${host}:${port} (database '${database}', ${redactUrl(url)}): ${reason}; ${hint}`,
    { cause: error, field: 'database.url' },
  );
}

function urlParts(url: string): { host: string; port: string; database: string } {
  try {
    // The server the driver really reaches: ?host= and ?port= override the URL's own parts.
    const { host, port, database } = parseDatabaseUrl(url);
    return { host, port: String(port), database };
  } catch {
    // A URL the configuration would refuse (no host, no database): name what it does say.
  }
  try {
    const parsed = new URL(url);
    return {
      host: parsed.hostname || parsed.searchParams.get('host') || 'localhost',
      port: parsed.port || '5432',
      database: decodeURIComponent(parsed.pathname.replace(/^\//, '')),
    };
  } catch {
    return { host: '?', port: '?', database: '?' };
  }
}
