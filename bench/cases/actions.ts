/**
 * Action benchmarks: create (pack resolved by ref in the INSERT), lookups by
 * id and ref, lists by pack and by runner type over 100,000 actions.
 */
import { ActionRepository, type CreateActionInput, type RunnerType } from '../../src/repositories/actions.js';
import { SINGLE_ROW_TARGET, type BenchCase } from '../harness.js';
import { counter, cycle, spread, type BenchContext } from '../context.js';
import { pageWithCount } from './packs.js';
import { actionName, packRef, SIZES } from '../seed.js';

export const ACTION_COLUMNS =
  'id, pack_id, pack_ref, name, ref, label, description, runner_type, entry_point, runtime_id, enabled, param_schema, output_schema, timeout_seconds, tags, created_at, updated_at';

/** Runner type and offset: ~30,000, ~10,000 and ~1,000 matching actions. */
const RUNNER_OPS: [RunnerType, number][] = [
  ['python', 0],
  ['http', 50],
  ['native', 200],
];

export function actionCases(ctx: BenchContext): BenchCase[] {
  const { db } = ctx;
  let ids: number[] = [];
  let packIds: number[] = [];
  const load = async () => {
    if (ids.length > 0) return;
    ids = (await db.query<{ id: number }>('SELECT id FROM actions ORDER BY id')).rows.map((row) => Number(row.id));
    packIds = (await db.query<{ id: number }>('SELECT DISTINCT pack_id AS id FROM actions ORDER BY 1')).rows.map((row) => Number(row.id));
  };
  const unique = counter();
  // Created actions go to packs with no seeded actions, spread over 1,000 of them.
  const createInput = (i: number): CreateActionInput => ({
    packRef: packRef(5001 + (i % 1000)),
    name: `bench_action_${i}`,
    label: 'Bench action',
    description: 'An action created by the benchmark run',
    runnerType: 'python',
    entryPoint: 'actions/run.py',
    paramSchema: { type: 'object', properties: { message: { type: 'string' } } },
    timeoutSeconds: 60,
    tags: ['bench'],
  });
  const refOf = (i: number) => `${packRef(1 + spread(i, SIZES.actionPacks))}.${actionName(1 + (i % SIZES.actionsPerPack))}`;

  return [
    {
      name: 'action.create',
      writes: true,
      plan: { bigTables: ['packs', 'actions'], rows: SIZES.actions },
      group: 'actions',
      title: 'ActionRepository.create (by packRef, 9 fields)',
      baselineTitle: 'INSERT INTO actions (…) SELECT p.id, p.ref, … FROM packs p WHERE p.ref = $1 AND p.is_active RETURNING …',
      target: SINGLE_ROW_TARGET,
      repo: () => ActionRepository.create(db, createInput(unique())),
      baseline: async () => {
        const input = createInput(unique());
        const result = await db.query(
          `INSERT INTO actions (pack_id, pack_ref, name, ref, label, description, runner_type, entry_point, param_schema, timeout_seconds, tags)
           SELECT p.id, p.ref, $2::text, p.ref || '.' || $2::text, $3, $4, $5, $6, $7, $8, $9 FROM packs p WHERE p.ref = $1 AND p.is_active
           RETURNING ${ACTION_COLUMNS}`,
          [
            input.packRef,
            input.name,
            input.label,
            input.description,
            input.runnerType,
            input.entryPoint,
            JSON.stringify(input.paramSchema),
            input.timeoutSeconds,
            input.tags,
          ],
        );
        if (result.rows.length === 0) throw new Error(`no active pack ${input.packRef}`);
        return result.rows[0];
      },
    },
    {
      name: 'action.find-by-id',
      group: 'actions',
      title: 'ActionRepository.findById',
      baselineTitle: 'SELECT … FROM actions WHERE id = $1',
      target: SINGLE_ROW_TARGET,
      setup: load,
      plan: { bigTables: ['actions'], rows: SIZES.actions },
      repo: (i) => ActionRepository.findById(db, cycle(ids, spread(i, ids.length))),
      baseline: async (i) => (await db.query(`SELECT ${ACTION_COLUMNS} FROM actions WHERE id = $1`, [cycle(ids, spread(i, ids.length))])).rows[0],
    },
    {
      name: 'action.find-by-ref',
      group: 'actions',
      title: 'ActionRepository.findByRef (active pack version)',
      baselineTitle: 'SELECT … WHERE pack_id = (SELECT id FROM packs WHERE ref = $1 AND is_active) AND name = $2',
      target: SINGLE_ROW_TARGET,
      plan: { bigTables: ['actions', 'packs'], rows: SIZES.actions },
      repo: (i) => ActionRepository.findByRef(db, refOf(i)),
      baseline: async (i) => {
        const ref = refOf(i);
        const dot = ref.indexOf('.');
        const result = await db.query(`SELECT ${ACTION_COLUMNS} FROM actions WHERE pack_id = (SELECT id FROM packs WHERE ref = $1 AND is_active) AND name = $2`, [
          ref.slice(0, dot),
          ref.slice(dot + 1),
        ]);
        return result.rows[0];
      },
    },
    {
      name: 'action.list-by-pack',
      group: 'actions',
      title: 'ActionRepository.list({ packId }) 50 a page (100 per pack)',
      baselineTitle: 'WHERE pack_id = $1 ORDER BY ref, id page + count(*) subquery',
      setup: load,
      plan: { bigTables: ['actions'], rows: SIZES.actions },
      comparePages: true,
      cycle: 2,
      repo: (i) => ActionRepository.list(db, { packId: cycle(packIds, spread(i, packIds.length)), limit: 50, offset: (i % 2) * 50 }),
      baseline: (i) =>
        pageWithCount(db, 'actions', ACTION_COLUMNS, 'pack_id = $1', 'ref, id', [cycle(packIds, spread(i, packIds.length))], 50, (i % 2) * 50),
    },
    {
      name: 'action.list-by-pack-ref',
      group: 'actions',
      title: 'ActionRepository.list({ packRef }) 50 a page',
      baselineTitle: 'WHERE pack_id = (SELECT id FROM packs WHERE ref = $1 AND is_active) page + count(*) subquery',
      plan: { bigTables: ['actions', 'packs'], rows: SIZES.actions },
      comparePages: true,
      cycle: 2,
      repo: (i) => ActionRepository.list(db, { packRef: packRef(1 + spread(i, SIZES.actionPacks)), limit: 50, offset: (i % 2) * 50 }),
      baseline: (i) =>
        pageWithCount(db, 'actions', ACTION_COLUMNS, 'pack_id = (SELECT id FROM packs WHERE ref = $1 AND is_active)', 'ref, id', [
          packRef(1 + spread(i, SIZES.actionPacks)),
        ], 50, (i % 2) * 50),
    },
    {
      name: 'action.list-by-runner-type',
      group: 'actions',
      title: 'ActionRepository.list({ runnerType }) 50 a page (1k–30k matches)',
      baselineTitle: 'WHERE runner_type = $1 ORDER BY ref, id page + count(*) subquery',
      plan: { bigTables: ['actions'], rows: SIZES.actions },
      comparePages: true,
      cycle: RUNNER_OPS.length,
      repo: (i) => ActionRepository.list(db, { runnerType: cycle(RUNNER_OPS, i)[0], limit: 50, offset: cycle(RUNNER_OPS, i)[1] }),
      baseline: (i) => pageWithCount(db, 'actions', ACTION_COLUMNS, 'runner_type = $1', 'ref, id', [cycle(RUNNER_OPS, i)[0]], 50, cycle(RUNNER_OPS, i)[1]),
    },
  ];
}
