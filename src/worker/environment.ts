/**
 * The environment an action's process gets: built from nothing, never copied
 * from the worker's own (which holds Attune's database URL and encryption
 * key). PATH, HOME and LANG, the variables the action declares, and Attune's
 * context variables with StackStorm's names beside them.
 */

/** The PATH a process gets unless the worker is configured otherwise. */
export const DEFAULT_SAFE_PATH = '/usr/local/bin:/usr/bin:/bin';

/** The locale every process gets unless the action declares another. */
export const DEFAULT_LANG = 'C.UTF-8';

export interface ChildEnvironmentInput {
  executionId: number;
  actionRef: string;
  packRef: string;
  /** The run's home folder. */
  home: string;
  /** Variables the action declares (its `env` parameter); they may override PATH, HOME and LANG. */
  declared?: Record<string, string>;
  /** Variables a runner adds (parameters exported by the shell runner, PYTHONPATH, ...); below `declared`. */
  runnerVariables?: Record<string, string>;
  /** Variables a runner fixes (they win over `declared`): PYTHONPATH for the shim, for instance. */
  fixedVariables?: Record<string, string>;
  apiUrl?: string;
  token?: string;
  /** PATH when the action declares none; default `DEFAULT_SAFE_PATH`. */
  path?: string;
}

/** Names only Attune sets: an action cannot declare them. */
export function isReservedVariable(name: string): boolean {
  return name.startsWith('ATTUNE_') || name.startsWith('ST2_');
}

/** True for names a shell can export (letters, digits, underscore; not starting with a digit). */
export function isValidVariableName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}

/**
 * The complete environment of an action's process. Later layers win:
 * defaults, runner variables, declared variables, fixed runner variables,
 * then Attune's context, which nothing overrides.
 */
export function buildChildEnvironment(input: ChildEnvironmentInput): Record<string, string> {
  const env: Record<string, string> = {
    PATH: input.path ?? DEFAULT_SAFE_PATH,
    HOME: input.home,
    LANG: DEFAULT_LANG,
  };
  for (const layer of [input.runnerVariables, input.declared, input.fixedVariables]) {
    for (const [name, value] of Object.entries(layer ?? {})) {
      if (isReservedVariable(name) || !isValidVariableName(name) || name.includes('\0') || value.includes('\0')) continue;
      env[name] = value;
    }
  }
  const context: Record<string, string | undefined> = {
    ATTUNE_EXECUTION_ID: String(input.executionId),
    ATTUNE_ACTION_REF: input.actionRef,
    ATTUNE_PACK_REF: input.packRef,
    ATTUNE_API_URL: input.apiUrl,
    ATTUNE_AUTH_TOKEN: input.token,
    // StackStorm's names, which its actions and its client library read.
    ST2_ACTION_PACK_NAME: input.packRef,
    ST2_ACTION_EXECUTION_ID: String(input.executionId),
    ST2_ACTION_API_URL: input.apiUrl,
    ST2_ACTION_AUTH_TOKEN: input.token,
    ST2_API_URL: input.apiUrl,
    ST2_AUTH_TOKEN: input.token,
  };
  for (const [name, value] of Object.entries(context)) if (value !== undefined && value !== '') env[name] = value;
  return env;
}

/** The action's `env` parameter as strings: scalars as text, other values as JSON; null and undefined dropped. */
export function declaredEnvironment(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  const env: Record<string, string> = {};
  for (const [name, item] of Object.entries(value as Record<string, unknown>)) {
    const text = environmentValue(item);
    if (text !== undefined) env[name] = text;
  }
  return env;
}

/** A parameter value as an environment variable's text; undefined for null and undefined. */
export function environmentValue(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
