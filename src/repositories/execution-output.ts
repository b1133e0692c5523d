/**
 * Execution output: what an execution's processes printed, stored in chunks
 * in order per attempt. A worker appends a batch of chunks in one statement
 * that checks its fence, so a worker that lost its lease stores nothing; the
 * same statement NOTIFYs `attune_execution_output` with the execution id for
 * live followers. The maintenance role prunes old chunks.
 */
import type { Executor } from '../db/pool.js';
import { ValidationError } from '../errors.js';
import { checkFence, type ExecutionFence } from './execution-model.js';
import { assertId, Table } from './support/table.js';
import { is } from './support/validate.js';

/** The channel a batch of chunks is announced on; the payload is `{"executionId": n}`. */
export const EXECUTION_OUTPUT_CHANNEL = 'attune_execution_output';
export const OUTPUT_STREAMS = ['stdout', 'stderr'] as const;
export type OutputStream = (typeof OUTPUT_STREAMS)[number];

/** One stored chunk. */
export interface OutputChunk {
  id: number;
  executionId: number;
  attempt: number;
  /** Order within the attempt, from 0. */
  seq: number;
  stream: OutputStream;
  data: string;
  createdAt: Date;
}

/** A chunk as a worker appends it. */
export interface NewOutputChunk {
  seq: number;
  stream: OutputStream;
  data: string;
}

export interface ReadOutputOptions {
  /** Only this attempt. Default: every attempt. */
  attempt?: number;
  /** Chunks after this (attempt, seq) position, for paging and following. */
  after?: { attempt: number; seq: number };
  /** Default 1000, at most 10,000. */
  limit?: number;
}

const ENTITY = 'executionOutput';

const table = new Table<OutputChunk>({
  table: 'execution_output',
  entity: ENTITY,
  columns: {
    id: 'id',
    executionId: 'execution_id',
    attempt: 'attempt',
    seq: 'seq',
    stream: 'stream',
    data: 'data',
    createdAt: 'created_at',
  },
});

function checkChunk(chunk: NewOutputChunk, index: number): void {
  const field = `chunks[${index}]`;
  if (chunk === null || typeof chunk !== 'object') throw new ValidationError(`${ENTITY}.${field} must be an object`, { entity: ENTITY, field });
  is.integer(0, 2_147_483_647)(chunk.seq, `${field}.seq`, ENTITY);
  is.oneOf(OUTPUT_STREAMS)(chunk.stream, `${field}.stream`, ENTITY);
  is.anyString(chunk.data, `${field}.data`, ENTITY);
}

export const ExecutionOutputRepository = {
  /**
   * Appends chunks for the attempt the fence holds, in one statement that
   * stores them only while the fence still holds the execution (same worker
   * and attempt, running or canceling, lease live) and then NOTIFYs. Returns
   * how many were stored: 0 when the lease passed to someone else. NUL
   * characters (which text cannot hold) become U+FFFD.
   */
  async append(db: Executor, executionId: number, fence: ExecutionFence, chunks: readonly NewOutputChunk[]): Promise<number> {
    assertId(executionId, ENTITY, 'executionId');
    checkFence(fence, 'fence', ENTITY);
    if (!Array.isArray(chunks)) throw new ValidationError(`${ENTITY}.chunks must be an array`, { entity: ENTITY, field: 'chunks' });
    if (chunks.length === 0) return 0;
    chunks.forEach(checkChunk);
    const result = await table.query<{ stored: number }>(
      db,
      `WITH held AS (
         SELECT id FROM executions
          WHERE id = $1 AND worker_id = $2 AND attempt = $3 AND status IN ('running', 'canceling') AND lease_expires_at > clock_timestamp()
       ), stored AS (
         INSERT INTO execution_output (execution_id, attempt, seq, stream, data)
         SELECT held.id, $3, c.seq, c.stream, c.data
           FROM held, unnest($4::integer[], $5::text[], $6::text[]) AS c(seq, stream, data)
         RETURNING 1
       )
       SELECT count(*)::int AS stored, pg_notify('${EXECUTION_OUTPUT_CHANNEL}', json_build_object('executionId', $1::bigint)::text)
         FROM stored HAVING count(*) > 0`,
      [
        executionId,
        fence.workerId,
        fence.attempt,
        chunks.map((chunk) => chunk.seq),
        chunks.map((chunk) => chunk.stream),
        chunks.map((chunk) => chunk.data.replace(/\u0000/g, '\uFFFD')),
      ],
    );
    return result.rows[0]?.stored ?? 0;
  },

  /** An execution's chunks in order (attempt, seq), after a position when given. */
  async read(db: Executor, executionId: number, options: ReadOutputOptions = {}): Promise<OutputChunk[]> {
    assertId(executionId, ENTITY, 'executionId');
    if (options.attempt !== undefined) is.integer(1, 100)(options.attempt, 'attempt', ENTITY);
    if (options.limit !== undefined) is.integer(1, 10_000)(options.limit, 'limit', ENTITY);
    if (options.after !== undefined) {
      is.integer(1, 100)(options.after?.attempt, 'after.attempt', ENTITY);
      is.integer(-1, 2_147_483_647)(options.after?.seq, 'after.seq', ENTITY);
    }
    const result = await table.query(
      db,
      `SELECT ${table.columns} FROM execution_output
        WHERE execution_id = $1 AND ($2::integer IS NULL OR attempt = $2)
          AND ($3::integer IS NULL OR (attempt, seq) > ($3, $4::integer))
        ORDER BY attempt, seq LIMIT $5`,
      [executionId, options.attempt ?? null, options.after?.attempt ?? null, options.after?.seq ?? null, options.limit ?? 1000],
    );
    return result.rows.map(table.fromRow);
  },

  /** The whole text of one stream of an attempt, chunks joined in order. */
  async text(db: Executor, executionId: number, attempt: number, stream: OutputStream): Promise<string> {
    assertId(executionId, ENTITY, 'executionId');
    is.integer(1, 100)(attempt, 'attempt', ENTITY);
    is.oneOf(OUTPUT_STREAMS)(stream, 'stream', ENTITY);
    const result = await table.query<{ text: string | null }>(
      db,
      'SELECT string_agg(data, \'\' ORDER BY seq) AS text FROM execution_output WHERE execution_id = $1 AND attempt = $2 AND stream = $3',
      [executionId, attempt, stream],
    );
    return result.rows[0]?.text ?? '';
  },

  /**
   * Retention: deletes chunks older than `olderThan`, at most `limit` per
   * call (oldest first, served by execution_output_created_at_idx). Returns
   * how many went.
   */
  async deleteOlderThan(db: Executor, olderThan: Date, limit = 10_000): Promise<number> {
    is.timestamp(olderThan, 'olderThan', ENTITY);
    is.integer(1, 1_000_000)(limit, 'limit', ENTITY);
    const result = await table.query(
      db,
      `DELETE FROM execution_output WHERE id IN (
         SELECT id FROM execution_output WHERE created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [olderThan, limit],
    );
    return result.rowCount ?? 0;
  },
};
