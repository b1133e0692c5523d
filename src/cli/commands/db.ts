/**
 * `attune db …`: create, migrate, check and inspect the Attune database.
 * The commands themselves live in ../db.ts, loaded only when one runs (it
 * pulls in the PostgreSQL driver and the embedded server).
 */
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig, parseDatabaseUrl, type AttuneConfig } from '../../config.js';
import { isAttuneError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { createOutput, type Output } from '../output.js';

type DbModule = typeof import('../db.js');

/** What every db command receives once the configuration is loaded. */
interface Context {
  config: AttuneConfig;
  out: Output;
  logger: Logger | undefined;
  db: DbModule;
}

const TARGET_HELP = `
Where the database is:
  ATTUNE__DATABASE__URL (or --url) names a PostgreSQL server and database,
  e.g. postgres://attune:secret@db.internal:5432/attune. Without one, the
  embedded PostgreSQL in ATTUNE__DATABASE__EMBEDDED_DATA_DIR (default
  .attune/postgres) on ATTUNE__DATABASE__EMBEDDED_PORT (default 54329) is
  started for the command and stopped after; ATTUNE__DATABASE__NAME names the
  database on it (default attune). A server left running there by a command
  that was killed is refused by name; 'attune db stop' stops it.

Settings come from config.yaml, then .env, then ATTUNE__SECTION__KEY variables.
Colour is used on terminals; NO_COLOR=1 turns it off, FORCE_COLOR=1 forces it.
Exit code 0 on success, 1 on failure. ATTUNE__LOG__LEVEL=debug shows stack
traces and the embedded server's log.`;

const DESTRUCTIVE_HELP = `
Safety: the database's name must look like a test or development database
(test, tests, testing, dev, development or local as a word between
underscores or hyphens: attune_test, attune_dev, local_attune). --force acts on
any other name too.`;

export function registerDbCommands(program: Command): void {
  const db = program
    .command('db')
    .description('create, migrate, check and inspect the Attune database')
    .option('--url <url>', 'PostgreSQL URL of the Attune database (overrides ATTUNE__DATABASE__URL)')
    .option('--no-color', 'plain output without colours')
    .addHelpText('after', TARGET_HELP);

  db.command('check')
    .description('check that the PostgreSQL server can be reached (the database itself may not exist yet)')
    .action(action((ctx) => ctx.db.dbCheck(ctx.config, ctx.out, withLogger(ctx))));

  db.command('setup')
    .description('check the connection, create the database if it is missing, and apply pending migrations')
    .action(action((ctx) => ctx.db.dbSetup(ctx.config, ctx.out, withLogger(ctx))));

  db.command('create')
    .description('create the database (does nothing when it already exists)')
    .action(action((ctx) => ctx.db.dbCreate(ctx.config, ctx.out, withLogger(ctx))));

  db.command('drop')
    .description('drop the database (does nothing when it does not exist)')
    .option('--force', 'drop even when the name does not look like a test or development database, disconnecting its sessions (DROP … WITH (FORCE))')
    .addHelpText('after', `${DESTRUCTIVE_HELP}\nWithout --force, a database other sessions are connected to is refused.`)
    .action(action((ctx, options: { force?: boolean }) => ctx.db.dbDrop(ctx.config, ctx.out, { ...withLogger(ctx), force: options.force ?? false })));

  db.command('reset')
    .description('drop the database, create it again and apply every migration')
    .option('--force', 'reset even when the name does not look like a test or development database, disconnecting its sessions')
    .addHelpText('after', DESTRUCTIVE_HELP)
    .action(action((ctx, options: { force?: boolean }) => ctx.db.dbReset(ctx.config, ctx.out, { ...withLogger(ctx), force: options.force ?? false })));

  db.command('migrate')
    .description('apply pending migrations in order, printing each; refuses when an applied file was edited')
    .option('--to <version>', 'apply only up to and including this version', parseVersion)
    .action(
      action((ctx, options: { to?: number }) =>
        ctx.db.dbMigrate(ctx.config, ctx.out, { ...withLogger(ctx), ...(options.to === undefined ? {} : { to: options.to }) }),
      ),
    );

  db.command('clean')
    .description('delete every row of every Attune table, children first; keeps the schema and migration history')
    .option('--force', 'clean even when the name does not look like a test or development database')
    .addHelpText('after', DESTRUCTIVE_HELP)
    .action(action((ctx, options: { force?: boolean }) => ctx.db.dbClean(ctx.config, ctx.out, { ...withLogger(ctx), force: options.force ?? false })));

  db.command('verify')
    .description('check that every table, column, key, foreign key, index and trigger of the schema is present; list what is missing')
    .option('--print-manifest', 'print the live schema as src/db/schema-manifest.ts source instead (to refresh the manifest after a migration)')
    .action(
      action((ctx, options: { printManifest?: boolean }) =>
        ctx.db.dbVerify(ctx.config, ctx.out, { ...withLogger(ctx), printManifest: options.printManifest ?? false }),
      ),
    );

  db.command('status')
    .description('show the server, the migrations applied and pending, and the row count of every table')
    .option('--estimate', "use the planner's row estimates instead of counting (fast on big tables)")
    .action(action((ctx, options: { estimate?: boolean }) => ctx.db.dbStatus(ctx.config, ctx.out, { ...withLogger(ctx), estimate: options.estimate ?? false })));

  db.command('stop')
    .description('stop the embedded PostgreSQL running on the data folder (one left by a command that was killed, say)')
    .action(action((ctx) => ctx.db.dbStop(ctx.config, ctx.out)));
}

/**
 * Wraps a db command: loads the configuration (with --url applied), runs it,
 * and turns its result into the exit code. A failure is one line on stderr;
 * the stack only at log level debug or trace.
 */
function action<O extends object>(run: (ctx: Context, options: O) => Promise<number>) {
  return async (options: O, command: Command): Promise<void> => {
    const globals = command.optsWithGlobals<{ url?: string; color?: boolean }>();
    const out = createOutput(globals.color === false ? { color: false } : {});
    let debug = isDebugLevel(process.env.ATTUNE__LOG__LEVEL);
    try {
      const config = loadConfig();
      debug = isDebugLevel(config.log.level);
      if (globals.url !== undefined) {
        parseDatabaseUrl(globals.url, '--url');
        config.database.url = globals.url;
      }
      const [db, { pino }, { createLogger }] = await Promise.all([import('../db.js'), import('pino'), import('../../log.js')]);
      const logger = debug ? createLogger(config.log.level, pino.destination({ dest: 2, sync: true })) : undefined;
      process.exitCode = await run({ config, out, logger, db }, options);
    } catch (error) {
      process.exitCode = 1;
      out.error(oneLine(isAttuneError(error) ? error.message : describeUnexpected(error)));
      if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    }
  };
}

function withLogger(ctx: Context): { logger?: Logger } {
  return ctx.logger ? { logger: ctx.logger } : {};
}

function describeUnexpected(error: unknown): string {
  const message = error instanceof Error ? error.message || error.name : String(error);
  return `${message} (set ATTUNE__LOG__LEVEL=debug for details)`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function isDebugLevel(level: string | undefined): boolean {
  return level === 'debug' || level === 'trace';
}

function parseVersion(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError('expected a migration version number, e.g. 12');
  return Number(text);
}
