import { createHash } from 'node:crypto';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/transaction.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { useTransactionPerTest } from '../support/db.js';
import { DATA_MODEL_FOREIGN_KEYS } from '../support/data-model.js';

// Foreign keys and their delete behaviour, from the catalog and end to end
// with raw SQL. Every test runs in a transaction that is rolled back.

const ctx = useTransactionPerTest();

type Row = Record<string, unknown> & { id: number };

/** INSERT … RETURNING * with parameters. JSONB values are passed as JSON text. */
async function insert(db: pg.ClientBase, table: string, values: Record<string, unknown>): Promise<Row> {
  const names = Object.keys(values);
  const result = await db.query<Row>(
    `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`,
    Object.values(values),
  );
  return result.rows[0]!;
}

async function row(db: pg.ClientBase, table: string, id: number): Promise<Row | undefined> {
  return (await db.query<Row>(`SELECT * FROM ${table} WHERE id = $1`, [id])).rows[0];
}

/** One row in every table, linked the way the engine links them. */
async function seed(db: pg.ClientBase) {
  const packRef = uniqueName('fk');
  const pack = await insert(db, 'packs', { ref: packRef, version: '1.0.0', name: 'FK pack' });
  const runtime = await insert(db, 'runtimes', { ref: `${packRef}.sh`, pack_id: pack.id, pack_ref: packRef, name: 'sh', kind: 'shell' });
  const worker = await insert(db, 'workers', { name: uniqueName('worker'), runtime_id: runtime.id });
  const trigger = await insert(db, 'triggers', { ref: `${packRef}.tick`, pack_id: pack.id, pack_ref: packRef, name: 'tick' });
  const action = await insert(db, 'actions', {
    pack_id: pack.id, pack_ref: packRef, name: 'run', ref: `${packRef}.run`, runner_type: 'shell', runtime_id: runtime.id,
  });
  const rule = await insert(db, 'rules', {
    ref: `${packRef}.on_tick`, pack_id: pack.id, pack_ref: packRef, name: 'on_tick',
    trigger_id: trigger.id, trigger_ref: trigger.ref, action_id: action.id, action_ref: action.ref,
  });
  const event = await insert(db, 'events', { trigger_id: trigger.id, trigger_ref: trigger.ref, payload: JSON.stringify({ n: 1 }) });
  const enforcement = await insert(db, 'enforcements', { rule_id: rule.id, rule_ref: rule.ref, event_id: event.id, trigger_ref: trigger.ref });
  const identity = await insert(db, 'identities', { login: uniqueName('user') });
  const other = await insert(db, 'identities', { login: uniqueName('approver') });
  const execution = await insert(db, 'executions', {
    action_id: action.id, action_ref: action.ref, enforcement_id: enforcement.id, requested_by: identity.id, worker_id: worker.id,
  });
  const inquiry = await insert(db, 'inquiries', {
    execution_id: execution.id, prompt: 'Approve?', assigned_to: identity.id, responded_by: other.id, status: 'responded', responded_at: new Date(),
  });
  const sensor = await insert(db, 'sensors', { pack_id: pack.id, pack_ref: packRef, name: 'watch', ref: `${packRef}.watch`, entry_point: 'watch.py' });
  const bytes = Buffer.from(packRef);
  const content = await insert(db, 'pack_file_contents', { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, content: bytes });
  const file = await insert(db, 'pack_files', { pack_id: pack.id, path: 'pack.yaml', size: bytes.length, content_id: content.id, sha256: content.sha256 });
  const token = await insert(db, 'api_tokens', { identity_id: identity.id, name: 'ci', token_hash: Buffer.alloc(32, 3) });
  const attempt = await insert(db, 'execution_attempts', { execution_id: execution.id, attempt: 1, worker_id: worker.id, status: 'failed' });
  const output = await insert(db, 'execution_output', { execution_id: execution.id, attempt: 1, seq: 0, stream: 'stdout', data: 'hi\n' });
  return {
    packRef, pack, runtime, worker, trigger, action, rule, event, enforcement, identity, other, execution, inquiry, sensor, content, file, token, attempt, output,
  };
}

/** Runs `sql` in a savepoint, expecting it to fail; returns the driver error. */
async function sqlError(db: pg.PoolClient, sql: string, params: unknown[] = []): Promise<pg.DatabaseError> {
  try {
    await withTransaction(db, (tx) => tx.query(sql, params));
  } catch (error) {
    return error as pg.DatabaseError;
  }
  throw new Error(`expected to fail: ${sql}`);
}

const DELETE_RULES: Record<string, string> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };

/**
 * The design's "Delete behaviour at a glance", one row per foreign key. The
 * one place the delete rules are asserted: the manifest is checked against
 * the live schema in test/db/verify.test.ts, and the live schema against this.
 */
const FOREIGN_KEYS = DATA_MODEL_FOREIGN_KEYS;

interface ForeignKey {
  name: string;
  table: string;
  columns: string[];
  target: string;
  targetColumns: string[];
  onDelete: string;
  nullable: boolean;
  deferrable: boolean;
}

async function foreignKeys(db: pg.ClientBase): Promise<ForeignKey[]> {
  const result = await db.query<Omit<ForeignKey, 'onDelete'> & { confdeltype: string }>(
    `SELECT c.conname AS name, t.relname AS "table", r.relname AS target, c.confdeltype::text AS confdeltype,
            c.condeferrable AS deferrable,
            ARRAY(SELECT a.attname::text FROM unnest(c.conkey) k JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k) AS columns,
            ARRAY(SELECT a.attname::text FROM unnest(c.confkey) k JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k) AS "targetColumns",
            NOT bool_or(a.attnotnull) AS nullable
       FROM pg_constraint c
       JOIN pg_class t ON t.oid = c.conrelid
       JOIN pg_class r ON r.oid = c.confrelid
       JOIN pg_namespace n ON n.oid = c.connamespace
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
      WHERE n.nspname = 'attune' AND c.contype = 'f'
      GROUP BY c.oid, c.conname, t.relname, r.relname`,
  );
  return result.rows.map(({ confdeltype, ...rest }) => ({ ...rest, onDelete: DELETE_RULES[confdeltype] ?? confdeltype }));
}

describe('foreign keys in the catalog', () => {
  it('are exactly those of the data model, each with its documented delete rule', async () => {
    const byName = (a: string[], b: string[]) => a.join().localeCompare(b.join());
    const actual = (await foreignKeys(ctx.db)).map((fk) => [fk.table, fk.columns.join(','), fk.target, fk.onDelete]).sort(byName);
    expect(actual).toEqual(FOREIGN_KEYS.map((fk) => [...fk]).sort(byName));
  });

  it('each references id, is checked at once (not deferrable), and a SET NULL one is on a nullable column', async () => {
    // A nullable column: SET NULL on a NOT NULL column would make the parent's delete fail instead.
    const wrong = (await foreignKeys(ctx.db))
      .filter((fk) => fk.targetColumns.join() !== 'id' || fk.deferrable || (fk.onDelete === 'SET NULL' && !fk.nullable))
      .map((fk) => fk.name);
    expect(wrong).toEqual([]);
  });
});

describe('foreign key enforcement', () => {
  it.each(FOREIGN_KEYS)('%s.%s refuses an id that does not exist in %s (23503)', async (table, column, target) => {
    const s = await seed(ctx.db);
    const rowIds: Record<string, number> = {
      runtimes: s.runtime.id, triggers: s.trigger.id, actions: s.action.id, rules: s.rule.id, workers: s.worker.id,
      events: s.event.id, enforcements: s.enforcement.id, executions: s.execution.id, inquiries: s.inquiry.id,
      sensors: s.sensor.id, pack_files: s.file.id, api_tokens: s.token.id, execution_attempts: s.attempt.id, execution_output: s.output.id,
      event_queue: (await ctx.db.query<{ id: number }>('SELECT id FROM event_queue WHERE event_id = $1', [s.event.id])).rows[0]!.id,
    };
    const error = await sqlError(ctx.db, `UPDATE ${table} SET ${column} = $1 WHERE id = $2`, [2_000_000_000, rowIds[table]]);
    expect(error.code).toBe('23503');
    expect(error.constraint).toBe(`${table}_${column}_fkey`);
    expect(error.detail).toContain(`is not present in table "${target}"`);
  });
});

describe('deleting a pack', () => {
  it('removes its runtimes, triggers, actions and rules, and the SET NULL chain below them', async () => {
    const s = await seed(ctx.db);
    const otherPack = await insert(ctx.db, 'packs', { ref: uniqueName('keep'), version: '1.0.0', name: 'Kept' });
    const keptAction = await insert(ctx.db, 'actions', {
      pack_id: otherPack.id, pack_ref: otherPack.ref, name: 'stay', ref: `${String(otherPack.ref)}.stay`, runner_type: 'noop',
    });

    const deleted = await ctx.db.query('DELETE FROM packs WHERE id = $1', [s.pack.id]);
    expect(deleted.rowCount).toBe(1);

    for (const [table, id] of [['runtimes', s.runtime.id], ['triggers', s.trigger.id], ['actions', s.action.id], ['rules', s.rule.id]] as const) {
      expect(await row(ctx.db, table, id), `${table} row survived`).toBeUndefined();
    }
    // History and infrastructure survive with their ids cleared and refs kept.
    expect(await row(ctx.db, 'workers', s.worker.id)).toMatchObject({ runtime_id: null });
    expect(await row(ctx.db, 'events', s.event.id)).toMatchObject({ trigger_id: null, trigger_ref: s.trigger.ref });
    expect(await row(ctx.db, 'enforcements', s.enforcement.id)).toMatchObject({ rule_id: null, rule_ref: s.rule.ref, event_id: s.event.id });
    expect(await row(ctx.db, 'executions', s.execution.id)).toMatchObject({ action_id: null, action_ref: s.action.ref });
    // Another pack's rows are untouched.
    expect(await row(ctx.db, 'actions', keptAction.id)).toMatchObject({ pack_id: otherPack.id });
  });

  it('removes its sensors and file list; a file content stays, and cannot go while a version lists it', async () => {
    const s = await seed(ctx.db);
    const refused = await sqlError(ctx.db, 'DELETE FROM pack_file_contents WHERE id = $1', [s.content.id]);
    // ON DELETE RESTRICT: PostgreSQL 15 reports foreign_key_violation, 18 restrict_violation.
    expect(['23503', '23001']).toContain(refused.code);
    expect(refused.constraint).toBe('pack_files_content_id_fkey');
    await ctx.db.query('DELETE FROM packs WHERE id = $1', [s.pack.id]);
    expect(await row(ctx.db, 'sensors', s.sensor.id)).toBeUndefined();
    expect(await row(ctx.db, 'pack_files', s.file.id)).toBeUndefined();
    expect(await row(ctx.db, 'pack_file_contents', s.content.id)).toMatchObject({ sha256: s.content.sha256 });
    expect((await ctx.db.query('DELETE FROM pack_file_contents WHERE id = $1', [s.content.id])).rowCount).toBe(1);
  });

  it('keeps built-in runtimes and triggers (pack_id NULL) that merely share the pack ref', async () => {
    const s = await seed(ctx.db);
    const builtinRuntime = await insert(ctx.db, 'runtimes', { ref: `${s.packRef}.python`, pack_ref: s.packRef, name: 'python', kind: 'python' });
    const builtinTrigger = await insert(ctx.db, 'triggers', { ref: `${s.packRef}.builtin`, pack_ref: s.packRef, name: 'builtin' });
    await ctx.db.query('DELETE FROM packs WHERE id = $1', [s.pack.id]);
    expect(await row(ctx.db, 'runtimes', builtinRuntime.id)).toMatchObject({ pack_id: null, pack_ref: s.packRef });
    expect(await row(ctx.db, 'triggers', builtinTrigger.id)).toMatchObject({ pack_id: null, pack_ref: s.packRef });
    expect(await row(ctx.db, 'runtimes', s.runtime.id)).toBeUndefined();
  });
});

describe('deleting a runtime', () => {
  it('sets workers.runtime_id and actions.runtime_id to NULL and keeps the rows', async () => {
    const s = await seed(ctx.db);
    await ctx.db.query('DELETE FROM runtimes WHERE id = $1', [s.runtime.id]);
    expect(await row(ctx.db, 'workers', s.worker.id)).toMatchObject({ id: s.worker.id, runtime_id: null });
    expect(await row(ctx.db, 'actions', s.action.id)).toMatchObject({ id: s.action.id, runtime_id: null, ref: s.action.ref });
  });
});

describe('deleting a trigger or an action', () => {
  it('deleting a trigger nulls rules.trigger_id and events.trigger_id but keeps trigger_ref', async () => {
    const s = await seed(ctx.db);
    await ctx.db.query('DELETE FROM triggers WHERE id = $1', [s.trigger.id]);
    expect(await row(ctx.db, 'rules', s.rule.id)).toMatchObject({ trigger_id: null, trigger_ref: s.trigger.ref, action_id: s.action.id });
    expect(await row(ctx.db, 'events', s.event.id)).toMatchObject({ trigger_id: null, trigger_ref: s.trigger.ref });
  });

  it('deleting an action nulls rules.action_id and executions.action_id but keeps action_ref', async () => {
    const s = await seed(ctx.db);
    await ctx.db.query('DELETE FROM actions WHERE id = $1', [s.action.id]);
    expect(await row(ctx.db, 'rules', s.rule.id)).toMatchObject({ action_id: null, action_ref: s.action.ref, trigger_id: s.trigger.id });
    expect(await row(ctx.db, 'executions', s.execution.id)).toMatchObject({ action_id: null, action_ref: s.action.ref });
  });
});

describe('deleting an event or a rule', () => {
  it('deleting an event nulls enforcements.event_id and keeps the enforcement', async () => {
    const s = await seed(ctx.db);
    await ctx.db.query('DELETE FROM events WHERE id = $1', [s.event.id]);
    expect(await row(ctx.db, 'enforcements', s.enforcement.id)).toMatchObject({ event_id: null, rule_id: s.rule.id, trigger_ref: s.trigger.ref });
  });

  it('deleting a rule nulls enforcements.rule_id and keeps rule_ref', async () => {
    const s = await seed(ctx.db);
    await ctx.db.query('DELETE FROM rules WHERE id = $1', [s.rule.id]);
    expect(await row(ctx.db, 'enforcements', s.enforcement.id)).toMatchObject({ rule_id: null, rule_ref: s.rule.ref, event_id: s.event.id });
  });

  it('deleting an enforcement nulls executions.enforcement_id', async () => {
    const s = await seed(ctx.db);
    await ctx.db.query('DELETE FROM enforcements WHERE id = $1', [s.enforcement.id]);
    expect(await row(ctx.db, 'executions', s.execution.id)).toMatchObject({ enforcement_id: null, action_id: s.action.id });
  });

  it('after the event and the rule are gone, several enforcements with NULL ids may coexist', async () => {
    const s = await seed(ctx.db);
    const second = await insert(ctx.db, 'enforcements', { rule_id: s.rule.id, rule_ref: s.rule.ref, event_id: null, trigger_ref: s.trigger.ref });
    await ctx.db.query('DELETE FROM rules WHERE id = $1', [s.rule.id]);
    await ctx.db.query('DELETE FROM events WHERE id = $1', [s.event.id]);
    const rows = await ctx.db.query('SELECT rule_id, event_id FROM enforcements WHERE id = ANY($1) ORDER BY id', [[s.enforcement.id, second.id]]);
    expect(rows.rows).toEqual([
      { rule_id: null, event_id: null },
      { rule_id: null, event_id: null },
    ]);
  });
});

describe('deleting an execution', () => {
  it('removes its inquiries and its child executions, recursively, and nothing else', async () => {
    const s = await seed(ctx.db);
    const child = await insert(ctx.db, 'executions', { action_ref: s.action.ref, parent_id: s.execution.id });
    const grandchild = await insert(ctx.db, 'executions', { action_ref: s.action.ref, parent_id: child.id });
    const childInquiry = await insert(ctx.db, 'inquiries', { execution_id: grandchild.id, prompt: 'Continue?' });
    const sibling = await insert(ctx.db, 'executions', { action_ref: s.action.ref });
    const siblingInquiry = await insert(ctx.db, 'inquiries', { execution_id: sibling.id, prompt: 'Unrelated?' });

    await ctx.db.query('DELETE FROM executions WHERE id = $1', [s.execution.id]);
    for (const [table, id] of [
      ['executions', s.execution.id], ['executions', child.id], ['executions', grandchild.id],
      ['inquiries', s.inquiry.id], ['inquiries', childInquiry.id],
      ['execution_attempts', s.attempt.id], ['execution_output', s.output.id],
    ] as const) {
      expect(await row(ctx.db, table, id), `${table} ${id} survived`).toBeUndefined();
    }
    expect(await row(ctx.db, 'executions', sibling.id)).toBeDefined();
    expect(await row(ctx.db, 'inquiries', siblingInquiry.id)).toBeDefined();
    // The rows it pointed at stay.
    expect(await row(ctx.db, 'actions', s.action.id)).toBeDefined();
    expect(await row(ctx.db, 'identities', s.identity.id)).toBeDefined();
  });

  it('deleting a child execution leaves the parent alone', async () => {
    const s = await seed(ctx.db);
    const child = await insert(ctx.db, 'executions', { action_ref: s.action.ref, parent_id: s.execution.id });
    await ctx.db.query('DELETE FROM executions WHERE id = $1', [child.id]);
    expect(await row(ctx.db, 'executions', s.execution.id)).toBeDefined();
  });
});

describe('deleting an identity or a worker', () => {
  it('deleting an identity nulls executions.requested_by and inquiries.assigned_to / responded_by', async () => {
    const s = await seed(ctx.db);
    await ctx.db.query('DELETE FROM identities WHERE id = $1', [s.identity.id]);
    expect(await row(ctx.db, 'executions', s.execution.id)).toMatchObject({ requested_by: null });
    expect(await row(ctx.db, 'inquiries', s.inquiry.id)).toMatchObject({ assigned_to: null, responded_by: s.other.id });
    await ctx.db.query('DELETE FROM identities WHERE id = $1', [s.other.id]);
    expect(await row(ctx.db, 'inquiries', s.inquiry.id)).toMatchObject({ assigned_to: null, responded_by: null, status: 'responded' });
  });

  it('deleting a worker nulls executions.worker_id and execution_attempts.worker_id, keeping the attempt', async () => {
    const s = await seed(ctx.db);
    await ctx.db.query('DELETE FROM workers WHERE id = $1', [s.worker.id]);
    expect(await row(ctx.db, 'executions', s.execution.id)).toMatchObject({ worker_id: null, status: 'requested' });
    expect(await row(ctx.db, 'execution_attempts', s.attempt.id)).toMatchObject({ worker_id: null, attempt: 1, status: 'failed' });
  });
});
