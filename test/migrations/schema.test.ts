import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../src/db/migrator.js';
import { TABLES } from '../../src/db/tables.js';
import { createTestPool } from '../../src/testing/database.js';
import { DATA_MODEL_FOREIGN_KEYS } from '../support/data-model.js';

// Read-only catalog queries against the worker database (a clone of the
// migrated template): the shape data-model.md fixes. Columns a feature adds
// beyond the documented minimum are allowed; missing or mistyped ones are not.

type Family = 'bigint' | 'integer' | 'text' | 'text[]' | 'jsonb' | 'boolean' | 'timestamptz' | 'tsvector';

interface ColumnInfo {
  table: string;
  column: string;
  type: string;
  notNull: boolean;
  identity: string;
  generated: string;
  defaultExpr: string | null;
}

interface IndexInfo {
  table: string;
  name: string;
  unique: boolean;
  primary: boolean;
  definition: string;
  predicate: string | null;
  /** Column names in index order; null entries for expressions. */
  columns: (string | null)[];
}

const TYPE_OF: Record<string, Family> = {
  bigint: 'bigint',
  integer: 'integer',
  text: 'text',
  'text[]': 'text[]',
  jsonb: 'jsonb',
  boolean: 'boolean',
  'timestamp with time zone': 'timestamptz',
  tsvector: 'tsvector',
};

/** data-model.md, column by column (`!` = NOT NULL required, `?` = must stay nullable). */
const DOCUMENTED: Record<(typeof TABLES)[number], Record<string, string>> = {
  packs: {
    ref: 'text!', version: 'text!', name: 'text!', description: 'text', author: 'text', email: 'text',
    keywords: 'text[]!', dependencies: 'jsonb', python_requirements: 'text[]!', node_dependencies: 'jsonb',
    conf_schema: 'jsonb', config: 'jsonb', meta: 'jsonb', is_active: 'boolean', is_system: 'boolean',
  },
  runtimes: {
    ref: 'text!', pack_id: 'bigint?', pack_ref: 'text', name: 'text', description: 'text', kind: 'text',
    execution_config: 'jsonb', distributions: 'jsonb', installation: 'jsonb',
  },
  workers: {
    name: 'text!', worker_type: 'text', runtime_id: 'bigint?', host: 'text', port: 'integer', status: 'text!',
    capabilities: 'jsonb', meta: 'jsonb', last_heartbeat: 'timestamptz',
  },
  triggers: {
    ref: 'text!', pack_id: 'bigint', pack_ref: 'text', name: 'text', description: 'text', enabled: 'boolean!',
    param_schema: 'jsonb', payload_schema: 'jsonb', webhook_enabled: 'boolean', webhook_key: 'text?',
  },
  actions: {
    pack_id: 'bigint!', pack_ref: 'text', name: 'text!', ref: 'text!', label: 'text', description: 'text',
    runner_type: 'text', entry_point: 'text', runtime_id: 'bigint?', enabled: 'boolean!', param_schema: 'jsonb',
    output_schema: 'jsonb', timeout_seconds: 'integer', tags: 'text[]!',
  },
  rules: {
    ref: 'text!', pack_id: 'bigint', pack_ref: 'text', name: 'text', description: 'text', trigger_id: 'bigint?',
    trigger_ref: 'text!', action_id: 'bigint?', action_ref: 'text!', criteria: 'jsonb', action_params: 'jsonb',
    trigger_params: 'jsonb', enabled: 'boolean',
  },
  events: { trigger_id: 'bigint?', trigger_ref: 'text!', payload: 'jsonb', source: 'text', trace_id: 'text' },
  event_queue: { event_id: 'bigint!' },
  enforcements: {
    rule_id: 'bigint?', rule_ref: 'text!', event_id: 'bigint?', trigger_ref: 'text', status: 'text!',
    payload: 'jsonb', criteria: 'jsonb', resolved_params: 'jsonb',
  },
  executions: {
    action_id: 'bigint?', action_ref: 'text!', params: 'jsonb', parent_id: 'bigint?', enforcement_id: 'bigint?',
    requested_by: 'bigint?', worker_id: 'bigint?', status: 'text!', result: 'jsonb', error: 'text', attempt: 'integer',
    max_attempts: 'integer', timeout_seconds: 'integer', lease_expires_at: 'timestamptz', started_at: 'timestamptz',
    finished_at: 'timestamptz', trace_id: 'text',
  },
  inquiries: {
    execution_id: 'bigint', prompt: 'text', response_schema: 'jsonb', assigned_to: 'bigint?', status: 'text!',
    response: 'jsonb', responded_by: 'bigint?', timeout_at: 'timestamptz', responded_at: 'timestamptz',
  },
  identities: {
    login: 'text!', display_name: 'text', email: 'text', password_hash: 'text?', attributes: 'jsonb', is_active: 'boolean',
    role: 'text!',
  },
  // The API's tokens (migration 0027): only the SHA-256 of each token is kept.
  api_tokens: {
    identity_id: 'bigint!', name: 'text!', kind: 'text!', token_hash: 'bytea!', expires_at: 'timestamptz?', revoked_at: 'timestamptz?',
    last_used_at: 'timestamptz?',
  },
  keys: {
    owner_type: 'text!', owner: 'text!', name: 'text!', ref: 'text', value: 'jsonb', encrypted: 'boolean!',
    encryption_key_id: 'text?', expires_at: 'timestamptz?',
  },
  notifications: {
    channel: 'text!', entity_type: 'text!', entity_id: 'bigint', activity: 'text!', state: 'text!', content: 'jsonb',
  },
  // The data model's "later tables" (docs/database.md): pack_files and sensors.
  sensors: {
    pack_id: 'bigint!', pack_ref: 'text!', name: 'text!', ref: 'text!', entry_point: 'text!', runner_type: 'text!',
    class_name: 'text?', trigger_types: 'text[]!', param_schema: 'jsonb', parameters: 'jsonb', poll_interval: 'integer?',
    enabled: 'boolean!', description: 'text',
  },
  // The timers role's state (docs/database.md, schedules).
  schedules: {
    trigger_ref: 'text!', trigger_params: 'jsonb!', params_hash: 'text', next_at: 'timestamptz?', last_at: 'timestamptz?',
    fired_count: 'bigint!', missed_count: 'bigint!', error: 'text?',
  },
  pack_file_contents: { sha256: 'text!', size: 'bigint!', content: 'bytea!' },
  pack_files: { pack_id: 'bigint!', path: 'text!', size: 'bigint!', content_id: 'bigint!', sha256: 'text!', executable: 'boolean!' },
  // The worker's tables (docs/database.md, migrations 0023 and 0024): replaced attempts and output chunks.
  execution_attempts: {
    execution_id: 'bigint!', attempt: 'integer!', worker_id: 'bigint?', host: 'text?', pgid: 'integer?', status: 'text!',
    started_at: 'timestamptz?', finished_at: 'timestamptz!', error: 'text?', result_summary: 'jsonb?',
  },
  execution_output: { execution_id: 'bigint!', attempt: 'integer!', seq: 'integer!', stream: 'text!', data: 'text!' },
};

/** Tables whose rows never change: no updated_at. */
const APPEND_ONLY = new Set<string>(['events', 'event_queue', 'pack_file_contents', 'execution_attempts', 'execution_output']);

let pool: pg.Pool;
let columns: ColumnInfo[];
let indexes: IndexInfo[];

beforeAll(async () => {
  pool = createTestPool({ maxConnections: 1 });
  const columnRows = await pool.query<ColumnInfo>(
    `SELECT c.relname AS "table", a.attname AS "column", format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS "notNull", a.attidentity AS identity, a.attgenerated AS generated,
            pg_get_expr(d.adbin, d.adrelid) AS "defaultExpr"
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = 'attune' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped`,
  );
  columns = columnRows.rows;
  const indexRows = await pool.query<Omit<IndexInfo, 'columns'> & { columns: (string | null)[] }>(
    `SELECT t.relname AS "table", i.relname AS name, ix.indisunique AS unique, ix.indisprimary AS primary,
            pg_get_indexdef(ix.indexrelid) AS definition, pg_get_expr(ix.indpred, ix.indrelid) AS predicate,
            ARRAY(SELECT a.attname::text FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                    LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum
                   ORDER BY k.ord) AS columns
       FROM pg_index ix
       JOIN pg_class i ON i.oid = ix.indexrelid
       JOIN pg_class t ON t.oid = ix.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'attune'`,
  );
  indexes = indexRows.rows;
});

afterAll(async () => {
  await pool.end();
});

function column(table: string, name: string): ColumnInfo | undefined {
  return columns.find((c) => c.table === table && c.column === name);
}

function index(name: string): IndexInfo {
  const found = indexes.find((i) => i.name === name);
  if (!found) throw new Error(`index ${name} does not exist`);
  return found;
}

/** The part of an index definition after USING: `btree (ref, version)`. */
function method(definition: string): string {
  return definition.replace(/^.* USING /, '');
}

describe('tables', () => {
  it('has exactly the documented tables (the thirteen, the pack tables, and the migration history) in schema attune', async () => {
    const result = await pool.query<{ relname: string }>(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'attune' AND c.relkind IN ('r', 'p') ORDER BY 1`,
    );
    expect(result.rows.map((r) => r.relname)).toEqual([...TABLES, 'schema_migrations'].sort());
    expect(TABLES).toHaveLength(21);
  });

  it('puts no Attune table in public', async () => {
    const result = await pool.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY($1)`, [[...TABLES]]);
    expect(result.rows).toEqual([]);
  });

  it.each(TABLES)('%s: id is BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY', (table) => {
    const id = column(table, 'id');
    expect(id).toMatchObject({ type: 'bigint', notNull: true, identity: 'a' });
    const primary = indexes.filter((i) => i.table === table && i.primary);
    expect(primary.map((i) => i.columns)).toEqual([['id']]);
  });
});

describe('columns', () => {
  const cases = Object.entries(DOCUMENTED).flatMap(([table, spec]) =>
    Object.entries(spec).map(([name, declared]) => ({ table, name, declared })),
  );

  it.each(cases)('$table.$name is $declared', ({ table, name, declared }) => {
    const info = column(table, name);
    expect(info, `${table}.${name} is missing`).toBeDefined();
    const family = declared.replace(/[!?]$/, '');
    expect(TYPE_OF[info!.type] ?? info!.type).toBe(family);
    if (declared.endsWith('!')) expect(info!.notNull).toBe(true);
    if (declared.endsWith('?')) expect(info!.notNull).toBe(false);
  });

  it.each(TABLES)('%s: created_at TIMESTAMPTZ NOT NULL DEFAULT now(); updated_at likewise unless append-only', (table) => {
    expect(column(table, 'created_at')).toMatchObject({ type: 'timestamp with time zone', notNull: true, defaultExpr: 'now()' });
    if (APPEND_ONLY.has(table)) {
      expect(column(table, 'updated_at')).toBeUndefined();
    } else {
      expect(column(table, 'updated_at')).toMatchObject({ type: 'timestamp with time zone', notNull: true, defaultExpr: 'now()' });
    }
  });

  it('uses JSONB, never json, and TIMESTAMPTZ, never timestamp without time zone', () => {
    const offenders = columns.filter((c) => c.type === 'json' || c.type.startsWith('timestamp without'));
    expect(offenders.map((c) => `${c.table}.${c.column} ${c.type}`)).toEqual([]);
  });

  it("declares every string list TEXT[] NOT NULL DEFAULT '{}'", () => {
    const lists = columns.filter((c) => c.type === 'text[]');
    expect(lists.map((c) => `${c.table}.${c.column}`).sort()).toEqual(
      expect.arrayContaining(['actions.tags', 'packs.keywords', 'packs.python_requirements']),
    );
    for (const list of lists) {
      expect(list, `${list.table}.${list.column}`).toMatchObject({ notNull: true, defaultExpr: "'{}'::text[]" });
    }
  });

  it('keeps every reference id next to a NOT NULL text copy of the target ref', () => {
    const pairs: [string, string, string][] = [
      ['rules', 'trigger_id', 'trigger_ref'],
      ['rules', 'action_id', 'action_ref'],
      ['events', 'trigger_id', 'trigger_ref'],
      ['enforcements', 'rule_id', 'rule_ref'],
      ['executions', 'action_id', 'action_ref'],
      ['actions', 'pack_id', 'pack_ref'],
      ['runtimes', 'pack_id', 'pack_ref'],
      ['triggers', 'pack_id', 'pack_ref'],
      ['rules', 'pack_id', 'pack_ref'],
      ['sensors', 'pack_id', 'pack_ref'],
      ['pack_files', 'content_id', 'sha256'],
    ];
    for (const [table, id, ref] of pairs) {
      expect(column(table, id)?.type, `${table}.${id}`).toBe('bigint');
      expect(column(table, ref), `${table}.${ref}`).toMatchObject({ type: 'text', notNull: true });
    }
  });

  it('derives keys.ref and packs.search_vector as stored generated columns', () => {
    expect(column('keys', 'ref')).toMatchObject({ type: 'text', generated: 's' });
    expect(column('packs', 'search_vector')).toMatchObject({ type: 'tsvector', generated: 's' });
  });

  it.each([
    ['workers', 'status', "'inactive'::text"],
    ['triggers', 'enabled', 'true'],
    ['actions', 'enabled', 'true'],
    ['rules', 'enabled', 'true'],
    ['enforcements', 'status', "'created'::text"],
    ['executions', 'status', "'requested'::text"],
    ['inquiries', 'status', "'pending'::text"],
    ['notifications', 'state', "'created'::text"],
    ['keys', 'encrypted', 'false'],
    ['identities', 'is_active', 'true'],
  ])('%s.%s defaults to %s', (table, name, expected) => {
    expect(column(table, name)?.defaultExpr).toBe(expected);
  });
});

describe('unique constraints', () => {
  it.each([
    ['packs', 'packs_ref_version_key', 'btree (ref, version)', null],
    ['packs', 'packs_one_active_per_ref', 'btree (ref)', 'is_active'],
    ['actions', 'actions_pack_id_name_key', 'btree (pack_id, name)', null],
    ['rules', 'rules_pack_id_name_key', 'btree (pack_id, name)', null],
    ['runtimes', 'runtimes_pack_id_name_key', 'btree (pack_id, name)', null],
    ['runtimes', 'runtimes_builtin_ref_key', 'btree (ref)', '(pack_id IS NULL)'],
    ['triggers', 'triggers_pack_id_name_key', 'btree (pack_id, name)', null],
    ['triggers', 'triggers_builtin_ref_key', 'btree (ref)', '(pack_id IS NULL)'],
    ['sensors', 'sensors_pack_id_name_key', 'btree (pack_id, name)', null],
    ['pack_files', 'pack_files_pack_id_path_key', 'btree (pack_id, path)', null],
    ['pack_file_contents', 'pack_file_contents_sha256_key', 'btree (sha256)', null],
    ['triggers', 'triggers_webhook_key_key', 'btree (webhook_key)', null],
    ['workers', 'workers_name_key', 'btree (name)', null],
    ['identities', 'identities_login_lower_key', 'btree (lower(login))', null],
    ['keys', 'keys_owner_type_name_key', 'btree (owner_type, owner, name)', null],
    ['keys', 'keys_ref_key', 'btree (ref)', null],
    ['enforcements', 'enforcements_rule_event_key', 'btree (rule_id, event_id)', '((rule_id IS NOT NULL) AND (event_id IS NOT NULL))'],
  ])('%s has unique %s on %s (partial: %s)', (table, name, using, predicate) => {
    const found = index(name);
    expect(found).toMatchObject({ table, unique: true, predicate });
    expect(method(found.definition).replace(/ WHERE .*$/, '')).toBe(using);
  });

  it('has no unique index on identities.login itself: uniqueness is case-insensitive only', () => {
    const plain = indexes.filter((i) => i.table === 'identities' && i.unique && i.columns.length === 1 && i.columns[0] === 'login');
    expect(plain).toEqual([]);
  });
});

describe('indexes', () => {
  it.each([
    ['packs', 'packs_search_idx', 'gin (search_vector)', null],
    ['workers', 'workers_status_heartbeat_idx', 'btree (status, last_heartbeat)', null],
    ['actions', 'actions_ref_idx', 'btree (ref)', null],
    ['actions', 'actions_runner_type_idx', 'btree (runner_type, ref, id)', null],
    ['actions', 'actions_enabled_idx', 'btree (id)', 'enabled'],
    ['rules', 'rules_trigger_ref_enabled_idx', 'btree (trigger_ref)', 'enabled'],
    ['rules', 'rules_action_id_idx', 'btree (action_id)', null],
    ['rules', 'rules_ref_idx', 'btree (ref)', null],
    ['triggers', 'triggers_ref_idx', 'btree (ref)', null],
    ['runtimes', 'runtimes_ref_idx', 'btree (ref)', null],
    ['sensors', 'sensors_ref_idx', 'btree (ref)', null],
    ['sensors', 'sensors_trigger_types_idx', 'gin (trigger_types)', null],
    ['pack_files', 'pack_files_content_id_idx', 'btree (content_id)', null],
    ['events', 'events_trigger_ref_created_at_idx', 'btree (trigger_ref, created_at DESC, id DESC)', null],
    ['events', 'events_created_at_idx', 'btree (created_at DESC, id DESC)', null],
    ['enforcements', 'enforcements_status_created_at_idx', 'btree (status, created_at, id)', null],
    ['executions', 'executions_status_created_at_idx', 'btree (status, created_at, id)', null],
    ['executions', 'executions_action_ref_created_at_idx', 'btree (action_ref, created_at DESC, id DESC)', null],
    ['executions', 'executions_parent_id_idx', 'btree (parent_id)', null],
    ['executions', 'executions_enforcement_id_idx', 'btree (enforcement_id)', null],
    // 0022 replaced executions_runnable_idx (created_at order) with the claim's (run_after, id), runner type included.
    ['executions', 'executions_claim_idx', 'btree (run_after, id) INCLUDE (runner_type)', "(status = 'requested'::text)"],
    ['executions', 'executions_deadline_idx', 'btree (deadline_at)', "(status = ANY (ARRAY['running'::text, 'canceling'::text]))"],
    ['execution_attempts', 'execution_attempts_worker_id_idx', 'btree (worker_id)', null],
    ['execution_output', 'execution_output_created_at_idx', 'btree (created_at)', null],
    ['inquiries', 'inquiries_status_timeout_at_idx', 'btree (status, timeout_at)', null],
    ['notifications', 'notifications_state_created_at_idx', 'btree (state, created_at)', null],
    ['notifications', 'notifications_channel_created_at_idx', 'btree (channel, created_at)', null],
  ])('%s has %s on %s (partial: %s)', (table, name, using, predicate) => {
    const found = index(name);
    expect(found).toMatchObject({ table, predicate });
    expect(method(found.definition).replace(/ WHERE .*$/, '')).toBe(using);
  });

  it('has every index the migration files create, on the table they name, unique where declared so', () => {
    const declared = loadMigrations().flatMap((m) =>
      [...m.sql.matchAll(/CREATE\s+(UNIQUE\s+)?INDEX\s+(\w+)\s+ON\s+(\w+)/gi)].map((match) => ({
        file: m.file, unique: match[1] !== undefined, name: match[2]!, table: match[3]!,
      })),
    );
    expect(declared.length).toBeGreaterThanOrEqual(30);
    // An index a later migration drops (0016 drops pack_id indexes that its unique (pack_id, name) keys replace;
    // 0022 replaces the runnable index with the claim's).
    const dropped = new Set(loadMigrations().flatMap((m) => [...m.sql.matchAll(/DROP\s+INDEX\s+(\w+)/gi)].map((match) => match[1]!)));
    expect(dropped).toEqual(new Set(['runtimes_pack_id_idx', 'triggers_pack_id_idx', 'rules_pack_id_idx', 'executions_runnable_idx']));
    const missing = declared.filter((d) => !dropped.has(d.name) && !indexes.some((i) => i.name === d.name && i.table === d.table && i.unique === d.unique));
    expect(missing).toEqual([]);
  });

  it('serves lookups by packs.ref (leading column of a full, non-partial index)', () => {
    const served = indexes.filter((i) => i.table === 'packs' && i.columns[0] === 'ref' && i.predicate === null);
    expect(served.length).toBeGreaterThan(0);
  });

  it('serves actions by pack_id (leading column of a full index)', () => {
    const served = indexes.filter((i) => i.table === 'actions' && i.columns[0] === 'pack_id' && i.predicate === null);
    expect(served.length).toBeGreaterThan(0);
  });

  it('indexes every foreign key column with a full index that leads with it', async () => {
    const fks = await pool.query<{ table: string; column: string; name: string }>(
      `SELECT c.conrelid::regclass::text AS "table", a.attname AS "column", c.conname AS name
         FROM pg_constraint c
         JOIN pg_namespace n ON n.oid = c.connamespace
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE n.nspname = 'attune' AND c.contype = 'f'`,
    );
    // The query sees every foreign key (the data model's, checked in foreign-keys.test.ts), so none escapes the check below.
    expect(fks.rows.length).toBe(DATA_MODEL_FOREIGN_KEYS.length);
    const unindexed = fks.rows.filter(
      (fk) => !indexes.some((i) => i.table === fk.table.replace(/^attune\./, '') && i.columns[0] === fk.column && i.predicate === null),
    );
    expect(unindexed.map((fk) => `${fk.table}.${fk.column} (${fk.name})`)).toEqual([]);
  });

  it('has only valid, ready indexes', async () => {
    const result = await pool.query(
      `SELECT i.relname FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
         JOIN pg_namespace n ON n.oid = i.relnamespace
        WHERE n.nspname = 'attune' AND NOT (ix.indisvalid AND ix.indisready)`,
    );
    expect(result.rows).toEqual([]);
  });
});

describe('triggers and functions', () => {
  it('attaches set_updated_at BEFORE UPDATE FOR EACH ROW to every mutable table and not to events', async () => {
    const result = await pool.query<{ table: string; timing: string; event: string; orientation: string }>(
      `SELECT event_object_table AS "table", action_timing AS timing, event_manipulation AS event, action_orientation AS orientation
         FROM information_schema.triggers
        WHERE trigger_schema = 'attune' AND action_statement = 'EXECUTE FUNCTION set_updated_at()'`,
    );
    const tables = result.rows.map((r) => r.table).sort();
    expect(tables).toEqual(TABLES.filter((t) => !APPEND_ONLY.has(t)).sort());
    for (const row of result.rows) expect(row).toMatchObject({ timing: 'BEFORE', event: 'UPDATE', orientation: 'ROW' });
  });

  it('attaches the notify trigger AFTER INSERT FOR EACH ROW on notifications', async () => {
    const result = await pool.query(
      `SELECT action_timing, event_manipulation, action_orientation, action_statement
         FROM information_schema.triggers WHERE trigger_schema = 'attune' AND event_object_table = 'notifications'
          AND trigger_name = 'notifications_notify'`,
    );
    expect(result.rows).toEqual([
      { action_timing: 'AFTER', event_manipulation: 'INSERT', action_orientation: 'ROW', action_statement: 'EXECUTE FUNCTION notify_notification()' },
    ]);
  });

  it('has the pg_trgm extension for the trigram index on action names', async () => {
    // In a schema on the search_path, so gin_trgm_ops resolves in unqualified SQL.
    const result = await pool.query<{ schema: string }>(
      `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'`,
    );
    expect(result.rows).toHaveLength(1);
    expect(['attune', 'public']).toContain(result.rows[0]!.schema);
    expect(method(index('actions_name_trgm_idx').definition)).toBe('gin (name gin_trgm_ops)');
  });
});
