/** The API's entities as the UI reads them (docs/api.md; the OpenAPI document is the reference). */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: Json[];
  default?: Json;
  description?: string;
  secret?: boolean;
  immutable?: boolean;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: JsonSchema;
  title?: string;
  position?: number;
}

export interface Pack {
  id: number;
  ref: string;
  version: string;
  name: string;
  description: string | null;
  is_active: boolean;
  is_system: boolean;
  keywords: string[];
  created_at: string;
  versions?: { version: string; is_active: boolean; created_at: string }[];
}

export interface Action {
  id: number;
  ref: string;
  pack_ref: string;
  name: string;
  description: string | null;
  runner_type: string;
  enabled: boolean;
  disabled_reason: string | null;
  param_schema: JsonSchema;
  timeout_seconds: number | null;
  tags: string[];
}

export interface Rule {
  id: number;
  ref: string;
  pack_ref: string;
  name: string;
  description: string | null;
  trigger_ref: string;
  action_ref: string;
  criteria: JsonObject;
  action_params: JsonObject;
  trigger_params: JsonObject;
  enabled: boolean;
  updated_at: string;
}

export interface AttuneEvent {
  id: number;
  trigger_ref: string;
  payload: JsonObject;
  trigger_params?: JsonObject;
  source: string | null;
  trace_id: string | null;
  created_at: string;
}

export interface Enforcement {
  id: number;
  rule_id: number | null;
  rule_ref: string;
  event_id: number | null;
  trigger_ref: string;
  status: string;
  resolved_params: JsonObject;
  error?: string | null;
  created_at: string;
}

export interface Execution {
  id: number;
  action_ref: string;
  params: JsonObject;
  parent_id: number | null;
  enforcement_id: number | null;
  status: string;
  result: Json;
  error: string | null;
  attempt: number;
  max_attempts: number;
  timeout_seconds: number | null;
  started_at: string | null;
  finished_at: string | null;
  created_at: string;
  updated_at: string;
  attempts?: Json;
}

export interface Inquiry {
  id: number;
  execution_id: number;
  prompt: string;
  response_schema: JsonSchema;
  status: string;
  response: JsonObject | null;
  timeout_at: string | null;
  responded_at: string | null;
  created_at: string;
}

export interface Key {
  id: number;
  ref: string;
  owner_type: string;
  owner: string;
  name: string;
  value: Json;
  secret: boolean;
  description: string | null;
  expires_at: string | null;
}

export interface Worker {
  id: number;
  name: string;
  worker_type: string;
  status: string;
  last_heartbeat: string | null;
}

export interface WhoAmI {
  login: string;
  role: 'viewer' | 'operator' | 'admin';
  token_id: number | null;
}

/** Statuses after which an execution never changes again. */
export const FINAL_STATUSES = new Set(['succeeded', 'failed', 'timeout', 'canceled', 'abandoned']);
export const EXECUTION_STATUSES = ['requested', 'scheduled', 'running', 'paused', 'succeeded', 'failed', 'timeout', 'canceling', 'canceled', 'abandoned'];
