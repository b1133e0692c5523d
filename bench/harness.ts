/**
 * The benchmark harness: a recording executor, the case definition, and the
 * interleaved runner that times a repository call against a raw-driver
 * baseline on the same connection.
 */
import type pg from 'pg';
import type { Executor } from '../src/db/pool.js';

/** One statement as the driver received it, and what came back. */
export interface RecordedQuery {
  text: string;
  values: unknown[];
  result?: pg.QueryResult;
}

/**
 * An Executor that forwards every statement to one client, counts them, and
 * records text, values and results while `recording` is set. Both sides of
 * every benchmark go through it, so its (negligible) cost is the same for
 * both. In replay mode it answers from recorded results without touching the
 * server, which isolates the client-side cost of a call (validation, SQL
 * building, row mapping).
 */
export class RecordingExecutor {
  statements = 0;
  recording: RecordedQuery[] | null = null;
  private replaying: pg.QueryResult[] | null = null;
  private replayIndex = 0;

  constructor(readonly client: pg.ClientBase) {}

  /** Runs `fn` with recording on and returns what it sent. */
  async capture(fn: () => Promise<unknown>): Promise<RecordedQuery[]> {
    const recorded: RecordedQuery[] = [];
    this.recording = recorded;
    try {
      await fn();
    } finally {
      this.recording = null;
    }
    return recorded;
  }

  /** Runs `fn` while every statement is answered, in turn, from `results`. */
  async replay<T>(results: pg.QueryResult[], fn: () => Promise<T>): Promise<T> {
    if (results.length === 0) throw new Error('nothing to replay');
    this.replaying = results;
    this.replayIndex = 0;
    try {
      return await fn();
    } finally {
      this.replaying = null;
    }
  }

  /** The executor to hand to repositories (and baselines). */
  get executor(): Executor {
    return this as unknown as Executor;
  }

  query(textOrConfig: string | pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult> {
    if (this.replaying) return Promise.resolve(this.replaying[this.replayIndex++ % this.replaying.length]!);
    this.statements++;
    const promise =
      typeof textOrConfig === 'string'
        ? this.client.query(textOrConfig, values as unknown[])
        : this.client.query(textOrConfig as pg.QueryConfig, values as unknown[]);
    if (this.recording) {
      const entry: RecordedQuery =
        typeof textOrConfig === 'string'
          ? { text: textOrConfig, values: values ?? [] }
          : { text: textOrConfig.text, values: (textOrConfig.values as unknown[] | undefined) ?? values ?? [] };
      this.recording.push(entry);
      return promise.then((result) => {
        entry.result = result;
        return result;
      });
    }
    return promise;
  }
}

/** What a benchmark's ratio is held to. */
export interface Target {
  /** Short label printed next to PASS/MISS. */
  label: string;
  /** Minimum repository/baseline rate ratio. */
  min: number;
}

export const SINGLE_ROW_TARGET: Target = { label: 'single-row ≥ 0.80× raw', min: 0.8 };
export const BATCH_TARGET: Target = { label: 'batch 1,000 ≥ 0.50× multi-row limit', min: 0.5 };

/**
 * One operation. `i` is the variant's own sequence number (0, 1, 2, … for
 * every variant alike), so both sides cycle through the same inputs in the
 * same proportions; operations that need unique values keep their own counter.
 */
export type Operation = (i: number) => Promise<unknown>;

/** What the plan checker should look at for a case. */
export interface PlanSpec {
  /** Tables that are big in this case: a Seq Scan on one is a problem. */
  bigTables: string[];
  /** Row count of the big table when the plan is taken, for the report. */
  rows: number;
}

/** What every case has, whatever way it is timed. */
interface CaseBase {
  /** Dotted name, e.g. `pack.create`; `--only` matches on it. */
  name: string;
  group: 'packs' | 'actions' | 'events' | 'executions' | 'rules';
  /** One line: what one operation is. */
  title: string;
  /** What the baseline does, one line. */
  baselineTitle: string;
  target?: Target;
  /**
   * Optional check that the repository and the baseline do the same work,
   * run once before timing: returns a problem description or null.
   */
  verify?: () => Promise<string | null>;
}

/** A case timed operation by operation on the bench connection (database work). */
export interface BenchCase extends CaseBase {
  kind?: 'operations';
  /** Rates are reported per operation, or per row for batches. */
  rowsPerOp?: number;
  /** Adds or changes rows: runs after every read-only case, so reads see the seeded sizes. */
  writes?: boolean;
  /** Caps calibration (queues that must not run dry, heavy batches). */
  maxOpsPerRound?: number;
  /** Caps the timed rounds below the run's minimum (operations of many seconds, such as draining 20,000 executions). */
  maxRounds?: number;
  /**
   * Length of the case's input cycle (filters × offsets). Rounds hold a
   * multiple of it, so every round of either side runs the same mix and the
   * per-round ratio compares like with like. Default 1.
   */
  cycle?: number;
  /** Runs before warm-up; receives the most operations the run may make per variant. */
  setup?: (maxOpsPerVariant: number) => Promise<void>;
  /**
   * Runs after the case, whatever happened: stops the roles its scene
   * started (a worker, a rules role, an API), so that no later case shares
   * the queue with them.
   */
  teardown?: () => Promise<void>;
  repo: Operation;
  baseline: Operation;
  /** Further variants timed in the same rounds (e.g. COPY), reported but not part of the ratio. */
  extras?: { name: string; title: string; run: Operation }[];
  /** Checked with EXPLAIN when set (read-only lookups, lists and searches, the queue claim). */
  plan?: PlanSpec;
  /**
   * For lists and searches: operations 0–2 of repo and baseline must return
   * the same ids in the same order and the same total (both return
   * `{ items: { id }[], total }`).
   */
  comparePages?: boolean;
}

/**
 * One synchronous operation of a microbenchmark; what it returns is kept
 * (summed when a number) so the work cannot be optimised away.
 */
export type SyncOperation = (i: number) => unknown;

/**
 * A pure-CPU microbenchmark (no database), timed in batches: each side runs
 * its own calibrated number of synchronous operations per timed round, so a
 * round lasts about `roundMs` however fast the side is (a hand-written
 * baseline taking nanoseconds is timed over millions of calls, not one),
 * and no clock read, promise or await sits between two operations. Rates
 * are per operation; the ratio is the median over round pairs of the two
 * rates.
 */
export interface MicroBenchCase extends CaseBase {
  kind: 'micro';
  /**
   * Length of the input cycle: rounds hold a multiple of it, so both sides
   * run the same mix of inputs. Default 1.
   */
  cycle?: number;
  repo: SyncOperation;
  baseline: SyncOperation;
}

/** Any case a factory may return. */
export type AnyBenchCase = BenchCase | MicroBenchCase;

export function isMicroCase(c: AnyBenchCase): c is MicroBenchCase {
  return c.kind === 'micro';
}

export interface RunOptions {
  /** Timed rounds per variant. */
  rounds: number;
  /** Calibrated length of one variant's round. */
  roundMs: number;
  /** Warm-up time per variant before calibration. */
  warmupMs: number;
  /** Fewest rounds when a slow case is cut down to its time budget. */
  minRounds: number;
  /** Rough timed budget per case (all variants); slow cases run fewer rounds, never fewer than minRounds. */
  caseBudgetMs: number;
}

export interface VariantResult {
  name: string;
  title: string;
  ops: number;
  rows: number;
  /** Operations per second over the timed rounds. */
  opsPerSec: number;
  /** Rows per second (batches); equals opsPerSec otherwise. */
  rowsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** Statements sent per operation (round trips). */
  statementsPerOp: number;
  /**
   * Client-side microseconds per operation with the server taken out: the
   * call replayed against recorded results (validation, SQL building,
   * parameter preparation, row mapping; not the driver's own work).
   */
  clientUs?: number;
}

export interface CaseResult {
  name: string;
  group: string;
  title: string;
  unit: 'ops/s' | 'rows/s';
  rowsPerOp: number;
  /** Operations per timed round (the repository's, for a microbenchmark). */
  opsPerRound: number;
  /** A microbenchmark's baseline operations per timed round (each side is calibrated on its own). */
  baselineOpsPerRound?: number;
  rounds: number;
  warmupOps: number;
  repo: VariantResult;
  baseline: VariantResult;
  extras: VariantResult[];
  /** repo rate / baseline rate over all timed rounds (throughput ratio). */
  throughputRatio: number;
  /**
   * The ratio the targets are judged on: the median over rounds of
   * (baseline round time / repo round time) for rounds run back to back.
   * A burst of noise from a neighbour hits one round pair, not the median.
   */
  ratio: number;
  target?: { label: string; min: number; verdict: 'PASS' | 'MISS' };
  verifyProblem?: string;
  error?: string;
}

interface Variant {
  name: string;
  title: string;
  run: Operation;
  /** Next sequence number. */
  k: number;
  latencies: number[];
  roundMs: number[];
  statements: number;
}

/**
 * Times the case: warm-up of every variant, calibration of the round size,
 * then rounds A/B/(C…)/A/B/… on the same connection, so both sides see the
 * same server, cache and neighbour noise.
 */
export async function runCase(c: BenchCase, exec: RecordingExecutor, options: RunOptions): Promise<CaseResult> {
  const variants: Variant[] = [
    { name: 'repo', title: c.title, run: c.repo, k: 0, latencies: [], roundMs: [], statements: 0 },
    { name: 'baseline', title: c.baselineTitle, run: c.baseline, k: 0, latencies: [], roundMs: [], statements: 0 },
    ...(c.extras ?? []).map((e) => ({ name: e.name, title: e.title, run: e.run, k: 0, latencies: [], roundMs: [], statements: 0 })),
  ];
  const cap = c.maxOpsPerRound ?? 500;
  const unit = c.cycle ?? 1;
  const maxOpsPerVariant = Math.max(cap, unit) * options.rounds + 2 * cap;
  await c.setup?.(maxOpsPerVariant);

  let verifyProblem = c.verify ? ((await c.verify()) ?? undefined) : undefined;
  if (c.comparePages && !verifyProblem) verifyProblem = (await comparePages(c)) ?? undefined;

  // Warm-up: each variant in turn, twice, until it has run warmupMs (at least one input cycle, 3 operations).
  const warmMean = new Map<Variant, number>();
  let warmupOps = 0;
  for (const variant of variants) warmMean.set(variant, 0);
  const spent = new Map<Variant, { ms: number; ops: number }>(variants.map((v) => [v, { ms: 0, ops: 0 }]));
  for (let pass = 0; pass < 2; pass++) {
    for (const variant of variants) {
      const s = spent.get(variant)!;
      const until = (options.warmupMs / 2) * (pass + 1);
      while ((s.ms < until || s.ops < Math.max(3, unit) * (pass + 1)) && s.ops < Math.max(cap, unit) * 2) {
        const started = performance.now();
        await variant.run(variant.k++);
        s.ms += performance.now() - started;
        s.ops++;
      }
    }
  }
  for (const variant of variants) {
    const s = spent.get(variant)!;
    warmMean.set(variant, s.ms / s.ops);
    warmupOps = Math.max(warmupOps, s.ops);
  }
  const slowest = Math.max(...variants.map((v) => warmMean.get(v)!));
  const opsPerRound = Math.max(unit, Math.floor(Math.min(cap, Math.floor(options.roundMs / slowest)) / unit) * unit);
  const roundPairMs = opsPerRound * variants.reduce((sum, v) => sum + warmMean.get(v)!, 0);
  const rounds = Math.min(c.maxRounds ?? Infinity, options.rounds, Math.max(options.minRounds, Math.floor(options.caseBudgetMs / roundPairMs)));

  for (let round = 0; round < rounds; round++) {
    for (const variant of variants) {
      const before = exec.statements;
      const roundStart = performance.now();
      for (let k = 0; k < opsPerRound; k++) {
        const started = performance.now();
        await variant.run(variant.k++);
        variant.latencies.push(performance.now() - started);
      }
      variant.roundMs.push(performance.now() - roundStart);
      variant.statements += exec.statements - before;
    }
  }

  const rowsPerOp = c.rowsPerOp ?? 1;
  const results = variants.map((v) => summarise(v, rowsPerOp));
  // Client-side cost: one real call recorded, then the same call replayed without the server.
  for (const [k, variant] of variants.slice(0, 2).entries()) {
    const index = variant.k++;
    const recorded = await exec.capture(() => variant.run(index));
    const replies = recorded.map((q) => q.result).filter((r): r is pg.QueryResult => r !== undefined);
    if (replies.length === 0) continue;
    let ops = 0;
    const begin = performance.now();
    await exec.replay(replies, async () => {
      while (ops < 20 || (performance.now() - begin < options.warmupMs / 3 && ops < 2000)) {
        await variant.run(index);
        ops++;
      }
    });
    results[k]!.clientUs = ((performance.now() - begin) / ops) * 1000;
  }
  const [repo, baseline, ...extras] = results as [VariantResult, VariantResult, ...VariantResult[]];
  const roundRatios = variants[0]!.roundMs.map((ms, i) => variants[1]!.roundMs[i]! / ms);
  const ratio = percentile([...roundRatios].sort((a, b) => a - b), 0.5);
  const result: CaseResult = {
    name: c.name,
    group: c.group,
    title: c.title,
    unit: rowsPerOp > 1 || c.rowsPerOp !== undefined ? 'rows/s' : 'ops/s',
    rowsPerOp,
    opsPerRound,
    rounds,
    warmupOps,
    repo,
    baseline,
    extras,
    throughputRatio: repo.opsPerSec / baseline.opsPerSec,
    ratio,
  };
  if (c.target) result.target = { ...c.target, verdict: ratio >= c.target.min ? 'PASS' : 'MISS' };
  if (verifyProblem) result.verifyProblem = verifyProblem;
  return result;
}

/** What microbenchmark operations returned, kept where the optimiser cannot prove it unused. */
export let microSink = 0;

/** A microbenchmark side while it is timed. */
interface MicroSide {
  name: string;
  title: string;
  run: SyncOperation;
  /** Next input index. */
  k: number;
  opsPerRound: number;
  roundMs: number[];
}

/** Runs `count` operations of `side` back to back; returns the milliseconds they took. */
function timeBatch(side: MicroSide, count: number): number {
  let sink = 0;
  const started = performance.now();
  for (let n = 0; n < count; n++) {
    const result = side.run(side.k++);
    sink += typeof result === 'number' ? result : result ? 1 : 0;
  }
  const ms = performance.now() - started;
  microSink += sink;
  return ms;
}

/**
 * Times a microbenchmark (see MicroBenchCase): warm-up of both sides, each
 * side's round size calibrated to `roundMs` (a multiple of the input cycle),
 * then rounds repo, baseline, repo, baseline… Latency percentiles are over
 * rounds of the mean time per operation.
 */
export async function runMicroCase(c: MicroBenchCase, options: RunOptions): Promise<CaseResult> {
  const verifyProblem = c.verify ? ((await c.verify()) ?? undefined) : undefined;
  const unit = c.cycle ?? 1;
  const sides: MicroSide[] = [
    { name: 'repo', title: c.title, run: c.repo, k: 0, opsPerRound: 0, roundMs: [] },
    { name: 'baseline', title: c.baselineTitle, run: c.baseline, k: 0, opsPerRound: 0, roundMs: [] },
  ];
  let warmupOps = 0;
  for (const side of sides) {
    // Doubling batches until one takes a tenth of the warm-up, then the rest of it: the per-operation time, JIT-compiled.
    let count = unit;
    let spentMs = 0;
    let ops = 0;
    while (spentMs < options.warmupMs) {
      const ms = timeBatch(side, count);
      spentMs += ms;
      ops += count;
      if (ms < options.warmupMs / 10) count *= 2;
    }
    const last = timeBatch(side, count);
    ops += count;
    warmupOps = Math.max(warmupOps, ops);
    const perOpMs = Math.max(last / count, 1e-6);
    side.opsPerRound = Math.max(unit, Math.round(options.roundMs / perOpMs / unit) * unit);
  }
  const rounds = Math.min(options.rounds, Math.max(options.minRounds, Math.floor(options.caseBudgetMs / (2 * options.roundMs))));
  for (let round = 0; round < rounds; round++) {
    for (const side of sides) side.roundMs.push(timeBatch(side, side.opsPerRound));
  }
  const [repo, baseline] = sides.map(summariseMicro) as [VariantResult, VariantResult];
  const repoSide = sides[0]!;
  const baselineSide = sides[1]!;
  const roundRatios = repoSide.roundMs.map((ms, i) => repoSide.opsPerRound / ms / (baselineSide.opsPerRound / baselineSide.roundMs[i]!));
  const ratio = percentile([...roundRatios].sort((a, b) => a - b), 0.5);
  const result: CaseResult = {
    name: c.name,
    group: c.group,
    title: c.title,
    unit: 'ops/s',
    rowsPerOp: 1,
    opsPerRound: repoSide.opsPerRound,
    baselineOpsPerRound: baselineSide.opsPerRound,
    rounds,
    warmupOps,
    repo,
    baseline,
    extras: [],
    throughputRatio: repo.opsPerSec / baseline.opsPerSec,
    ratio,
  };
  if (c.target) result.target = { ...c.target, verdict: ratio >= c.target.min ? 'PASS' : 'MISS' };
  if (verifyProblem) result.verifyProblem = verifyProblem;
  return result;
}

function summariseMicro(side: MicroSide): VariantResult {
  const totalMs = side.roundMs.reduce((a, b) => a + b, 0);
  const ops = side.opsPerRound * side.roundMs.length;
  const perOp = side.roundMs.map((ms) => ms / side.opsPerRound).sort((a, b) => a - b);
  const opsPerSec = (ops / totalMs) * 1000;
  return {
    name: side.name,
    title: side.title,
    ops,
    rows: ops,
    opsPerSec,
    rowsPerSec: opsPerSec,
    p50Ms: percentile(perOp, 0.5),
    p99Ms: percentile(perOp, 0.99),
    meanMs: totalMs / ops,
    statementsPerOp: 0,
  };
}

/** Same ids, same order, same total for the first pages of repo and baseline. */
async function comparePages(c: BenchCase): Promise<string | null> {
  let rows = 0;
  for (let i = 0; i < 3; i++) {
    const a = (await c.repo(i)) as { items: { id: number }[]; total: number };
    const b = (await c.baseline(i)) as { items: { id: number | string }[]; total: number };
    const aIds = a.items.map((item) => Number(item.id)).join(',');
    const bIds = b.items.map((item) => Number(item.id)).join(',');
    if (aIds !== bIds) return `operation ${i}: repository and baseline pages differ (repo ${a.items.length} rows, baseline ${b.items.length})`;
    if (a.total !== b.total) return `operation ${i}: repository total ${a.total} ≠ baseline total ${b.total}`;
    rows += a.items.length;
  }
  return rows === 0 ? 'the first three operations matched no rows' : null;
}

function summarise(v: Variant, rowsPerOp: number): VariantResult {
  const sorted = [...v.latencies].sort((a, b) => a - b);
  const totalMs = v.roundMs.reduce((a, b) => a + b, 0);
  const ops = v.latencies.length;
  const opsPerSec = (ops / totalMs) * 1000;
  return {
    name: v.name,
    title: v.title,
    ops,
    rows: ops * rowsPerOp,
    opsPerSec,
    rowsPerSec: opsPerSec * rowsPerOp,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    meanMs: totalMs / ops,
    statementsPerOp: v.statements / ops,
  };
}

/** A ratio for the reports: two decimals, or two significant digits below 0.1 (a microbenchmark's 0.0082 is not 0.01). */
export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return '—';
  return ratio >= 0.1 ? ratio.toFixed(2) : ratio.toPrecision(2);
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1]!;
}
