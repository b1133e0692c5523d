import type { Executor } from '../../src/db/pool.js';
import { uniqueName } from '../../src/testing/index.js';

/**
 * `count` requested executions of a runner type no other test uses, due
 * already and oldest first (queue order is their order), with
 * `maxAttempts`: a claim limited to `runnerType` sees these rows only, even
 * on a database other tests write to at the same time.
 */
export async function requestedOfOwnType(db: Executor, count: number, maxAttempts = 1): Promise<{ runnerType: string; ids: number[] }> {
  const runnerType = uniqueName('rt').slice(0, 60);
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO executions (action_ref, runner_type, max_attempts, run_after)
     SELECT 'queue.run', $1, $2, now() - make_interval(secs => 100 - g) FROM generate_series(1, $3) AS g ORDER BY g RETURNING id`,
    [runnerType, maxAttempts, count],
  );
  return { runnerType, ids: rows.map((row) => Number(row.id)) };
}
