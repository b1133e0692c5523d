/**
 * Shared by the fault scenarios: role processes started as an operator starts
 * them (logs captured to files), SIGKILL at random moments, memory sampled
 * from /proc, bounded waits, invariants checked by SQL, and the one JSON line
 * of figures each scenario prints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type pg from 'pg';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const CORE_PACK = join(REPO_ROOT, 'packs', 'core');
const ROLE_PROCESS = join(import.meta.dirname, 'role-process.ts');

export type RoleName = 'api' | 'rules' | 'worker' | 'maintenance' | 'timers' | 'sensors';

/** Settings that make recovery quick enough for a test (lease 3 s is the smallest the configuration takes). */
export const FAST_ROLE_ENV: Record<string, string> = {
  ATTUNE__LOG__LEVEL: 'info',
  ATTUNE__DATABASE__MAX_CONNECTIONS: '4',
  ATTUNE__DATABASE__CONNECT_TIMEOUT_MS: '2000',
  ATTUNE__RULES__POLL_INTERVAL_MS: '200',
  ATTUNE__WORKER__LEASE_SECONDS: '3',
  ATTUNE__WORKER__HEARTBEAT_SECONDS: '1',
  ATTUNE__WORKER__POLL_INTERVAL_MS: '200',
  ATTUNE__WORKER__SLOTS: '8',
  ATTUNE__WORKER__GRACE_SECONDS: '1',
  ATTUNE__WORKER__RUNNERS: 'shell,noop',
  ATTUNE__EXECUTION__SWEEP_INTERVAL_MS: '300',
  ATTUNE__EXECUTION__RETRY_BACKOFF_BASE_SECONDS: '0',
  ATTUNE__EXECUTION__RETRY_BACKOFF_CAP_SECONDS: '0',
  ATTUNE__EXECUTION__DEADLINE_GRACE_SECONDS: '5',
  ATTUNE__TIMERS__POLL_INTERVAL_MS: '100',
  ATTUNE__TIMERS__SYNC_INTERVAL_MS: '500',
  ATTUNE__SENSORS__RECONCILE_INTERVAL_MS: '300',
  ATTUNE__SENSORS__RESTART_BACKOFF_MS: '100',
  ATTUNE__API__HOST: '127.0.0.1',
  ATTUNE__API__PORT: '0',
  ATTUNE__API__RATE_LIMIT_MAX: '0',
  ATTUNE__SECURITY__ENABLE_AUTH: 'false',
};

/** One parsed JSON log line. */
export type LogLine = Record<string, unknown> & { msg?: string };

/** One run of one role process; its stdout and stderr go to `logFile` (appended across restarts). */
export class RoleChild {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly offset: number;

  constructor(
    readonly role: RoleName,
    readonly logFile: string,
    env: NodeJS.ProcessEnv,
  ) {
    const fd = openSync(logFile, 'a');
    this.offset = statSync(logFile).size;
    try {
      this.child = spawn(process.execPath, ['--import', 'tsx', ROLE_PROCESS, role], { cwd: REPO_ROOT, env, stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    this.pid = this.child.pid!;
    this.exited = new Promise((resolveExit) => this.child.on('close', (code, signal) => resolveExit({ code, signal })));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** This run's JSON log lines so far. */
  logLines(): LogLine[] {
    const text = readFileSync(this.logFile).subarray(this.offset).toString('utf8');
    const lines: LogLine[] = [];
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        // A line cut by SIGKILL.
      }
    }
    return lines;
  }

  /** Resolves with the first line whose msg starts with `prefix`; fails when the process exits first or after `timeoutMs`. */
  async waitForLog(prefix: string, timeoutMs = 60_000): Promise<LogLine> {
    return waitUntil(`${this.role} (pid ${this.pid}) to log '${prefix}'`, () => {
      const line = this.logLines().find((entry) => typeof entry.msg === 'string' && entry.msg.startsWith(prefix));
      if (line) return line;
      if (!this.running) throw new Error(`${this.role} exited before logging '${prefix}': ${this.tail()}`);
      return undefined;
    }, timeoutMs);
  }

  /** The end of the log, for failure messages. */
  tail(chars = 2000): string {
    return readFileSync(this.logFile).subarray(this.offset).toString('utf8').slice(-chars);
  }

  /** SIGKILL, and waits for the process to be gone. */
  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (a clean stop) and the exit code. */
  async stop(): Promise<number | null> {
    if (this.running) this.child.kill('SIGTERM');
    return (await this.exited).code;
  }
}

/**
 * The processes of one scenario: a temporary folder for their logs and data,
 * `start` and `restart` by name, memory sampled from /proc every `sampleMs`,
 * everything stopped by `close` (SIGKILL for those that do not stop).
 */
export class FaultHarness {
  readonly dir = mkdtempSync(join(tmpdir(), 'attune-faults-'));
  readonly children = new Map<string, RoleChild>();
  readonly peakRssKb = new Map<string, number>();
  restarts = 0;
  kills = 0;
  private sampler: NodeJS.Timeout | undefined;

  constructor(private readonly baseEnv: Record<string, string>) {}

  /** Starts role process `name` (running `role`) with the fast settings, the base environment and `env`. */
  start(name: string, role: RoleName, env: Record<string, string> = {}): RoleChild {
    const child = new RoleChild(role, join(this.dir, `${name}.log`), {
      ...process.env,
      ...FAST_ROLE_ENV,
      ATTUNE__WORKER__DATA_DIR: join(this.dir, `${name}-data`),
      ATTUNE__SENSORS__DATA_DIR: join(this.dir, `${name}-data`),
      ATTUNE__WORKER__NAME: name,
      ...this.baseEnv,
      ...env,
    });
    this.children.set(name, child);
    return child;
  }

  /** SIGKILLs `name` and starts it again with the same settings (counted). */
  async killAndRestart(name: string, env: Record<string, string> = {}): Promise<RoleChild> {
    const old = this.get(name);
    await old.kill();
    this.kills += 1;
    this.restarts += 1;
    return this.start(name, old.role, env);
  }

  get(name: string): RoleChild {
    const child = this.children.get(name);
    if (!child) throw new Error(`no role process named ${name}`);
    return child;
  }

  /** Samples every live child's resident memory every `ms`; `peakRssKb` keeps the peak per name. */
  sampleMemory(ms = 200): void {
    this.sampler = setInterval(() => {
      for (const [name, child] of this.children) {
        if (!child.running) continue;
        const kb = rssKb(child.pid);
        if (kb !== undefined && kb > (this.peakRssKb.get(name) ?? 0)) this.peakRssKb.set(name, kb);
      }
    }, ms);
  }

  /** Peak resident memory per process, in MiB (one decimal). */
  peakRssMb(): Record<string, number> {
    return Object.fromEntries([...this.peakRssKb].map(([name, kb]) => [name, Math.round(kb / 102.4) / 10]));
  }

  /** Stops every child (SIGTERM, then SIGKILL after `graceMs`) and removes the folder unless `keep`. */
  async close(options: { keep?: boolean; graceMs?: number } = {}): Promise<void> {
    clearInterval(this.sampler);
    await Promise.all(
      [...this.children.values()].map(async (child) => {
        if (!child.running) return;
        child.child.kill('SIGTERM');
        const timer = setTimeout(() => child.child.kill('SIGKILL'), options.graceMs ?? 10_000);
        await child.exited;
        clearTimeout(timer);
      }),
    );
    // ATTUNE_FAULT_KEEP=1 keeps the logs for a look after a failure.
    if (options.keep || process.env.ATTUNE_FAULT_KEEP === '1') process.stderr.write(`fault logs kept in ${this.dir}\n`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

/** VmRSS of `pid` in KiB, or undefined when it is gone. */
export function rssKb(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Polls `check` until it returns something other than undefined/false; fails
 * naming `what` after `timeoutMs`. The bound catches a hang: it is not a
 * speed assertion, so it is generous.
 */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 120_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

/** A whole number of milliseconds in [min, max). */
export function randomBetween(min: number, max: number): number {
  return Math.floor(min + Math.random() * (max - min));
}

/**
 * Prints the scenario's figures as one JSON line (`FAULT-FIGURES {...}`) and,
 * when ATTUNE_FAULT_FIGURES names a file, appends the JSON there too, for
 * docs/reliability.md to quote.
 */
export function reportFigures(scenario: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ scenario, at: new Date().toISOString(), ...figures });
  process.stdout.write(`FAULT-FIGURES ${line}\n`);
  if (process.env.ATTUNE_FAULT_FIGURES) appendFileSync(process.env.ATTUNE_FAULT_FIGURES, `${line}\n`);
}

/** What the execution invariants found: every count but `total`, `final`, `retried`, `abandoned` and `attempts` must be zero. */
export interface ExecutionAudit {
  total: number;
  final: number;
  /** Still requested, scheduled, running, ...: lost. */
  notFinal: number;
  /** Final without exactly one core.execution_finished event, or with two. */
  missingFinish: number;
  duplicatedFinish: number;
  /** Attempts history that disagrees with the row (a replaced attempt missing or recorded twice). */
  badHistory: number;
  retried: number;
  abandoned: number;
  attempts: number;
  byStatus: Record<string, number>;
}

/**
 * Checks every execution (or those with id in `ids`) by SQL: in a final
 * status; exactly one finish event; its replaced attempts numbered
 * 1..attempt-1, one row each.
 */
export async function auditExecutions(db: pg.Pool, ids?: number[]): Promise<ExecutionAudit> {
  const scope = ids === undefined ? 'TRUE' : 'x.id = ANY($1::bigint[])';
  const params = ids === undefined ? [] : [ids];
  const { rows } = await db.query<{ status: string; n: number }>(`SELECT x.status, count(*)::int AS n FROM executions x WHERE ${scope} GROUP BY x.status`, params);
  const byStatus = Object.fromEntries(rows.map((row) => [row.status, row.n]));
  const FINAL = ['succeeded', 'failed', 'timeout', 'canceled', 'abandoned'];
  const total = rows.reduce((sum, row) => sum + row.n, 0);
  const final = rows.filter((row) => FINAL.includes(row.status)).reduce((sum, row) => sum + row.n, 0);
  const finish = await db.query<{ missing: number; duplicated: number }>(
    `WITH f AS (SELECT (payload->>'execution_id')::bigint AS id, count(*) AS n FROM events
                 WHERE trigger_ref = 'core.execution_finished' GROUP BY 1)
     SELECT count(*) FILTER (WHERE f.n IS NULL)::int AS missing, count(*) FILTER (WHERE f.n > 1)::int AS duplicated
       FROM executions x LEFT JOIN f ON f.id = x.id
      WHERE ${scope} AND x.status IN ('succeeded', 'failed', 'timeout', 'canceled', 'abandoned')`,
    params,
  );
  // execution_attempts holds the attempts a retry replaced: 1 .. attempt-1, one row each (the last is the row itself).
  const history = await db.query<{ bad: number; retried: number; attempts: number }>(
    `WITH h AS (SELECT execution_id, count(*) AS n, count(DISTINCT attempt) AS distinct_attempts, max(attempt) AS last
                  FROM execution_attempts GROUP BY execution_id)
     SELECT count(*) FILTER (WHERE x.status IN ('succeeded', 'failed', 'timeout', 'canceled', 'abandoned')
                               AND (coalesce(h.n, 0) <> x.attempt - 1 OR coalesce(h.distinct_attempts, 0) <> x.attempt - 1
                                    OR coalesce(h.last, 0) <> x.attempt - 1))::int AS bad,
            count(*) FILTER (WHERE x.attempt > 1)::int AS retried,
            coalesce(sum(x.attempt), 0)::int AS attempts
       FROM executions x LEFT JOIN h ON h.execution_id = x.id WHERE ${scope}`,
    params,
  );
  return {
    total,
    final,
    notFinal: total - final,
    missingFinish: finish.rows[0]!.missing,
    duplicatedFinish: finish.rows[0]!.duplicated,
    badHistory: history.rows[0]!.bad,
    retried: history.rows[0]!.retried,
    abandoned: byStatus.abandoned ?? 0,
    attempts: history.rows[0]!.attempts,
    byStatus,
  };
}

/**
 * Per matching rule, events without exactly one enforcement (`missing`: none,
 * `duplicated`: two or more), enforcements without exactly one execution, and
 * events still waiting in the queue.
 */
export async function auditEnforcements(db: pg.Pool, rules: Array<{ id: number; matches: string }>): Promise<{ missing: number; duplicated: number; executionsWrong: number; queued: number }> {
  let missing = 0;
  let duplicated = 0;
  for (const rule of rules) {
    // `matches` is SQL over the event row `e` written by the scenario itself, never input.
    const { rows } = await db.query<{ missing: number; duplicated: number }>(
      `WITH c AS (SELECT e.id, (SELECT count(*) FROM enforcements f WHERE f.event_id = e.id AND f.rule_id = $1) AS n
                    FROM events e WHERE ${rule.matches})
       SELECT count(*) FILTER (WHERE n = 0)::int AS missing, count(*) FILTER (WHERE n > 1)::int AS duplicated FROM c`,
      [rule.id],
    );
    missing += rows[0]!.missing;
    duplicated += rows[0]!.duplicated;
  }
  const executions = await db.query<{ wrong: number }>(
    `SELECT count(*)::int AS wrong FROM enforcements f
      WHERE (SELECT count(*) FROM executions x WHERE x.enforcement_id = f.id) <> 1`,
  );
  const queued = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM event_queue');
  return { missing, duplicated, executionsWrong: executions.rows[0]!.wrong, queued: queued.rows[0]!.n };
}
