/**
 * Webhooks end to end in one process, as `attune up` runs them: the HTTP API
 * listening on loopback, the rules role and the worker role, each with its
 * own connections to the bench database, woken by NOTIFY.
 *
 * - webhook.latency: one `POST /api/v1/webhooks/bench` (a rule on it runs
 *   `core.noop`) until the worker has the execution succeeded; against one
 *   no-op execution inserted directly and run by the same worker (no HTTP,
 *   no event, no rule). p50 and p99 are the webhook's latency.
 * - webhook.throughput: 64 webhook calls at once (keep-alive), until all 64
 *   executions succeeded: sustained webhooks/s; against 64 no-op executions
 *   inserted in one statement and drained by the same worker.
 *
 * Authentication is off (a token lookup is a primary-key read) and so are
 * the rate limits; the finish triggers are disabled as in worker.noop.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { buildApp } from '../../src/api/app.js';
import { defaults } from '../../src/config.js';
import { NotificationListener } from '../../src/db/listener.js';
import { createPool } from '../../src/db/pool.js';
import { createEventProcessorRole, type EventProcessorRole } from '../../src/engine/event-processor.js';
import { createLogger } from '../../src/log.js';
import { registerPack } from '../../src/packs/register.js';
import { ActionRepository } from '../../src/repositories/actions.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { RuleRepository } from '../../src/repositories/rules.js';
import { createWorkerRole, type WorkerRole } from '../../src/worker/worker.js';
import type { BenchCase } from '../harness.js';
import { type BenchContext, databaseUrlOf } from '../context.js';

const CORE_PACK_DIR = new URL('../../packs/core', import.meta.url).pathname;
const PACK = 'bench_webhook';
const HOOK = 'bench';
const SLOTS = 16;
/** Webhook calls in flight at once in webhook.throughput. */
const CONCURRENT = 64;
const FINISH_TRIGGERS = ['core.execution_finished', 'core.st2.generic.actiontrigger'];

interface Scene {
  pool: pg.Pool;
  listener: NotificationListener;
  worker: WorkerRole;
  rules: EventProcessorRole;
  app: FastifyInstance;
  port: number;
  agent: http.Agent;
  noop: { id: number; ref: string };
}

export function webhookCases(ctx: BenchContext): BenchCase[] {
  const { db } = ctx;
  let scene: Scene | undefined;
  let finished = 0;
  const finishedIds = new Set<number>();
  const waiters: Array<() => void> = [];

  /** Resolves once `target` executions have finished since the scene started. */
  const finishedReaches = async (target: number): Promise<void> => {
    while (finished < target) await new Promise<void>((resolve) => waiters.push(resolve));
  };

  /**
   * Resolves once every id has finished. The baseline waits by id: the
   * harness replays its INSERT's recorded reply (no row is written) to time
   * the client side, and those ids have finished already.
   */
  const idsFinish = async (ids: number[]): Promise<void> => {
    while (ids.some((id) => !finishedIds.has(id))) await new Promise<void>((resolve) => waiters.push(resolve));
  };

  const build = async (): Promise<Scene> => {
    if (scene) return scene;
    const url = databaseUrlOf(ctx.client);
    const logger = createLogger('silent');
    const pool = createPool({ url, maxConnections: 10, applicationName: 'attune-bench-webhook' });
    await registerPack(pool, CORE_PACK_DIR);
    await pool.query('UPDATE triggers SET enabled = false WHERE ref = ANY($1::text[]) AND pack_id IS NOT NULL', [FINISH_TRIGGERS]);
    const pack = (await PackRepository.findByRef(db, PACK)) ?? (await PackRepository.create(db, { ref: PACK, version: '1.0.0', name: 'Bench webhook' }));
    if ((await RuleRepository.findByRef(db, `${PACK}.on_hook`)) === null) {
      await RuleRepository.create(db, { packId: pack.id, name: 'on_hook', triggerRef: 'core.st2.webhook', triggerParams: { url: HOOK }, actionRef: 'core.noop', actionParams: {}, criteria: {}, enabled: true });
    }
    const noop = (await ActionRepository.findByRef(db, 'core.noop'))!;
    const listener = new NotificationListener({ url, healthCheckMs: 0 });
    await listener.start();
    const dataDir = mkdtempSync(join(tmpdir(), 'attune-bench-webhook-'));
    process.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
    const worker = createWorkerRole({
      pool,
      listener,
      logger,
      name: 'bench-webhook-worker',
      slots: SLOTS,
      leaseSeconds: 60,
      runnerTypes: ['noop'],
      graceSeconds: 5,
      pollIntervalMs: 1000,
      heartbeatSeconds: 10,
      dataDir,
      defaultTimeoutSeconds: 600,
      outputCapBytes: 1024 * 1024,
      backoff: { baseSeconds: 1, capSeconds: 300 },
      observer: {
        finished(id) {
          finished += 1;
          finishedIds.add(id);
          for (const wake of waiters.splice(0)) wake();
        },
      },
    });
    const rules = createEventProcessorRole({ pool, listener, logger, batchSize: 100, pollIntervalMs: 1000 });
    const config = defaults();
    config.security.enableAuth = false;
    config.api.rateLimitMax = 0;
    config.api.port = 0;
    config.database.url = url;
    const app = await buildApp({ db: pool, config, logger });
    await app.listen({ host: '127.0.0.1', port: 0 });
    await rules.start();
    await worker.start();
    scene = { pool, listener, worker, rules, app, port: (app.server.address() as AddressInfo).port, agent: new http.Agent({ keepAlive: true, maxSockets: CONCURRENT }), noop: { id: noop.id, ref: noop.ref } };
    return scene;
  };

  /** Stops the scene's API, rules role and worker: the next case has the queues to itself. */
  const teardown = async (): Promise<void> => {
    if (!scene) return;
    const s = scene;
    scene = undefined;
    s.agent.destroy();
    await s.app.close();
    await s.rules.stop();
    await s.worker.stop();
    await s.listener.close();
    await s.pool.end();
  };

  /** One webhook call; resolves with the status once the reply is read. */
  const post = (s: Scene, body: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const request = http.request(
        { host: '127.0.0.1', port: s.port, path: `/api/v1/webhooks/${HOOK}`, method: 'POST', agent: s.agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (response) => {
          response.resume();
          response.on('end', () => (response.statusCode === 202 ? resolve(202) : reject(new Error(`webhook answered ${response.statusCode}`))));
        },
      );
      request.on('error', reject);
      request.end(body);
    });

  const webhooks = async (count: number): Promise<number> => {
    const s = await build();
    const target = finished + count;
    await Promise.all(Array.from({ length: count }, (_, i) => post(s, JSON.stringify({ n: i, ref: 'main' }))));
    await finishedReaches(target);
    return count;
  };

  const direct = async (count: number): Promise<number> => {
    const s = await build();
    const result = await db.query<{ id: string }>(
      `INSERT INTO executions (action_id, action_ref, runner_type, params) SELECT $1, $2, 'noop', '{}'::jsonb FROM generate_series(1, $3) RETURNING id`,
      [s.noop.id, s.noop.ref, count],
    );
    await idsFinish(result.rows.map((row) => Number(row.id)));
    return count;
  };

  return [
    {
      name: 'webhook.latency',
      group: 'events',
      title: 'POST /api/v1/webhooks/bench → rule → core.noop succeeded, one at a time (api, rules and worker roles in one process)',
      baselineTitle: 'one no-op execution inserted directly and run by the same worker',
      writes: true,
      maxOpsPerRound: 50,
      teardown,
      repo: () => webhooks(1),
      baseline: () => direct(1),
    },
    {
      name: 'webhook.throughput',
      group: 'events',
      title: `${CONCURRENT} webhook calls at once until all ${CONCURRENT} executions succeeded (sustained webhooks/s)`,
      baselineTitle: `${CONCURRENT} no-op executions inserted in one statement, drained by the same worker`,
      rowsPerOp: CONCURRENT,
      writes: true,
      maxOpsPerRound: 10,
      teardown,
      repo: () => webhooks(CONCURRENT),
      baseline: () => direct(CONCURRENT),
    },
  ];
}
