import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCHEMA_MANIFEST } from '../../src/db/schema-manifest.js';
import { TABLES } from '../../src/db/tables.js';
import { formatManifest, readSchema, verifySchema } from '../../src/db/verify.js';
import { useTransactionPerTest } from '../support/db.js';

// Every test runs in a transaction on the worker's freshly migrated database
// and is rolled back: DDL is transactional in PostgreSQL, so a test can drop
// an index or a table and the next test finds it back.
const ctx = useTransactionPerTest();

describe('verifySchema on a freshly migrated database', () => {
  it('finds nothing missing, nothing different and nothing extra', async () => {
    const result = await verifySchema(ctx.db);
    expect(result.problems.map((p) => p.message)).toEqual([]);
    expect(result.extras.map((p) => p.message)).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.checked.tables).toBe(TABLES.length);
    expect(result.checked.foreignKeys).toBeGreaterThan(15);
    expect(result.checked.indexes).toBeGreaterThan(30);
  });

  it('reads the same schema the manifest holds', async () => {
    const live = await readSchema(ctx.db, 'attune');
    const tables = TABLES.map((name) => live.tables.find((table) => table.name === name));
    expect(tables).toEqual(SCHEMA_MANIFEST.tables);
  });
});

describe('verifySchema reports exactly what is wrong', () => {
  it('a dropped index', async () => {
    await ctx.db.query('DROP INDEX actions_ref_idx');
    const result = await verifySchema(ctx.db);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      {
        kind: 'missing',
        object: 'index',
        name: 'actions_ref_idx',
        table: 'actions',
        expected: 'btree (ref)',
        message: 'missing index actions_ref_idx on actions (btree (ref))',
      },
    ]);
    expect(result.extras).toEqual([]);
  });

  it('a dropped foreign key', async () => {
    await ctx.db.query('ALTER TABLE actions DROP CONSTRAINT actions_runtime_id_fkey');
    const result = await verifySchema(ctx.db);
    expect(result.problems).toEqual([
      {
        kind: 'missing',
        object: 'foreign key',
        name: 'actions_runtime_id_fkey',
        table: 'actions',
        expected: 'runtime_id → runtimes.id ON DELETE SET NULL',
        message: 'missing foreign key actions_runtime_id_fkey on actions (runtime_id → runtimes.id ON DELETE SET NULL)',
      },
    ]);
  });

  it('a foreign key with another delete rule', async () => {
    await ctx.db.query(`ALTER TABLE inquiries DROP CONSTRAINT inquiries_execution_id_fkey,
      ADD CONSTRAINT inquiries_execution_id_fkey FOREIGN KEY (execution_id) REFERENCES executions (id) ON DELETE RESTRICT`);
    const result = await verifySchema(ctx.db);
    expect(result.problems.map((p) => p.message)).toEqual([
      'different foreign key inquiries_execution_id_fkey on inquiries: expected execution_id → executions.id ON DELETE CASCADE, found execution_id → executions.id ON DELETE RESTRICT',
    ]);
  });

  it('a dropped table, and nothing else about it', async () => {
    await ctx.db.query('DROP TABLE notifications');
    const result = await verifySchema(ctx.db);
    expect(result.problems).toEqual([{ kind: 'missing', object: 'table', name: 'notifications', message: 'missing table notifications' }]);
  });

  it('a dropped table that others reference also loses their foreign keys', async () => {
    await ctx.db.query('DROP TABLE inquiries');
    await ctx.db.query('ALTER TABLE executions DROP CONSTRAINT executions_requested_by_fkey');
    const result = await verifySchema(ctx.db);
    expect(result.problems.map((p) => p.message)).toEqual([
      'missing foreign key executions_requested_by_fkey on executions (requested_by → identities.id ON DELETE SET NULL)',
      'missing table inquiries',
    ]);
  });

  it('a dropped column, a changed column and a dropped unique constraint', async () => {
    await ctx.db.query('ALTER TABLE workers DROP COLUMN last_heartbeat');
    await ctx.db.query('ALTER TABLE keys ALTER COLUMN description SET NOT NULL');
    await ctx.db.query('ALTER TABLE triggers DROP CONSTRAINT triggers_webhook_key_key');
    const result = await verifySchema(ctx.db);
    const messages = result.problems.map((p) => p.message);
    expect(messages).toContain('missing column workers.last_heartbeat (timestamp with time zone)');
    expect(messages).toContain('different column keys.description: expected text, found text not null');
    expect(messages).toContain('missing unique constraint triggers_webhook_key_key on triggers (webhook_key)');
    // The dropped column took its index with it; that is reported too, nothing else.
    expect(messages.filter((m) => !m.includes('last_heartbeat') && !m.includes('keys.description') && !m.includes('webhook_key'))).toEqual([]);
  });

  it('a changed index definition and a dropped trigger', async () => {
    await ctx.db.query('DROP INDEX actions_runner_type_idx');
    await ctx.db.query('CREATE INDEX actions_runner_type_idx ON actions (runner_type, name)');
    await ctx.db.query('DROP TRIGGER packs_set_updated_at ON packs');
    const result = await verifySchema(ctx.db);
    expect(result.problems.map((p) => p.message)).toEqual([
      'missing trigger packs_set_updated_at on packs',
      'different index actions_runner_type_idx on actions: expected btree (runner_type, ref, id), found btree (runner_type, name)',
    ]);
  });

  it('a missing schema, as the only problem', async () => {
    await ctx.db.query('DROP SCHEMA attune CASCADE');
    const result = await verifySchema(ctx.db);
    expect(result.problems.map((p) => p.message)).toEqual(['missing schema attune']);
  });

  it('extra objects as extras, which do not fail verification', async () => {
    await ctx.db.query('CREATE INDEX actions_label_idx ON actions (label)');
    await ctx.db.query('CREATE TABLE scratch (id int)');
    await ctx.db.query('ALTER TABLE packs ADD COLUMN homepage text');
    const result = await verifySchema(ctx.db);
    expect(result.ok).toBe(true);
    expect(result.extras.map((p) => p.message).sort()).toEqual([
      'extra column packs.homepage (text), not in the manifest',
      'extra index actions_label_idx on actions (btree (label)), not in the manifest',
      'extra table scratch, not in the manifest',
    ]);
  });
});

describe('SCHEMA_MANIFEST', () => {
  it('lists the tables in TABLES order', () => {
    expect(SCHEMA_MANIFEST.tables.map((table) => table.name)).toEqual([...TABLES]);
  });

  it('is written the way formatManifest prints it, so --print-manifest refreshes it', () => {
    const source = readFileSync(new URL('../../src/db/schema-manifest.ts', import.meta.url), 'utf8');
    expect(source).toContain(formatManifest(SCHEMA_MANIFEST, TABLES));
  });
});
