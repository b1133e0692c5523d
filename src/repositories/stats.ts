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
};
