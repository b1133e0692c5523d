/**
 * Execution benchmarks: create (action resolved by ref in the INSERT), lists
 * over 100,000 executions, and a worker's cycle requested → scheduled →
 * running → succeeded through claim and transition.
 */
import { ExecutionRepository, fenceOf, type CreateExecutionInput, type ExecutionStatus } from '../../src/repositories/executions.js';
import { SINGLE_ROW_TARGET, type BenchCase } from '../harness.js';
import { cycle, type BenchContext } from '../context.js';
import { pageWithCount } from './packs.js';
import { SIZES } from '../seed.js';

export const EXECUTION_COLUMNS =
  'id, action_id, action_ref, params, parent_id, enforcement_id, requested_by, worker_id, status, result, error, attempt, max_attempts, timeout_seconds, lease_expires_at, started_at, finished_at, trace_id, created_at, updated_at';

/** [statuses, offset]: failed ~10k, running ~3k, requested ~2k, three final statuses together ~12k. */
const STATUS_OPS: [ExecutionStatus[], number][] = [
  [['failed'], 0],
  [['running'], 20],
  [['requested'], 0],
  [['failed', 'timeout', 'abandoned'], 100],
];
/** [action popularity rank, offset]: ~3k, ~300 and ~20 executions. */
const ACTION_OPS: [number, number][] = [
  [0, 0],
  [30, 20],
  [600, 0],
];
const OFFSETS = [0, 20, 100];

export function executionCases(ctx: BenchContext): BenchCase[] {
  const { db } = ctx;
  let actionRefs: string[] = [];
  let workerId = 0;
  /** Ids of requested executions set aside for execution.transition. */
  const inline: number[] = [];
  const load = async () => {
    if (actionRefs.length > 0) return;
    // Seeded executions use the first 1,000 actions, the first ones most: [0] ~3k executions, [30] ~300, [600] ~20.
    actionRefs = (await db.query<{ ref: string }>('SELECT ref FROM actions ORDER BY id LIMIT 1000')).rows.map((row) => row.ref);
    workerId = Number((await db.query<{ id: number }>(`SELECT id FROM workers WHERE name = 'bench-worker'`)).rows[0]!.id);
  };

  const createInput = (i: number): CreateExecutionInput => ({
    actionRef: cycle(actionRefs, 1000 - 1 - (i % 500)),
    params: { message: `run ${i}`, count: 3, verbose: false },
    traceId: `trace-${i}`,
  });

  /**
   * The two guarded, fenced UPDATEs a careful worker writes by hand: `from` →
   * running → succeeded, each matching only the worker's attempt (and, once
   * it holds the row, its worker and live lease).
   */
  const START = {
    requested: `UPDATE executions SET status = 'running', worker_id = $2, started_at = COALESCE(started_at, clock_timestamp()),
            lease_expires_at = clock_timestamp() + make_interval(secs => $3)
      WHERE id = $1 AND status = 'requested' AND attempt = 1 RETURNING ${EXECUTION_COLUMNS}`,
    scheduled: `UPDATE executions SET status = 'running', started_at = COALESCE(started_at, clock_timestamp()),
            lease_expires_at = clock_timestamp() + make_interval(secs => $3)
      WHERE id = $1 AND status = 'scheduled' AND attempt = 1 AND worker_id = $2 AND lease_expires_at > clock_timestamp()
      RETURNING ${EXECUTION_COLUMNS}`,
  };
  const runToSuccessByHand = async (id: number, from: keyof typeof START) => {
    const running = await db.query(START[from], [id, workerId, 300]);
    if (running.rows.length === 0) throw new Error(`execution ${id} was not ${from}`);
    const done = await db.query(
      `UPDATE executions SET status = 'succeeded', result = $3, finished_at = clock_timestamp(), lease_expires_at = NULL
        WHERE id = $1 AND status = 'running' AND attempt = 1 AND worker_id = $2 AND lease_expires_at > clock_timestamp()
        RETURNING ${EXECUTION_COLUMNS}`,
      [id, workerId, JSON.stringify({ exitCode: 0, stdout: 'ok' })],
    );
    if (done.rows.length === 0) throw new Error(`execution ${id} was not running`);
    return done.rows[0];
  };

  return [
    {
      name: 'execution.create',
      group: 'executions',
      title: 'ExecutionRepository.create (by actionRef)',
      baselineTitle: 'INSERT INTO executions … SELECT a.id, a.ref, … FROM actions a JOIN packs p … WHERE a.ref = $1 RETURNING …',
      target: SINGLE_ROW_TARGET,
      writes: true,
      plan: { bigTables: ['actions', 'packs', 'executions'], rows: SIZES.executions },
      setup: load,
      repo: (i) => ExecutionRepository.create(db, createInput(i)),
      baseline: async (i) => {
        const input = createInput(i);
        const result = await db.query(
          `INSERT INTO executions (action_id, action_ref, params, timeout_seconds, trace_id)
           SELECT a.id, a.ref, $2, a.timeout_seconds, $3 FROM actions a JOIN packs p ON p.id = a.pack_id AND p.is_active WHERE a.ref = $1
           RETURNING ${EXECUTION_COLUMNS}`,
          [input.actionRef, JSON.stringify(input.params), input.traceId],
        );
        if (result.rows.length === 0) throw new Error(`no action ${input.actionRef}`);
        return result.rows[0];
      },
    },
    {
      name: 'execution.list-by-status',
      group: 'executions',
      title: 'ExecutionRepository.list({ status }) 20 a page, newest first (2k–12k matches)',
      baselineTitle: 'WHERE status = ANY($1) ORDER BY created_at DESC, id DESC page + count(*) subquery',
      setup: load,
      plan: { bigTables: ['executions'], rows: SIZES.executions },
      comparePages: true,
      cycle: STATUS_OPS.length,
      repo: (i) => ExecutionRepository.list(db, { status: cycle(STATUS_OPS, i)[0], limit: 20, offset: cycle(STATUS_OPS, i)[1] }),
      baseline: (i) =>
        pageWithCount(db, 'executions', EXECUTION_COLUMNS, 'status = ANY($1::text[])', 'created_at DESC, id DESC', [cycle(STATUS_OPS, i)[0]], 20, cycle(STATUS_OPS, i)[1]),
    },
    {
      name: 'execution.list-by-action',
      group: 'executions',
      title: 'ExecutionRepository.list({ actionRef }) 20 a page, newest first (20–3k matches)',
      baselineTitle: 'WHERE action_ref = $1 ORDER BY created_at DESC, id DESC page + count(*) subquery',
      setup: load,
      plan: { bigTables: ['executions'], rows: SIZES.executions },
      comparePages: true,
      cycle: ACTION_OPS.length,
      repo: (i) => ExecutionRepository.list(db, { actionRef: actionRefs[cycle(ACTION_OPS, i)[0]]!, limit: 20, offset: cycle(ACTION_OPS, i)[1] }),
      baseline: (i) =>
        pageWithCount(db, 'executions', EXECUTION_COLUMNS, 'action_ref = $1', 'created_at DESC, id DESC', [actionRefs[cycle(ACTION_OPS, i)[0]]!], 20, cycle(ACTION_OPS, i)[1]),
    },
    {
      name: 'execution.list-recent',
      group: 'executions',
      title: 'ExecutionRepository.list({}) 20 a page, newest first (all 100k)',
      baselineTitle: 'ORDER BY created_at DESC, id DESC page + count(*) subquery',
      plan: { bigTables: ['executions'], rows: SIZES.executions },
      comparePages: true,
      cycle: OFFSETS.length,
      repo: (i) => ExecutionRepository.list(db, { limit: 20, offset: cycle(OFFSETS, i) }),
      baseline: (i) => pageWithCount(db, 'executions', EXECUTION_COLUMNS, '', 'created_at DESC, id DESC', [], 20, cycle(OFFSETS, i)),
    },
    {
      name: 'execution.transition',
      group: 'executions',
      title: 'transition requested → running, then → succeeded (inline run, by id)',
      baselineTitle: 'two guarded UPDATE … WHERE id = $1 AND status = … RETURNING …',
      target: SINGLE_ROW_TARGET,
      writes: true,
      maxOpsPerRound: 100,
      plan: { bigTables: ['executions'], rows: SIZES.executions },
      setup: async (maxOps) => {
        await load();
        // Requested rows of their own, taken by id.
        if (inline.length > 2 * maxOps + 2) return;
        inline.length = 0;
        const result = await db.query<{ id: number }>(
          `INSERT INTO executions (action_id, action_ref, params, status)
           SELECT id, ref, '{"inline": true}', 'requested' FROM (SELECT id, ref FROM actions ORDER BY id LIMIT 1) a, generate_series(1, $1)
           RETURNING id`,
          [Math.max(2, maxOps * 2 + 2)],
        );
        inline.push(...result.rows.map((row) => Number(row.id)));
        if (maxOps > 0) await db.query('ANALYZE executions');
      },
      // Operation i of the repository takes row 2i, of the baseline row 2i + 1.
      repo: async (i) => {
        const id = inline[2 * i];
        if (id === undefined) throw new Error('no requested execution left');
        const fence = { workerId, attempt: 1 };
        await ExecutionRepository.transition(db, id, 'running', { fence, leaseSeconds: 300 });
        return ExecutionRepository.transition(db, id, 'succeeded', { fence, result: { exitCode: 0, stdout: 'ok' } });
      },
      baseline: async (i) => {
        const id = inline[2 * i + 1];
        if (id === undefined) throw new Error('no requested execution left');
        return runToSuccessByHand(id, 'requested');
      },
    },
    {
      name: 'execution.worker-cycle',
      group: 'executions',
      title: 'claim (→ scheduled) + transition → running + transition → succeeded',
      baselineTitle: 'the same three UPDATEs by hand (SKIP LOCKED claim, then two guarded UPDATE … WHERE id = $1 AND status = …)',
      target: SINGLE_ROW_TARGET,
      writes: true,
      maxOpsPerRound: 100,
      plan: { bigTables: ['executions'], rows: SIZES.executions },
      setup: async (maxOps) => {
        await load();
        // The queue holds the ~2,000 seeded requested rows; add enough for every operation of both sides.
        if (maxOps > 0) {
          await db.query(
            `INSERT INTO executions (action_id, action_ref, params, status)
             SELECT id, ref, '{"queued": true}', 'requested' FROM (SELECT id, ref FROM actions ORDER BY id LIMIT 1) a, generate_series(1, $1)`,
            [maxOps * 2],
          );
          await db.query('ANALYZE executions');
        }
      },
      repo: async () => {
        const [claimed] = await ExecutionRepository.claim(db, { workerId, leaseSeconds: 60 });
        if (!claimed) throw new Error('the queue ran dry');
        const fence = fenceOf(claimed);
        await ExecutionRepository.transition(db, claimed.id, 'running', { expectedFrom: 'scheduled', fence, leaseSeconds: 300 });
        return ExecutionRepository.transition(db, claimed.id, 'succeeded', { expectedFrom: 'running', fence, result: { exitCode: 0, stdout: 'ok' } });
      },
      baseline: async () => {
        const claimed = await db.query(
          `UPDATE executions SET status = 'scheduled', worker_id = $1, lease_expires_at = clock_timestamp() + make_interval(secs => $2)
            WHERE id = (SELECT id FROM executions WHERE status = 'requested' ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
           RETURNING ${EXECUTION_COLUMNS}`,
          [workerId, 60],
        );
        const id = claimed.rows[0]?.id;
        if (id === undefined) throw new Error('the queue ran dry');
        return runToSuccessByHand(id, 'scheduled');
      },
    },
  ];
}
