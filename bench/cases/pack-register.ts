/**
 * Pack registration benchmarks: registering a generated pack of 200 actions
 * and 200 rules (one trigger), and registering it again unchanged, which must
 * write no row. Baselines are the same work written by hand: multi-row
 * INSERTs of the same rows, and the SELECTs that read the stored version back.
 */
import type { BundleFile } from '../../src/packs/files.js';
import { registerPack } from '../../src/packs/register.js';
import { sha256Of } from '../../src/repositories/pack-files.js';
import type { BenchCase } from '../harness.js';
import type { BenchContext } from '../context.js';

const ACTIONS = 200;
const RULES = 200;

/** A StackStorm-style pack: `pack.yaml`, one trigger, ACTIONS noop actions, RULES rules, as a bundle. */
export function generatedPack(ref: string): BundleFile[] {
  const files: BundleFile[] = [
    { path: 'pack.yaml', content: `ref: ${ref}\nname: Generated ${ref}\nversion: 1.0.0\ndescription: A pack the benchmark generates.\n` },
    {
      path: 'triggers/ping.yaml',
      content: 'name: ping\npayload_schema:\n  type: object\n  properties:\n    host:\n      type: string\n    n:\n      type: integer\n',
    },
  ];
  for (let i = 0; i < ACTIONS; i += 1) {
    files.push({
      path: `actions/step_${i}.yaml`,
      content: `name: step_${i}\nrunner_type: noop\ndescription: Step ${i}.\nparameters:\n  host:\n    type: string\n    required: true\n  retries:\n    type: integer\n    default: ${i % 5}\n`,
    });
  }
  for (let i = 0; i < RULES; i += 1) {
    files.push({
      path: `rules/on_ping_${i}.yaml`,
      content: `name: on_ping_${i}\ntrigger:\n  type: ${ref}.ping\ncriteria:\n  trigger.n:\n    type: equals\n    pattern: ${i}\naction:\n  ref: ${ref}.step_${i % ACTIONS}\n  parameters:\n    host: "{{ trigger.host }}"\n`,
    });
  }
  return files;
}

/** Rows written to Attune's tables so far in the current transaction. */
async function rowsWritten(ctx: BenchContext): Promise<number> {
  const result = await ctx.client.query<{ n: string }>(
    `SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) AS n FROM pg_stat_xact_user_tables WHERE schemaname = 'attune'`,
  );
  return Number(result.rows[0]!.n);
}

/** Hand-written registration of the same rows: the pack, the trigger, the actions, the rules and the files, multi-row INSERTs. */
async function insertByHand(ctx: BenchContext, ref: string): Promise<void> {
  const { db } = ctx;
  const bundle = generatedPack(ref);
  await db.query('BEGIN');
  try {
    const pack = await db.query<{ id: number }>(
      `INSERT INTO packs (ref, version, name, description) VALUES ($1, '1.0.0', $2, 'A pack the benchmark generates.') RETURNING id`,
      [ref, `Generated ${ref}`],
    );
    const packId = pack.rows[0]!.id;
    const trigger = await db.query<{ id: number }>(
      `INSERT INTO triggers (pack_id, pack_ref, name, ref, payload_schema) VALUES ($1, $2, 'ping', $2 || '.ping', $3) RETURNING id`,
      [packId, ref, JSON.stringify({ type: 'object', properties: { host: { type: 'string' }, n: { type: 'integer' } } })],
    );
    const names = Array.from({ length: ACTIONS }, (_, i) => `step_${i}`);
    const schemas = names.map((_, i) =>
      JSON.stringify({ type: 'object', properties: { host: { type: 'string' }, retries: { type: 'integer', default: i % 5 } }, required: ['host'] }),
    );
    const actions = await db.query<{ id: number; name: string }>(
      `INSERT INTO actions (pack_id, pack_ref, name, ref, runner_type, description, param_schema)
       SELECT $1, $2, n, $2 || '.' || n, 'noop', 'Step ' || substr(n, 6) || '.', s::jsonb FROM unnest($3::text[], $4::text[]) AS u(n, s) RETURNING id, name`,
      [packId, ref, names, schemas],
    );
    const actionIds = new Map(actions.rows.map((row) => [row.name, row.id]));
    const ruleNames = Array.from({ length: RULES }, (_, i) => `on_ping_${i}`);
    await db.query(
      `INSERT INTO rules (pack_id, pack_ref, name, ref, trigger_id, trigger_ref, action_id, action_ref, criteria, action_params)
       SELECT $1, $2, n, $2 || '.' || n, $3, $2 || '.ping', a, $2 || '.step_' || (o - 1) % ${ACTIONS}, c::jsonb, '{"host": "{{ trigger.host }}"}'
         FROM unnest($4::text[], $5::bigint[], $6::text[]) WITH ORDINALITY AS u(n, a, c, o)`,
      [
        packId,
        ref,
        trigger.rows[0]!.id,
        ruleNames,
        ruleNames.map((_, i) => actionIds.get(`step_${i % ACTIONS}`)),
        ruleNames.map((_, i) => JSON.stringify({ 'trigger.n': { key: 'trigger.n', type: 'equals', pattern: i } })),
      ],
    );
    const contents = bundle.map((file) => Buffer.from(file.content));
    await db.query(
      `INSERT INTO pack_file_contents (sha256, size, content) SELECT s, octet_length(c), c FROM unnest($1::text[], $2::bytea[]) AS u(s, c) ON CONFLICT (sha256) DO NOTHING`,
      [contents.map(sha256Of), contents],
    );
    await db.query(
      `INSERT INTO pack_files (pack_id, path, size, content_id, sha256)
       SELECT $1, p, octet_length(c.content), c.id, c.sha256 FROM unnest($2::text[], $3::text[]) AS u(p, s) JOIN pack_file_contents c ON c.sha256 = u.s`,
      [packId, bundle.map((file) => file.path), contents.map(sha256Of)],
    );
    await db.query('COMMIT');
  } catch (error) {
    await db.query('ROLLBACK');
    throw error;
  }
}

export function packRegisterCases(ctx: BenchContext): BenchCase[] {
  const unchanged = generatedPack('bench_gen_same');
  const cases: BenchCase[] = [
    {
      name: 'pack.register',
      writes: true,
      group: 'packs',
      title: `registerPack: a new pack of ${ACTIONS} actions and ${RULES} rules (read, validate, store)`,
      baselineTitle: 'the same rows by hand: multi-row INSERTs of the pack, trigger, actions, rules and files',
      maxOpsPerRound: 3,
      setup: async () => {
        // The figures docs/benchmarks.md reports: rows written by a first registration and by an
        // unchanged one, counted by PostgreSQL in a transaction that is rolled back.
        await ctx.client.query('BEGIN');
        try {
          const pack = generatedPack('bench_gen_count');
          const start = await rowsWritten(ctx);
          await registerPack(ctx.client, pack);
          const first = (await rowsWritten(ctx)) - start;
          await registerPack(ctx.client, pack);
          const again = (await rowsWritten(ctx)) - start - first;
          cases[0]!.title = `registerPack: a new pack of ${ACTIONS} actions and ${RULES} rules: ${first} rows written`;
          cases[1]!.title = `registerPack again, unchanged (${ACTIONS} actions, ${RULES} rules): ${again} rows written`;
          if (again !== 0) throw new Error(`an unchanged re-registration wrote ${again} rows; it must write none`);
        } finally {
          await ctx.client.query('ROLLBACK');
        }
      },
      // Refs from the operation's index: the harness replays an operation with its own index
      // (client-side cost), and the registration checks that the rows it reads back are its own.
      repo: (i) => registerPack(ctx.db, generatedPack(`bench_gen_r${i}`)),
      baseline: (i) => insertByHand(ctx, `bench_gen_b${i}`),
    },
    {
      name: 'pack.register-unchanged',
      writes: true,
      group: 'packs',
      title: `registerPack again, unchanged (${ACTIONS} actions, ${RULES} rules): writes no row`,
      baselineTitle: 'reading the stored version back by hand (pack, components, files)',
      maxOpsPerRound: 5,
      setup: async () => {
        await registerPack(ctx.db, unchanged);
      },
      repo: () => registerPack(ctx.db, unchanged),
      baseline: async () => {
        const { db } = ctx;
        const pack = await db.query<{ id: number }>(`SELECT * FROM packs WHERE ref = 'bench_gen_same' AND version = '1.0.0'`);
        const id = pack.rows[0]!.id;
        await db.query('SELECT * FROM triggers WHERE pack_id = $1', [id]);
        await db.query('SELECT * FROM actions WHERE pack_id = $1', [id]);
        await db.query('SELECT * FROM rules WHERE pack_id = $1', [id]);
        await db.query('SELECT * FROM sensors WHERE pack_id = $1', [id]);
        return db.query('SELECT path, sha256, executable FROM pack_files WHERE pack_id = $1', [id]);
      },
    },
  ];
  return cases;
}
