import pg from 'pg';
import type { Executor } from '../../src/db/pool.js';
import { markInTransaction } from '../../src/db/transaction.js';

/**
 * Helpers for tests that look at the SQL a repository sends: a recording
 * executor, query plans, and the value lists of CHECK constraints.
 *
 * A plan test must not depend on what the planner makes of a near-empty
 * table, nor on what other tests left behind. Inside the test's rolled-back
 * transaction, seed the tables the query reads with a realistic volume in
 * one set-based statement, with the filtered value rare; call `analyze`;
 * only then look at the plan, with sequential scans allowed, so the test
 * shows the planner prefers the index:
 *
 * ```ts
 * await ctx.db.query(`INSERT INTO workers (name, worker_type)
 *   SELECT 'w' || g, CASE WHEN g % 300 = 0 THEN 'remote' ELSE 'local' END FROM generate_series(1, 3000) AS g`);
 * await analyze(ctx.db, 'workers');
 * const plan = await indexesUsed(ctx.db, (db) => WorkerRepository.list(db, { workerType: 'remote' }));
 * expect(plan.indexes).toContain('workers_worker_type_idx');
 * expect(plan.seqScans).toEqual([]);
 * ```
 */

/** One statement sent through a recording executor. */
export interface RecordedStatement {
  text: string;
  values: unknown[];
}

/** An executor that keeps every statement sent through it, in order. */
export interface RecordingExecutor extends Executor {
  readonly statements: RecordedStatement[];
}

/**
 * Wraps `db`: each statement's text and values are recorded in `statements`,
 * then forwarded to `db` unchanged. With `inTransaction`, `withTransaction`
 * on the recorder nests in a savepoint rather than opening (and committing) a
 * transaction of its own: use it when `db` is a client inside a transaction.
 */
export function recording(db: Executor, options: { inTransaction?: boolean } = {}): RecordingExecutor {
  const statements: RecordedStatement[] = [];
  const recorder: RecordingExecutor = {
    statements,
    query: ((text: string | pg.QueryConfig, values?: unknown[]) => {
      if (typeof text === 'string') {
        statements.push({ text, values: values ?? [] });
        return db.query(text, values ?? []);
      }
      statements.push({ text: text.text, values: text.values ?? [] });
      return db.query(text);
    }) as Executor['query'],
  };
  if (options.inTransaction) markInTransaction(recorder, true);
  return recorder;
}

/** What a plan reads. */
export interface Plan {
  /** The indexes the plan scans (index, index-only and bitmap scans), each once, in plan order. */
  indexes: string[];
  /** The tables the plan reads with a Seq Scan, each once. */
  seqScans: string[];
  /** The EXPLAIN (FORMAT JSON) output, one entry per statement explained. */
  json: unknown[];
}

/** EXPLAIN (FORMAT JSON) of one statement, with its parameter values (the plan PostgreSQL would run for them). */
export async function planOf(db: Executor, sql: string, values: unknown[] = []): Promise<Plan> {
  const { rows } = await db.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`, values);
  const json = rows[0]!['QUERY PLAN'];
  return { ...readPlan(json), json: [json] };
}

/** Statements EXPLAIN cannot take, which withTransaction and its savepoints send. */
const TRANSACTION_CONTROL = /^\s*(BEGIN|START|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|SET|RESET)\b/i;

/**
 * Runs `run` against a recording executor on `db`, then EXPLAINs every
 * statement it sent (transaction control left out) and returns what those
 * plans read, merged. The statements really run, so `db` should be the
 * test's transaction client (`ctx.db`), where seeded rows and fresh
 * statistics are visible and everything is rolled back; calls that open a
 * transaction nest in it as savepoints. Fails when `run` sent no statement.
 */
export async function indexesUsed(db: Executor, run: (db: Executor) => Promise<unknown>): Promise<Plan> {
  const recorder = recording(db, { inTransaction: !(db instanceof pg.Pool) });
  await run(recorder);
  const statements = recorder.statements.filter((statement) => !TRANSACTION_CONTROL.test(statement.text));
  if (statements.length === 0) throw new Error('indexesUsed: the call sent no statement to explain');
  const plans: Plan[] = [];
  for (const statement of statements) plans.push(await planOf(db, statement.text, statement.values));
  return {
    indexes: [...new Set(plans.flatMap((plan) => plan.indexes))],
    seqScans: [...new Set(plans.flatMap((plan) => plan.seqScans))],
    json: plans.flatMap((plan) => plan.json),
  };
}

function readPlan(json: unknown): Omit<Plan, 'json'> {
  const indexes = new Set<string>();
  const seqScans = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(walk);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (typeof record['Index Name'] === 'string') indexes.add(record['Index Name']);
    if (record['Node Type'] === 'Seq Scan' && typeof record['Relation Name'] === 'string') seqScans.add(record['Relation Name']);
    Object.values(record).forEach(walk);
  };
  walk(json);
  return { indexes: [...indexes], seqScans: [...seqScans] };
}

/**
 * Brings freshly seeded tables to the state a live database is in: flushes
 * the pending lists of their GIN indexes (autovacuum does this; a GIN index
 * fed by one big INSERT otherwise looks far costlier than it is) and runs
 * ANALYZE. Both work inside the test's transaction; the statistics go with
 * its rollback.
 */
export async function analyze(db: Executor, ...tables: string[]): Promise<void> {
  for (const table of tables) {
    await db.query(
      `SELECT gin_clean_pending_list(i.indexrelid)
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
        WHERE i.indrelid = $1::regclass AND am.amname = 'gin'`,
      [table],
    );
    await db.query(`ANALYZE ${pg.escapeIdentifier(table)}`);
  }
}

/**
 * The quoted values of a CHECK constraint written `col IN (…)` (which
 * PostgreSQL prints as `col = ANY (ARRAY['a'::text, …])`), in order, read
 * with pg_get_constraintdef. Fails unless exactly one CHECK has that name.
 */
export async function checkValues(db: Executor, constraintName: string): Promise<string[]> {
  const { rows } = await db.query<{ def: string }>(
    `SELECT pg_get_constraintdef(c.oid) AS def
       FROM pg_constraint c
      WHERE c.conname = $1 AND c.contype = 'c' AND c.connamespace = current_schema()::regnamespace`,
    [constraintName],
  );
  if (rows.length !== 1) throw new Error(`checkValues: expected one CHECK constraint named ${constraintName}, found ${rows.length}`);
  return [...rows[0]!.def.matchAll(/'((?:[^']|'')*)'::text/g)].map((match) => match[1]!.replace(/''/g, "'"));
}
