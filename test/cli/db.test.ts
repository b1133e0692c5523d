import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  assertSafeToDestroy,
  dbCheck,
  dbClean,
  dbCreate,
  dbDrop,
  dbMigrate,
  dbReset,
  dbSetup,
  dbStatus,
  dbStop,
  dbVerify,
  looksLikeTestDatabase,
} from '../../src/cli/db.js';
import { attuneCommand, detectInvocation } from '../../src/invocation.js';
import { captureOutput } from '../../src/cli/output.js';
import { defaults, withDatabase, type AttuneConfig } from '../../src/config.js';
import { loadMigrations } from '../../src/db/migrator.js';
import { SCHEMA_MANIFEST } from '../../src/db/schema-manifest.js';
import { TABLES } from '../../src/db/tables.js';
import { formatManifest } from '../../src/db/verify.js';
import { DatabaseError, DatabaseUnavailableError, MigrationError, ValidationError } from '../../src/errors.js';
import { expectErrorType } from '../../src/testing/assertions.js';

// The commands run against databases of their own, attune_cli_test_<random>,
// made on the test server through its maintenance database and dropped after
// the file. The worker's own database is never created, dropped or cleaned here.
const { adminUrl } = inject('attuneTemplate');
const scratch = new Set<string>();
const MIGRATIONS = loadMigrations();
const UNREACHABLE = 'postgres://postgres@127.0.0.1:1';

afterAll(async () => {
  await withClient(adminUrl, async (admin) => {
    for (const name of scratch) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
});

/** A name and URL for a database that does not exist yet. */
function scratchDatabase(): { name: string; url: string; config: AttuneConfig } {
  const name = `attune_cli_test_${randomBytes(5).toString('hex')}`;
  scratch.add(name);
  const url = withDatabase(adminUrl, name);
  return { name, url, config: configFor(url) };
}

function configFor(url: string | undefined): AttuneConfig {
  const config = defaults();
  config.database.url = url;
  return config;
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function exists(name: string): Promise<boolean> {
  return withClient(adminUrl, async (admin) => (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);
}

async function count(url: string, table: string): Promise<number> {
  return withClient(url, async (client) => Number((await client.query(`SELECT count(*) AS n FROM attune.${table}`)).rows[0].n));
}

describe('looksLikeTestDatabase', () => {
  it.each(['attune_test', 'test', 'attune_tests', 'ATTUNE_TEST', 'attune_test_r1a2b3_99_1', 'attune_cli_test_00ff', 'attune-test', 'attune_dev', 'dev_attune', 'attune_development', 'attune_local', 'attune_testing'])(
    'accepts %s',
    (name) => expect(looksLikeTestDatabase(name)).toBe(true),
  );

  it.each(['attune', 'production', 'attune_prod', 'latest', 'contest', 'attunetest', 'devops', 'localhost_db', 'protest_db', 'postgres'])('refuses %s', (name) =>
    expect(looksLikeTestDatabase(name)).toBe(false),
  );
});

describe('the safety of drop, reset and clean', () => {
  it('refuses a non-test name with a message naming the database and --force', () => {
    expect(() => assertSafeToDestroy('attune_prod', 'drop')).toThrow(ValidationError);
    expect(() => assertSafeToDestroy('attune_prod', 'reset')).toThrow(
      "Refusing to reset database 'attune_prod': its name does not look like a test or development database",
    );
    expect(() => assertSafeToDestroy('attune_prod', 'drop')).toThrow('pass --force to drop it anyway');
    expect(() => assertSafeToDestroy('attune_prod', 'drop', true)).not.toThrow();
    expect(() => assertSafeToDestroy('attune_test', 'drop')).not.toThrow();
  });

  // The URLs point at a port nothing listens on: a refusal proves no connection
  // was tried, since trying would fail with DatabaseUnavailableError instead.
  it.each([
    ['drop', dbDrop],
    ['reset', dbReset],
    ['clean', dbClean],
  ] as const)('%s refuses before any SQL', async (action, command) => {
    const out = captureOutput();
    const error = await expectErrorType(command(configFor(`${UNREACHABLE}/attune_production`), out), ValidationError);
    expect(error.message).toContain(`Refusing to ${action} database 'attune_production'`);
    expect(error.message).toContain('--force');
    expect(out.lines).toEqual([]);
  });

  it('--force passes the name check (and then needs a server)', async () => {
    await expectErrorType(dbDrop(configFor(`${UNREACHABLE}/attune_production`), captureOutput(), { force: true }), DatabaseUnavailableError);
  });

  it('refuses the embedded default database before starting the server', async () => {
    const config = configFor(undefined);
    const dataDir = path.join(tmpdir(), `attune-never-started-${randomBytes(4).toString('hex')}`);
    config.database.embeddedDataDir = dataDir;
    await expectErrorType(dbReset(config, captureOutput()), ValidationError);
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe('db check', () => {
  it('says the server is reachable, and whether the database exists yet', async () => {
    const db = scratchDatabase();
    const before = captureOutput();
    expect(await dbCheck(db.config, before)).toBe(0);
    expect(before.lines).toEqual([
      expect.stringMatching(new RegExp(`^✓ PostgreSQL \\S+ at .* is reachable; database ${db.name} does not exist yet \\('npm run db:setup' creates it\\)$`)),
    ]);
    await dbCreate(db.config, captureOutput());
    const after = captureOutput();
    expect(await dbCheck(db.config, after)).toBe(0);
    expect(after.lines).toEqual([expect.stringMatching(new RegExp(`is reachable; database ${db.name} exists$`))]);
  });

  it('fails with host and port when the server is unreachable', async () => {
    const error = await expectErrorType(dbCheck(configFor(`${UNREACHABLE}/attune_test`), captureOutput()), DatabaseUnavailableError);
    expect(error.message).toContain('Cannot connect to PostgreSQL at 127.0.0.1:1');
  });
});

describe('db setup', () => {
  it('creates a missing database, migrates it, and then has nothing to do', async () => {
    const db = scratchDatabase();
    const first = captureOutput();
    expect(await dbSetup(db.config, first)).toBe(0);
    expect(first.lines[0]).toMatch(new RegExp(`^✓ Connected to PostgreSQL \\S+ at .*; database ${db.name} does not exist yet$`));
    expect(first.lines[1]).toBe(`✓ Created database ${db.name}`);
    const applied = first.lines.filter((line) => line.startsWith('✓ Applied '));
    expect(applied.map((line) => line.replace(/ \(\d+ ms\)$/, ''))).toEqual(MIGRATIONS.map((m) => `✓ Applied ${m.file}`));
    expect(first.lines.at(-1)).toBe(`✓ Database ${db.name} is ready: applied ${MIGRATIONS.length} migrations, ${MIGRATIONS.length} in total`);

    const second = captureOutput();
    expect(await dbSetup(db.config, second)).toBe(0);
    expect(second.lines).toContain(`✓ Database ${db.name} exists`);
    expect(second.lines.at(-1)).toBe(`✓ Database ${db.name} is up to date: ${MIGRATIONS.length} migrations applied, none pending`);
    expect(await dbVerify(db.config, captureOutput())).toBe(0);
  });

  it('fails with host and port when the server is unreachable', async () => {
    const error = await expectErrorType(dbSetup(configFor(`${UNREACHABLE}/attune_test`), captureOutput()), DatabaseUnavailableError);
    expect(error.message).toContain('127.0.0.1:1');
    expect(error.message).toContain('is PostgreSQL running');
  });
});

describe('db create and db drop', () => {
  it('create makes the database once and says when it is already there', async () => {
    const db = scratchDatabase();
    const out = captureOutput();
    expect(await dbCreate(db.config, out)).toBe(0);
    expect(await dbCreate(db.config, out)).toBe(0);
    expect(out.lines[0]).toMatch(new RegExp(`^✓ Created database ${db.name} at `));
    expect(out.lines[1]).toMatch(new RegExp(`^✓ Database ${db.name} already exists at .*; nothing to do$`));
    expect(await exists(db.name)).toBe(true);
  });

  it('drop removes the database once and says when it is already gone', async () => {
    const db = scratchDatabase();
    await dbCreate(db.config, captureOutput());
    const out = captureOutput();
    expect(await dbDrop(db.config, out)).toBe(0);
    expect(await dbDrop(db.config, out)).toBe(0);
    expect(out.lines[0]).toMatch(new RegExp(`^✓ Dropped database ${db.name} at `));
    expect(out.lines[1]).toMatch(new RegExp(`^✓ Database ${db.name} does not exist at .*; nothing to drop$`));
    expect(await exists(db.name)).toBe(false);
  });

  it('drop refuses a database others are connected to; --force disconnects them', async () => {
    const db = scratchDatabase();
    await dbCreate(db.config, captureOutput());
    await withClient(db.url, async () => {
      const error = await expectErrorType(dbDrop(db.config, captureOutput()), DatabaseError);
      expect(error.message).toBe(`Database '${db.name}' is in use by 1 other session; stop them, or pass --force to disconnect them`);
      expect(await exists(db.name)).toBe(true);
      expect(await dbDrop(db.config, captureOutput(), { force: true })).toBe(0);
      expect(await exists(db.name)).toBe(false);
    });
  });
});

describe('db reset', () => {
  it('drops, creates and migrates: the rows are gone and the schema is whole', async () => {
    const db = scratchDatabase();
    await dbSetup(db.config, captureOutput());
    await withClient(db.url, (c) => c.query(`INSERT INTO attune.packs (ref, version, name) VALUES ('gone', '1.0.0', 'Gone')`));
    const out = captureOutput();
    expect(await dbReset(db.config, out)).toBe(0);
    expect(out.lines.slice(0, 2)).toEqual([`✓ Dropped database ${db.name}`, `✓ Created database ${db.name}`]);
    expect(out.lines.at(-1)).toBe(`✓ Database ${db.name} was reset: ${MIGRATIONS.length} migrations applied`);
    expect(await count(db.url, 'packs')).toBe(0);
    expect(await dbVerify(db.config, captureOutput())).toBe(0);
  });

  it('creates the database when it did not exist', async () => {
    const db = scratchDatabase();
    const out = captureOutput();
    expect(await dbReset(db.config, out)).toBe(0);
    expect(out.lines[0]).toBe(`✓ Database ${db.name} did not exist`);
    expect(await count(db.url, 'schema_migrations')).toBe(MIGRATIONS.length);
  });
});

describe('db migrate', () => {
  it('applies pending migrations one line each, up to --to, then the rest, then nothing', async () => {
    const db = scratchDatabase();
    await dbCreate(db.config, captureOutput());
    const partial = captureOutput();
    expect(await dbMigrate(db.config, partial, { to: 3 })).toBe(0);
    expect(partial.lines.map((line) => line.replace(/ \(\d+ ms\)$/, ''))).toEqual([
      `✓ Applied ${MIGRATIONS[0]!.file}`,
      `✓ Applied ${MIGRATIONS[1]!.file}`,
      `✓ Applied ${MIGRATIONS[2]!.file}`,
      `✓ Migrated ${db.name}: applied 3 migrations, 3 in total, ${MIGRATIONS.length - 3} still pending`,
    ]);
    const rest = captureOutput();
    expect(await dbMigrate(db.config, rest)).toBe(0);
    expect(rest.lines.at(-1)).toBe(`✓ Migrated ${db.name}: applied ${MIGRATIONS.length - 3} migrations, ${MIGRATIONS.length} in total`);
    const none = captureOutput();
    expect(await dbMigrate(db.config, none)).toBe(0);
    expect(none.lines).toEqual([`✓ Nothing to migrate in ${db.name}: ${MIGRATIONS.length} migrations already applied`]);
  });

  it("refuses when an applied file was edited, with the migrator's message", async () => {
    const db = scratchDatabase();
    await dbSetup(db.config, captureOutput());
    await withClient(db.url, (c) => c.query(`UPDATE attune.schema_migrations SET checksum = 'edited' WHERE version = 2`));
    const error = await expectErrorType(dbMigrate(db.config, captureOutput()), MigrationError);
    expect(error.message).toContain(`migration ${MIGRATIONS[1]!.file} was edited after it was applied`);
  });

  it('names the missing database and the command that creates it', async () => {
    const db = scratchDatabase();
    const error = await expectErrorType(dbMigrate(db.config, captureOutput()), DatabaseUnavailableError);
    expect(error.message).toContain(`database '${db.name}' does not exist; run 'npm run db:setup'`);
  });
});

describe('db clean', () => {
  it('empties every table and keeps the migration history', async () => {
    const db = scratchDatabase();
    await dbSetup(db.config, captureOutput());
    await withClient(db.url, async (c) => {
      await c.query(`INSERT INTO attune.packs (ref, version, name) VALUES ('core', '1.0.0', 'Core')`);
      await c.query(`INSERT INTO attune.actions (pack_id, pack_ref, name, ref, runner_type)
                     SELECT id, 'core', 'echo', 'core.echo', 'shell' FROM attune.packs`);
      await c.query(`INSERT INTO attune.identities (login) VALUES ('someone')`);
    });
    // Three rows, and the notifications log's row for the new pack (actions and identities are not logged).
    expect(await count(db.url, 'notifications')).toBe(1);
    const out = captureOutput();
    expect(await dbClean(db.config, out)).toBe(0);
    expect(out.lines).toEqual([`✓ Emptied ${TABLES.length} tables in ${db.name} (4 rows removed); the migration history is kept`]);
    for (const table of TABLES) expect(await count(db.url, table)).toBe(0);
    expect(await count(db.url, 'schema_migrations')).toBe(MIGRATIONS.length);
  });

  it('says when the database is not migrated', async () => {
    const db = scratchDatabase();
    await dbCreate(db.config, captureOutput());
    const out = captureOutput();
    expect(await dbClean(db.config, out)).toBe(1);
    expect(out.lines[0]).toMatch(new RegExp(`^✗ Database ${db.name} is not migrated: missing packs, runtimes, .*; run 'npm run db:migrate' first$`));
  });
});

describe('db verify', () => {
  it('lists a missing index and fails', async () => {
    const db = scratchDatabase();
    await dbSetup(db.config, captureOutput());
    await withClient(db.url, (c) => c.query('DROP INDEX attune.actions_ref_idx'));
    const out = captureOutput();
    expect(await dbVerify(db.config, out)).toBe(1);
    expect(out.lines).toEqual([
      '✗ missing index actions_ref_idx on actions (btree (ref))',
      `✗ Database ${db.name} does not match the schema: 1 problem`,
    ]);
  });

  it('reports pending migrations and the tables they would create', async () => {
    const db = scratchDatabase();
    await dbCreate(db.config, captureOutput());
    // Stop before the last migration that creates a table, so something is missing as well as pending.
    const creating = MIGRATIONS.filter((m) => /CREATE TABLE/i.test(m.sql)).at(-1)!;
    await dbMigrate(db.config, captureOutput(), { to: creating.version - 1 });
    const last = MIGRATIONS.at(-1)!;
    const out = captureOutput();
    expect(await dbVerify(db.config, out)).toBe(1);
    expect(out.lines).toContain(`✗ pending migration ${creating.file}; run 'npm run db:migrate'`);
    expect(out.lines).toContain(`✗ pending migration ${last.file}; run 'npm run db:migrate'`);
    // Whatever that migration creates is reported missing too.
    expect(out.lines.filter((line) => line.startsWith('✗ missing ')).length).toBeGreaterThan(0);
  });

  it('prints a summary when everything is there', async () => {
    const db = scratchDatabase();
    await dbSetup(db.config, captureOutput());
    const out = captureOutput();
    expect(await dbVerify(db.config, out)).toBe(0);
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]).toMatch(
      new RegExp(`^✓ Database ${db.name} matches the schema: ${TABLES.length} tables, \\d+ columns, \\d+ foreign keys, \\d+ indexes, .*${MIGRATIONS.length} migrations applied, none pending$`),
    );
  });

  it('--print-manifest prints the live schema as manifest source', async () => {
    const db = scratchDatabase();
    await dbSetup(db.config, captureOutput());
    const out = captureOutput();
    expect(await dbVerify(db.config, out, { printManifest: true })).toBe(0);
    expect(out.text()).toBe(formatManifest(SCHEMA_MANIFEST, TABLES));
  });
});

describe('db status', () => {
  it('shows the server, the redacted URL, the migrations and every table in TABLES order', async () => {
    const db = scratchDatabase();
    await dbSetup(db.config, captureOutput());
    await withClient(db.url, (c) => c.query(`INSERT INTO attune.identities (login) VALUES ('a'), ('b')`));
    const out = captureOutput();
    expect(await dbStatus(db.config, out)).toBe(0);
    const [server, url, database, migrations, heading, ...tables] = out.lines;
    expect(server).toMatch(/^Server\s+PostgreSQL \d+\S* at \S+:\d+$/);
    expect(url).toMatch(new RegExp(`^URL\\s+postgres(ql)?://.*/${db.name}$`));
    const password = new URL(adminUrl).password;
    if (password) {
      expect(url).toContain('*****');
      expect(out.text()).not.toContain(password);
    }
    expect(database).toMatch(new RegExp(`^Database\\s+${db.name} \\(user \\S+, [\\d.]+ \\S+\\)$`));
    expect(migrations).toMatch(new RegExp(`^Migrations ${MIGRATIONS.length} applied \\(latest ${MIGRATIONS.at(-1)!.file.replace('.sql', '')}, .*\\), none pending$`));
    expect(heading).toBe('Tables');
    expect(tables.map((line) => line.trim().split(/\s+/)[0])).toEqual([...TABLES]);
    expect(tables.find((line) => line.trim().startsWith('identities'))).toMatch(/identities\s+2$/);
    expect(tables.find((line) => line.trim().startsWith('packs'))).toMatch(/packs\s+0$/);
  });

  it('lists pending migrations and marks tables not created yet', async () => {
    const db = scratchDatabase();
    await dbCreate(db.config, captureOutput());
    await dbMigrate(db.config, captureOutput(), { to: 2 });
    const out = captureOutput();
    expect(await dbStatus(db.config, out, { estimate: true })).toBe(0);
    expect(out.lines).toContain(`! pending ${MIGRATIONS[2]!.file}`);
    expect(out.lines.find((line) => line.startsWith('Migrations'))).toContain(`${MIGRATIONS.length - 2} pending`);
    expect(out.lines.find((line) => line.trim().startsWith('packs'))).toMatch(/packs\s+0$/);
    expect(out.lines.find((line) => line.trim().startsWith('notifications'))).toMatch(/notifications\s+missing$/);
  });

  it('returns 1 and says so when the database does not exist, naming the command that works in a checkout', async () => {
    const db = scratchDatabase();
    const out = captureOutput();
    expect(await dbStatus(db.config, out)).toBe(1);
    expect(out.lines[0]).toMatch(/^Server\s+PostgreSQL /);
    // These tests run the source in Attune's checkout, where no `attune` command is on the PATH.
    expect(out.lines.at(-1)).toBe(`✗ Database ${db.name} does not exist; run 'npm run db:setup'`);
  });
});

describe('embedded mode refusal leaves no trace', () => {
  it('a refused drop creates no data folder', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'attune-cli-refuse-'));
    try {
      const config = configFor(undefined);
      config.database.embeddedDataDir = path.join(root, 'data');
      config.database.name = 'attune';
      await expectErrorType(dbDrop(config, captureOutput()), ValidationError);
      expect(existsSync(path.join(root, 'data'))).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('the command named in advice', () => {
  it('is the npm script in a checkout, npx attune in a project, attune when installed globally', () => {
    expect(attuneCommand('db setup', 'checkout')).toBe('npm run db:setup');
    expect(attuneCommand('db stop', 'checkout')).toBe('npm run db:stop');
    // No npm script for create: the generic one.
    expect(attuneCommand('db create', 'checkout')).toBe('npm run attune -- db create');
    expect(attuneCommand('db setup', 'dependency')).toBe('npx attune db setup');
    expect(attuneCommand('db setup', 'installed')).toBe('attune db setup');
  });

  it('names npm scripts that exist and run what they are named for', () => {
    const { scripts } = JSON.parse(readFileSync(path.join(process.cwd(), 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    for (const command of ['setup', 'migrate', 'status', 'verify', 'stop']) {
      const advice = attuneCommand(`db ${command}`, 'checkout');
      expect(scripts[advice.replace('npm run ', '')]).toBe(`tsx src/cli/main.ts db ${command}`);
    }
  });

  it('is told apart by where the code runs from', () => {
    // This very module, in the repository: a checkout.
    expect(detectInvocation(new URL('../../src/invocation.ts', import.meta.url).href)).toBe('checkout');
    const root = mkdtempSync(path.join(tmpdir(), 'attune-invocation-'));
    try {
      // A project that depends on attune: node_modules/attune under a folder with a package.json.
      mkdirSync(path.join(root, 'project', 'node_modules', 'attune', 'dist'), { recursive: true });
      writeFileSync(path.join(root, 'project', 'package.json'), '{}');
      expect(detectInvocation(pathToFileURL(path.join(root, 'project', 'node_modules', 'attune', 'dist', 'invocation.js')).href)).toBe('dependency');
      // A global install: <prefix>/lib/node_modules/attune, with no project above it.
      mkdirSync(path.join(root, 'prefix', 'lib', 'node_modules', 'attune', 'dist'), { recursive: true });
      expect(detectInvocation(pathToFileURL(path.join(root, 'prefix', 'lib', 'node_modules', 'attune', 'dist', 'invocation.js')).href)).toBe('installed');
      // The built files inside a checkout are still a checkout.
      expect(detectInvocation(new URL('../../dist/invocation.js', import.meta.url).href)).toBe('checkout');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('db stop', () => {
  it('with a URL there is no embedded server to stop: exit 1, saying so without the password', async () => {
    const out = captureOutput();
    expect(await dbStop(configFor('postgres://attune:hunter22@127.0.0.1:1/attune_test'), out)).toBe(1);
    expect(out.lines).toEqual([
      "✗ ATTUNE__DATABASE__URL is set (postgres://attune:*****@127.0.0.1:1/attune_test): Attune starts no embedded server for it, so there is nothing to stop",
    ]);
  });

  it('nothing running on the data folder is fine, and nothing is created', async () => {
    const config = configFor(undefined);
    const dataDir = path.join(tmpdir(), `attune-never-started-${randomBytes(4).toString('hex')}`);
    config.database.embeddedDataDir = dataDir;
    const out = captureOutput();
    expect(await dbStop(config, out)).toBe(0);
    expect(out.lines).toEqual([`✓ No embedded PostgreSQL is running in ${dataDir}; nothing to stop`]);
    expect(existsSync(dataDir)).toBe(false);
  });
});
