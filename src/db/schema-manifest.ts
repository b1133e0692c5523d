import type { TableName } from './tables.js';

/**
 * The schema the migrations build, written out as plain data: every table
 * with its columns, keys, foreign keys (with their delete rules), unique and
 * check constraints, indexes and triggers. `attune db verify` compares the
 * live catalog to it; test/db/verify.test.ts keeps it equal to what the
 * migrations create, so a migration that changes the schema updates this file
 * in the same change.
 *
 * Column types and index definitions are written the way PostgreSQL's
 * catalog prints them (`format_type`, and `pg_get_indexdef` from `USING` on),
 * so they compare as plain strings.
 */

/** What happens to the referencing row when the referenced one is deleted. */
export type DeleteRule = 'CASCADE' | 'SET NULL' | 'SET DEFAULT' | 'RESTRICT' | 'NO ACTION';

export interface ForeignKeySpec {
  /** Constraint name; foreign keys are matched by table and columns, the name is for messages. */
  name: string;
  columns: string[];
  references: string;
  referencedColumns: string[];
  onDelete: DeleteRule;
}

export interface ConstraintSpec {
  name: string;
  columns: string[];
}

export interface IndexSpec {
  name: string;
  unique: boolean;
  /** Method, keys and predicate: `btree (trigger_ref) WHERE enabled`. */
  definition: string;
}

export interface TableSpec {
  name: TableName;
  /** Column name → `type` or `type not null`, in table order. */
  columns: Record<string, string>;
  primaryKey: ConstraintSpec;
  foreignKeys: ForeignKeySpec[];
  uniqueConstraints: ConstraintSpec[];
  /** CHECK constraint names (their expressions are the migrations' business). */
  checks: string[];
  /** Indexes that do not back a primary key or unique constraint. */
  indexes: IndexSpec[];
  /** Non-internal triggers. */
  triggers: string[];
}

export interface SchemaManifest {
  schema: string;
  /** Extensions that must be installed in the database (in any schema). */
  extensions: string[];
  /** Functions the migrations create in the schema (extension functions excluded). */
  functions: string[];
  /** In TABLES order. */
  tables: TableSpec[];
}

export const SCHEMA_MANIFEST: SchemaManifest = {
  schema: 'attune',
  extensions: ['pg_trgm'],
  functions: ['enqueue_events', 'notify_notification', 'notify_rules_changed', 'notify_sensors_changed', 'pack_search_document', 'set_updated_at'],
  tables: [
    {
      name: 'packs',
      columns: {
        id: 'bigint not null',
        ref: 'text not null',
        version: 'text not null',
        name: 'text not null',
        description: 'text',
        author: 'text',
        email: 'text',
        keywords: 'text[] not null',
        dependencies: 'jsonb not null',
        python_requirements: 'text[] not null',
        node_dependencies: 'jsonb not null',
        conf_schema: 'jsonb not null',
        config: 'jsonb not null',
        meta: 'jsonb not null',
        is_active: 'boolean not null',
        is_system: 'boolean not null',
        search_vector: 'tsvector',
        created_at: 'timestamp with time zone not null',
        updated_at: 'timestamp with time zone not null',
      },
      primaryKey: { name: 'packs_pkey', columns: ['id'] },
      foreignKeys: [],
      uniqueConstraints: [{ name: 'packs_ref_version_key', columns: ['ref', 'version'] }],
      checks: ['packs_dependencies_check', 'packs_name_check', 'packs_node_dependencies_check', 'packs_ref_check', 'packs_version_check'],
      indexes: [
        { name: 'packs_dependencies_idx', unique: false, definition: 'gin (dependencies)' },
        { name: 'packs_keywords_idx', unique: false, definition: 'gin (keywords)' },
        { name: 'packs_one_active_per_ref', unique: true, definition: 'btree (ref) WHERE is_active' },
        { name: 'packs_search_idx', unique: false, definition: 'gin (search_vector)' },
      ],
      triggers: ['packs_notify_changed', 'packs_set_updated_at'],
    },
    {
      name: 'runtimes',
      columns: {
        id: 'bigint not null',
        ref: 'text not null',
        pack_id: 'bigint',
        pack_ref: 'text not null',
        name: 'text not null',
        description: 'text',
        kind: 'text not null',
        execution_config: 'jsonb not null',
        distributions: 'jsonb not null',
        installation: 'jsonb not null',
        created_at: 'timestamp with time zone not null',
        updated_at: 'timestamp with time zone not null',
      },
      primaryKey: { name: 'runtimes_pkey', columns: ['id'] },
      foreignKeys: [
        { name: 'runtimes_pack_id_fkey', columns: ['pack_id'], references: 'packs', referencedColumns: ['id'], onDelete: 'CASCADE' },
      ],
      uniqueConstraints: [{ name: 'runtimes_pack_id_name_key', columns: ['pack_id', 'name'] }],
      checks: ['runtimes_kind_check', 'runtimes_name_check', 'runtimes_pack_ref_check', 'runtimes_ref_check', 'runtimes_ref_parts_check'],
      indexes: [
        { name: 'runtimes_builtin_ref_key', unique: true, definition: 'btree (ref) WHERE (pack_id IS NULL)' },
        { name: 'runtimes_kind_idx', unique: false, definition: 'btree (kind)' },
        { name: 'runtimes_pack_ref_idx', unique: false, definition: 'btree (pack_ref)' },
        { name: 'runtimes_ref_idx', unique: false, definition: 'btree (ref)' },
      ],
      triggers: ['runtimes_set_updated_at'],
    },
    {
      name: 'workers',
      columns: {
        id: 'bigint not null',
        name: 'text not null',
        worker_type: 'text not null',
        runtime_id: 'bigint',
        host: 'text',
        port: 'integer',
        status: 'text not null',
        capabilities: 'jsonb not null',
        meta: 'jsonb not null',
        last_heartbeat: 'timestamp with time zone',
        created_at: 'timestamp with time zone not null',
        updated_at: 'timestamp with time zone not null',
      },
      primaryKey: { name: 'workers_pkey', columns: ['id'] },
      foreignKeys: [
        { name: 'workers_runtime_id_fkey', columns: ['runtime_id'], references: 'runtimes', referencedColumns: ['id'], onDelete: 'SET NULL' },
      ],
      uniqueConstraints: [{ name: 'workers_name_key', columns: ['name'] }],
      checks: ['workers_name_check', 'workers_port_check', 'workers_status_check', 'workers_worker_type_check'],
      indexes: [
        { name: 'workers_runtime_id_idx', unique: false, definition: 'btree (runtime_id)' },
        { name: 'workers_status_heartbeat_idx', unique: false, definition: 'btree (status, last_heartbeat)' },
        { name: 'workers_worker_type_idx', unique: false, definition: 'btree (worker_type)' },
      ],
      triggers: ['workers_set_updated_at'],
    },
    {
      name: 'triggers',
      columns: {
        id: 'bigint not null',
        ref: 'text not null',
        pack_id: 'bigint',
        pack_ref: 'text not null',
        name: 'text not null',
        label: 'text',
        description: 'text',
        enabled: 'boolean not null',
        param_schema: 'jsonb not null',
        payload_schema: 'jsonb not null',
        webhook_enabled: 'boolean not null',
        webhook_key: 'text',
        created_at: 'timestamp with time zone not null',
        updated_at: 'timestamp with time zone not null',
      },
      primaryKey: { name: 'triggers_pkey', columns: ['id'] },
      foreignKeys: [
        { name: 'triggers_pack_id_fkey', columns: ['pack_id'], references: 'packs', referencedColumns: ['id'], onDelete: 'CASCADE' },
      ],
      uniqueConstraints: [
        { name: 'triggers_pack_id_name_key', columns: ['pack_id', 'name'] },
        { name: 'triggers_webhook_key_key', columns: ['webhook_key'] },
      ],
      checks: [
        'triggers_name_check',
        'triggers_pack_ref_check',
        'triggers_ref_check',
        'triggers_ref_parts_check',
        'triggers_webhook_key_check',
      ],
      indexes: [
        { name: 'triggers_builtin_ref_key', unique: true, definition: 'btree (ref) WHERE (pack_id IS NULL)' },
        { name: 'triggers_disabled_idx', unique: false, definition: 'btree (id) WHERE (NOT enabled)' },
        { name: 'triggers_enabled_idx', unique: false, definition: 'btree (id) WHERE enabled' },
        { name: 'triggers_pack_ref_idx', unique: false, definition: 'btree (pack_ref)' },
        { name: 'triggers_ref_idx', unique: false, definition: 'btree (ref)' },
      ],
      triggers: ['triggers_notify_changed', 'triggers_set_updated_at'],
    },
    {
      name: 'actions',
      columns: {
        id: 'bigint not null',
        pack_id: 'bigint not null',
        pack_ref: 'text not null',
        name: 'text not null',
        ref: 'text not null',
        label: 'text',
        description: 'text',
        runner_type: 'text not null',
        entry_point: 'text not null',
        runtime_id: 'bigint',
        enabled: 'boolean not null',
        param_schema: 'jsonb not null',
        output_schema: 'jsonb not null',
        timeout_seconds: 'integer',
        tags: 'text[] not null',
        created_at: 'timestamp with time zone not null',
        updated_at: 'timestamp with time zone not null',
        disabled_reason: 'text',
      },
      primaryKey: { name: 'actions_pkey', columns: ['id'] },
      foreignKeys: [
        { name: 'actions_pack_id_fkey', columns: ['pack_id'], references: 'packs', referencedColumns: ['id'], onDelete: 'CASCADE' },
        { name: 'actions_runtime_id_fkey', columns: ['runtime_id'], references: 'runtimes', referencedColumns: ['id'], onDelete: 'SET NULL' },
      ],
      uniqueConstraints: [{ name: 'actions_pack_id_name_key', columns: ['pack_id', 'name'] }],
      checks: [
        'actions_disabled_reason_check',
        'actions_name_check',
        'actions_pack_ref_check',
        'actions_ref_check',
        'actions_ref_parts_check',
        'actions_runner_type_check',
        'actions_timeout_seconds_check',
      ],
      indexes: [
        { name: 'actions_disabled_idx', unique: false, definition: 'btree (id) WHERE (NOT enabled)' },
        { name: 'actions_enabled_idx', unique: false, definition: 'btree (id) WHERE enabled' },
        { name: 'actions_name_trgm_idx', unique: false, definition: 'gin (name gin_trgm_ops)' },
        { name: 'actions_ref_idx', unique: false, definition: 'btree (ref)' },
        { name: 'actions_runner_type_idx', unique: false, definition: 'btree (runner_type, ref, id)' },
        { name: 'actions_runtime_id_idx', unique: false, definition: 'btree (runtime_id)' },
        { name: 'actions_tags_idx', unique: false, definition: 'gin (tags)' },
      ],
      triggers: ['actions_notify_changed', 'actions_set_updated_at'],
    },
    {
      name: 'rules',
      columns: {
        id: 'bigint not null',
        ref: 'text not null',
        pack_id: 'bigint not null',
        pack_ref: 'text not null',
        name: 'text not null',
        label: 'text',
        description: 'text',
        trigger_id: 'bigint',
        trigger_ref: 'text not null',
        action_id: 'bigint',
        action_ref: 'text not null',
        criteria: 'jsonb not null',
        action_params: 'jsonb not null',
        trigger_params: 'jsonb not null',
        enabled: 'boolean not null',
        created_at: 'timestamp with time zone not null',
        updated_at: 'timestamp with time zone not null',
      },
      primaryKey: { name: 'rules_pkey', columns: ['id'] },
      foreignKeys: [
        { name: 'rules_action_id_fkey', columns: ['action_id'], references: 'actions', referencedColumns: ['id'], onDelete: 'SET NULL' },
        { name: 'rules_pack_id_fkey', columns: ['pack_id'], references: 'packs', referencedColumns: ['id'], onDelete: 'CASCADE' },
        { name: 'rules_trigger_id_fkey', columns: ['trigger_id'], references: 'triggers', referencedColumns: ['id'], onDelete: 'SET NULL' },
      ],
      uniqueConstraints: [{ name: 'rules_pack_id_name_key', columns: ['pack_id', 'name'] }],
      checks: [
        'rules_action_params_check',
        'rules_action_ref_check',
        'rules_criteria_check',
        'rules_name_check',
        'rules_pack_ref_check',
        'rules_ref_check',
        'rules_ref_parts_check',
        'rules_trigger_params_check',
        'rules_trigger_ref_check',
      ],
      indexes: [
        { name: 'rules_action_id_idx', unique: false, definition: 'btree (action_id)' },
        { name: 'rules_action_ref_idx', unique: false, definition: 'btree (action_ref)' },
        { name: 'rules_disabled_idx', unique: false, definition: 'btree (id) WHERE (NOT enabled)' },
        { name: 'rules_ref_idx', unique: false, definition: 'btree (ref)' },
        { name: 'rules_trigger_id_idx', unique: false, definition: 'btree (trigger_id)' },
        { name: 'rules_trigger_params_enabled_idx', unique: false, definition: 'btree (trigger_ref, md5((trigger_params)::text)) WHERE enabled' },
        { name: 'rules_trigger_ref_disabled_idx', unique: false, definition: 'btree (trigger_ref) WHERE (NOT enabled)' },
        { name: 'rules_trigger_ref_enabled_idx', unique: false, definition: 'btree (trigger_ref) WHERE enabled' },
      ],
      triggers: ['rules_notify_changed', 'rules_set_updated_at'],
    },
    {
      name: 'sensors',
      columns: {
        id: 'bigint not null',
        pack_id: 'bigint not null',
        pack_ref: 'text not null',
        name: 'text not null',
        ref: 'text not null',
        label: 'text',
        description: 'text',
        entry_point: 'text not null',
        runner_type: 'text not null',
        class_name: 'text',
        trigger_types: 'text[] not null',
        param_schema: 'jsonb not null',
        parameters: 'jsonb not null',
        poll_interval: 'integer',
        enabled: 'boolean not null',
        created_at: 'timestamp with time zone not null',
        updated_at: 'timestamp with time zone not null',
      },
      primaryKey: { name: 'sensors_pkey', columns: ['id'] },
      foreignKeys: [
        { name: 'sensors_pack_id_fkey', columns: ['pack_id'], references: 'packs', referencedColumns: ['id'], onDelete: 'CASCADE' },
      ],
      uniqueConstraints: [{ name: 'sensors_pack_id_name_key', columns: ['pack_id', 'name'] }],
      checks: [
        'sensors_entry_point_check',
        'sensors_name_check',
        'sensors_pack_ref_check',
        'sensors_param_schema_check',
        'sensors_parameters_check',
        'sensors_poll_interval_check',
        'sensors_ref_check',
        'sensors_ref_parts_check',
        'sensors_runner_type_check',
      ],
      indexes: [
        { name: 'sensors_enabled_idx', unique: false, definition: 'btree (id) WHERE enabled' },
        { name: 'sensors_ref_idx', unique: false, definition: 'btree (ref)' },
        { name: 'sensors_trigger_types_idx', unique: false, definition: 'gin (trigger_types)' },
      ],
      triggers: ['sensors_notify_changed', 'sensors_set_updated_at'],
    },
    {
      name: 'schedules',
      columns: {
        id: 'bigint not null',
        trigger_ref: 'text not null',
        trigger_params: 'jsonb not null',
        params_hash: 'text',
        next_at: 'timestamp with time zone',
        last_at: 'timestamp with time zone',
        fired_count: 'bigint not null',
        missed_count: 'bigint not null',
        error: 'text',
        created_at: 'timestamp with time zone not null',
        updated_at: 'timestamp with time zone not null',
      },
      primaryKey: { name: 'schedules_pkey', columns: ['id'] },
      foreignKeys: [],
      uniqueConstraints: [{ name: 'schedules_trigger_ref_params_hash_key', columns: ['trigger_ref', 'params_hash'] }],
      checks: ['schedules_counts_check', 'schedules_error_check', 'schedules_trigger_params_check', 'schedules_trigger_ref_check'],
      indexes: [{ name: 'schedules_due_idx', unique: false, definition: 'btree (next_at) WHERE (next_at IS NOT NULL)' }],
      triggers: ['schedules_set_updated_at'],
    },
    {
      name: 'pack_file_contents',
      columns: {
        id: 'bigint not null',
        sha256: 'text not null',
        size: 'bigint not null',
        content: 'bytea not null',
        created_at: 'timestamp with time zone not null',
      },
      primaryKey: { name: 'pack_file_contents_pkey', columns: ['id'] },
      foreignKeys: [],
      uniqueConstraints: [{ name: 'pack_file_contents_sha256_key', columns: ['sha256'] }],
      checks: ['pack_file_contents_sha256_check', 'pack_file_contents_size_check'],
      indexes: [],
      triggers: [],
    },
    {
      name: 'pack_files',
      columns: {
        id: 'bigint not null',
        pack_id: 'bigint not null',
        path: 'text not null',
        size: 'bigint not null',
        content_id: 'bigint not null',
        sha256: 'text not null',
        executable: 'boolean not null',
        created_at: 'timestamp with time zone not null',
        updated_at: 'timestamp with time zone not null',
      },
      primaryKey: { name: 'pack_files_pkey', columns: ['id'] },
      foreignKeys: [
        { name: 'pack_files_content_id_fkey', columns: ['content_id'], references: 'pack_file_contents', referencedColumns: ['id'], onDelete: 'RESTRICT' },
        { name: 'pack_files_pack_id_fkey', columns: ['pack_id'], references: 'packs', referencedColumns: ['id'], onDelete: 'CASCADE' },
      ],
      uniqueConstraints: [{ name: 'pack_files_pack_id_path_key', columns: ['pack_id', 'path'] }],
      checks: ['pack_files_path_check', 'pack_files_sha256_check', 'pack_files_size_check'],
      indexes: [{ name: 'pack_files_content_id_idx', unique: false, definition: 'btree (content_id)' }],
      triggers: ['pack_files_set_updated_at'],
    },
    {
      name: 'events',
      columns: {
        id: 'bigint not null',
        trigger_id: 'bigint',
        trigger_ref: 'text not null',
        payload: 'jsonb not null',
        source: 'text',
        trace_id: 'text',
        created_at: 'timestamp with time zone not null',
        trigger_params: 'jsonb not null',
      },
      primaryKey: { name: 'events_pkey', columns: ['id'] },
      foreignKeys: [
        { name: 'events_trigger_id_fkey', columns: ['trigger_id'], references: 'triggers', referencedColumns: ['id'], onDelete: 'SET NULL' },
      ],
      uniqueConstraints: [],
      checks: ['events_payload_check', 'events_trigger_params_check', 'events_trigger_ref_check'],
      indexes: [
        { name: 'events_created_at_idx', unique: false, definition: 'btree (created_at DESC, id DESC)' },
        { name: 'events_source_created_at_idx', unique: false, definition: 'btree (source, created_at DESC, id DESC)' },
        { name: 'events_trace_id_idx', unique: false, definition: 'btree (trace_id) WHERE (trace_id IS NOT NULL)' },
        { name: 'events_trigger_id_idx', unique: false, definition: 'btree (trigger_id)' },
        { name: 'events_trigger_ref_created_at_idx', unique: false, definition: 'btree (trigger_ref, created_at DESC, id DESC)' },
      ],
      triggers: ['events_enqueue'],
    },
    {
      name: 'event_queue',
      columns: {
        id: 'bigint not null',
        event_id: 'bigint not null',
        created_at: 'timestamp with time zone not null',
      },
      primaryKey: { name: 'event_queue_pkey', columns: ['id'] },
      foreignKeys: [
        { name: 'event_queue_event_id_fkey', columns: ['event_id'], references: 'events', referencedColumns: ['id'], onDelete: 'CASCADE' },
      ],
      uniqueConstraints: [{ name: 'event_queue_event_id_key', columns: ['event_id'] }],
      checks: [],
      indexes: [],
      triggers: [],
    },
    {
      name: 'enforcements',
      columns: {
        id: 'bigint not null',
        rule_id: 'bigint',
        rule_ref: 'text not null',
        event_id: 'bigint',
        trigger_ref: 'text not null',
        status: 'text not null',
        payload: 'jsonb not null',
        criteria: 'jsonb not null',
        resolved_params: 'jsonb not null',
        created_at: 'timestamp with time zone not null',
        updated_at: 'timestamp with time zone not null',
        error: 'text',
      },
      primaryKey: { name: 'enforcements_pkey', columns: ['id'] },
      foreignKeys: [
        { name: 'enforcements_event_id_fkey', columns: ['event_id'], references: 'events', referencedColumns: ['id'], onDelete: 'SET NULL' },
        { name: 'enforcements_rule_id_fkey', columns: ['rule_id'], references: 'rules', referencedColumns: ['id'], onDelete: 'SET NULL' },
      ],
      uniqueConstraints: [],
      checks: [
        'enforcements_criteria_check',
        'enforcements_payload_check',
        'enforcements_resolved_params_check',
        'enforcements_rule_ref_check',
        'enforcements_status_check',
        'enforcements_trigger_ref_check',
      ],
      indexes: [
        { name: 'enforcements_created_at_idx', unique: false, definition: 'btree (created_at DESC, id DESC)' },
        { name: 'enforcements_event_id_idx', unique: false, definition: 'btree (event_id)' },
        { name: 'enforcements_rule_event_key', unique: true, definition: 'btree (rule_id, event_id) WHERE ((rule_id IS NOT NULL) AND (event_id IS NOT NULL))' },
        { name: 'enforcements_rule_id_idx', unique: false, definition: 'btree (rule_id)' },
        { name: 'enforcements_rule_ref_created_at_idx', unique: false, definition: 'btree (rule_ref, created_at DESC, id DESC)' },
        { name: 'enforcements_status_created_at_idx', unique: false, definition: 'btree (status, created_at, id)' },
      ],
      triggers: ['enforcements_set_updated_at'],
    },
    {
      name: 'identities',
      columns: {
        id: 'bigint not null',
        login: 'text not null',
        display_name: 'text',
        email: 'text',
        password_hash: 'text',
        has_password: 'boolean',
        attributes: 'jsonb not null',
        is_active: 'boolean not null',
        created_at: 'timestamp with time zone not null',
        updated_at: 'timestamp with time zone not null',
      },
      primaryKey: { name: 'identities_pkey', columns: ['id'] },
      foreignKeys: [],
      uniqueConstraints: [],
      checks: ['identities_login_check'],
      indexes: [
        { name: 'identities_display_name_lower_pattern_idx', unique: false, definition: 'btree (lower(display_name) text_pattern_ops)' },
        { name: 'identities_is_active_idx', unique: false, definition: 'btree (is_active)' },
        { name: 'identities_login_lower_key', unique: true, definition: 'btree (lower(login))' },
        { name: 'identities_login_lower_pattern_idx', unique: false, definition: 'btree (lower(login) text_pattern_ops)' },
      ],
      triggers: ['identities_set_updated_at'],
    },
    {
      name: 'executions',
      columns: {
        id: 'bigint not null',
        action_id: 'bigint',
        action_ref: 'text not null',
        params: 'jsonb not null',
        parent_id: 'bigint',
        enforcement_id: 'bigint',
        requested_by: 'bigint',
        worker_id: 'bigint',
        status: 'text not null',
        result: 'jsonb',
        error: 'text',
        attempt: 'integer not null',
        max_attempts: 'integer not null',
        timeout_seconds: 'integer',
        lease_expires_at: 'timestamp with time zone',
        started_at: 'timestamp with time zone',
        finished_at: 'timestamp with time zone',
        trace_id: 'text',
        created_at: 'timestamp with time zone not null',
        updated_at: 'timestamp with time zone not null',
      },
      primaryKey: { name: 'executions_pkey', columns: ['id'] },
      foreignKeys: [
        { name: 'executions_action_id_fkey', columns: ['action_id'], references: 'actions', referencedColumns: ['id'], onDelete: 'SET NULL' },
        { name: 'executions_enforcement_id_fkey', columns: ['enforcement_id'], references: 'enforcements', referencedColumns: ['id'], onDelete: 'SET NULL' },
        { name: 'executions_parent_id_fkey', columns: ['parent_id'], references: 'executions', referencedColumns: ['id'], onDelete: 'CASCADE' },
        { name: 'executions_requested_by_fkey', columns: ['requested_by'], references: 'identities', referencedColumns: ['id'], onDelete: 'SET NULL' },
        { name: 'executions_worker_id_fkey', columns: ['worker_id'], references: 'workers', referencedColumns: ['id'], onDelete: 'SET NULL' },
      ],
      uniqueConstraints: [],
      checks: [
        'executions_action_ref_check',
        'executions_attempt_check',
        'executions_lease_expires_at_check',
        'executions_max_attempts_check',
        'executions_parent_id_check',
        'executions_status_check',
        'executions_timeout_seconds_check',
        'executions_worker_id_check',
      ],
      indexes: [
        { name: 'executions_action_id_idx', unique: false, definition: 'btree (action_id)' },
        { name: 'executions_action_ref_created_at_idx', unique: false, definition: 'btree (action_ref, created_at DESC, id DESC)' },
        { name: 'executions_created_at_idx', unique: false, definition: 'btree (created_at, id)' },
        { name: 'executions_enforcement_id_idx', unique: false, definition: 'btree (enforcement_id)' },
        { name: 'executions_lease_idx', unique: false, definition: "btree (lease_expires_at) WHERE (status = ANY (ARRAY['scheduled'::text, 'running'::text, 'canceling'::text]))" },
        { name: 'executions_parent_id_idx', unique: false, definition: 'btree (parent_id)' },
        { name: 'executions_requested_by_idx', unique: false, definition: 'btree (requested_by)' },
        { name: 'executions_runnable_idx', unique: false, definition: "btree (created_at, id) WHERE (status = 'requested'::text)" },
        { name: 'executions_status_created_at_idx', unique: false, definition: 'btree (status, created_at, id)' },
        { name: 'executions_worker_id_idx', unique: false, definition: 'btree (worker_id)' },
      ],
      triggers: ['executions_set_updated_at'],
    },
    {
      name: 'inquiries',
      columns: {
        id: 'bigint not null',
        execution_id: 'bigint not null',
        prompt: 'text not null',
        response_schema: 'jsonb not null',
        assigned_to: 'bigint',
        status: 'text not null',
        response: 'jsonb',
        responded_by: 'bigint',
        timeout_at: 'timestamp with time zone',
        responded_at: 'timestamp with time zone',
        created_at: 'timestamp with time zone not null',
        updated_at: 'timestamp with time zone not null',
      },
      primaryKey: { name: 'inquiries_pkey', columns: ['id'] },
      foreignKeys: [
        { name: 'inquiries_assigned_to_fkey', columns: ['assigned_to'], references: 'identities', referencedColumns: ['id'], onDelete: 'SET NULL' },
        { name: 'inquiries_execution_id_fkey', columns: ['execution_id'], references: 'executions', referencedColumns: ['id'], onDelete: 'CASCADE' },
        { name: 'inquiries_responded_by_fkey', columns: ['responded_by'], references: 'identities', referencedColumns: ['id'], onDelete: 'SET NULL' },
      ],
      uniqueConstraints: [],
      checks: ['inquiries_prompt_check', 'inquiries_response_check', 'inquiries_status_check'],
      indexes: [
        { name: 'inquiries_assigned_to_idx', unique: false, definition: 'btree (assigned_to)' },
        { name: 'inquiries_execution_id_idx', unique: false, definition: 'btree (execution_id)' },
        { name: 'inquiries_responded_by_idx', unique: false, definition: 'btree (responded_by)' },
        { name: 'inquiries_status_timeout_at_idx', unique: false, definition: 'btree (status, timeout_at)' },
      ],
      triggers: ['inquiries_set_updated_at'],
    },
    {
      name: 'keys',
      columns: {
        id: 'bigint not null',
        owner_type: 'text not null',
        owner: 'text not null',
        name: 'text not null',
        ref: 'text',
        value: 'jsonb not null',
        encrypted: 'boolean not null',
        encryption_key_id: 'text',
        description: 'text',
        expires_at: 'timestamp with time zone',
        created_at: 'timestamp with time zone not null',
        updated_at: 'timestamp with time zone not null',
      },
      primaryKey: { name: 'keys_pkey', columns: ['id'] },
      foreignKeys: [],
      uniqueConstraints: [
        { name: 'keys_owner_type_name_key', columns: ['owner_type', 'owner', 'name'] },
        { name: 'keys_ref_key', columns: ['ref'] },
      ],
      checks: ['keys_encrypted_check', 'keys_name_check', 'keys_owner_check', 'keys_owner_type_check'],
      indexes: [
        { name: 'keys_encryption_key_id_idx', unique: false, definition: 'btree (encryption_key_id) WHERE encrypted' },
        { name: 'keys_expires_at_idx', unique: false, definition: 'btree (expires_at) WHERE (expires_at IS NOT NULL)' },
        { name: 'keys_name_pattern_idx', unique: false, definition: 'btree (name text_pattern_ops)' },
      ],
      triggers: ['keys_set_updated_at'],
    },
    {
      name: 'notifications',
      columns: {
        id: 'bigint not null',
        channel: 'text not null',
        entity_type: 'text not null',
        entity_id: 'bigint not null',
        activity: 'text not null',
        state: 'text not null',
        content: 'jsonb not null',
        error: 'text',
        created_at: 'timestamp with time zone not null',
        updated_at: 'timestamp with time zone not null',
      },
      primaryKey: { name: 'notifications_pkey', columns: ['id'] },
      foreignKeys: [],
      uniqueConstraints: [],
      checks: [
        'notifications_activity_check',
        'notifications_channel_check',
        'notifications_entity_type_check',
        'notifications_state_check',
      ],
      indexes: [
        { name: 'notifications_channel_created_at_idx', unique: false, definition: 'btree (channel, created_at)' },
        { name: 'notifications_created_at_idx', unique: false, definition: 'btree (created_at)' },
        { name: 'notifications_entity_idx', unique: false, definition: 'btree (entity_type, entity_id)' },
        { name: 'notifications_state_created_at_idx', unique: false, definition: 'btree (state, created_at)' },
      ],
      triggers: ['notifications_notify', 'notifications_set_updated_at'],
    },
  ],
};
