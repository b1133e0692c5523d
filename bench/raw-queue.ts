/**
 * The hand-written execution queue the worker benchmarks compare with: rows
 * claimed with `FOR UPDATE SKIP LOCKED` straight into `running`, a batch at a
 * time, and completed in one UPDATE, until none is left.
 */
import type { Executor } from '../src/db/pool.js';

export interface RawQueueOptions {
  /** Runner types claimed (a type no worker of the bench serves, so only this loop takes the rows). */
  runnerTypes: string[];
  /** Rows per claim: the worker's slots. */
  slots: number;
  /** The worker row the claims are made for. */
  workerId: number;
}

/** Claims and completes requested rows until none is left; returns how many it completed. */
export async function rawClaimAndComplete(db: Executor, options: RawQueueOptions): Promise<number> {
  let done = 0;
  for (;;) {
    const claim = await db.query<{ id: string }>(
      `UPDATE executions e SET status = 'running', worker_id = $3, started_at = clock_timestamp(),
              lease_expires_at = clock_timestamp() + interval '60 seconds'
         FROM (SELECT id FROM executions WHERE status = 'requested' AND run_after <= clock_timestamp() AND runner_type = ANY($1::text[])
                ORDER BY run_after, id LIMIT $2 FOR UPDATE SKIP LOCKED) AS picked
        WHERE e.id = picked.id RETURNING e.id`,
      [options.runnerTypes, options.slots, options.workerId],
    );
    if (claim.rows.length === 0) break;
    await db.query(
      `UPDATE executions SET status = 'succeeded', result = $2::jsonb, finished_at = clock_timestamp(), lease_expires_at = NULL
        WHERE id = ANY($1::bigint[]) AND status = 'running'`,
      [claim.rows.map((row) => row.id), JSON.stringify({ stdout: '', stderr: '' })],
    );
    done += claim.rows.length;
    if (claim.rows.length < options.slots) break;
  }
  return done;
}
