/**
 * The design's "Delete behaviour at a glance" (the data model in the
 * project's design notes, kept outside this repository), written out one row
 * per foreign key. test/migrations/foreign-keys.test.ts checks the live schema
 * against it; the verify manifest is checked against the live schema.
 *
 * | from → to | on delete |
 * |---|---|
 * | runtimes, triggers, actions, rules → packs | CASCADE |
 * | workers → runtimes, actions → runtimes | SET NULL |
 * | rules → triggers, rules → actions | SET NULL (refs kept) |
 * | events → triggers | SET NULL |
 * | enforcements → rules, enforcements → events | SET NULL |
 * | executions → actions, enforcements, identities, workers | SET NULL |
 * | executions → parent execution | CASCADE |
 * | inquiries → executions | CASCADE |
 * | inquiries → identities | SET NULL |
 */
export const DATA_MODEL_FOREIGN_KEYS: readonly [table: string, column: string, target: string, onDelete: 'CASCADE' | 'SET NULL' | 'RESTRICT'][] = [
  ['runtimes', 'pack_id', 'packs', 'CASCADE'],
  ['triggers', 'pack_id', 'packs', 'CASCADE'],
  ['actions', 'pack_id', 'packs', 'CASCADE'],
  ['rules', 'pack_id', 'packs', 'CASCADE'],
  ['workers', 'runtime_id', 'runtimes', 'SET NULL'],
  ['actions', 'runtime_id', 'runtimes', 'SET NULL'],
  ['rules', 'trigger_id', 'triggers', 'SET NULL'],
  ['rules', 'action_id', 'actions', 'SET NULL'],
  ['events', 'trigger_id', 'triggers', 'SET NULL'],
  ['enforcements', 'rule_id', 'rules', 'SET NULL'],
  ['enforcements', 'event_id', 'events', 'SET NULL'],
  ['executions', 'action_id', 'actions', 'SET NULL'],
  ['executions', 'enforcement_id', 'enforcements', 'SET NULL'],
  ['executions', 'requested_by', 'identities', 'SET NULL'],
  ['executions', 'worker_id', 'workers', 'SET NULL'],
  ['executions', 'parent_id', 'executions', 'CASCADE'],
  ['inquiries', 'execution_id', 'executions', 'CASCADE'],
  ['inquiries', 'assigned_to', 'identities', 'SET NULL'],
  ['inquiries', 'responded_by', 'identities', 'SET NULL'],
  // The data model's later tables (docs/database.md): a version's sensors and
  // files go with it; a file content goes only when no version lists it.
  ['sensors', 'pack_id', 'packs', 'CASCADE'],
  ['pack_files', 'pack_id', 'packs', 'CASCADE'],
  ['pack_files', 'content_id', 'pack_file_contents', 'RESTRICT'],
  // The rules role's queue (migration 0020): a queued event leaves the queue with it.
  ['event_queue', 'event_id', 'events', 'CASCADE'],
  // The API's tokens (migration 0027) go with their identity.
  ['api_tokens', 'identity_id', 'identities', 'CASCADE'],
  // The worker's tables (migrations 0023, 0024): an execution's replaced
  // attempts and its output go with it; an attempt outlives its worker's row.
  ['execution_attempts', 'execution_id', 'executions', 'CASCADE'],
  ['execution_attempts', 'worker_id', 'workers', 'SET NULL'],
  ['execution_output', 'execution_id', 'executions', 'CASCADE'],
];
