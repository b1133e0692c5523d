import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TABLES } from '../../src/db/tables.js';
import { withTransaction } from '../../src/db/transaction.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { useTransactionPerTest } from '../support/db.js';

// Defaults, the set_updated_at trigger, generated columns, and the
// notifications NOTIFY trigger. Most tests run in a rolled-back transaction;
// the NOTIFY tests commit (NOTIFY is only sent on commit) and delete their rows.

const ctx = useTransactionPerTest();

type Row = Record<string, unknown> & { id: number };

async function insert(db: pg.ClientBase | pg.Pool, table: string, values: Record<string, unknown>): Promise<Row> {
  const names = Object.keys(values);
  const result = await db.query<Row>(
    `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`,
    Object.values(values),
  );
  return result.rows[0]!;
}

/** One row in every table, linked the way the engine links them. */
async function seed(db: pg.ClientBase): Promise<Record<(typeof TABLES)[number], Row>> {
  const packRef = uniqueName('tg');
  const packs = await insert(db, 'packs', { ref: packRef, version: '1.0.0', name: 'Trigger pack' });
  const runtimes = await insert(db, 'runtimes', { ref: `${packRef}.sh`, pack_id: packs.id, pack_ref: packRef, name: 'sh', kind: 'shell' });
  const workers = await insert(db, 'workers', { name: uniqueName('worker'), runtime_id: runtimes.id });
  const triggers = await insert(db, 'triggers', { ref: `${packRef}.tick`, pack_id: packs.id, pack_ref: packRef, name: 'tick' });
  const actions = await insert(db, 'actions', { pack_id: packs.id, pack_ref: packRef, name: 'run', ref: `${packRef}.run`, runner_type: 'shell' });
  const rules = await insert(db, 'rules', {
    ref: `${packRef}.r`, pack_id: packs.id, pack_ref: packRef, name: 'r', trigger_id: triggers.id, trigger_ref: triggers.ref,
    action_id: actions.id, action_ref: actions.ref,
  });
  const events = await insert(db, 'events', { trigger_id: triggers.id, trigger_ref: triggers.ref });
  // Every inserted event is queued by the events table's trigger.
  const event_queue = (await db.query<{ id: number }>('SELECT id FROM event_queue WHERE event_id = $1', [events.id])).rows[0]!;
  const enforcements = await insert(db, 'enforcements', { rule_id: rules.id, rule_ref: rules.ref, event_id: events.id, trigger_ref: triggers.ref });
  const identities = await insert(db, 'identities', { login: uniqueName('user') });
  const api_tokens = await insert(db, 'api_tokens', { identity_id: identities.id, name: 'ci', token_hash: Buffer.alloc(32, 7) });
  const executions = await insert(db, 'executions', { action_id: actions.id, action_ref: actions.ref, requested_by: identities.id });
  const inquiries = await insert(db, 'inquiries', { execution_id: executions.id, prompt: 'Approve?' });
  const execution_attempts = await insert(db, 'execution_attempts', { execution_id: executions.id, attempt: 1, worker_id: workers.id, status: 'failed' });
  const execution_output = await insert(db, 'execution_output', { execution_id: executions.id, attempt: 1, seq: 0, stream: 'stdout', data: 'hi\n' });
  const keys = await insert(db, 'keys', { owner_type: 'pack', owner: packRef, name: 'token', value: JSON.stringify('v') });
  const notifications = await insert(db, 'notifications', { channel: 'attune_test', entity_type: 'pack', entity_id: packs.id, activity: 'created' });
  const sensors = await insert(db, 'sensors', { pack_id: packs.id, pack_ref: packRef, name: 'watch', ref: `${packRef}.watch`, entry_point: 'watch.py' });
  const schedules = await insert(db, 'schedules', { trigger_ref: 'core.st2.IntervalTimer', trigger_params: JSON.stringify({ unit: 'seconds', delta: 1, pack: packRef }) });
  const content = Buffer.from(packRef);
  const pack_file_contents = await insert(db, 'pack_file_contents', { sha256: createHash('sha256').update(content).digest('hex'), size: content.length, content });
  const pack_files = await insert(db, 'pack_files', {
    pack_id: packs.id, path: 'pack.yaml', size: content.length, content_id: pack_file_contents.id, sha256: pack_file_contents.sha256,
  });
  return {
    packs, runtimes, workers, triggers, actions, rules, events, event_queue, enforcements, identities, api_tokens, executions, inquiries, keys, notifications,
    sensors, schedules, pack_file_contents, pack_files, execution_attempts, execution_output,
  };
}

/** For each mutable table, an ordinary change that does not touch the timestamps. */
const CHANGES: [table: string, set: string][] = [
  ['packs', `description = 'changed'`],
  ['runtimes', `description = 'changed'`],
  ['workers', `host = 'changed.example.com'`],
  ['triggers', `description = 'changed'`],
  ['actions', `description = 'changed'`],
  ['rules', `description = 'changed'`],
  ['enforcements', `status = 'processed'`],
  ['identities', `display_name = 'Changed'`],
  ['api_tokens', 'revoked_at = now()'],
  ['executions', `status = 'scheduled'`],
  ['inquiries', `prompt = 'Changed?'`],
  ['keys', `value = '"changed"'`],
  ['notifications', `state = 'delivered'`],
  ['sensors', `description = 'changed'`],
  ['schedules', 'fired_count = 1'],
  ['pack_files', 'executable = true'],
];

/** Tables without updated_at: rows that never change (an attempt is copied once when replaced; output chunks are appended). */
const APPEND_ONLY = new Set(['events', 'event_queue', 'pack_file_contents', 'execution_attempts', 'execution_output']);

describe('timestamps on insert', () => {
  it.each(TABLES)('%s: created_at (and updated_at) default to the transaction time', async (table) => {
    const rows = await seed(ctx.db);
    const result = await ctx.db.query<{ created: boolean; updated: boolean | null }>(
      `SELECT created_at = now() AS created, ${APPEND_ONLY.has(table) ? 'NULL::boolean' : 'updated_at = now()'} AS updated FROM ${table} WHERE id = $1`,
      [rows[table as keyof typeof rows].id],
    );
    expect(result.rows[0]).toEqual({ created: true, updated: APPEND_ONLY.has(table) ? null : true });
  });
});

describe('set_updated_at', () => {
  it('has a change for every mutable table', () => {
    expect(CHANGES.map(([table]) => table).sort()).toEqual(TABLES.filter((t) => !APPEND_ONLY.has(t)).sort());
  });

  it.each(CHANGES)('%s: an UPDATE moves updated_at past its old value and leaves created_at, even in one transaction', async (table, set) => {
    const rows = await seed(ctx.db);
    const id = rows[table as keyof typeof rows].id;
    // Compare in SQL: timestamps have microseconds, a JS Date only milliseconds.
    const before = (
      await ctx.db.query<{ created: string; updated: string }>(`SELECT created_at::text AS created, updated_at::text AS updated FROM ${table} WHERE id = $1`, [id])
    ).rows[0]!;
    expect(before.created).toBe(before.updated);

    const updated = await ctx.db.query(`UPDATE ${table} SET ${set} WHERE id = $1`, [id]);
    expect(updated.rowCount).toBe(1);
    const check = `SELECT updated_at > $2::timestamptz AS moved, created_at = $3::timestamptz AS kept, updated_at::text AS updated
                     FROM ${table} WHERE id = $1`;
    const first = (await ctx.db.query<{ moved: boolean; kept: boolean; updated: string }>(check, [id, before.updated, before.created])).rows[0]!;
    expect(first).toMatchObject({ moved: true, kept: true });

    // A second update moves it again.
    await ctx.db.query(`UPDATE ${table} SET ${set} WHERE id = $1`, [id]);
    const second = (await ctx.db.query<{ moved: boolean; kept: boolean }>(check, [id, first.updated, before.created])).rows[0]!;
    expect(second).toEqual({ moved: true, kept: true, updated: expect.any(String) });
  });

  it('overrides an updated_at the statement sets itself, and leaves an explicit created_at change alone', async () => {
    const rows = await seed(ctx.db);
    const result = await ctx.db.query<{ updated_recent: boolean; created: Date }>(
      `UPDATE packs SET updated_at = '2000-01-01T00:00:00Z', created_at = '2001-01-01T00:00:00Z' WHERE id = $1
       RETURNING updated_at >= now() AS updated_recent, created_at AS created`,
      [rows.packs.id],
    );
    expect(result.rows[0]).toEqual({ updated_recent: true, created: new Date('2001-01-01T00:00:00Z') });
  });

  it('moves updated_at by at least a millisecond on every update, so millisecond clocks see each one', async () => {
    const { rows } = await ctx.db.query<{ id: number }>(`INSERT INTO workers (name) VALUES ('rapid') RETURNING id`);
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      const updated = await ctx.db.query<{ updated_at: Date }>('UPDATE workers SET port = $2 WHERE id = $1 RETURNING updated_at', [rows[0]!.id, 1000 + i]);
      seen.push(updated.rows[0]!.updated_at.getTime());
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i]! - seen[i - 1]!).toBeGreaterThanOrEqual(1);
  });

  it('an UPDATE that matches no row changes nothing', async () => {
    const rows = await seed(ctx.db);
    const before = await ctx.db.query('SELECT updated_at::text AS u FROM packs WHERE id = $1', [rows.packs.id]);
    await ctx.db.query(`UPDATE packs SET description = 'x' WHERE id = $1`, [rows.packs.id + 1_000_000]);
    expect((await ctx.db.query('SELECT updated_at::text AS u FROM packs WHERE id = $1', [rows.packs.id])).rows).toEqual(before.rows);
  });
});

describe('keys.ref', () => {
  it.each([
    ['system', 'system', 'api_url', 'system.api_url'],
    ['pack', 'aws-ec2', 'region', 'pack.aws-ec2.region'],
    ['identity', 'Ann@example.com', 'token', 'identity.Ann@example.com.token'],
    ['action', 'core.echo', 'greeting', 'action.core.echo.greeting'],
  ])('is derived from owner_type %s, owner %s and name %s as %s', async (ownerType, owner, name, ref) => {
    const key = await insert(ctx.db, 'keys', { owner_type: ownerType, owner, name, value: JSON.stringify(1) });
    expect(key.ref).toBe(ref);
  });

  it('follows a rename, and cannot be written directly (428C9)', async () => {
    const key = await insert(ctx.db, 'keys', { owner_type: 'pack', owner: 'core', name: 'old_name', value: JSON.stringify(1) });
    const renamed = await ctx.db.query<{ ref: string }>(`UPDATE keys SET name = 'new_name' WHERE id = $1 RETURNING ref`, [key.id]);
    expect(renamed.rows[0]!.ref).toBe('pack.core.new_name');
    let code: string | undefined;
    try {
      await withTransaction(ctx.db, (tx) => insert(tx, 'keys', { owner_type: 'pack', owner: 'core', name: 'x', ref: 'pack.core.x', value: '1' }));
    } catch (error) {
      code = (error as pg.DatabaseError).code;
    }
    expect(code).toBe('428C9');
  });
});

describe('packs.search_vector', () => {
  it('is filled from name (A), keywords (B) and description (C), lower-cased', async () => {
    const pack = await insert(ctx.db, 'packs', {
      ref: uniqueName('search'), version: '1.0.0', name: 'GitHub Integration', description: 'Manage Issues', keywords: ['ChatOps', 'ci'],
    });
    const result = await ctx.db.query<{ vector: string; name: boolean; keyword: boolean; description: boolean; other: boolean }>(
      `SELECT search_vector::text AS vector,
              search_vector @@ to_tsquery('simple', 'github & integration') AS name,
              search_vector @@ to_tsquery('simple', 'chatops') AS keyword,
              search_vector @@ to_tsquery('simple', 'issues') AS description,
              search_vector @@ to_tsquery('simple', 'gitlab') AS other
         FROM packs WHERE id = $1`,
      [pack.id],
    );
    const row = result.rows[0]!;
    expect(row).toMatchObject({ name: true, keyword: true, description: true, other: false });
    expect(row.vector).toMatch(/'github':\d+A/);
    expect(row.vector).toMatch(/'chatops':\d+B/);
    expect(row.vector).toMatch(/'issues':\d+C/);
  });

  it('is recomputed on update and copes with a NULL description and no keywords', async () => {
    const pack = await insert(ctx.db, 'packs', { ref: uniqueName('search'), version: '1.0.0', name: 'Before', description: null });
    expect(pack.search_vector).toBe("'before':1A");
    const updated = await ctx.db.query<{ vector: string }>(
      `UPDATE packs SET name = 'After', description = 'Now described' WHERE id = $1 RETURNING search_vector::text AS vector`,
      [pack.id],
    );
    expect(updated.rows[0]!.vector).not.toContain('before');
    expect(updated.rows[0]!.vector).toMatch(/'after':\d+A/);
    expect(updated.rows[0]!.vector).toMatch(/'described':\d+C/);
  });
});

describe('workers, executions and other defaults', () => {
  it('fill the documented defaults when a column is left out', async () => {
    const rows = await seed(ctx.db);
    expect(rows.workers).toMatchObject({ status: 'inactive', worker_type: 'local', capabilities: {}, meta: {}, last_heartbeat: null });
    expect(rows.triggers).toMatchObject({ enabled: true, webhook_enabled: false, webhook_key: null, param_schema: {} });
    expect(rows.actions).toMatchObject({ enabled: true, tags: [], entry_point: '' });
    expect(rows.packs).toMatchObject({ is_active: true, is_system: false, keywords: [], python_requirements: [], dependencies: {} });
    expect(rows.enforcements).toMatchObject({ status: 'created', payload: {}, criteria: {}, resolved_params: {} });
    expect(rows.executions).toMatchObject({ status: 'requested', attempt: 1, max_attempts: 1, result: null, params: {} });
    expect(rows.inquiries).toMatchObject({ status: 'pending', response: null, responded_at: null });
    expect(rows.keys).toMatchObject({ encrypted: false, encryption_key_id: null, expires_at: null });
    expect(rows.notifications).toMatchObject({ state: 'created', content: {} });
    expect(rows.identities).toMatchObject({ is_active: true, password_hash: null, attributes: {} });
    expect(rows.events).toMatchObject({ payload: {}, source: null });
    expect(typeof rows.packs.id).toBe('number');
  });

  it('hands out increasing ids', async () => {
    const a = await insert(ctx.db, 'workers', { name: uniqueName('w') });
    const b = await insert(ctx.db, 'workers', { name: uniqueName('w') });
    expect(b.id).toBeGreaterThan(a.id);
  });
});

describe('notifications NOTIFY trigger', () => {
  let listener: pg.Client;
  let received: pg.Notification[];
  let waiters: (() => void)[];
  const created: number[] = [];

  beforeEach(async () => {
    received = [];
    waiters = [];
    listener = new pg.Client({ connectionString: process.env.ATTUNE__DATABASE__URL });
    await listener.connect();
    listener.on('notification', (message) => {
      received.push(message);
      for (const wake of waiters.splice(0)) wake();
    });
  });

  afterEach(async () => {
    await listener.end();
    if (created.length > 0) await ctx.pool.query('DELETE FROM notifications WHERE id = ANY($1)', [created.splice(0)]);
  });

  /** Waits (at most `ms`) until `count` messages have arrived on the listener. */
  async function waitFor(count: number, ms = 5000): Promise<pg.Notification[]> {
    const deadline = Date.now() + ms;
    while (received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} notification(s) within ${ms} ms, got ${received.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return received;
  }

  /** A round trip on the listener, so anything already sent to it has arrived. */
  async function drain(): Promise<void> {
    await listener.query('SELECT 1');
  }

  function channelName(): string {
    return uniqueName('attune_test');
  }

  async function listen(channel: string): Promise<void> {
    await listener.query(`LISTEN "${channel}"`);
  }

  async function commitNotification(values: Record<string, unknown>): Promise<Row> {
    const row = await insert(ctx.pool, 'notifications', values);
    created.push(row.id);
    return row;
  }

  it('delivers {id, entity_type, entity_id, activity} on the row’s channel after commit', async () => {
    const channel = channelName();
    await listen(channel);
    const row = await commitNotification({
      channel, entity_type: 'execution', entity_id: 42, activity: 'status_changed', content: JSON.stringify({ big: 'x'.repeat(1000) }),
    });
    const [message] = await waitFor(1);
    expect(message!.channel).toBe(channel);
    expect(JSON.parse(message!.payload!)).toEqual({ id: row.id, entity_type: 'execution', entity_id: 42, activity: 'status_changed' });
    expect(message!.payload!.length).toBeLessThan(200); // the content stays in the row
  });

  it('sends nothing before commit and nothing for a rolled-back insert', async () => {
    const channel = channelName();
    await listen(channel);
    // Uncommitted (the test transaction, rolled back after the test) …
    await insert(ctx.db, 'notifications', { channel, entity_type: 'pack', entity_id: 1, activity: 'created' });
    // … and explicitly rolled back.
    const client = await ctx.pool.connect();
    try {
      await client.query('BEGIN');
      await insert(client, 'notifications', { channel, entity_type: 'pack', entity_id: 2, activity: 'created' });
      await drain();
      expect(received).toEqual([]);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    const committed = await commitNotification({ channel, entity_type: 'pack', entity_id: 3, activity: 'created' });
    await waitFor(1);
    await drain();
    // Notifications arrive in commit order: anything from the other two would have come first.
    expect(received.map((m) => JSON.parse(m.payload!).id)).toEqual([committed.id]);
  });

  it('sends one message per row of a multi-row transaction, in insert order, when it commits', async () => {
    const channel = channelName();
    await listen(channel);
    const client = await ctx.pool.connect();
    const ids: number[] = [];
    try {
      await client.query('BEGIN');
      for (const entityId of [10, 11, 12]) {
        const row = await insert(client, 'notifications', { channel, entity_type: 'event', entity_id: entityId, activity: 'created' });
        ids.push(row.id);
        created.push(row.id);
      }
      await drain();
      expect(received).toEqual([]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const messages = await waitFor(3);
    expect(messages.map((m) => JSON.parse(m.payload!))).toEqual(
      ids.map((id, i) => ({ id, entity_type: 'event', entity_id: 10 + i, activity: 'created' })),
    );
  });

  it('does not reach listeners of another channel', async () => {
    const mine = channelName();
    const other = channelName();
    await listen(mine);
    await commitNotification({ channel: other, entity_type: 'rule', entity_id: 1, activity: 'deleted' });
    const row = await commitNotification({ channel: mine, entity_type: 'rule', entity_id: 2, activity: 'deleted' });
    await waitFor(1);
    await drain();
    expect(received.map((m) => [m.channel, JSON.parse(m.payload!).id])).toEqual([[mine, row.id]]);
  });

  it('does not notify on UPDATE (the trigger is AFTER INSERT only)', async () => {
    const channel = channelName();
    await listen(channel);
    const row = await commitNotification({ channel, entity_type: 'key', entity_id: 5, activity: 'updated' });
    await waitFor(1);
    await ctx.pool.query(`UPDATE notifications SET state = 'delivered' WHERE id = $1`, [row.id]);
    const marker = await commitNotification({ channel, entity_type: 'key', entity_id: 6, activity: 'updated' });
    await waitFor(2);
    await drain();
    expect(received.map((m) => JSON.parse(m.payload!).id)).toEqual([row.id, marker.id]);
  });
});
