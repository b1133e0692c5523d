/**
 * The maintenance role: stands in for workers that died and people who did
 * not answer. Each sweep, in its own transaction with the events it fires:
 * expired leases (retry or abandon), runs past their deadline (timeout),
 * inquiries past timeout_at (the inquiry and its paused execution time
 * out), output older than the retention, and the notifications log past
 * its retention (age and row count). Every statement takes its rows
 * with FOR UPDATE SKIP LOCKED or is a single UPDATE, so any number of
 * maintenance processes can run: each item is handled once. A swept run
 * whose process group was recorded on this host is killed (SIGKILL) when it
 * is still there; on another host it cannot be reached (docs/executions.md).
 */
import { hostname } from 'node:os';
import type pg from 'pg';
import { withTransaction } from '../db/transaction.js';
import type { Logger } from '../log.js';
import { ExecutionOutputRepository, ExecutionRepository, type RetryBackoff, type SweptAttempt } from '../repositories/executions.js';
import { InquiryRepository } from '../repositories/inquiries.js';
import { NotificationRepository } from '../repositories/notifications.js';
import type { Role } from '../roles.js';
import { groupAlive, signalGroup } from '../worker/process-group.js';
import { fireExecutionsFinished, fireInquiriesTimedOut } from './internal-triggers.js';

export interface MaintenanceOptions {
  pool: pg.Pool;
  logger: Logger;
  /** Milliseconds between sweeps. */
  intervalMs: number;
  /** Seconds past a deadline before a run is timed out here. */
  deadlineGraceSeconds: number;
  backoff: RetryBackoff;
  outputRetentionDays: number;
  /** The notifications log's retention: rows older than this many hours go. Default 24. */
  notificationRetentionHours?: number;
  /** …and all but the newest this many rows. Default 1,000,000. */
  notificationRetentionRows?: number;
  /** Rows per sweep and kind. Default 1000. */
  batchSize?: number;
  /** This machine's name, to recognise process groups it can kill. Default: os.hostname(). */
  host?: string;
}

/** What one sweep did. */
export interface SweepReport {
  expiredLeases: number;
  deadlines: number;
  inquiriesTimedOut: number;
  outputChunksDeleted: number;
  notificationsDeleted: number;
  processGroupsKilled: number;
}

export class MaintenanceRole implements Role {
  readonly name = 'maintenance';
  readonly #options: MaintenanceOptions;
  readonly #host: string;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<unknown> | null = null;
  #stopped = false;

  constructor(options: MaintenanceOptions) {
    this.#options = options;
    this.#host = options.host ?? hostname();
  }

  async start(): Promise<void> {
    this.#timer = setInterval(() => this.#tick(), this.#options.intervalMs);
    this.#tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#sweeping;
  }

  #tick(): void {
    if (this.#stopped || this.#sweeping !== null) return;
    this.#sweeping = this.sweep()
      .then((report) => {
        if (Object.values(report).some((count) => count > 0)) this.#options.logger.info(report, 'maintenance sweep');
      })
      .catch((error: Error) => this.#options.logger.error({ err: error.message }, 'maintenance sweep failed; the next one tries again'))
      .finally(() => (this.#sweeping = null));
  }

  /** One sweep of everything; safe to call while other processes sweep too. */
  async sweep(): Promise<SweepReport> {
    const { pool, backoff } = this.#options;
    const limit = this.#options.batchSize ?? 1000;
    const expired = await withTransaction(pool, async (tx) => {
      const swept = await ExecutionRepository.sweepExpiredLeases(tx, { limit });
      await fireExecutionsFinished(tx, swept.map((item) => item.execution));
      return swept;
    });
    const late = await withTransaction(pool, async (tx) => {
      const swept = await ExecutionRepository.sweepDeadlines(tx, { limit, graceSeconds: this.#options.deadlineGraceSeconds, backoff });
      await fireExecutionsFinished(tx, swept.map((item) => item.execution));
      return swept;
    });
    const inquiries = await withTransaction(pool, async (tx) => {
      const timedOut = await InquiryRepository.timeOutExpired(tx);
      const executions = [];
      for (const inquiry of timedOut) {
        const execution = await ExecutionRepository.endPaused(tx, inquiry.executionId, 'timeout', {
          error: `inquiry ${inquiry.id} was not answered before ${inquiry.timeoutAt?.toISOString() ?? 'its deadline'}`,
        });
        if (execution !== null) executions.push(execution);
      }
      await fireInquiriesTimedOut(tx, timedOut);
      await fireExecutionsFinished(tx, executions);
      return timedOut.length;
    });
    const cutoff = new Date(Date.now() - this.#options.outputRetentionDays * 86_400_000);
    const deleted = await ExecutionOutputRepository.deleteOlderThan(pool, cutoff, limit * 10);
    const notifications = await NotificationRepository.prune(pool, {
      olderThan: new Date(Date.now() - (this.#options.notificationRetentionHours ?? 24) * 3_600_000),
      keep: this.#options.notificationRetentionRows ?? 1_000_000,
      limit: limit * 10,
    });
    const killed = this.#killLocal([...expired, ...late]);
    return {
      expiredLeases: expired.length,
      deadlines: late.length,
      inquiriesTimedOut: inquiries,
      outputChunksDeleted: deleted,
      notificationsDeleted: notifications,
      processGroupsKilled: killed,
    };
  }

  /**
   * Kills the recorded process groups of swept attempts that ran on this
   * host and are still there: their worker is gone (or lost its lease), so
   * nothing else will. Only on the same host: a pgid means nothing elsewhere.
   */
  #killLocal(swept: SweptAttempt[]): number {
    let killed = 0;
    for (const item of swept) {
      if (item.pgid === null || item.host !== this.#host || item.pgid === process.pid) continue;
      try {
        if (groupAlive(item.pgid) && signalGroup(item.pgid, 'SIGKILL')) {
          killed += 1;
          this.#options.logger.warn({ executionId: item.execution.id, pgid: item.pgid }, 'killed the process group of a swept run');
        }
      } catch (error) {
        this.#options.logger.warn({ executionId: item.execution.id, pgid: item.pgid, err: (error as Error).message }, 'could not kill the process group of a swept run');
      }
    }
    return killed;
  }
}

/** Creates the maintenance role. */
export function createMaintenanceRole(options: MaintenanceOptions): MaintenanceRole {
  return new MaintenanceRole(options);
}
