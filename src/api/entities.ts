/**
 * The HTTP shape of each entity: snake_case fields, timestamps as ISO text.
 * Serialising through these schemas also filters: a field that is not listed
 * (a trigger's webhook key, a password hash) can never reach a response.
 * Fields added by later migrations are optional, so an older row still
 * serialises.
 */
import { Type } from '@fastify/type-provider-typebox';
import { JsonObject, JsonValue, Nullable, NullableInteger, NullableString, NullableTimestamp, Timestamp } from './schemas.js';

const StringList = Type.Array(Type.String());

export const PackSchema = Type.Object(
  {
    id: Type.Integer(),
    ref: Type.String(),
    version: Type.String(),
    name: Type.String(),
    description: NullableString,
    author: NullableString,
    email: NullableString,
    keywords: StringList,
    dependencies: JsonObject,
    python_requirements: StringList,
    node_dependencies: JsonObject,
    conf_schema: JsonObject,
    meta: JsonObject,
    is_active: Type.Boolean(),
    is_system: Type.Boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Pack' },
);

export const ActionSchema = Type.Object(
  {
    id: Type.Integer(),
    ref: Type.String(),
    pack_id: Type.Integer(),
    pack_ref: Type.String(),
    name: Type.String(),
    label: NullableString,
    description: NullableString,
    runner_type: Type.String(),
    entry_point: Type.String(),
    runtime_id: NullableInteger,
    enabled: Type.Boolean(),
    disabled_reason: NullableString,
    param_schema: JsonObject,
    output_schema: JsonObject,
    timeout_seconds: NullableInteger,
    tags: StringList,
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Action' },
);

export const TriggerSchema = Type.Object(
  {
    id: Type.Integer(),
    ref: Type.String(),
    pack_id: NullableInteger,
    pack_ref: Type.String(),
    name: Type.String(),
    label: NullableString,
    description: NullableString,
    enabled: Type.Boolean(),
    param_schema: JsonObject,
    payload_schema: JsonObject,
    webhook_enabled: Type.Boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Trigger' },
);

export const RuleSchema = Type.Object(
  {
    id: Type.Integer(),
    ref: Type.String(),
    pack_id: Type.Integer(),
    pack_ref: Type.String(),
    name: Type.String(),
    label: NullableString,
    description: NullableString,
    trigger_id: NullableInteger,
    trigger_ref: Type.String(),
    action_id: NullableInteger,
    action_ref: Type.String(),
    criteria: JsonObject,
    action_params: JsonObject,
    trigger_params: JsonObject,
    enabled: Type.Boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Rule' },
);

export const EventSchema = Type.Object(
  {
    id: Type.Integer(),
    trigger_id: NullableInteger,
    trigger_ref: Type.String(),
    payload: JsonObject,
    trigger_params: Type.Optional(JsonObject),
    source: NullableString,
    trace_id: NullableString,
    created_at: Timestamp,
  },
  { $id: 'Event' },
);

export const EnforcementSchema = Type.Object(
  {
    id: Type.Integer(),
    rule_id: NullableInteger,
    rule_ref: Type.String(),
    event_id: NullableInteger,
    trigger_ref: Type.String(),
    status: Type.String(),
    payload: JsonObject,
    criteria: JsonObject,
    resolved_params: JsonObject,
    error: Type.Optional(NullableString),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Enforcement' },
);

export const ExecutionSchema = Type.Object(
  {
    id: Type.Integer(),
    action_id: NullableInteger,
    action_ref: Type.String(),
    params: JsonObject,
    parent_id: NullableInteger,
    enforcement_id: NullableInteger,
    requested_by: NullableInteger,
    worker_id: NullableInteger,
    status: Type.String(),
    result: JsonValue,
    error: NullableString,
    attempt: Type.Integer(),
    max_attempts: Type.Integer(),
    timeout_seconds: NullableInteger,
    lease_expires_at: NullableTimestamp,
    started_at: NullableTimestamp,
    finished_at: NullableTimestamp,
    trace_id: NullableString,
    run_after: Type.Optional(Timestamp),
    runner_type: Type.Optional(NullableString),
    retry_on_timeout: Type.Optional(Type.Boolean()),
    deadline_at: Type.Optional(NullableTimestamp),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Execution' },
);

export const InquirySchema = Type.Object(
  {
    id: Type.Integer(),
    execution_id: Type.Integer(),
    prompt: Type.String(),
    response_schema: JsonObject,
    assigned_to: NullableInteger,
    status: Type.String(),
    response: Nullable(JsonObject),
    responded_by: NullableInteger,
    timeout_at: NullableTimestamp,
    responded_at: NullableTimestamp,
    route: Type.Optional(Type.String()),
    users: Type.Optional(StringList),
    roles: Type.Optional(StringList),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Inquiry' },
);

export const KeySchema = Type.Object(
  {
    id: Type.Integer(),
    ref: Type.String(),
    owner_type: Type.String(),
    owner: Type.String(),
    name: Type.String(),
    value: Type.Unknown({ description: "The value; '********' for a secret unless decrypted (?decrypt=true, admin or the owner)" }),
    secret: Type.Boolean(),
    description: NullableString,
    expires_at: NullableTimestamp,
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Key' },
);

export const IdentitySchema = Type.Object(
  {
    id: Type.Integer(),
    login: Type.String(),
    display_name: NullableString,
    email: NullableString,
    attributes: JsonObject,
    is_active: Type.Boolean(),
    has_password: Type.Boolean(),
    role: Type.String(),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Identity' },
);

export const ApiTokenSchema = Type.Object(
  {
    id: Type.Integer(),
    identity_id: Type.Integer(),
    name: Type.String(),
    kind: Type.String(),
    expires_at: NullableTimestamp,
    revoked_at: NullableTimestamp,
    last_used_at: NullableTimestamp,
    created_at: Timestamp,
  },
  { $id: 'ApiToken' },
);

export const WorkerSchema = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    worker_type: Type.String(),
    runtime_id: NullableInteger,
    host: NullableString,
    port: NullableInteger,
    status: Type.String(),
    capabilities: JsonObject,
    meta: JsonObject,
    last_heartbeat: NullableTimestamp,
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Worker' },
);

/** Every entity schema, registered once with `addSchema` so routes and the OpenAPI document refer to them by name. */
export const ENTITY_SCHEMAS = [
  PackSchema,
  ActionSchema,
  TriggerSchema,
  RuleSchema,
  EventSchema,
  EnforcementSchema,
  ExecutionSchema,
  InquirySchema,
  KeySchema,
  IdentitySchema,
  ApiTokenSchema,
  WorkerSchema,
];
