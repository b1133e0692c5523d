import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/transaction.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { useTransactionPerTest } from '../support/db.js';
import { checkValues } from '../support/sql.js';

// CHECK, NOT NULL and UNIQUE constraints, exercised with raw INSERTs and
// UPDATEs. Each test runs in a transaction that is rolled back; every
// statement expected to fail runs in a savepoint so the test can go on.

const ctx = useTransactionPerTest();

type Row = Record<string, unknown> & { id: number };
type Values = Record<string, unknown>;

async function insert(db: pg.ClientBase, table: string, values: Values): Promise<Row> {
  const names = Object.keys(values);
  const result = await db.query<Row>(
    `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`,
    Object.values(values),
  );
  return result.rows[0]!;
}

/** Runs `fn` in a savepoint, expecting a database error; returns it. */
async function dbError(db: pg.PoolClient, fn: (tx: pg.PoolClient) => Promise<unknown>): Promise<pg.DatabaseError> {
  try {
    await withTransaction(db, fn);
  } catch (error) {
    return error as pg.DatabaseError;
  }
  throw new Error('expected the statement to fail, but it succeeded');
}

/** SHA-256 of the one byte 'x': the content pack file rows point at. */
const SHA_OF_X = '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881';

/** Rows the tables under test point at. */
async function parents(db: pg.ClientBase) {
  const packRef = uniqueName('ck');
  const pack = await insert(db, 'packs', { ref: packRef, version: '1.0.0', name: 'Check pack' });
  const trigger = await insert(db, 'triggers', { ref: `${packRef}.t`, pack_id: pack.id, pack_ref: packRef, name: 't' });
  const action = await insert(db, 'actions', { pack_id: pack.id, pack_ref: packRef, name: 'a', ref: `${packRef}.a`, runner_type: 'shell' });
  const rule = await insert(db, 'rules', {
    ref: `${packRef}.r`, pack_id: pack.id, pack_ref: packRef, name: 'r', trigger_ref: trigger.ref, action_ref: action.ref,
  });
  const event = await insert(db, 'events', { trigger_id: trigger.id, trigger_ref: trigger.ref });
  const execution = await insert(db, 'executions', { action_id: action.id, action_ref: action.ref });
  const content = (
    await db.query(
      `INSERT INTO pack_file_contents (sha256, size, content) VALUES ($1, 1, 'x') ON CONFLICT (sha256) DO UPDATE SET size = 1 RETURNING *`,
      [SHA_OF_X],
    )
  ).rows[0]!;
  const identity = await insert(db, 'identities', { login: uniqueName('ck') });
  return { packRef, pack, trigger, action, rule, event, execution, content, identity };
}
type Parents = Awaited<ReturnType<typeof parents>>;

/** A valid row for each table; a case overrides some of its columns. */
const VALID: Record<string, (p: Parents) => Values> = {
  packs: () => ({ ref: uniqueName('p'), version: '1.0.0', name: 'P' }),
  runtimes: (p) => ({ ref: `${p.packRef}.rt`, pack_id: p.pack.id, pack_ref: p.packRef, name: 'rt', kind: 'shell' }),
  workers: () => ({ name: uniqueName('w') }),
  triggers: (p) => ({ ref: `${p.packRef}.t2`, pack_id: p.pack.id, pack_ref: p.packRef, name: 't2' }),
  actions: (p) => ({ pack_id: p.pack.id, pack_ref: p.packRef, name: 'a2', ref: `${p.packRef}.a2`, runner_type: 'shell' }),
  rules: (p) => ({ ref: `${p.packRef}.r2`, pack_id: p.pack.id, pack_ref: p.packRef, name: 'r2', trigger_ref: 'x.y', action_ref: 'x.z' }),
  events: () => ({ trigger_ref: 'core.tick' }),
  enforcements: (p) => ({ rule_id: p.rule.id, rule_ref: p.rule.ref, trigger_ref: p.trigger.ref }),
  identities: () => ({ login: uniqueName('u') }),
  api_tokens: (p) => ({ identity_id: p.identity.id, name: 'ci', token_hash: Buffer.from(uniqueName('tok').padEnd(32, '-').slice(0, 32)) }),
  executions: () => ({ action_ref: 'core.echo' }),
  // The worker's tables (migrations 0023 and 0024): a replaced attempt, and an output chunk.
  execution_attempts: (p) => ({ execution_id: p.execution.id, attempt: 1, status: 'failed' }),
  execution_output: (p) => ({ execution_id: p.execution.id, attempt: 1, seq: 0, stream: 'stdout', data: 'hello\n' }),
  inquiries: (p) => ({ execution_id: p.execution.id, prompt: 'Go?' }),
  keys: () => ({ owner_type: 'system', owner: 'system', name: uniqueName('k'), value: JSON.stringify('v') }),
  notifications: () => ({ channel: 'attune_test', entity_type: 'execution', entity_id: 1, activity: 'created' }),
  sensors: (p) => ({ pack_id: p.pack.id, pack_ref: p.packRef, name: 'watch.Files', ref: `${p.packRef}.watch.Files`, entry_point: 'watch.py' }),
  schedules: () => ({ trigger_ref: 'core.st2.IntervalTimer', trigger_params: JSON.stringify({ unit: 'seconds', delta: 1, n: uniqueName('s') }) }),
  pack_file_contents: () => ({ sha256: 'c'.repeat(64), size: 1, content: Buffer.from('x') }),
  pack_files: (p) => ({ pack_id: p.pack.id, path: 'actions/run.sh', size: 1, content_id: p.content.id, sha256: SHA_OF_X }),
};

describe('every valid base row is accepted', () => {
  it.each(Object.keys(VALID))('%s', async (table) => {
    const p = await parents(ctx.db);
    const inserted = await insert(ctx.db, table, VALID[table]!(p));
    expect(inserted.id).toEqual(expect.any(Number));
  });
});

// [what, table, overrides, constraint]
const CHECK_VIOLATIONS: [string, string, Values, string][] = [
  ['pack ref with uppercase', 'packs', { ref: 'Core' }, 'packs_ref_check'],
  ['pack ref with a dot', 'packs', { ref: 'core.echo' }, 'packs_ref_check'],
  ['pack ref with a leading digit', 'packs', { ref: '1core' }, 'packs_ref_check'],
  ['pack ref with a space', 'packs', { ref: 'my pack' }, 'packs_ref_check'],
  ['empty pack ref', 'packs', { ref: '' }, 'packs_ref_check'],
  ['pack ref of 65 characters', 'packs', { ref: 'a'.repeat(65) }, 'packs_ref_check'],
  ['version 1.0 (two parts)', 'packs', { version: '1.0' }, 'packs_version_check'],
  ['version v1.0.0', 'packs', { version: 'v1.0.0' }, 'packs_version_check'],
  ['version 01.0.0 (leading zero)', 'packs', { version: '01.0.0' }, 'packs_version_check'],
  ['version 1.0.0- (empty pre-release)', 'packs', { version: '1.0.0-' }, 'packs_version_check'],
  ['version 1.0.0+ (empty build)', 'packs', { version: '1.0.0+' }, 'packs_version_check'],
  ['version 1.0.0.0', 'packs', { version: '1.0.0.0' }, 'packs_version_check'],
  ['version latest', 'packs', { version: 'latest' }, 'packs_version_check'],
  ['empty pack name', 'packs', { name: '' }, 'packs_name_check'],
  ['pack dependencies as an array', 'packs', { dependencies: '["core"]' }, 'packs_dependencies_check'],
  ['pack node_dependencies as a string', 'packs', { node_dependencies: '"left-pad"' }, 'packs_node_dependencies_check'],

  ['runtime ref without a dot', 'runtimes', { ref: 'nodot' }, 'runtimes_ref_check'],
  ['runtime ref with two dots in a row', 'runtimes', { ref: 'a.b..c', pack_ref: 'a', name: 'b..c' }, 'runtimes_ref_check'],
  ['runtime ref ending with a dot', 'runtimes', { ref: 'a.b.', pack_ref: 'a', name: 'b.' }, 'runtimes_ref_check'],
  ['runtime pack_ref with a dot', 'runtimes', { ref: 'a.b.rt', pack_ref: 'a.b', name: 'rt' }, 'runtimes_pack_ref_check'],
  ['runtime name of 129 characters', 'runtimes', { ref: `a.${'n'.repeat(129)}`, pack_ref: 'a', name: 'n'.repeat(129) }, 'runtimes_name_check'],
  ['runtime ref not pack_ref.name', 'runtimes', { name: 'other' }, 'runtimes_ref_parts_check'],
  ['runtime kind java', 'runtimes', { kind: 'java' }, 'runtimes_kind_check'],

  ['worker port 0', 'workers', { port: 0 }, 'workers_port_check'],
  ['worker port 70000', 'workers', { port: 70000 }, 'workers_port_check'],
  ['worker port 65536', 'workers', { port: 65536 }, 'workers_port_check'],
  ['worker port -1', 'workers', { port: -1 }, 'workers_port_check'],
  ['worker status running', 'workers', { status: 'running' }, 'workers_status_check'],
  ['worker status ACTIVE (case matters)', 'workers', { status: 'ACTIVE' }, 'workers_status_check'],
  ['worker type cloud', 'workers', { worker_type: 'cloud' }, 'workers_worker_type_check'],
  ['empty worker name', 'workers', { name: '' }, 'workers_name_check'],

  ['trigger ref with an uppercase pack', 'triggers', { ref: 'Core.Tick', pack_ref: 'core', name: 'Tick' }, 'triggers_ref_check'],
  ['trigger pack_ref with uppercase', 'triggers', { ref: 'c.Tick', pack_ref: 'C', name: 'Tick' }, 'triggers_pack_ref_check'],
  ['trigger name of 129 characters', 'triggers', { ref: `a.${'n'.repeat(129)}`, pack_ref: 'a', name: 'n'.repeat(129) }, 'triggers_name_check'],
  ['trigger ref not pack_ref.name', 'triggers', { name: 'different' }, 'triggers_ref_parts_check'],
  ['webhook key shorter than 16', 'triggers', { webhook_key: 'short' }, 'triggers_webhook_key_check'],

  ['action ref without a pack', 'actions', { ref: '.a2' }, 'actions_ref_check'],
  ['action pack_ref with a dot', 'actions', { ref: 'a.b.a2', pack_ref: 'a.b', name: 'a2' }, 'actions_pack_ref_check'],
  ['action name of 129 characters', 'actions', { ref: `a.${'n'.repeat(129)}`, pack_ref: 'a', name: 'n'.repeat(129) }, 'actions_name_check'],
  ['enabled action with a disabled_reason', 'actions', { disabled_reason: 'runner orquesta is not supported yet' }, 'actions_disabled_reason_check'],
  ['disabled action with an empty disabled_reason', 'actions', { enabled: false, disabled_reason: '' }, 'actions_disabled_reason_check'],
  ['action ref not pack_ref.name', 'actions', { name: 'other' }, 'actions_ref_parts_check'],
  ['action runner_type java', 'actions', { runner_type: 'java' }, 'actions_runner_type_check'],
  ['action timeout 0', 'actions', { timeout_seconds: 0 }, 'actions_timeout_seconds_check'],
  ['action timeout -5', 'actions', { timeout_seconds: -5 }, 'actions_timeout_seconds_check'],

  ['rule ref without a dot', 'rules', { ref: 'rule' }, 'rules_ref_check'],
  ['rule ref not pack_ref.name', 'rules', { name: 'other' }, 'rules_ref_parts_check'],
  ['rule trigger_ref without a dot', 'rules', { trigger_ref: 'tick' }, 'rules_trigger_ref_check'],
  ['rule action_ref with uppercase', 'rules', { action_ref: 'Core.Echo' }, 'rules_action_ref_check'],
  ['rule trigger_ref with two dots in a row', 'rules', { trigger_ref: 'core..tick' }, 'rules_trigger_ref_check'],
  ['rule ref with a space', 'rules', { ref: 'p.r 2', pack_ref: 'p', name: 'r 2' }, 'rules_ref_check'],
  ['rule pack_ref with uppercase', 'rules', { ref: 'p.r2', pack_ref: 'P', name: 'r2' }, 'rules_pack_ref_check'],
  ['rule name of 129 characters', 'rules', { ref: `a.${'n'.repeat(129)}`, pack_ref: 'a', name: 'n'.repeat(129) }, 'rules_name_check'],

  ['sensor ref with a leading dot in the name', 'sensors', { ref: 'p..w', pack_ref: 'p', name: '.w' }, 'sensors_ref_check'],
  ['sensor ref not pack_ref.name', 'sensors', { name: 'other' }, 'sensors_ref_parts_check'],
  ['sensor pack_ref with uppercase', 'sensors', { ref: 'p.w', pack_ref: 'P', name: 'w' }, 'sensors_pack_ref_check'],
  ['sensor name of 129 characters', 'sensors', { ref: `a.${'n'.repeat(129)}`, pack_ref: 'a', name: 'n'.repeat(129) }, 'sensors_name_check'],
  ['sensor with an empty entry_point', 'sensors', { entry_point: '' }, 'sensors_entry_point_check'],
  ['sensor runner_type ruby', 'sensors', { runner_type: 'ruby' }, 'sensors_runner_type_check'],
  ['sensor poll_interval 0', 'sensors', { poll_interval: 0 }, 'sensors_poll_interval_check'],

  ['pack file content sha256 in uppercase', 'pack_file_contents', { sha256: 'A'.repeat(64) }, 'pack_file_contents_sha256_check'],
  ['pack file content whose size is not its length', 'pack_file_contents', { sha256: 'b'.repeat(64), size: 2 }, 'pack_file_contents_size_check'],
  ['schedule trigger_ref without a dot', 'schedules', { trigger_ref: 'timer' }, 'schedules_trigger_ref_check'],
  ['schedule fired_count -1', 'schedules', { fired_count: -1 }, 'schedules_counts_check'],
  ['schedule with an error and a next time', 'schedules', { error: 'bad unit', next_at: new Date() }, 'schedules_error_check'],
  ['schedule with an empty error', 'schedules', { error: '' }, 'schedules_error_check'],

  ['pack file path ../../etc/passwd', 'pack_files', { path: '../../etc/passwd' }, 'pack_files_path_check'],
  ['absolute pack file path', 'pack_files', { path: '/etc/passwd' }, 'pack_files_path_check'],
  ['pack file path with a . segment', 'pack_files', { path: 'actions/./run.sh' }, 'pack_files_path_check'],
  ['pack file path with a backslash', 'pack_files', { path: 'actions\\run.sh' }, 'pack_files_path_check'],
  ['pack file path ending with /', 'pack_files', { path: 'actions/' }, 'pack_files_path_check'],
  ['pack file size -1', 'pack_files', { size: -1 }, 'pack_files_size_check'],
  ['pack file sha256 that is not a digest', 'pack_files', { sha256: 'abc' }, 'pack_files_sha256_check'],

  ['event trigger_ref without a dot', 'events', { trigger_ref: 'tick' }, 'events_trigger_ref_check'],

  ['enforcement status done', 'enforcements', { status: 'done' }, 'enforcements_status_check'],

  ['identity login with a space', 'identities', { login: 'ann smith' }, 'identities_login_check'],
  ['identity login with a leading dash', 'identities', { login: '-ann' }, 'identities_login_check'],
  ['empty identity login', 'identities', { login: '' }, 'identities_login_check'],
  ['identity login of 256 characters', 'identities', { login: 'a'.repeat(256) }, 'identities_login_check'],
  ['identity role superuser', 'identities', { role: 'superuser' }, 'identities_role_check'],
  ['api token kind session', 'api_tokens', { kind: 'session' }, 'api_tokens_kind_check'],
  ['empty api token name', 'api_tokens', { name: '' }, 'api_tokens_name_check'],
  ['api token hash of 16 bytes', 'api_tokens', { token_hash: Buffer.alloc(16, 1) }, 'api_tokens_token_hash_check'],

  ['execution status completed', 'executions', { status: 'completed' }, 'executions_status_check'],
  ['execution action_ref without a dot', 'executions', { action_ref: 'echo' }, 'executions_action_ref_check'],
  ['execution attempt 0', 'executions', { attempt: 0 }, 'executions_attempt_check'],
  ['execution attempt above max_attempts', 'executions', { attempt: 3, max_attempts: 2 }, 'executions_attempt_check'],
  ['execution max_attempts 101', 'executions', { max_attempts: 101 }, 'executions_max_attempts_check'],
  ['execution timeout 0', 'executions', { timeout_seconds: 0 }, 'executions_timeout_seconds_check'],
  ['running execution without a lease', 'executions', { status: 'running' }, 'executions_lease_expires_at_check'],
  ['running execution without a worker', 'executions', { status: 'running', lease_expires_at: new Date() }, 'executions_worker_id_check'],
  ['execution pgid 1 (init, never a run\'s group)', 'executions', { pgid: 1 }, 'executions_pgid_check'],
  ['empty execution runner_type', 'executions', { runner_type: '' }, 'executions_runner_type_check'],
  ['execution runner_type of 65 characters', 'executions', { runner_type: 'r'.repeat(65) }, 'executions_runner_type_check'],

  ['execution attempt 0 in the history', 'execution_attempts', { attempt: 0 }, 'execution_attempts_attempt_check'],
  ['execution attempt 101 in the history', 'execution_attempts', { attempt: 101 }, 'execution_attempts_attempt_check'],
  ['attempt history status succeeded (only replaced attempts are kept)', 'execution_attempts', { status: 'succeeded' }, 'execution_attempts_status_check'],
  ['output chunk of attempt 0', 'execution_output', { attempt: 0 }, 'execution_output_attempt_check'],
  ['output chunk with seq -1', 'execution_output', { seq: -1 }, 'execution_output_seq_check'],
  ['output chunk on stream stdin', 'execution_output', { stream: 'stdin' }, 'execution_output_stream_check'],
  ['empty worker session', 'workers', { session: '' }, 'workers_session_check'],
  ['worker session of 65 characters', 'workers', { session: 's'.repeat(65) }, 'workers_session_check'],
  ['inquiry route of 256 characters', 'inquiries', { route: 'r'.repeat(256) }, 'inquiries_route_check'],
  ['inquiry with 1001 users', 'inquiries', { users: Array.from({ length: 1001 }, (_, i) => `u${i}`) }, 'inquiries_users_check'],
  ['inquiry with 1001 roles', 'inquiries', { roles: Array.from({ length: 1001 }, (_, i) => `r${i}`) }, 'inquiries_roles_check'],

  ['inquiry status open', 'inquiries', { status: 'open' }, 'inquiries_status_check'],
  ['empty inquiry prompt', 'inquiries', { prompt: '' }, 'inquiries_prompt_check'],
  ['inquiry responded without responded_at', 'inquiries', { status: 'responded' }, 'inquiries_response_check'],
  ['inquiry pending with responded_at', 'inquiries', { responded_at: new Date() }, 'inquiries_response_check'],

  ['key owner_type user', 'keys', { owner_type: 'user', owner: 'ann' }, 'keys_owner_type_check'],
  ['system key owned by a pack', 'keys', { owner_type: 'system', owner: 'core' }, 'keys_owner_check'],
  ['key with an empty owner', 'keys', { owner_type: 'pack', owner: '' }, 'keys_owner_check'],
  ['key name with a dot', 'keys', { name: 'a.b' }, 'keys_name_check'],
  ['key name with a space', 'keys', { name: 'a b' }, 'keys_name_check'],
  ['encrypted key without encryption_key_id', 'keys', { encrypted: true }, 'keys_encrypted_check'],
  ['plain key with an encryption_key_id', 'keys', { encryption_key_id: 'k1' }, 'keys_encrypted_check'],
  ['encrypted key whose value is not a string', 'keys', { encrypted: true, encryption_key_id: 'k1', value: '{"a":1}' }, 'keys_encrypted_check'],

  ['notification channel with a space', 'notifications', { channel: 'bad channel' }, 'notifications_channel_check'],
  ['notification channel with uppercase', 'notifications', { channel: 'Attune' }, 'notifications_channel_check'],
  ['notification channel of 64 bytes', 'notifications', { channel: 'c'.repeat(64) }, 'notifications_channel_check'],
  ['notification entity_type widget', 'notifications', { entity_type: 'widget' }, 'notifications_entity_type_check'],
  ['notification activity exploded', 'notifications', { activity: 'exploded' }, 'notifications_activity_check'],
  ['notification state sent', 'notifications', { state: 'sent' }, 'notifications_state_check'],
];

// Every CHECK in the schema, read once from the catalog. Two families are
// common enough to be tested wherever they appear, so a migration that adds
// one more is covered without a new hand-written case: JSONB columns that
// must hold an object, and text columns that must hold a component ref.
const CHECKS = (
  await ctx.pool.query<{ name: string; table: string; definition: string }>(
    `SELECT c.conname AS name, t.relname AS "table", pg_get_constraintdef(c.oid) AS definition
       FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = c.connamespace
      WHERE n.nspname = 'attune' AND c.contype = 'c' ORDER BY c.conname`,
  )
).rows;
const EXPLICIT = new Set(CHECK_VIOLATIONS.map(([, , , constraint]) => constraint));
const GENERIC_VIOLATIONS: [string, string, Values, string][] = CHECKS.filter((c) => !EXPLICIT.has(c.name)).flatMap((c) => {
  const object = /^CHECK \(\(jsonb_typeof\((\w+)\) = 'object'::text\)\)$/.exec(c.definition);
  if (object) return [[`${c.table}.${object[1]} holding an array`, c.table, { [object[1]!]: '[]' }, c.name] as [string, string, Values, string]];
  const ref = /^CHECK \(\((\w+) ~ '\^\[a-z\][^']*'::text\)\)$/.exec(c.definition);
  if (ref) return [[`${c.table}.${ref[1]} holding 'Not A Ref'`, c.table, { [ref[1]!]: 'Not A Ref' }, c.name] as [string, string, Values, string]];
  return [];
});

describe('CHECK constraints reject bad values with SQLSTATE 23514', () => {
  it.each(CHECK_VIOLATIONS)('%s (%s)', async (_what, table, overrides, constraint) => {
    const p = await parents(ctx.db);
    const error = await dbError(ctx.db, (tx) => insert(tx, table, { ...VALID[table]!(p), ...overrides }));
    expect({ code: error.code, constraint: error.constraint, table: error.table }).toEqual({ code: '23514', constraint, table });
  });

  it.each(GENERIC_VIOLATIONS)('%s (%s, found in the catalog)', async (_what, table, overrides, constraint) => {
    const p = await parents(ctx.db);
    const error = await dbError(ctx.db, (tx) => insert(tx, table, { ...VALID[table]!(p), ...overrides }));
    expect({ code: error.code, constraint: error.constraint, table: error.table }).toEqual({ code: '23514', constraint, table });
  });

  it('covers every CHECK constraint in the schema (add a case when a migration adds one)', () => {
    const tested = new Set([...CHECK_VIOLATIONS, ...GENERIC_VIOLATIONS].map(([, , , constraint]) => constraint));
    tested.add('executions_parent_id_check'); // exercised by an UPDATE below
    expect(CHECKS.map((c) => c.name).filter((name) => !tested.has(name))).toEqual([]);
  });

  it('also checks UPDATEs: worker port, execution status', async () => {
    const worker = await insert(ctx.db, 'workers', { name: uniqueName('w'), port: 8080 });
    const port = await dbError(ctx.db, (tx) => tx.query('UPDATE workers SET port = 0 WHERE id = $1', [worker.id]));
    expect({ code: port.code, constraint: port.constraint }).toEqual({ code: '23514', constraint: 'workers_port_check' });
    const execution = await insert(ctx.db, 'executions', { action_ref: 'core.echo' });
    const status = await dbError(ctx.db, (tx) => tx.query(`UPDATE executions SET status = 'done' WHERE id = $1`, [execution.id]));
    expect(status.constraint).toBe('executions_status_check');
    const after = await ctx.db.query('SELECT port FROM workers WHERE id = $1', [worker.id]);
    expect(after.rows[0]).toEqual({ port: 8080 });
  });

  it('refuses an execution that is its own parent', async () => {
    const execution = await insert(ctx.db, 'executions', { action_ref: 'core.echo' });
    const error = await dbError(ctx.db, (tx) => tx.query('UPDATE executions SET parent_id = id WHERE id = $1', [execution.id]));
    expect({ code: error.code, constraint: error.constraint }).toEqual({ code: '23514', constraint: 'executions_parent_id_check' });
  });
});

describe('CHECK constraints accept the edge of the valid range', () => {
  it.each([
    ['packs', { version: '0.0.0' }],
    ['packs', { version: '10.20.30' }],
    ['packs', { version: '1.2.3-alpha.1' }],
    ['packs', { version: '1.2.3-0.3.7' }],
    ['packs', { version: '1.2.3+build.5' }],
    ['packs', { version: '1.0.0-rc.1+sha.5114f85' }],
    ['packs', { ref: 'a' }],
    ['packs', { ref: 'aws-ec2_v2' }],
    ['packs', { ref: 'a'.repeat(64) }],
    ['workers', { port: 1 }],
    ['workers', { port: 65535 }],
    ['workers', { port: null }],
    ...['active', 'inactive', 'busy', 'error'].map((status) => ['workers', { status }] as [string, Values]),
    ...['local', 'remote', 'container'].map((worker_type) => ['workers', { worker_type }] as [string, Values]),
    ['triggers', { webhook_key: 'k'.repeat(16) }],
    ['actions', { timeout_seconds: 1 }],
    ['executions', { attempt: 100, max_attempts: 100 }],
    ['executions', { pgid: 2, runner_type: 'r'.repeat(64) }],
    ['execution_attempts', { attempt: 100, status: 'timeout' }],
    ['execution_attempts', { status: 'abandoned' }],
    ['execution_output', { attempt: 100, seq: 0, stream: 'stderr' }],
    ['workers', { session: 's'.repeat(64) }],
    ['identities', { login: 'Ann.Smith+ops@example.com' }],
    ['identities', { login: 'a'.repeat(255) }],
    ['inquiries', { status: 'responded', responded_at: new Date() }],
    ['keys', { owner_type: 'pack', owner: 'core' }],
    ['keys', { owner_type: 'identity', owner: 'ann@example.com' }],
    ['keys', { owner_type: 'action', owner: 'core.echo' }],
    ['keys', { encrypted: true, encryption_key_id: 'k1', value: '"Y2lwaGVydGV4dA=="' }],
    ['notifications', { channel: 'c'.repeat(63) }],
    ['notifications', { channel: 'attune.executions:42' }],
  ] as [string, Values][])('%s accepts %j', async (table, overrides) => {
    const p = await parents(ctx.db);
    const inserted = await insert(ctx.db, table, { ...VALID[table]!(p), ...overrides });
    for (const [name, value] of Object.entries(overrides)) {
      if (value instanceof Date) expect(inserted[name]).toBeInstanceOf(Date);
      else if (name === 'value') expect(inserted[name]).toEqual(JSON.parse(value as string));
      else expect(inserted[name]).toEqual(value);
    }
  });
});

/**
 * The data model's enumerations (from the design notes, which are not in this
 * repository), written out here rather than read back from the CHECKs under
 * test. `exact`: the design lists them all; otherwise the list ends in "…" and
 * the schema may allow more.
 */
const ENUMERATIONS: [table: string, column: string, constraint: string, values: string[], exact: boolean][] = [
  ['workers', 'status', 'workers_status_check', ['active', 'inactive', 'busy', 'error'], true],
  ['workers', 'worker_type', 'workers_worker_type_check', ['local', 'remote', 'container'], true],
  ['enforcements', 'status', 'enforcements_status_check', ['created', 'processed', 'disabled', 'failed'], true],
  [
    'executions', 'status', 'executions_status_check',
    ['requested', 'scheduled', 'running', 'paused', 'succeeded', 'failed', 'timeout', 'canceling', 'canceled', 'abandoned'], true,
  ],
  ['inquiries', 'status', 'inquiries_status_check', ['pending', 'responded', 'timeout', 'canceled'], true],
  ['keys', 'owner_type', 'keys_owner_type_check', ['system', 'pack', 'identity', 'action'], true],
  ['notifications', 'state', 'notifications_state_check', ['created', 'delivered', 'error'], true],
  ['runtimes', 'kind', 'runtimes_kind_check', ['shell', 'python', 'node', 'http', 'native'], false],
  ['actions', 'runner_type', 'actions_runner_type_check', ['shell', 'python', 'node', 'http', 'noop', 'inquiry'], false],
  ['notifications', 'activity', 'notifications_activity_check', ['created', 'updated', 'deleted', 'status_changed'], false],
];

/** A valid row of `table` with `column` set to `value`, plus what other CHECKs ask of a row holding that value. */
async function rowWith(table: string, column: string, value: string): Promise<Values> {
  const p = await parents(ctx.db);
  const row: Values = { ...VALID[table]!(p), [column]: value };
  // A running execution is held by a worker under a lease.
  if (table === 'executions' && value === 'running') {
    const worker = await insert(ctx.db, 'workers', { name: uniqueName('w') });
    Object.assign(row, { worker_id: worker.id, lease_expires_at: new Date(Date.now() + 60_000) });
  }
  if (table === 'inquiries' && value === 'responded') row.responded_at = new Date();
  if (table === 'keys') row.owner = { system: 'system', pack: 'core', identity: 'ann', action: 'core.echo' }[value];
  return row;
}

describe('enumerations: the CHECKs allow the data model\'s values and refuse others', () => {
  it.each(ENUMERATIONS)('%s.%s accepts each value the data model lists', async (table, column, _constraint, values) => {
    for (const value of values) {
      const inserted = await insert(ctx.db, table, await rowWith(table, column, value));
      expect(inserted[column]).toBe(value);
    }
  });

  it.each(ENUMERATIONS)('%s.%s refuses a value outside the list (%s)', async (table, column, constraint, values) => {
    for (const value of ['no_such_value', values[0]!.toUpperCase(), ` ${values[0]}`]) {
      const row = await rowWith(table, column, values[0]!);
      const error = await dbError(ctx.db, (tx) => insert(tx, table, { ...row, [column]: value }));
      expect({ value, code: error.code, constraint: error.constraint }).toEqual({ value, code: '23514', constraint });
    }
  });

  it.each(ENUMERATIONS)('%s.%s: the CHECK (%s) lists the data model\'s values, exactly unless the list is open-ended', async (_table, _column, constraint, values, exact) => {
    const allowed = await checkValues(ctx.db, constraint);
    if (exact) expect([...allowed].sort()).toEqual([...values].sort());
    else expect(allowed).toEqual(expect.arrayContaining(values));
  });
});

describe('NOT NULL constraints reject missing values with SQLSTATE 23502', () => {
  it.each([
    ['actions', 'pack_id'],
    ['rules', 'trigger_ref'],
    ['rules', 'action_ref'],
    ['events', 'trigger_ref'],
    ['enforcements', 'rule_ref'],
    ['executions', 'action_ref'],
    ['inquiries', 'execution_id'],
    ['keys', 'value'],
    ['packs', 'keywords'],
    ['actions', 'tags'],
    ['workers', 'status'],
    ['executions', 'run_after'],
    ['execution_attempts', 'execution_id'],
    ['execution_attempts', 'status'],
    ['execution_output', 'execution_id'],
    ['execution_output', 'stream'],
    ['execution_output', 'data'],
  ])('%s.%s', async (table, column) => {
    const p = await parents(ctx.db);
    const error = await dbError(ctx.db, (tx) => insert(tx, table, { ...VALID[table]!(p), [column]: null }));
    expect({ code: error.code, column: error.column }).toEqual({ code: '23502', column });
  });
});

describe('UNIQUE constraints', () => {
  async function expectDuplicate(table: string, values: Values, constraint: string): Promise<void> {
    const error = await dbError(ctx.db, (tx) => insert(tx, table, values));
    expect({ code: error.code, constraint: error.constraint }).toEqual({ code: '23505', constraint });
  }

  it('packs: (ref, version) is unique; other versions of a ref may be installed', async () => {
    const ref = uniqueName('p');
    await insert(ctx.db, 'packs', { ref, version: '1.0.0', name: 'v1' });
    await expectDuplicate('packs', { ref, version: '1.0.0', name: 'again', is_active: false }, 'packs_ref_version_key');
    await insert(ctx.db, 'packs', { ref, version: '2.0.0', name: 'v2', is_active: false });
    await insert(ctx.db, 'packs', { ref, version: '3.0.0', name: 'v3', is_active: false });
    const count = await ctx.db.query('SELECT count(*)::int AS n FROM packs WHERE ref = $1', [ref]);
    expect(count.rows[0]).toEqual({ n: 3 });
  });

  it('packs: only one active version per ref', async () => {
    const ref = uniqueName('p');
    const v1 = await insert(ctx.db, 'packs', { ref, version: '1.0.0', name: 'v1' });
    await expectDuplicate('packs', { ref, version: '2.0.0', name: 'v2' }, 'packs_one_active_per_ref');
    const v2 = await insert(ctx.db, 'packs', { ref, version: '2.0.0', name: 'v2', is_active: false });
    const swap = await dbError(ctx.db, (tx) => tx.query('UPDATE packs SET is_active = true WHERE id = $1', [v2.id]));
    expect(swap.constraint).toBe('packs_one_active_per_ref');
    await ctx.db.query('UPDATE packs SET is_active = false WHERE id = $1', [v1.id]);
    await ctx.db.query('UPDATE packs SET is_active = true WHERE id = $1', [v2.id]);
  });

  it('actions: (pack_id, name) is unique; the same ref may exist in another version of the pack', async () => {
    const ref = uniqueName('p');
    const v1 = await insert(ctx.db, 'packs', { ref, version: '1.0.0', name: 'v1' });
    const v2 = await insert(ctx.db, 'packs', { ref, version: '2.0.0', name: 'v2', is_active: false });
    const action = { pack_ref: ref, name: 'echo', ref: `${ref}.echo`, runner_type: 'shell' };
    await insert(ctx.db, 'actions', { ...action, pack_id: v1.id });
    await expectDuplicate('actions', { ...action, pack_id: v1.id }, 'actions_pack_id_name_key');
    await insert(ctx.db, 'actions', { ...action, pack_id: v2.id });
  });

  it('rules, runtimes, triggers and sensors: (pack_id, name) is unique; the same ref may exist in another version', async () => {
    const p = await parents(ctx.db);
    const v2 = await insert(ctx.db, 'packs', { ref: p.packRef, version: '2.0.0', name: 'v2', is_active: false });
    await expectDuplicate('rules', { ...VALID.rules!(p), ref: p.rule.ref, name: 'r' }, 'rules_pack_id_name_key');
    await insert(ctx.db, 'rules', { ...VALID.rules!(p), ref: p.rule.ref, name: 'r', pack_id: v2.id });
    await expectDuplicate('triggers', { ...VALID.triggers!(p), ref: p.trigger.ref, name: 't' }, 'triggers_pack_id_name_key');
    await insert(ctx.db, 'triggers', { ...VALID.triggers!(p), ref: p.trigger.ref, name: 't', pack_id: v2.id });
    await insert(ctx.db, 'runtimes', VALID.runtimes!(p));
    await expectDuplicate('runtimes', VALID.runtimes!(p), 'runtimes_pack_id_name_key');
    await insert(ctx.db, 'runtimes', { ...VALID.runtimes!(p), pack_id: v2.id });
    await insert(ctx.db, 'sensors', VALID.sensors!(p));
    await expectDuplicate('sensors', VALID.sensors!(p), 'sensors_pack_id_name_key');
    await insert(ctx.db, 'sensors', { ...VALID.sensors!(p), pack_id: v2.id });
  });

  it('built-in runtimes and triggers (no pack row): ref is unique among them', async () => {
    const ref = uniqueName('bi');
    await insert(ctx.db, 'triggers', { ref: `${ref}.tick`, pack_ref: ref, name: 'tick' });
    await expectDuplicate('triggers', { ref: `${ref}.tick`, pack_ref: ref, name: 'tick' }, 'triggers_builtin_ref_key');
    await insert(ctx.db, 'runtimes', { ref: `${ref}.sh`, pack_ref: ref, name: 'sh', kind: 'shell' });
    await expectDuplicate('runtimes', { ref: `${ref}.sh`, pack_ref: ref, name: 'sh', kind: 'shell' }, 'runtimes_builtin_ref_key');
  });

  it('pack files: (pack_id, path) is unique, a content once per sha256', async () => {
    const p = await parents(ctx.db);
    await insert(ctx.db, 'pack_files', VALID.pack_files!(p));
    await expectDuplicate('pack_files', VALID.pack_files!(p), 'pack_files_pack_id_path_key');
    await expectDuplicate('pack_file_contents', { ...VALID.pack_file_contents!(p), sha256: SHA_OF_X }, 'pack_file_contents_sha256_key');
  });

  it('triggers: webhook_key is unique, and many triggers may have none', async () => {
    const p = await parents(ctx.db);
    const key = 'wh_0123456789abcdef';
    await insert(ctx.db, 'triggers', { ref: `${p.packRef}.one`, pack_id: p.pack.id, pack_ref: p.packRef, name: 'one', webhook_key: key });
    await expectDuplicate('triggers', { ref: `${p.packRef}.two`, pack_id: p.pack.id, pack_ref: p.packRef, name: 'two', webhook_key: key }, 'triggers_webhook_key_key');
    await insert(ctx.db, 'triggers', { ref: `${p.packRef}.three`, pack_id: p.pack.id, pack_ref: p.packRef, name: 'three' });
    await insert(ctx.db, 'triggers', { ref: `${p.packRef}.four`, pack_id: p.pack.id, pack_ref: p.packRef, name: 'four' });
  });

  it('workers: name is unique', async () => {
    const name = uniqueName('w');
    await insert(ctx.db, 'workers', { name });
    await expectDuplicate('workers', { name }, 'workers_name_key');
  });

  it('identities: login is unique case-insensitively, and keeps its case', async () => {
    const login = `Ann_${uniqueName('x')}`;
    const first = await insert(ctx.db, 'identities', { login });
    expect(first.login).toBe(login);
    await expectDuplicate('identities', { login: login.toLowerCase() }, 'identities_login_lower_key');
    await expectDuplicate('identities', { login: login.toUpperCase() }, 'identities_login_lower_key');
  });

  it('keys: (owner_type, owner, name) is unique; the same name under another owner is not a clash', async () => {
    const name = uniqueName('token');
    const value = JSON.stringify('v');
    await insert(ctx.db, 'keys', { owner_type: 'pack', owner: 'core', name, value });
    await expectDuplicate('keys', { owner_type: 'pack', owner: 'core', name, value }, 'keys_owner_type_name_key');
    await insert(ctx.db, 'keys', { owner_type: 'pack', owner: 'other', name, value });
    await insert(ctx.db, 'keys', { owner_type: 'identity', owner: 'core', name, value });
    await insert(ctx.db, 'keys', { owner_type: 'system', owner: 'system', name, value });
    const refs = await ctx.db.query<{ ref: string }>('SELECT ref FROM keys WHERE name = $1 ORDER BY ref', [name]);
    expect(refs.rows.map((r) => r.ref)).toEqual([`identity.core.${name}`, `pack.core.${name}`, `pack.other.${name}`, `system.${name}`]);
  });

  it('enforcements: one per (rule, event); rows with a NULL rule or event do not clash', async () => {
    const p = await parents(ctx.db);
    const base = { rule_ref: p.rule.ref, trigger_ref: p.trigger.ref };
    await insert(ctx.db, 'enforcements', { ...base, rule_id: p.rule.id, event_id: p.event.id });
    await expectDuplicate('enforcements', { ...base, rule_id: p.rule.id, event_id: p.event.id }, 'enforcements_rule_event_key');
    await insert(ctx.db, 'enforcements', { ...base, rule_id: p.rule.id, event_id: null });
    await insert(ctx.db, 'enforcements', { ...base, rule_id: p.rule.id, event_id: null });
    await insert(ctx.db, 'enforcements', { ...base, rule_id: null, event_id: p.event.id });
    await insert(ctx.db, 'enforcements', { ...base, rule_id: null, event_id: p.event.id });
    const count = await ctx.db.query('SELECT count(*)::int AS n FROM enforcements WHERE rule_ref = $1', [p.rule.ref]);
    expect(count.rows[0]).toEqual({ n: 5 });
  });

  it('enforcements: ON CONFLICT must repeat the partial index predicate to make a second insert a no-op', async () => {
    const p = await parents(ctx.db);
    const sql = (target: string) =>
      `INSERT INTO enforcements (rule_id, rule_ref, event_id, trigger_ref) VALUES ($1, $2, $3, $4) ON CONFLICT ${target} DO NOTHING RETURNING id`;
    const params = [p.rule.id, p.rule.ref, p.event.id, p.trigger.ref];
    const withPredicate = '(rule_id, event_id) WHERE rule_id IS NOT NULL AND event_id IS NOT NULL';
    expect((await ctx.db.query(sql(withPredicate), params)).rowCount).toBe(1);
    expect((await ctx.db.query(sql(withPredicate), params)).rowCount).toBe(0);
    // Without the predicate PostgreSQL finds no arbiter index (42P10).
    const error = await dbError(ctx.db, (tx) => tx.query(sql('(rule_id, event_id)'), params));
    expect(error.code).toBe('42P10');
  });

  it('execution_attempts: one row per (execution, attempt); execution_output: one chunk per (execution, attempt, seq)', async () => {
    const p = await parents(ctx.db);
    await insert(ctx.db, 'execution_attempts', VALID.execution_attempts!(p));
    await expectDuplicate('execution_attempts', { ...VALID.execution_attempts!(p), status: 'timeout' }, 'execution_attempts_execution_id_attempt_key');
    await insert(ctx.db, 'execution_attempts', { ...VALID.execution_attempts!(p), attempt: 2 });
    await insert(ctx.db, 'execution_output', VALID.execution_output!(p));
    await expectDuplicate('execution_output', { ...VALID.execution_output!(p), stream: 'stderr' }, 'execution_output_execution_id_attempt_seq_key');
    await insert(ctx.db, 'execution_output', { ...VALID.execution_output!(p), attempt: 2 });
    await insert(ctx.db, 'execution_output', { ...VALID.execution_output!(p), seq: 1 });
  });

  it('ids are GENERATED ALWAYS: an explicit id is refused (428C9)', async () => {
    const error = await dbError(ctx.db, (tx) => insert(tx, 'workers', { id: 1, name: uniqueName('w') }));
    expect(error.code).toBe('428C9');
  });
});
