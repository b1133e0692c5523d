/**
 * The design's "Delete behaviour at a glance" (shared/design/data-model.md),
 * one row per foreign key: what the migrations, the live schema and the
 * verify manifest are all checked against.
 */
export const DATA_MODEL_FOREIGN_KEYS: readonly [table: string, column: string, target: string, onDelete: 'CASCADE' | 'SET NULL'][] = [
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
];
