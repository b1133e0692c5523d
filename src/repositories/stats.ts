import { mapPgError } from '../db/pg-errors.js';
import type { Executor } from '../db/pool.js';

/** Counts for monitoring (`/metrics`): read at scrape time, never cached. */
export const StatsRepository = {
  /** Executions per status (statuses with none are absent). An index-only scan of executions_status_created_at_idx. */
  async executionsByStatus(db: Executor): Promise<Record<string, number>> {
    try {
      const result = await db.query<{ status: string; count: string }>('SELECT status, count(*) AS count FROM executions GROUP BY status');
      return Object.fromEntries(result.rows.map((row) => [row.status, Number(row.count)]));
    } catch (error) {
      throw mapPgError(error, 'execution');
    }
  },

  /**
   * What the web UI's dashboard shows, in one round trip: executions created
   * since `since` per status (a range of executions_created_at_idx), the
   * queue depth (requested executions: executions_claim_idx) and the
   * pending inquiries.
   */
  async dashboard(db: Executor, since: Date): Promise<{ executionsByStatus: Record<string, number>; queueDepth: number; pendingInquiries: number }> {
    try {
      const result = await db.query<{ by_status: Record<string, number>; queue_depth: string; pending_inquiries: string }>(
        `SELECT
           (SELECT coalesce(jsonb_object_agg(status, n), '{}'::jsonb)
              FROM (SELECT status, count(*) AS n FROM executions WHERE created_at >= $1 GROUP BY status) s) AS by_status,
           (SELECT count(*) FROM executions WHERE status = 'requested') AS queue_depth,
           (SELECT count(*) FROM inquiries WHERE status = 'pending') AS pending_inquiries`,
        [since],
      );
      const row = result.rows[0]!;
      return { executionsByStatus: row.by_status, queueDepth: Number(row.queue_depth), pendingInquiries: Number(row.pending_inquiries) };
    } catch (error) {
      throw mapPgError(error, 'execution');
    }
  },
};
