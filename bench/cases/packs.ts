/**
 * Pack benchmarks: create, lookups by id and ref, list filters and ranked
 * search over 10,000 packs.
 */
import { PackRepository, toPrefixQuery, type CreatePackInput } from '../../src/repositories/packs.js';
import { SINGLE_ROW_TARGET, type BenchCase } from '../harness.js';
import { counter, cycle, spread, type BenchContext } from '../context.js';
import { packRef, SIZES, VOCABULARY } from '../seed.js';

/** The columns a pack entity carries, as a hand-written query lists them. */
export const PACK_COLUMNS =
  'id, ref, version, name, description, author, email, keywords, dependencies, python_requirements, node_dependencies, conf_schema, config, meta, is_active, is_system, created_at, updated_at';

/**
 * Search operations: [text, offset]. One word (~3% of packs, pages 1–3), two
 * words, a three-letter prefix, a word and a prefix. Offsets stay inside the
 * matches: a page past the end takes another path (see the report).
 */
export const SEARCH_OPS: [string, number][] = [
  [VOCABULARY[37]!, 0],
  [`${VOCABULARY[5]!} ${VOCABULARY[120]!.slice(0, 3)}`, 0],
  [VOCABULARY[37]!, 20],
  [VOCABULARY[200]!.slice(0, 3), 0],
  [VOCABULARY[300]!, 40],
  [`${VOCABULARY[80]!} ${VOCABULARY[81]!.slice(0, 3)}`, 0],
];

export function packCases(ctx: BenchContext): BenchCase[] {
  const { db } = ctx;
  let ids: number[] = [];
  const loadIds = async () => {
    if (ids.length > 0) return;
    const result = await db.query<{ id: number }>('SELECT id FROM packs ORDER BY id');
    ids = result.rows.map((row) => Number(row.id));
  };
  const createInput = (i: number): CreatePackInput => ({
    ref: `bench_pack_${i}`,
    version: '1.0.0',
    name: `Bench pack ${i}`,
    description: 'A pack created by the benchmark run',
    keywords: ['bench', 'kori'],
    dependencies: { sp00001: '^1.0.0' },
    meta: { run: i },
  });
  const unique = counter();
  const page = (i: number) => ({ limit: 20, offset: (i % 3) * 20 });

  return [
    {
      name: 'pack.create',
      writes: true,
      plan: { bigTables: ['packs'], rows: SIZES.packs },
      group: 'packs',
      title: 'PackRepository.create (7 fields)',
      baselineTitle: 'INSERT INTO packs (…) VALUES ($1…$7) RETURNING …',
      target: SINGLE_ROW_TARGET,
      repo: () => PackRepository.create(db, createInput(unique())),
      baseline: async () => {
        const input = createInput(unique());
        const result = await db.query(
          `INSERT INTO packs (ref, version, name, description, keywords, dependencies, meta) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${PACK_COLUMNS}`,
          [input.ref, input.version, input.name, input.description, input.keywords, JSON.stringify(input.dependencies), JSON.stringify(input.meta)],
        );
        return result.rows[0];
      },
    },
    {
      name: 'pack.find-by-id',
      group: 'packs',
      title: 'PackRepository.findById',
      baselineTitle: 'SELECT … FROM packs WHERE id = $1',
      target: SINGLE_ROW_TARGET,
      setup: loadIds,
      plan: { bigTables: ['packs'], rows: SIZES.packs },
      repo: (i) => PackRepository.findById(db, cycle(ids, spread(i, ids.length))),
      baseline: async (i) => (await db.query(`SELECT ${PACK_COLUMNS} FROM packs WHERE id = $1`, [cycle(ids, spread(i, ids.length))])).rows[0],
    },
    {
      name: 'pack.find-by-ref',
      group: 'packs',
      title: 'PackRepository.findByRef (active version)',
      baselineTitle: 'SELECT … FROM packs WHERE ref = $1 AND is_active',
      target: SINGLE_ROW_TARGET,
      plan: { bigTables: ['packs'], rows: SIZES.packs },
      repo: (i) => PackRepository.findByRef(db, packRef(1 + spread(i, SIZES.activePacks))),
      baseline: async (i) =>
        (await db.query(`SELECT ${PACK_COLUMNS} FROM packs WHERE ref = $1 AND is_active`, [packRef(1 + spread(i, SIZES.activePacks))])).rows[0],
    },
    {
      name: 'pack.search',
      group: 'packs',
      title: 'PackRepository.search (ranked, 20 a page)',
      baselineTitle: 'same tsquery, ranked, count(*) OVER () for the total',
      plan: { bigTables: ['packs'], rows: SIZES.packs },
      comparePages: true,
      cycle: SEARCH_OPS.length,
      repo: (i) => PackRepository.search(db, cycle(SEARCH_OPS, i)[0], { limit: 20, offset: cycle(SEARCH_OPS, i)[1] }),
      baseline: async (i) => {
        // Ranking sorts every match anyway, so a window count is the cheap way to the total here.
        const [text, offset] = cycle(SEARCH_OPS, i);
        const query = toPrefixQuery(text);
        const limit = 20;
        const result = await db.query(
          `SELECT ${PACK_COLUMNS}, count(*) OVER () AS total_count FROM packs
            WHERE search_vector @@ to_tsquery('simple', $1)
            ORDER BY ts_rank(search_vector, to_tsquery('simple', $1)) DESC, ref, id LIMIT $2 OFFSET $3`,
          [query, limit, offset],
        );
        return { items: result.rows, total: Number(result.rows[0]?.total_count ?? 0) };
      },
    },
    {
      name: 'pack.list-by-keyword',
      group: 'packs',
      title: 'PackRepository.list({ keyword, isActive }) 20 a page',
      baselineTitle: 'keywords @> ARRAY[$1] page + count(*) subquery',
      plan: { bigTables: ['packs'], rows: SIZES.packs },
      comparePages: true,
      cycle: 3,
      repo: (i) => PackRepository.list(db, { keyword: cycle(VOCABULARY, spread(i, VOCABULARY.length)), isActive: true, ...page(i) }),
      baseline: (i) => {
        const { limit, offset } = page(i);
        return pageWithCount(db, 'packs', PACK_COLUMNS, 'keywords @> ARRAY[$1]::text[] AND is_active', 'ref, created_at, id', [
          cycle(VOCABULARY, spread(i, VOCABULARY.length)),
        ], limit, offset);
      },
    },
    {
      name: 'pack.list-depends-on',
      group: 'packs',
      title: 'PackRepository.list({ dependsOn }) 10 a page (~18 matches)',
      baselineTitle: 'dependencies ? $1 page + count(*) subquery',
      plan: { bigTables: ['packs'], rows: SIZES.packs },
      comparePages: true,
      cycle: 2,
      repo: (i) => PackRepository.list(db, { dependsOn: packRef(1 + (i % 50)), limit: 10, offset: (i % 2) * 10 }),
      baseline: (i) => pageWithCount(db, 'packs', PACK_COLUMNS, 'dependencies ? $1', 'ref, created_at, id', [packRef(1 + (i % 50))], 10, (i % 2) * 10),
    },
  ];
}

/**
 * The hand-written list: one statement returning the page in index order and
 * the total from a scalar subquery (which the planner can answer from an
 * index alone), instead of count(*) OVER () over every matching row.
 */
export async function pageWithCount(
  db: BenchContext['db'],
  tableName: string,
  columns: string,
  condition: string,
  orderBy: string,
  values: unknown[],
  limit: number,
  offset: number,
): Promise<{ items: unknown[]; total: number }> {
  const n = values.length;
  const where = condition ? ` WHERE ${condition}` : '';
  const result = await db.query(
    `SELECT ${columns}, (SELECT count(*) FROM ${tableName}${where}) AS total_count FROM ${tableName}${where} ORDER BY ${orderBy} LIMIT $${n + 1} OFFSET $${n + 2}`,
    [...values, limit, offset],
  );
  let total = Number(result.rows[0]?.total_count ?? 0);
  if (result.rows.length === 0 && offset > 0) total = Number((await db.query(`SELECT count(*) AS total FROM ${tableName}${where}`, values)).rows[0]!.total);
  return { items: result.rows, total };
}
