/**
 * Event storm: N webhooks posted as fast as the machine allows (bounded
 * concurrency, loopback) to `attune api`, with `attune rules` and `attune
 * worker` processing them. Every accepted event ends in one enforcement and
 * one succeeded execution; the memory of every process is sampled (peak
 * reported) and the API's /healthz latency is measured during the storm.
 */
import type pg from 'pg';
import { cleanDatabase } from '../../../src/testing/index.js';
import { apiUrl, auditWebhookEvents, createWebhookRule, HealthProbe, postWebhooks, WebhookTally } from '../load.js';
import { auditExecutions, FaultHarness, reportFigures, waitUntil } from '../support.js';

export interface EventStormOptions {
  events: number;
  concurrency: number;
  timeoutMs: number;
}

export async function runEventStorm(pool: pg.Pool, options: EventStormOptions) {
  await cleanDatabase(pool);
  const { ruleId, path } = await createWebhookRule(pool, 'storm');
  // The database stays up here, so a webhook waiting for one of the API's 4 connections must wait, not get the 503 that
  // the fault settings' 2 s connect timeout gives after a stall of a loaded machine (20 s, under the 30 s this scenario calls a hang).
  const harness = new FaultHarness({
    ATTUNE__WORKER__RUNNERS: 'noop',
    ATTUNE__WORKER__SLOTS: '32',
    ATTUNE__RULES__BATCH_SIZE: '200',
    ATTUNE__DATABASE__CONNECT_TIMEOUT_MS: '20000',
  });
  const deadline = Date.now() + options.timeoutMs;
  try {
    harness.sampleMemory(100);
    const api = harness.start('api', 'api');
    harness.start('rules', 'rules');
    harness.start('worker', 'worker');
    const base = await apiUrl(api);
    await Promise.all(['rules', 'worker'].map((name) => harness.get(name).waitForLog('running')));
    const tally = new WebhookTally();
    const probe = new HealthProbe(() => base);
    const startedAt = Date.now();
    await postWebhooks(() => base, path, options.events, options.concurrency, tally);
    const postedAt = Date.now();
    const health = await probe.stop();
    await waitUntil(
      'every accepted event to reach a succeeded execution',
      async () => {
        const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM executions WHERE status = 'succeeded' AND enforcement_id IS NOT NULL`);
        return rows[0]!.n >= tally.acceptedEventIds.length;
      },
      Math.max(1000, deadline - Date.now()),
      500,
    );
    const doneAt = Date.now();
    const audit = await auditWebhookEvents(pool, tally.acceptedEventIds, ruleId);
    const executions = await auditExecutions(pool);
    const figures = {
      events: options.events,
      concurrency: options.concurrency,
      replies: tally.toJSON(),
      ...audit,
      lost: audit.lostEvents + audit.withoutEnforcement + (audit.accepted - audit.succeeded),
      duplicated: audit.duplicatedEnforcements + executions.duplicatedFinish + Math.max(0, audit.executions - audit.accepted),
      intakePerSecond: Math.round(tally.acceptedEventIds.length / ((postedAt - startedAt) / 1000)),
      endToEndPerSecond: Math.round(audit.succeeded / ((doneAt - startedAt) / 1000)),
      postSeconds: Math.round((postedAt - startedAt) / 100) / 10,
      drainSeconds: Math.round((doneAt - postedAt) / 100) / 10,
      healthz: health,
      peakRssMb: harness.peakRssMb(),
    };
    reportFigures('event-storm', figures);
    return figures;
  } finally {
    await harness.close();
  }
}
