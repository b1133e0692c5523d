/**
 * `npm run bench`: data-layer benchmarks against a raw-driver baseline.
 *
 * Starts (or reaches) the same PostgreSQL as the tests, creates a database of
 * its own, migrates and seeds it, checks query plans, then times every
 * repository call against a hand-written `pg` query doing the same work on
 * the same connection, interleaved round by round.
 *
 *   npm run bench                      full run (~2–4 minutes)
 *   npm run bench -- --quick           fewer rounds, shorter rounds
 *   npm run bench -- --only pack.,event.create-many
 *   npm run bench -- --json            JSON on stdout (progress on stderr)
 *   npm run bench -- --keep            keep the database (external server)
 *   npm run bench -- --list            list the benchmarks and exit
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { withDatabase } from '../src/config.js';
import { migrate } from '../src/db/migrator.js';
import { createPool } from '../src/db/pool.js';
import { markInTransaction } from '../src/db/transaction.js';
import { startTestServer, type TestServer } from '../src/testing/database.js';
import { loadTestConfig } from '../src/testing/env.js';
import type { BenchContext } from './context.js';
import { formatRatio, isMicroCase, RecordingExecutor, runCase, runMicroCase, type AnyBenchCase, type BenchCase, type CaseResult, type RunOptions } from './harness.js';
import { checkPlans, type PlanReport } from './plans.js';
import { formatReport, type BenchReport, type MachineInfo } from './report.js';
import { seed, SIZES } from './seed.js';

const USAGE = `Usage: npm run bench -- [options]

  --quick            fewer and shorter rounds (a smoke run, ~1 minute)
  --only <names>     comma-separated substrings of benchmark names or groups (pack., event.create-many, executions)
  --json             print the result as JSON on stdout (progress goes to stderr)
  --keep             keep the bench database afterwards (external server only)
  --database <name>  name of the bench database (default attune_bench)
  --rounds <n>       timed rounds per variant (default 40, quick 8)
  --round-ms <ms>    calibrated length of one variant's round (default 40, quick 25)
  --no-plans         skip the EXPLAIN checks
  --list             list the benchmarks and exit
  --help             this text`;

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

/** Case factories, loaded lazily: a repository that does not exist yet skips its group. */
const FACTORIES: { group: string; load: () => Promise<(ctx: BenchContext) => AnyBenchCase[]> }[] = [
  { group: 'packs', load: async () => (await import('./cases/packs.js')).packCases },
  { group: 'packs', load: async () => (await import('./cases/pack-register.js')).packRegisterCases },
  { group: 'actions', load: async () => (await import('./cases/actions.js')).actionCases },
  { group: 'events', load: async () => (await import('./cases/events.js')).eventCases },
  { group: 'executions', load: async () => (await import('./cases/executions.js')).executionCases },
  { group: 'rules', load: async () => (await import('./cases/criteria.js')).criteriaCases },
  { group: 'rules', load: async () => (await import('./cases/templates.js')).templateCases },
  { group: 'events', load: async () => (await import('./cases/timers.js')).timerCases },
  { group: 'rules', load: async () => (await import('./cases/event-processing.js')).eventProcessingCases },
  { group: 'executions', load: async () => (await import('./cases/worker.js')).workerCases },
  { group: 'events', load: async () => (await import('./cases/webhooks.js')).webhookCases },
  { group: 'executions', load: async () => (await import('./cases/cli.js')).cliCases },
  { group: 'executions', load: async () => (await import('./cases/up.js')).upCases },
  { group: 'executions', load: async () => (await import('./cases/api.js')).apiCases },
  { group: 'events', load: async () => (await import('./cases/end-to-end.js')).endToEndCases },
];

async function main(): Promise<number> {
  const { values: args } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      database: { type: 'string', default: 'attune_bench' },
      rounds: { type: 'string' },
      'round-ms': { type: 'string' },
      'no-plans': { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    allowPositionals: false,
  });
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const log = (message: string) => (args.json ? process.stderr : process.stdout).write(`${message}\n`);
  const only = (args.only ?? []).flatMap((value) => value.split(',')).map((value) => value.trim()).filter(Boolean);
  const selected = (c: AnyBenchCase) => only.length === 0 || only.some((pattern) => c.name.includes(pattern) || c.group === pattern);

  const options: RunOptions = {
    rounds: Number(args.rounds ?? (args.quick ? 8 : 40)),
    roundMs: Number(args['round-ms'] ?? (args.quick ? 25 : 40)),
    warmupMs: args.quick ? 100 : 300,
    minRounds: args.quick ? 4 : 12,
    caseBudgetMs: args.quick ? 1500 : 6000,
  };
  if (!Number.isInteger(options.rounds) || options.rounds < 1 || !(options.roundMs > 0)) throw new Error('--rounds and --round-ms must be positive numbers');
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(args.database!)) throw new Error(`--database '${args.database}' is not a plain lowercase database name`);

  // Case factories need a context only to build closures; list mode uses a dummy one.
  const factories: { group: string; build: (ctx: BenchContext) => AnyBenchCase[] }[] = [];
  const skippedGroups: string[] = [];
  for (const factory of FACTORIES) {
    try {
      factories.push({ group: factory.group, build: await factory.load() });
    } catch (error) {
      skippedGroups.push(`${factory.group} (${(error as Error).message.split('\n')[0]})`);
    }
  }
  if (args.list) {
    const dummy = {} as BenchContext;
    for (const factory of factories) for (const c of factory.build(dummy)) console.log(`${c.name.padEnd(32)} ${c.title}`);
    for (const group of skippedGroups) console.log(`(skipped: ${group})`);
    return 0;
  }

  const started = Date.now();
  const config = loadTestConfig();
  log(`attune bench: ${config.database.url ? 'using the configured PostgreSQL' : 'starting an embedded PostgreSQL'}…`);
  const server = await startTestServer(config);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.stop().catch(() => undefined);
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));

  let pool: pg.Pool | undefined;
  let client: pg.PoolClient | undefined;
  const databaseName = args.database!;
  try {
    await recreateDatabase(server, databaseName);
    const url = withDatabase(server.adminUrl, databaseName);
    pool = createPool({ url, maxConnections: 1, applicationName: 'attune-bench' });
    await migrate(pool);
    client = await pool.connect();
    const exec = new RecordingExecutor(client);
    const ctx: BenchContext = { exec, db: exec.executor, client, quick: args.quick! };

    const serverVersion = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
    const machine = machineInfo(server, serverVersion);
    log(`PostgreSQL ${serverVersion} (${server.kind}), ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}`);
    log(`seeding ${databaseName}:`);
    await seed(client, log);

    // Reads first, so lists and searches run at the seeded sizes; then the cases that add rows.
    const all = factories.flatMap((factory) => factory.build(ctx)).filter(selected);
    const writes = (c: AnyBenchCase) => !isMicroCase(c) && c.writes === true;
    const cases = [...all.filter((c) => !writes(c)), ...all.filter(writes)];
    if (cases.length === 0) throw new Error(`--only ${only.join(',')} matches no benchmark; see --list`);

    const plans: PlanReport[] = [];
    if (!args['no-plans']) {
      log('checking query plans (EXPLAIN at full size)…');
      for (const c of cases.filter((x): x is BenchCase => !isMicroCase(x) && x.plan !== undefined)) {
        try {
          await c.setup?.(0);
          for (const side of ['repo', 'baseline'] as const) {
            const recorded = await inRolledBackTransaction(exec, () => exec.capture(() => c[side](0)));
            plans.push(...(await checkPlans(client, c.name, side, recorded, c.plan!.bigTables, c.plan!.rows)));
          }
        } catch (error) {
          plans.push({
            caseName: c.name,
            side: 'repo',
            sql: '',
            tableRows: c.plan!.rows,
            ok: false,
            problems: [`plan check failed: ${(error as Error).message}`],
            warnings: [],
            shape: '',
            scans: [],
            indexes: [],
            analyzed: false,
          });
        }
      }
      const bad = plans.filter((p) => !p.ok && p.side === 'repo');
      const heavy = plans.filter((p) => p.ok && p.warnings.length > 0 && p.side === 'repo');
      log(`  ${plans.length} statements explained; repository: ${bad.length} with a Seq Scan on a big table, ${heavy.length} more reading far more rows than they return`);
    }

    log(`running ${cases.length} benchmarks (${options.rounds} rounds of ~${options.roundMs} ms per variant, interleaved)…`);
    const results: CaseResult[] = [];
    for (const c of cases) {
      const caseStart = performance.now();
      try {
        const result = isMicroCase(c) ? await runMicroCase(c, options) : await runCase(c, exec, options);
        results.push(result);
        const verdict = result.target ? ` ${result.target.verdict}` : '';
        log(
          `  ${c.name.padEnd(34)} ratio ${formatRatio(result.ratio)}${verdict}  (${result.rounds}×${result.opsPerRound}${result.baselineOpsPerRound !== undefined ? `/${result.baselineOpsPerRound}` : ''} ops/variant, ${((performance.now() - caseStart) / 1000).toFixed(1)} s)`,
        );
      } catch (error) {
        log(`  ${c.name.padEnd(34)} FAILED: ${(error as Error).message}`);
        results.push(failed(c, error));
      } finally {
        if (!isMicroCase(c)) await c.teardown?.().catch((error: Error) => log(`  ${c.name.padEnd(34)} teardown failed: ${error.message}`));
      }
    }

    const report: BenchReport = {
      startedAt: new Date(started).toISOString(),
      durationS: Math.round((Date.now() - started) / 1000),
      mode: args.quick ? 'quick' : 'full',
      options,
      machine: { ...machine, loadAverageEnd: os.loadavg().map((x) => +x.toFixed(2)) },
      database: databaseName,
      dataset: { ...SIZES },
      skippedGroups,
      only,
      results,
      plans,
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    const json = `${JSON.stringify(report, null, 2)}\n`;
    writeFileSync(path.join(RESULTS_DIR, 'latest.json'), json);
    writeFileSync(path.join(RESULTS_DIR, `${report.startedAt.replace(/[:.]/g, '-')}-${report.mode}.json`), json);
    if (args.json) process.stdout.write(json);
    else log(formatReport(report));
    log(`results written to ${path.relative(process.cwd(), path.join(RESULTS_DIR, 'latest.json'))}`);
    return results.some((r) => r.error) ? 1 : 0;
  } finally {
    client?.release();
    await pool?.end().catch(() => undefined);
    if (args.keep && server.kind === 'external') log(`kept database ${databaseName}`);
    else {
      if (args.keep) log('--keep: the embedded server and its data folder are removed at exit; set ATTUNE__DATABASE__URL to keep a bench database');
      await dropDatabase(server, databaseName).catch(() => undefined);
    }
    await stop();
  }
}

/**
 * Runs `fn` inside a transaction that is rolled back, with the executor
 * marked as inside one (so a repository's own withTransaction nests as a
 * savepoint): the plan phase leaves the seeded data as it was.
 */
async function inRolledBackTransaction<T>(exec: RecordingExecutor, fn: () => Promise<T>): Promise<T> {
  await exec.client.query('BEGIN');
  markInTransaction(exec, true);
  try {
    return await fn();
  } finally {
    markInTransaction(exec, false);
    await exec.client.query('ROLLBACK');
  }
}

async function recreateDatabase(server: TestServer, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
}

async function dropDatabase(server: TestServer, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

function machineInfo(server: TestServer, serverVersion: string): MachineInfo {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) cpuModel = line.split(':')[1]!.trim();
  } catch {
    // not Linux: os.cpus() it is
  }
  return {
    cpus: os.availableParallelism(),
    cpuModel,
    memoryGiB: +(os.totalmem() / 1024 ** 3).toFixed(1),
    node: process.version,
    postgres: serverVersion,
    server: server.kind,
    durability: server.kind === 'embedded' ? 'fsync=off, synchronous_commit=off (throwaway server)' : 'as configured',
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverageStart: os.loadavg().map((x) => +x.toFixed(2)),
  };
}

function failed(c: AnyBenchCase, error: unknown): CaseResult {
  const empty = { name: '', title: '', ops: 0, rows: 0, opsPerSec: NaN, rowsPerSec: NaN, p50Ms: NaN, p99Ms: NaN, meanMs: NaN, statementsPerOp: NaN };
  return {
    name: c.name,
    group: c.group,
    title: c.title,
    unit: 'ops/s',
    rowsPerOp: isMicroCase(c) ? 1 : (c.rowsPerOp ?? 1),
    opsPerRound: 0,
    rounds: 0,
    warmupOps: 0,
    repo: { ...empty, name: 'repo', title: c.title },
    baseline: { ...empty, name: 'baseline', title: c.baselineTitle },
    extras: [],
    ratio: NaN,
    throughputRatio: NaN,
    error: (error as Error).message,
    ...(c.target ? { target: { ...c.target, verdict: 'MISS' as const } } : {}),
  };
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`attune bench failed: ${(error as Error)?.stack ?? String(error)}`);
    process.exit(1);
  },
);
