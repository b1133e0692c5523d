/**
 * Load for the fault scenarios: webhooks posted with bounded concurrency
 * (loopback only), the replies tallied, and a /healthz probe measuring the
 * API's responsiveness meanwhile. A request that gets no reply within
 * `hangMs` counts as hung: a database outage must give a clear 503, never a hang.
 */
import type pg from 'pg';
import { registerPack } from '../../src/packs/register.js';
import { RuleRepository } from '../../src/repositories/rules.js';
import { PackFixture } from '../../src/testing/index.js';
import { CORE_PACK, sleep, type RoleChild } from './support.js';

/** The webhook the scenarios post to, and its rule (core.st2.webhook with url=name → core.noop). */
export async function createWebhookRule(pool: pg.Pool, name = 'fault'): Promise<{ ruleId: number; path: string }> {
  await registerPack(pool, CORE_PACK);
  const pack = await new PackFixture().create(pool);
  const rule = await RuleRepository.create(pool, { packRef: pack.ref, name: `on_${name}`, triggerRef: 'core.st2.webhook', triggerParams: { url: name }, actionRef: 'core.noop' });
  return { ruleId: rule.id, path: `/api/v1/webhooks/${name}` };
}

/** The API's base URL from its 'API listening' log line. */
export async function apiUrl(api: RoleChild): Promise<string> {
  const line = await api.waitForLog('API listening');
  return String(line.url);
}

/** Replies counted by status ('hung' for no reply within hangMs, 'network' for a refused or reset connection). */
export class WebhookTally {
  readonly byStatus = new Map<string, number>();
  readonly acceptedEventIds: number[] = [];
  sent = 0;

  count(status: string): void {
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
  }

  get(status: string): number {
    return this.byStatus.get(status) ?? 0;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.byStatus].sort());
  }
}

/** Posts one webhook; records the reply in `tally`. `base` may change (an API restarted on a new port). */
export async function postWebhook(base: string, path: string, body: unknown, tally: WebhookTally, hangMs = 30_000): Promise<string> {
  tally.sent += 1;
  try {
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(hangMs),
    });
    const text = await response.text();
    const status = String(response.status);
    if (response.status === 202) tally.acceptedEventIds.push((JSON.parse(text) as { data: { event_id: number } }).data.event_id);
    tally.count(status);
    return status;
  } catch (error) {
    const name = (error as Error).name;
    const status = name === 'TimeoutError' || name === 'AbortError' ? 'hung' : 'network';
    tally.count(status);
    return status;
  }
}

/**
 * Posts `total` webhooks with at most `concurrency` in flight (or until
 * `stop` aborts); body `{n}`. Resolves when all replies are in.
 */
export async function postWebhooks(
  base: () => string,
  path: string,
  total: number,
  concurrency: number,
  tally: WebhookTally,
  options: { stop?: AbortSignal; pauseMs?: number; gate?: () => Promise<void> } = {},
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total && !options.stop?.aborted) {
      await options.gate?.();
      if (options.stop?.aborted) break;
      const n = next++;
      await postWebhook(base(), path, { n }, tally);
      if (options.pauseMs) await sleep(options.pauseMs);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

/**
 * Holds a load back while the work it made waits in a queue: open while at
 * most `max` executions are requested or running and at most `max` events
 * wait for the rules role, shut above that (read every `everyMs`; a failed
 * read, the server being down, leaves it open: the load then meets 503s).
 * Without it a load faster than the machine's processing builds a queue
 * without bound, and every later measurement waits behind it.
 */
export class BacklogGate {
  private open = true;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(pool: pg.Pool, max: number, everyMs = 200) {
    this.loop = (async () => {
      while (this.running) {
        try {
          const { rows } = await pool.query<{ executions: number; events: number }>(
            `SELECT (SELECT count(*) FROM executions WHERE status IN ('requested', 'running'))::int AS executions,
                    (SELECT count(*) FROM event_queue)::int AS events`,
          );
          this.open = rows[0]!.executions <= max && rows[0]!.events <= max;
        } catch {
          this.open = true;
        }
        await sleep(everyMs);
      }
    })();
  }

  /** Resolves once the gate is open (at once when it is). */
  async wait(): Promise<void> {
    while (!this.open && this.running) await sleep(50);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** GET /healthz every `everyMs` until stopped; latencies in ms (a failed probe counts as its time to fail). */
export class HealthProbe {
  readonly latencies: number[] = [];
  failures = 0;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(base: () => string, everyMs = 50) {
    this.loop = (async () => {
      while (this.running) {
        const started = performance.now();
        try {
          const response = await fetch(`${base()}/healthz`, { signal: AbortSignal.timeout(30_000) });
          await response.text();
          if (!response.ok) this.failures += 1;
        } catch {
          this.failures += 1;
        }
        this.latencies.push(performance.now() - started);
        await sleep(everyMs);
      }
    })();
  }

  async stop(): Promise<{ probes: number; failures: number; p50Ms: number; p99Ms: number; maxMs: number }> {
    this.running = false;
    await this.loop;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const at = (q: number): number => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 10) / 10;
    return { probes: sorted.length, failures: this.failures, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
  }
}

/**
 * Counts, over the webhook events with ids in `eventIds`: events missing, or
 * without exactly one enforcement by `ruleId`, or whose execution is not
 * succeeded (`unfinished`); and how many executions there are for them.
 */
export async function auditWebhookEvents(pool: pg.Pool, eventIds: number[], ruleId: number) {
  const { rows } = await pool.query<{ found: number; no_enforcement: number; two_enforcements: number; succeeded: number; not_final: number; executions: number }>(
    `WITH ids AS (SELECT unnest($1::bigint[]) AS id),
          f AS (SELECT ids.id, (SELECT count(*) FROM enforcements f WHERE f.event_id = ids.id AND f.rule_id = $2) AS n FROM ids),
          x AS (SELECT x.status FROM executions x JOIN enforcements f ON f.id = x.enforcement_id WHERE f.event_id = ANY($1::bigint[]) AND f.rule_id = $2)
     SELECT (SELECT count(*) FROM events e WHERE e.id = ANY($1::bigint[]))::int AS found,
            (SELECT count(*) FROM f WHERE n = 0)::int AS no_enforcement,
            (SELECT count(*) FROM f WHERE n > 1)::int AS two_enforcements,
            (SELECT count(*) FROM x WHERE status = 'succeeded')::int AS succeeded,
            (SELECT count(*) FROM x WHERE status NOT IN ('succeeded', 'failed', 'timeout', 'canceled', 'abandoned'))::int AS not_final,
            (SELECT count(*) FROM x)::int AS executions`,
    [eventIds, ruleId],
  );
  const row = rows[0]!;
  return {
    accepted: eventIds.length,
    lostEvents: eventIds.length - row.found,
    withoutEnforcement: row.no_enforcement,
    duplicatedEnforcements: row.two_enforcements,
    executions: row.executions,
    succeeded: row.succeeded,
    notFinal: row.not_final,
  };
}
