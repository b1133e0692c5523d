/**
 * `cancelExecution`: stops an execution and, with it, every descendant
 * (a workflow's or parent's children), in one transaction. Requested,
 * scheduled and paused executions become canceled at once (a paused one's
 * pending inquiry is canceled too); a running one becomes canceling, and its
 * worker, told by NOTIFY `attune_execution_cancel` (or at its next lease
 * renewal), kills the process group and records canceled. Finished
 * descendants are left alone. Finish events fire for those canceled at once.
 */
import type { Executor } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';
import { IllegalStateChangeError, NotFoundError } from '../errors.js';
import { ExecutionRepository, type Execution } from '../repositories/executions.js';
import { InquiryRepository } from '../repositories/inquiries.js';
import { assertId } from '../repositories/support/table.js';
import { fireExecutionsFinished } from './internal-triggers.js';

/** What `cancelExecution` did. */
export interface CancelResult {
  /** The execution asked for, as it is now (canceled, or canceling while its worker stops it). */
  execution: Execution;
  /** Descendants that were canceled or are canceling, by id. */
  descendants: Execution[];
}

/**
 * Cancels execution `id` and its descendants. NotFoundError for a missing
 * id; IllegalStateChangeError when the execution itself has finished
 * already (its descendants are then left alone too).
 */
export async function cancelExecution(db: Executor, id: number): Promise<CancelResult> {
  assertId(id, 'execution');
  return withTransaction(db, async (tx) => {
    const result = await tx.query<{ id: string; status: string; depth: number }>(
      `WITH RECURSIVE tree AS (
         SELECT id, status, 0 AS depth FROM executions WHERE id = $1
         UNION ALL
         SELECT c.id, c.status, t.depth + 1 FROM executions c JOIN tree t ON c.parent_id = t.id WHERE t.depth < 100
       )
       SELECT id, status, depth FROM tree ORDER BY depth, id`,
      [id],
    );
    if (result.rows.length === 0) throw new NotFoundError('execution', 'id', id);
    const root = result.rows[0]!;
    if (['succeeded', 'failed', 'timeout', 'canceled', 'abandoned'].includes(root.status)) {
      throw new IllegalStateChangeError('execution', root.status, 'canceled', { value: id });
    }
    const open = result.rows.filter((row) => ['requested', 'scheduled', 'paused', 'running', 'canceling'].includes(row.status)).map((row) => Number(row.id));
    const changed: Execution[] = [];
    for (const executionId of open) {
      try {
        changed.push(await ExecutionRepository.cancel(tx, executionId));
      } catch (error) {
        // A descendant that finished since we read it: nothing to cancel.
        if (executionId === id || !(error instanceof IllegalStateChangeError)) throw error;
      }
    }
    await InquiryRepository.cancelForExecutions(tx, changed.filter((execution) => execution.status === 'canceled').map((execution) => execution.id));
    await fireExecutionsFinished(tx, changed);
    const execution = changed.find((item) => item.id === id)!;
    return { execution, descendants: changed.filter((item) => item.id !== id) };
  });
}
