/**
 * Set-based seeding (INSERT … SELECT generate_series) of the data sets the
 * benchmarks read: 10,000 packs, 100,000 actions, 100,000 events and
 * 100,000 executions, then VACUUM ANALYZE so the planner and the visibility
 * map look like a table autovacuum has seen.
 */
import type pg from 'pg';

export const SIZES = {
  /** 9,000 active packs and 1,000 older inactive versions. */
  packs: 10_000,
  activePacks: 9_000,
  /** 1,000 packs × 100 actions. */
  actions: 100_000,
  actionPacks: 1_000,
  actionsPerPack: 100,
  /** 100 packs × 5 triggers. */
  triggers: 500,
  events: 100_000,
  executions: 100_000,
} as const;

/** Runner types and their share of the seeded actions. */
export const RUNNER_MIX: [string, number][] = [
  ['shell', 0.35],
  ['python', 0.3],
  ['node', 0.15],
  ['http', 0.1],
  ['noop', 0.04],
  ['workflow', 0.03],
  ['inquiry', 0.02],
  ['native', 0.01],
];

/** Execution statuses and their share of the seeded executions. */
export const STATUS_MIX: [string, number][] = [
  ['succeeded', 0.8],
  ['failed', 0.1],
  ['running', 0.03],
  ['requested', 0.02],
  ['scheduled', 0.02],
  ['canceled', 0.01],
  ['timeout', 0.01],
  ['abandoned', 0.01],
];

const SYLLABLES = ['ba', 'ko', 'ri', 'den', 'lu', 'ma', 'sto', 'vi', 'ne', 'qua', 'tor', 'pe', 'zi', 'mo', 'gra', 'fu', 'el', 'an', 'os', 'ix'];

/** 380 made-up words (two syllables each): pack names, keywords and descriptions draw from them. */
export const VOCABULARY: string[] = SYLLABLES.flatMap((a) => SYLLABLES.filter((b) => b !== a).map((b) => a + b));

/** Seeded pack ref number n (1-based). */
export const packRef = (n: number): string => `sp${String(n).padStart(5, '0')}`;
/** Seeded action name k (1-based) inside a pack. */
export const actionName = (k: number): string => `a${String(k).padStart(3, '0')}`;
/** Seeded trigger k (1-based, 1..500): pack sp00001..sp00100 × t1..t5. */
export const triggerRef = (k: number): string => `${packRef(Math.floor((k - 1) / 5) + 1)}.t${((k - 1) % 5) + 1}`;

function caseOf(mix: [string, number][], variable: string): string {
  let cumulative = 0;
  const branches = mix.slice(0, -1).map(([value, share]) => {
    cumulative += share;
    return `WHEN ${variable} < ${cumulative.toFixed(4)} THEN '${value}'`;
  });
  return `CASE ${branches.join(' ')} ELSE '${mix[mix.length - 1]![0]}' END`;
}

export type Log = (message: string) => void;

async function timed(log: Log, label: string, fn: () => Promise<unknown>): Promise<void> {
  const started = performance.now();
  await fn();
  log(`  seeded ${label} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** Fills the bench database. Deterministic for a given server (setseed). */
export async function seed(client: pg.ClientBase, log: Log): Promise<void> {
  await client.query('SELECT setseed(0.42)');
  const n = VOCABULARY.length;
  const word = (expr: string) => `($1::text[])[1 + floor(${expr} * ${n})::int]`;

  await timed(log, `${SIZES.packs.toLocaleString('en')} packs`, async () => {
    // Active version 1.0.0 of sp00001..sp09000, plus an older inactive 0.9.0 of sp00001..sp01000.
    await client.query(
      `INSERT INTO packs (ref, version, name, description, author, keywords, dependencies, meta, is_active)
       SELECT 'sp' || lpad(g::text, 5, '0'),
              CASE WHEN s.n <= ${SIZES.activePacks} THEN '1.0.0' ELSE '0.9.0' END,
              initcap(${word('random()')}) || ' ' || initcap(${word('random()')}),
              d.text,
              'Bench Author',
              ARRAY[${word('random()')}, ${word('random()')}, ${word('random()')}],
              CASE WHEN g % 10 = 0 THEN jsonb_build_object('sp' || lpad((1 + (g / 10) % 50)::text, 5, '0'), '^1.0.0') ELSE '{}'::jsonb END,
              jsonb_build_object('seed', g),
              s.n <= ${SIZES.activePacks}
         FROM generate_series(1, ${SIZES.packs}) AS s(n)
        CROSS JOIN LATERAL (SELECT CASE WHEN s.n <= ${SIZES.activePacks} THEN s.n ELSE s.n - ${SIZES.activePacks} END AS g) AS x
        CROSS JOIN LATERAL (
          SELECT string_agg(${word('random()')}, ' ') AS text FROM generate_series(1, 8) AS k WHERE s.n > 0
        ) AS d`,
      [VOCABULARY],
    );
  });

  await timed(log, `${SIZES.actions.toLocaleString('en')} actions`, async () => {
    await client.query(
      `INSERT INTO actions (pack_id, pack_ref, name, ref, label, description, runner_type, entry_point, enabled, param_schema, timeout_seconds, tags)
       SELECT p.id, p.ref, a.name, p.ref || '.' || a.name, 'Action ' || a.name, 'Seeded action ' || a.name,
              ${caseOf(RUNNER_MIX, 'a.r')}, 'main.sh', a.k % 20 <> 0,
              '{"type": "object", "properties": {"message": {"type": "string"}}}'::jsonb, 60, ARRAY['bench']
         FROM packs p
        CROSS JOIN LATERAL (
          SELECT k, 'a' || lpad(k::text, 3, '0') AS name, random() AS r FROM generate_series(1, ${SIZES.actionsPerPack}) AS k WHERE p.id > 0
        ) AS a
        WHERE p.is_active AND p.ref <= 'sp${String(SIZES.actionPacks).padStart(5, '0')}'`,
    );
  });

  await timed(log, `${SIZES.triggers} triggers, ${SIZES.events.toLocaleString('en')} events`, async () => {
    await client.query(
      `INSERT INTO triggers (ref, pack_id, pack_ref, name, description, payload_schema)
       SELECT p.ref || '.t' || k, p.id, p.ref, 't' || k, 'Seeded trigger', '{"type": "object"}'::jsonb
         FROM packs p CROSS JOIN generate_series(1, 5) AS k
        WHERE p.is_active AND p.ref <= 'sp${String(SIZES.triggers / 5).padStart(5, '0')}'
        ORDER BY p.ref, k`,
    );
    // Skewed: trigger 1 gets ~12% of the events, the tail a few dozen each. Spread over ~30 days.
    await client.query(
      `INSERT INTO events (trigger_id, trigger_ref, payload, source, trace_id, created_at)
       SELECT t.id, t.ref, jsonb_build_object('n', e.g, 'host', 'host' || (e.g % 50), 'ok', e.g % 7 <> 0),
              'sensor.bench', md5(e.g::text), now() - (${SIZES.events} - e.g) * interval '26 seconds'
         FROM (SELECT g, 1 + floor(power(random(), 3) * ${SIZES.triggers})::int AS k FROM generate_series(1, ${SIZES.events}) AS g) AS e
         JOIN (SELECT id, ref, row_number() OVER (ORDER BY id) AS k FROM triggers) AS t ON t.k = e.k
        ORDER BY e.g`,
    );
  });

  await timed(log, `${SIZES.executions.toLocaleString('en')} executions`, async () => {
    // The worker that holds the scheduled and running rows (a running execution always has one) and runs the worker cycle.
    await client.query(`INSERT INTO workers (name, worker_type, status, capabilities) VALUES ('bench-worker', 'local', 'active', '{"runners": ["shell"]}')`);
    // Actions are skewed too: the first 1,000 actions by id, the first ones most often.
    await client.query(
      `INSERT INTO executions (action_id, action_ref, params, status, result, attempt, max_attempts, timeout_seconds,
                               worker_id, lease_expires_at, started_at, finished_at, trace_id, created_at, updated_at)
       SELECT a.id, a.ref, jsonb_build_object('message', 'run ' || x.g), x.status,
              CASE WHEN x.status = 'succeeded' THEN '{"exit_code": 0}'::jsonb END, 1, 1, 60,
              CASE WHEN x.status IN ('scheduled', 'running') THEN (SELECT id FROM workers WHERE name = 'bench-worker') END,
              CASE WHEN x.status IN ('scheduled', 'running') THEN x.created_at + interval '5 minutes' END,
              CASE WHEN x.status NOT IN ('requested', 'scheduled') THEN x.created_at + interval '1 second' END,
              CASE WHEN x.status IN ('succeeded', 'failed', 'canceled', 'timeout', 'abandoned') THEN x.created_at + interval '3 seconds' END,
              md5(x.g::text), x.created_at, x.created_at
         FROM (SELECT g, ${caseOf(STATUS_MIX, 'r')} AS status, k,
                      now() - (${SIZES.executions} - g) * interval '26 seconds' AS created_at
                 FROM (SELECT g, random() AS r, 1 + floor(power(random(), 2) * 1000)::int AS k
                         FROM generate_series(1, ${SIZES.executions}) AS g) AS raw) AS x
         JOIN (SELECT id, ref, row_number() OVER (ORDER BY id) AS k FROM actions ORDER BY id LIMIT 1000) AS a ON a.k = x.k
        ORDER BY x.g`,
    );
  });

  await timed(log, 'VACUUM ANALYZE', async () => {
    for (const table of ['packs', 'actions', 'triggers', 'events', 'executions', 'workers']) await client.query(`VACUUM (ANALYZE) ${table}`);
  });
}
