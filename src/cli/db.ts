import path from 'node:path';
import type pg from 'pg';
import type { Logger } from 'pino';
import { parseDatabaseUrl, redactUrl, type AttuneConfig } from '../config.js';
import { createDatabase, dropDatabase, missingTables, serverInfo, tableRowCounts, type ServerInfo } from '../db/admin.js';
import { cleanTables } from '../db/clean.js';
import { migrate, migrationStatus, type MigrationStatus } from '../db/migrator.js';
import { mapPgError } from '../db/pg-errors.js';
import { SCHEMA } from '../db/pool.js';
import { TABLES } from '../db/tables.js';
import { stopEmbeddedServer } from '../db/embedded.js';
import { connectTo, isMissingDatabase, openDatabaseTarget, targetDatabaseName, type DatabaseTarget } from '../db/target.js';
import { formatManifest, readSchema, verifySchema } from '../db/verify.js';
import { ValidationError } from '../errors.js';
import { attuneCommand } from '../invocation.js';
import type { Output } from './output.js';

/**
 * The `attune db …` commands. Each takes the configuration and an Output,
 * prints what it did, and resolves to the exit code (0 success, 1 failure);
 * a failure that stops the command throws an AttuneError instead, which the
 * entry point prints as one line. `database.url` picks the server; without
 * it the embedded server is started for the command and stopped after.
 */

/** Shared by every command. */
export interface DbCommandOptions {
  /** Structured logger for the embedded server and diagnostics; none by default. */
  logger?: Logger;
}

export interface DestructiveOptions extends DbCommandOptions {
  /** Act on a database whose name does not look like a test or development one; disconnect its sessions when dropping. */
  force?: boolean;
}

const TEST_OR_DEV_NAME = /(^|[_-])(test|tests|testing|dev|development|local)([_-]|$)/i;

/** True when `name` looks like a test or development database: `attune_test`, `dev_attune`, `attune_local_2`. */
export function looksLikeTestDatabase(name: string): boolean {
  return TEST_OR_DEV_NAME.test(name);
}

/**
 * The one safety check of the destructive commands (drop, reset, clean):
 * without `force`, a database whose name does not look like a test or
 * development database is refused before any connection is made.
 */
export function assertSafeToDestroy(name: string, action: 'drop' | 'reset' | 'clean', force = false): void {
  if (force || looksLikeTestDatabase(name)) return;
  throw new ValidationError(
    `Refusing to ${action} database '${name}': its name does not look like a test or development database (such names contain test, dev, development or local between underscores, e.g. attune_test); pass --force to ${action} it anyway`,
    { entity: 'database', field: 'name', value: name },
  );
}

/**
 * `attune db check`: can the server be reached? Connects to the database, or
 * to the maintenance database when it does not exist yet, and says which.
 */
export async function dbCheck(config: AttuneConfig, out: Output, options: DbCommandOptions = {}): Promise<number> {
  return withTarget(config, out, options, async (target) => {
    const name = out.style('bold', target.database);
    try {
      await withClient(target.url, target.connectTimeoutMs, async (client) => {
        const info = await serverInfo(client);
        out.ok(`PostgreSQL ${info.version} at ${target.location} is reachable; database ${name} exists`);
      });
    } catch (error) {
      if (!isMissingDatabase(error)) throw error;
      await withClient(target.adminUrl, target.connectTimeoutMs, async (admin) => {
        const info = await serverInfo(admin);
        out.ok(`PostgreSQL ${info.version} at ${target.location} is reachable; database ${name} does not exist yet ('${attuneCommand('db setup')}' creates it)`);
      });
    }
    return 0;
  });
}

/** `attune db setup`: check the connection, create the database if missing, migrate. */
export async function dbSetup(config: AttuneConfig, out: Output, options: DbCommandOptions = {}): Promise<number> {
  return withTarget(config, out, options, async (target) => {
    const name = out.style('bold', target.database);
    let client: pg.Client;
    try {
      client = await connectTo(target.url, target.connectTimeoutMs);
      const info = await serverInfo(client);
      out.ok(`Connected to PostgreSQL ${info.version} at ${target.location}`);
      out.ok(`Database ${name} exists`);
    } catch (error) {
      if (!isMissingDatabase(error)) throw error;
      await withClient(target.adminUrl, target.connectTimeoutMs, async (admin) => {
        const info = await serverInfo(admin);
        out.ok(`Connected to PostgreSQL ${info.version} at ${target.location}; database ${name} does not exist yet`);
        const created = await createDatabase(admin, target.database);
        out.ok(created ? `Created database ${name}` : `Database ${name} exists (created meanwhile by someone else)`);
      });
      client = await connectTo(target.url, target.connectTimeoutMs);
    }
    try {
      const applied = await migrate(client, { onApplied: (migration, ms) => out.ok(`Applied ${migration.file} ${out.style('dim', `(${ms} ms)`)}`) });
      const status = await migrationStatus(client);
      out.ok(
        applied.length > 0
          ? `Database ${name} is ready: applied ${plural(applied.length, 'migration')}, ${status.applied.length} in total`
          : `Database ${name} is up to date: ${plural(status.applied.length, 'migration')} applied, none pending`,
      );
      return 0;
    } finally {
      await client.end().catch(() => undefined);
    }
  });
}

/** `attune db create`: create the database; already present is fine. */
export async function dbCreate(config: AttuneConfig, out: Output, options: DbCommandOptions = {}): Promise<number> {
  return withTarget(config, out, options, (target) =>
    withClient(target.adminUrl, target.connectTimeoutMs, async (admin) => {
      const name = out.style('bold', target.database);
      const created = await createDatabase(admin, target.database);
      if (created) out.ok(`Created database ${name} at ${target.location}`);
      else out.ok(`Database ${name} already exists at ${target.location}; nothing to do`);
      return 0;
    }),
  );
}

/**
 * `attune db drop`: drop the database; already absent is fine. Refuses a
 * name that does not look like a test or development database, and a
 * database other sessions are connected to, unless `force` (which then
 * disconnects them with DROP DATABASE … WITH (FORCE)).
 */
export async function dbDrop(config: AttuneConfig, out: Output, options: DestructiveOptions = {}): Promise<number> {
  assertSafeToDestroy(targetDatabaseName(config), 'drop', options.force);
  return withTarget(config, out, options, (target) =>
    withClient(target.adminUrl, target.connectTimeoutMs, async (admin) => {
      const name = out.style('bold', target.database);
      const dropped = await dropDatabase(admin, target.database, { force: options.force ?? false });
      if (dropped) out.ok(`Dropped database ${name} at ${target.location}`);
      else out.ok(`Database ${name} does not exist at ${target.location}; nothing to drop`);
      return 0;
    }),
  );
}

/** `attune db reset`: drop (if present), create and migrate. Same safety as drop. */
export async function dbReset(config: AttuneConfig, out: Output, options: DestructiveOptions = {}): Promise<number> {
  assertSafeToDestroy(targetDatabaseName(config), 'reset', options.force);
  return withTarget(config, out, options, async (target) => {
    const name = out.style('bold', target.database);
    await withClient(target.adminUrl, target.connectTimeoutMs, async (admin) => {
      const dropped = await dropDatabase(admin, target.database, { force: options.force ?? false });
      out.ok(dropped ? `Dropped database ${name}` : `Database ${name} did not exist`);
      await createDatabase(admin, target.database);
      out.ok(`Created database ${name}`);
    });
    return withClient(target.url, target.connectTimeoutMs, async (client) => {
      const applied = await migrate(client, { onApplied: (migration, ms) => out.ok(`Applied ${migration.file} ${out.style('dim', `(${ms} ms)`)}`) });
      out.ok(`Database ${name} was reset: ${plural(applied.length, 'migration')} applied`);
      return 0;
    });
  });
}

/** Options for `dbMigrate`. */
export interface MigrateCommandOptions extends DbCommandOptions {
  /** Apply only up to and including this version. */
  to?: number;
}

/** `attune db migrate`: apply the pending migrations, one line each. */
export async function dbMigrate(config: AttuneConfig, out: Output, options: MigrateCommandOptions = {}): Promise<number> {
  return withTarget(config, out, options, (target) =>
    withClient(target.url, target.connectTimeoutMs, async (client) => {
      const name = out.style('bold', target.database);
      const applied = await migrate(client, {
        ...(options.to === undefined ? {} : { to: options.to }),
        onApplied: (migration, ms) => out.ok(`Applied ${migration.file} ${out.style('dim', `(${ms} ms)`)}`),
      });
      const status = await migrationStatus(client);
      const pending = status.pending.length > 0 ? `, ${status.pending.length} still pending` : '';
      if (applied.length > 0) out.ok(`Migrated ${name}: applied ${plural(applied.length, 'migration')}, ${status.applied.length} in total${pending}`);
      else out.ok(`Nothing to migrate in ${name}: ${plural(status.applied.length, 'migration')} already applied${pending}`);
      return 0;
    }),
  );
}

/**
 * `attune db clean`: empty every table, children first, keeping the
 * migration history. Same name safety as drop: it deletes every row.
 */
export async function dbClean(config: AttuneConfig, out: Output, options: DestructiveOptions = {}): Promise<number> {
  assertSafeToDestroy(targetDatabaseName(config), 'clean', options.force);
  return withTarget(config, out, options, (target) =>
    withClient(target.url, target.connectTimeoutMs, async (client) => {
      const name = out.style('bold', target.database);
      const missing = await missingTables(client);
      if (missing.length > 0) {
        out.problem(`Database ${name} is not migrated: missing ${missing.join(', ')}; run '${attuneCommand('db migrate')}' first`);
        return 1;
      }
      let removed = 0;
      try {
        await client.query('BEGIN');
        const counts = await tableRowCounts(client);
        removed = counts.reduce((sum, count) => sum + (count.rows ?? 0), 0);
        await cleanTables(client);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw mapPgError(error);
      }
      out.ok(`Emptied ${TABLES.length} tables in ${name} (${plural(removed, 'row')} removed); the migration history is kept`);
      return 0;
    }),
  );
}

/** Options for `dbVerify`. */
export interface VerifyCommandOptions extends DbCommandOptions {
  /** Print the live schema as schema-manifest.ts source instead of checking it. */
  printManifest?: boolean;
}

/**
 * `attune db verify`: every table, column, key, foreign key, index and
 * trigger of the manifest must be present and alike, and no migration may be
 * pending. Lists what is wrong and returns 1 when anything is.
 */
export async function dbVerify(config: AttuneConfig, out: Output, options: VerifyCommandOptions = {}): Promise<number> {
  return withTarget(config, out, options, (target) =>
    withClient(target.url, target.connectTimeoutMs, async (client) => {
      if (options.printManifest) {
        const live = await readSchema(client, SCHEMA);
        out.line(formatManifest({ ...live, extensions: live.extensions.filter((name) => name !== 'plpgsql') }, TABLES));
        return 0;
      }
      const name = out.style('bold', target.database);
      const migrations = await migrationStatus(client);
      const result = await verifySchema(client);
      for (const problem of result.problems) out.problem(problem.message);
      for (const migration of migrations.pending) out.problem(`pending migration ${migration.file}; run '${attuneCommand('db migrate')}'`);
      for (const problem of migrations.problems) out.problem(problem);
      for (const extra of result.extras) out.warn(extra.message);
      const failures = result.problems.length + migrations.pending.length + migrations.problems.length;
      if (failures > 0) {
        out.problem(`Database ${name} does not match the schema: ${plural(failures, 'problem')}`);
        return 1;
      }
      const { tables, columns, foreignKeys, indexes, constraints, triggers } = result.checked;
      out.ok(
        `Database ${name} matches the schema: ${tables} tables, ${columns} columns, ${foreignKeys} foreign keys, ${indexes} indexes, ` +
          `${constraints} keys and constraints, ${triggers} triggers; ${plural(migrations.applied.length, 'migration')} applied, none pending`,
      );
      return 0;
    }),
  );
}

/** Options for `dbStatus`. */
export interface StatusCommandOptions extends DbCommandOptions {
  /** Planner estimates instead of exact row counts (instant on big tables). */
  estimate?: boolean;
}

/**
 * `attune db status`: the server and where it is, the database, the
 * migrations applied and pending, and each table's row count in TABLES
 * order. Returns 1 when the database does not exist.
 */
export async function dbStatus(config: AttuneConfig, out: Output, options: StatusCommandOptions = {}): Promise<number> {
  return withTarget(config, out, options, async (target) => {
    const label = (text: string) => out.style('bold', text.padEnd(11));
    let client: pg.Client;
    try {
      client = await connectTo(target.url, target.connectTimeoutMs);
    } catch (error) {
      if (!isMissingDatabase(error)) throw error;
      const info = await withClient(target.adminUrl, target.connectTimeoutMs, (admin) => serverInfo(admin));
      out.line(`${label('Server')}${describeServer(info, target)}`);
      out.line(`${label('URL')}${redactUrl(target.url)}`);
      out.problem(`Database ${out.style('bold', target.database)} does not exist; run '${attuneCommand('db setup')}'`);
      return 1;
    }
    try {
      const info = await serverInfo(client);
      const migrations = await migrationStatus(client);
      const counts = await tableRowCounts(client, { estimate: options.estimate ?? false });
      out.line(`${label('Server')}${describeServer(info, target)}`);
      out.line(`${label('URL')}${redactUrl(target.url)}`);
      out.line(`${label('Database')}${out.style('bold', info.database)} (user ${info.user}, ${formatBytes(info.databaseBytes)})`);
      out.line(`${label('Migrations')}${describeMigrations(migrations, out)}`);
      for (const migration of migrations.pending) out.warn(`pending ${migration.file}`);
      for (const problem of migrations.problems) out.problem(problem);
      out.line(out.style('bold', 'Tables'));
      const width = Math.max(...counts.map((count) => count.table.length));
      for (const count of counts) {
        const rows =
          count.rows === null ? out.style('yellow', 'missing') : `${count.estimated ? '~' : ''}${count.rows.toLocaleString('en-US')}`;
        out.line(`  ${count.table.padEnd(width)}  ${rows}`);
      }
      return 0;
    } finally {
      await client.end().catch(() => undefined);
    }
  });
}

/**
 * `attune db stop`: stops the embedded server running on the configured data
 * folder, such as one left by a command that was killed (every other command
 * refuses to start a second one there). Nothing running is fine. With
 * `database.url` set there is no embedded server to stop: exit 1, saying so.
 */
export async function dbStop(config: AttuneConfig, out: Output): Promise<number> {
  if (config.database.url) {
    out.problem(`ATTUNE__DATABASE__URL is set (${redactUrl(config.database.url)}): Attune starts no embedded server for it, so there is nothing to stop`);
    return 1;
  }
  const dataDir = path.resolve(config.database.embeddedDataDir);
  const stopped = await stopEmbeddedServer(dataDir);
  out.ok(stopped ? `Stopped the embedded PostgreSQL in ${dataDir} (pid ${stopped.pid}, port ${stopped.port})` : `No embedded PostgreSQL is running in ${dataDir}; nothing to stop`);
  return 0;
}

function describeServer(info: ServerInfo, target: DatabaseTarget): string {
  return `PostgreSQL ${info.version} at ${target.kind === 'embedded' ? target.location : serverAddress(target.url)}`;
}

function serverAddress(url: string): string {
  const { host, port } = parseDatabaseUrl(url);
  return `${host}:${port}`;
}

function describeMigrations(status: MigrationStatus, out: Output): string {
  const latest = status.applied.at(-1);
  const applied = `${status.applied.length} applied${latest ? ` (latest ${String(latest.version).padStart(4, '0')}_${latest.name}, ${latest.appliedAt.toISOString()})` : ''}`;
  const pending = status.pending.length > 0 ? out.style('yellow', `${status.pending.length} pending`) : 'none pending';
  return `${applied}, ${pending}`;
}

/** Opens the target, runs `fn`, and always closes it (stopping an embedded server). */
async function withTarget<T>(config: AttuneConfig, out: Output, options: DbCommandOptions, fn: (target: DatabaseTarget) => Promise<T>): Promise<T> {
  const target = await openDatabaseTarget(config, {
    ...(options.logger ? { logger: options.logger } : {}),
    onEmbeddedStarted: (started) =>
      out.line(out.style('dim', `Started embedded PostgreSQL at ${serverAddress(started.url)} (data in ${started.dataDir}) for this command`)),
  });
  try {
    return await fn(target);
  } finally {
    await target.close();
  }
}

async function withClient<T>(url: string, connectTimeoutMs: number, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectTo(url, connectTimeoutMs);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function plural(count: number, noun: string): string {
  return `${count.toLocaleString('en-US')} ${noun}${count === 1 ? '' : 's'}`;
}

function formatBytes(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
