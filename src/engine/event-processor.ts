/**
 * The rules role: claims unprocessed events in batches, matches them against
 * the rules, and writes enforcements and `requested` executions, one
 * transaction per batch (claim, match, write). A crash redoes the whole batch
 * (its claim is rolled back) and the unique (rule, event) enforcement keeps a
 * redo from firing anything twice. It wakes on NOTIFY `attune_events` and
 * polls as a backstop, so a lost notification costs latency, never an event.
 */
import type pg from 'pg';
import type { SecretCipher } from '../crypto/secrets.js';
import type { NotificationListener } from '../db/listener.js';
import { withTransaction } from '../db/transaction.js';
import type { Logger } from '../log.js';
import { EventRepository, MAX_EVENT_BATCH } from '../repositories/events.js';
import type { Role } from '../roles.js';
import { matchEvents, type RuleFailure } from './match-events.js';
import { RuleCache } from './rule-cache.js';
import { writeEnforcements } from './write-enforcements.js';

/** The channel every inserted event statement notifies (the events table's trigger). */
export const EVENTS_CHANNEL = 'attune_events';

/** What one batch did. */
export interface BatchReport {
  events: number;
  /** Enforcements written: processed, failed and disabled. */
  enforcements: number;
  executions: number;
  failures: RuleFailure[];
}

/** Options of `processEventBatch`. */
export interface ProcessBatchOptions {
  cache: RuleCache;
  /** Events per batch. Default 100. */
  batchSize?: number;
  cipher?: SecretCipher | undefined;
  now?: () => Date | number;
}

/** Default events per batch (ATTUNE__RULES__BATCH_SIZE). */
export const DEFAULT_BATCH_SIZE = 100;

/**
 * Claims up to `batchSize` events and processes them in one transaction:
 * every enforcement and execution is committed together with the events
 * leaving the queue, or none of it is.
 */
export async function processEventBatch(pool: pg.Pool | pg.PoolClient, options: ProcessBatchOptions): Promise<BatchReport> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  return withTransaction(pool, async (tx) => {
    const events = await EventRepository.claimUnprocessed(tx, batchSize);
    if (events.length === 0) return { events: 0, enforcements: 0, executions: 0, failures: [] };
    const { records, failures } = await matchEvents(tx, events, {
      cache: options.cache,
      cipher: options.cipher,
      ...(options.now ? { now: options.now } : {}),
    });
    const written = await writeEnforcements(tx, records);
    return { events: events.length, ...written, failures };
  });
}

/** Options of the rules role. */
export interface EventProcessorOptions {
  pool: pg.Pool;
  listener: NotificationListener;
  logger: Logger;
  /** Events per transaction. Default 100. */
  batchSize?: number;
  /** Backstop poll when no NOTIFY arrives. Default 1000 ms. */
  pollIntervalMs?: number;
  /** Encrypts secret parameters and decrypts secret keys for `decrypt_kv`. */
  cipher?: SecretCipher | undefined;
  /** A shared cache; default a new one. */
  cache?: RuleCache;
}

/** The rules role, with its reconnect hook and running totals. */
export interface EventProcessorRole extends Role {
  /** Called when the listener reconnected: drops the cache and looks for events at once. */
  onReconnect(): void;
  /** Totals since start. */
  readonly totals: { batches: number; events: number; enforcements: number; executions: number; failedBatches: number };
}

/**
 * The rules role: `start` listens for events and rule changes and begins the
 * loop; `stop` lets the batch in hand commit, then returns.
 */
export function createEventProcessorRole(options: EventProcessorOptions): EventProcessorRole {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_EVENT_BATCH) {
    throw new RangeError(`batchSize must be a whole number from 1 to ${MAX_EVENT_BATCH}, got ${String(batchSize)}`);
  }
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const cache = options.cache ?? new RuleCache();
  const logger = options.logger.child({ role: 'rules' });
  const totals = { batches: 0, events: 0, enforcements: 0, executions: 0, failedBatches: 0 };
  let stopping = false;
  let woken = false;
  let wakeSleeper: (() => void) | undefined;
  let loop: Promise<void> | undefined;
  const unlisten: Array<() => Promise<void>> = [];

  const wake = (): void => {
    woken = true;
    wakeSleeper?.();
  };

  /** Waits for a NOTIFY, a stop or the poll interval, whichever comes first. */
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (woken || stopping) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeSleeper = undefined;
        resolve();
      }
      wakeSleeper = done;
    });

  const run = async (): Promise<void> => {
    while (!stopping) {
      woken = false;
      let report: BatchReport;
      try {
        report = await processEventBatch(options.pool, { cache, batchSize, cipher: options.cipher });
      } catch (error) {
        // The transaction rolled back: the events are still queued. Wait, then try again.
        totals.failedBatches += 1;
        logger.error({ err: (error as Error).message }, 'event batch failed; its events stay queued and will be retried');
        await sleep(pollIntervalMs);
        continue;
      }
      if (report.events > 0) {
        totals.batches += 1;
        totals.events += report.events;
        totals.enforcements += report.enforcements;
        totals.executions += report.executions;
        for (const failure of report.failures) {
          logger.warn({ rule: failure.ruleRef, event: failure.eventId, status: failure.status, reason: failure.error }, 'rule matched but could not request its action');
        }
        logger.info({ events: report.events, enforcements: report.enforcements, executions: report.executions, failed: report.failures.length }, 'processed event batch');
      }
      // A full batch means more may be waiting: go again at once.
      if (report.events < batchSize) await sleep(pollIntervalMs);
    }
  };

  return {
    name: 'rules',
    totals,
    onReconnect() {
      cache.invalidate();
      wake();
    },
    async start() {
      if (loop) throw new Error('the rules role is already started');
      unlisten.push(await cache.attach(options.listener));
      unlisten.push(await options.listener.listen(EVENTS_CHANNEL, wake));
      logger.info({ batchSize, pollIntervalMs }, 'processing events');
      loop = run();
    },
    async stop() {
      stopping = true;
      wake();
      await loop;
      for (const remove of unlisten.splice(0)) await remove();
      logger.info(totals, 'stopped processing events');
    },
  };
}
