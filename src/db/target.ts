import path from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { parseDatabaseUrl, redactUrl, withDatabase, type AttuneConfig } from '../config.js';
import { configureLimits } from '../limits.js';
import { EmbeddedServer } from './embedded.js';
import { attuneTypes, describeConnectionFailure, SEARCH_PATH } from './pool.js';

/** The maintenance database every PostgreSQL server has; used to create and drop others. */
export const MAINTENANCE_DATABASE = 'postgres';

/**
 * Where the configured database lives: the server named by
 * `database.url`, or the embedded server in `database.embeddedDataDir`,
 * started for as long as the target is open.
 */
export interface DatabaseTarget {
  kind: 'external' | 'embedded';
  /** Name of the Attune database. */
  database: string;
  /** URL of the Attune database (it may not exist yet). */
  url: string;
  /** URL of the maintenance database on the same server. */
  adminUrl: string;
  /** Where it is, safe to print: the redacted URL, and the data folder when embedded. */
  location: string;
  /** The embedded server's data folder. */
  dataDir?: string;
  connectTimeoutMs: number;
  /** Stops the embedded server when this target started it; otherwise does nothing. */
  close(): Promise<void>;
}

/**
 * The database name the configuration points at, without touching any
 * server: the URL's database, or `database.name` for the embedded server.
 */
export function targetDatabaseName(config: AttuneConfig): string {
  return config.database.url ? parseDatabaseUrl(config.database.url).database : config.database.name;
}

/** Options for `openDatabaseTarget`. */
export interface OpenTargetOptions {
  logger?: Logger;
  /** Called once the embedded server is up, so a command can say so. */
  onEmbeddedStarted?: (target: DatabaseTarget) => void;
}

/**
 * Resolves the configured database. With `database.url` nothing is started;
 * without one, the embedded server is started (and initialised if its data
 * folder is new) and `close()` stops it. Always `close()` in a `finally`.
 * Also applies `config.limits` to every repository (`configureLimits`).
 */
export async function openDatabaseTarget(config: AttuneConfig, options: OpenTargetOptions = {}): Promise<DatabaseTarget> {
  // The process's entry to its database: the configured input limits apply from here on.
  configureLimits(config.limits);
  const connectTimeoutMs = config.database.connectTimeoutMs;
  if (config.database.url) {
    const { database } = parseDatabaseUrl(config.database.url);
    return {
      kind: 'external',
      database,
      url: config.database.url,
      adminUrl: withDatabase(config.database.url, MAINTENANCE_DATABASE),
      location: redactUrl(config.database.url),
      connectTimeoutMs,
      close: async () => undefined,
    };
  }
  const dataDir = path.resolve(config.database.embeddedDataDir);
  const server = new EmbeddedServer({
    dataDir,
    port: config.database.embeddedPort,
    osUser: config.database.embeddedUser,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  await server.start();
  const url = server.url(config.database.name);
  const target: DatabaseTarget = {
    kind: 'embedded',
    database: config.database.name,
    url,
    adminUrl: server.url(MAINTENANCE_DATABASE),
    location: `127.0.0.1:${config.database.embeddedPort} (embedded, data in ${dataDir})`,
    dataDir,
    connectTimeoutMs,
    close: () => server.stop(),
  };
  options.onEmbeddedStarted?.(target);
  return target;
}

/**
 * Opens one connection to `url` with Attune's search_path and number-typed
 * ids. A failure to connect becomes the one-line DatabaseUnavailableError of
 * `describeConnectionFailure` (host, port, what to check).
 */
export async function connectTo(url: string, connectTimeoutMs = 5000): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: connectTimeoutMs,
    options: `-c search_path=${SEARCH_PATH.replace(' ', '')}`,
    types: attuneTypes,
    application_name: 'attune-cli',
  });
  // A server that goes away while the client is idle emits 'error'; the next query reports it.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    throw describeConnectionFailure(url, readable(error));
  }
}

/** True when `error` (or its cause) is PostgreSQL's "database does not exist". */
export function isMissingDatabase(error: unknown): boolean {
  const own = (error as { code?: string } | undefined)?.code;
  const cause = (error as { cause?: { code?: string } } | undefined)?.cause?.code;
  return own === '3D000' || cause === '3D000';
}

/** Node reports a refused dual-stack connect as an AggregateError with an empty message. */
function readable(error: unknown): unknown {
  if (error instanceof AggregateError && !error.message && error.errors.length > 0) {
    const first = error.errors[0] as Error & { code?: string };
    return Object.assign(new Error(first.message), { code: (error as { code?: string }).code ?? first.code });
  }
  return error;
}
