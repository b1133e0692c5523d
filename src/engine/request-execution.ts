/**
 * Execution requests: an action's parameters checked against its schema
 * (defaults applied, unknown parameters refused unless the schema allows
 * them, immutable parameters kept at their default), secret parameters
 * encrypted, and the `requested` execution written. The rule engine prepares
 * parameters with `prepareExecutionParams` and writes its batch itself;
 * requests by hand (API, CLI, workflows) call `requestExecution`.
 *
 * A secret parameter (`secret: true` in the action's schema) is stored as
 * `{"$secret": "<ciphertext>"}`: the worker reveals it with
 * `revealSecretParams`; everything else shows `maskSecretParams` (`********`).
 */
import { isDeepStrictEqual } from 'node:util';
import { ENCRYPTION_KEY_SETTING, SecretCipher } from '../crypto/secrets.js';
import type { Executor } from '../db/pool.js';
import { ConfigError, DecryptionError, InvalidReferenceError, ValidationError } from '../errors.js';
import { isComponentRef } from '../refs.js';
import { ActionRepository, type Action } from '../repositories/actions.js';
import { ExecutionRepository, type Execution } from '../repositories/executions.js';
import type { JsonObject } from '../repositories/packs.js';
import type { TemplateContext } from '../rules/templates/index.js';
import type { ValidateFunction } from 'ajv';
import { compileSchema, describeSchemaErrors, firstErrorField } from './json-schema-validator.js';
import { isRenderedDefault, renderParameterDefaults, templatesIn } from './parameter-defaults.js';

/** The key of a stored secret parameter: `{"$secret": "<ciphertext>"}`. */
export const SECRET_PARAM_KEY = '$secret';
/** What a secret parameter shows everywhere but in the runner. */
export const MASKED_PARAM = '********';

/** What an execution request needs of its action. */
export type RequestedAction = Pick<Action, 'id' | 'ref' | 'enabled' | 'disabledReason' | 'paramSchema' | 'updatedAt'>;

/** Options of `requestExecution`. */
export interface RequestExecutionOptions {
  enforcementId?: number | null;
  /** The workflow execution this one is a step of. */
  parentId?: number | null;
  /** The identity that asked for it. */
  requestedBy?: number | null;
  traceId?: string | null;
  /** Default: the action's timeout. */
  timeoutSeconds?: number | null;
  /** Default 1 (no retry). */
  maxAttempts?: number;
  /** Encrypts secret parameters; required when the action has any and they are given. */
  cipher?: SecretCipher | undefined;
}

/** Parameters ready to store, and the same for display. */
export interface PreparedParams {
  /** Defaults applied, secrets as `{"$secret": …}`. */
  params: JsonObject;
  /** Defaults applied, secrets as `********`. */
  masked: JsonObject;
}

const ENTITY = 'execution';

/**
 * Requests a run of `actionRef` (the action in the active version of its
 * pack) with `params`, and returns the `requested` execution. Refused, with
 * nothing written: an action that does not exist (InvalidReferenceError), a
 * disabled one (ValidationError with its reason), parameters that break the
 * action's schema (ValidationError naming the parameter), a secret parameter
 * without an encryption key (ConfigError).
 */
export async function requestExecution(db: Executor, actionRef: string, params: JsonObject = {}, options: RequestExecutionOptions = {}): Promise<Execution> {
  if (!isComponentRef(actionRef)) {
    throw new ValidationError(`${ENTITY}.actionRef must be an action ref '<pack>.<name>', got ${JSON.stringify(actionRef)}`, { entity: ENTITY, field: 'actionRef' });
  }
  const action = await ActionRepository.findByRef(db, actionRef);
  if (action === null) {
    throw new InvalidReferenceError(`${ENTITY}.actionRef '${actionRef}' names no action in the active version of its pack`, {
      entity: ENTITY,
      field: 'actionRef',
      value: actionRef,
    });
  }
  assertActionRunnable(action);
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw new ValidationError(`${ENTITY}.params must be an object of parameter → value`, { entity: ENTITY, field: 'params' });
  }
  // Templated defaults rendered as the rule engine renders them, so both paths run the same command.
  const rendered = await renderParameterDefaults(db, action, withoutNullForNullDefault(action, { ...params }), {
    cipher: options.cipher,
    requestedBy: options.requestedBy,
    parentId: options.parentId,
  });
  const prepared = prepareExecutionParams(action, rendered.params, options.cipher, rendered.context);
  return ExecutionRepository.create(db, {
    actionId: action.id,
    params: prepared.params,
    ...(options.enforcementId !== undefined ? { enforcementId: options.enforcementId } : {}),
    ...(options.parentId !== undefined ? { parentId: options.parentId } : {}),
    ...(options.requestedBy !== undefined ? { requestedBy: options.requestedBy } : {}),
    ...(options.traceId !== undefined ? { traceId: options.traceId } : {}),
    ...(options.timeoutSeconds !== undefined ? { timeoutSeconds: options.timeoutSeconds } : {}),
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
  });
}

/** ValidationError, with the action's reason, when the action is disabled. */
export function assertActionRunnable(action: RequestedAction): void {
  if (!action.enabled) {
    const reason = action.disabledReason ? `: ${action.disabledReason}` : '';
    throw new ValidationError(`action '${action.ref}' is disabled${reason}`, { entity: ENTITY, field: 'actionRef', value: action.ref });
  }
}

/**
 * Checks `params` against `action`: enabled, immutable parameters left at
 * their default, the parameter schema (defaults applied), and encrypts the
 * secret ones. Throws as `requestExecution` does; pure but for the cipher.
 * Returns the parameters to store and their masked twin.
 *
 * `params` come rendered: templated defaults already rendered (the rule
 * engine's `renderActionParameters`, or `renderParameterDefaults` by hand),
 * as defaults filled in here are taken as they are. An immutable parameter
 * whose default is a template is kept at its default when its value is that
 * default rendered against the other parameters (and `context`, the names
 * it was rendered with, when given).
 */
export function prepareExecutionParams(action: RequestedAction, params: unknown, cipher: SecretCipher | undefined, context?: TemplateContext): PreparedParams {
  assertActionRunnable(action);
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw new ValidationError(`${ENTITY}.params must be an object of parameter → value`, { entity: ENTITY, field: 'params' });
  }
  const plan = paramsPlanOf(action);
  // Only the top level is changed here; ajv fills defaults deeper only when the schema declares some there.
  const values = plan.nestedDefaults ? (structuredClone(params) as JsonObject) : { ...(params as JsonObject) };
  for (const name of plan.nullDefaults) if (values[name] === null) delete values[name];
  for (const [name, property] of plan.immutable) {
    if (Object.hasOwn(values, name)) {
      if (isDeepStrictEqual(values[name], property.default) && !templatesIn(property.default)) continue;
      if (isRenderedDefault(name, values[name], property, values, context)) continue;
      throw new ValidationError(`parameter '${name}' of action '${action.ref}' is immutable: it keeps its default`, { entity: ENTITY, field: `params.${name}` });
    }
    if (Object.hasOwn(property, 'default') && property.default !== null) values[name] = structuredClone(property.default);
  }
  const validate = plan.validate;
  if (validate !== null && !validate(values)) {
    throw new ValidationError(`parameters of action '${action.ref}' do not validate: ${describeSchemaErrors(validate.errors, 'params')}`, {
      entity: ENTITY,
      field: firstErrorField(validate.errors, 'params'),
    });
  }
  if (plan.secrets.length === 0) return { params: values, masked: values };
  const secrets = plan.secrets.filter((name) => values[name] !== undefined);
  if (secrets.length === 0) return { params: values, masked: values };
  if (cipher === undefined) {
    throw new ConfigError(
      ENCRYPTION_KEY_SETTING,
      `is not set, and action '${action.ref}' has secret parameters (${secrets.join(', ')}), which are stored encrypted`,
    );
  }
  const stored: JsonObject = { ...values };
  const masked: JsonObject = { ...values };
  for (const name of secrets) {
    stored[name] = { [SECRET_PARAM_KEY]: cipher.encrypt(values[name], secretAad(name)) };
    masked[name] = MASKED_PARAM;
  }
  return { params: stored, masked };
}

/** What `prepareExecutionParams` needs of an action's schema, worked out once per version of the action. */
interface ParamsPlan {
  /** The action's paramSchema object this plan was made from (a new object means a re-read row: checked again). */
  schema: unknown;
  /** The compiled validator (null defaults dropped), or null when the schema is empty. */
  validate: ValidateFunction | null;
  /** Top-level parameters marked `secret: true`. */
  secrets: string[];
  /** Top-level parameters marked `immutable: true`, with their property. */
  immutable: [string, Record<string, unknown>][];
  /** Top-level parameters whose default is null ("no value"). */
  nullDefaults: string[];
  /** Whether the schema declares a default below the top level (ajv then fills the given values in: cloned first). */
  nestedDefaults: boolean;
}

/** Plans kept (each with its compiled validator), least recently used dropped first. */
const PLAN_CACHE_SIZE = 500;
const plans = new Map<string, ParamsPlan>();

/**
 * The plan of `action`'s parameters, cached under its id and updated_at (an
 * edit of the action bumps updated_at, so it is planned again). The schema
 * object is compared too, so a caller holding a changed schema under the
 * same key (a test, an action built by hand) never gets a stale plan.
 */
function paramsPlanOf(action: RequestedAction): ParamsPlan {
  const key = `${action.id}:${action.updatedAt.getTime()}`;
  const cached = plans.get(key);
  if (cached !== undefined && (cached.schema === action.paramSchema || isDeepStrictEqual(cached.schema, action.paramSchema))) {
    // The same schema read again: the next call with this object is found by identity.
    cached.schema = action.paramSchema;
    plans.delete(key);
    plans.set(key, cached);
    return cached;
  }
  const schema = action.paramSchema as Record<string, unknown>;
  const properties = propertiesOf(schema);
  const entries = Object.entries(properties);
  const plan: ParamsPlan = {
    schema: action.paramSchema,
    validate: Object.keys(schema).length > 0 ? compileSchema({ ...withoutNullDefaults(schema), type: 'object' }) : null,
    secrets: secretNames(schema),
    immutable: entries.filter(([, property]) => property.immutable === true),
    nullDefaults: entries.filter(([, property]) => property.default === null).map(([name]) => name),
    nestedDefaults: entries.some(([, property]) => declaresDefault(property, true)),
  };
  if (cached !== undefined) plans.delete(key);
  else if (plans.size >= PLAN_CACHE_SIZE) plans.delete(plans.keys().next().value!);
  plans.set(key, plan);
  return plan;
}

/** Whether `schema` has a `default` anywhere below its own (which `skipOwn` leaves out: a top-level parameter's default). */
function declaresDefault(schema: unknown, skipOwn: boolean): boolean {
  if (schema === null || typeof schema !== 'object') return false;
  if (Array.isArray(schema)) return schema.some((item) => declaresDefault(item, false));
  for (const [keyword, value] of Object.entries(schema)) {
    if (keyword === 'default') {
      if (!skipOwn) return true;
      continue;
    }
    if (declaresDefault(value, false)) return true;
  }
  return false;
}

/**
 * The parameters with every stored secret decrypted: for the runner only,
 * never for a log or a response. DecryptionError when a secret cannot be
 * decrypted with `cipher` (or no cipher is configured).
 */
export function revealSecretParams(params: JsonObject, schema: Record<string, unknown>, cipher: SecretCipher | undefined): JsonObject {
  const revealed: JsonObject = { ...params };
  for (const name of secretNames(schema)) {
    const ciphertext = storedSecret(params[name]);
    if (ciphertext === undefined) continue;
    if (cipher === undefined) {
      throw new DecryptionError(`parameter '${name}' is stored encrypted but no encryption key is configured: set ${ENCRYPTION_KEY_SETTING}`, {
        entity: ENTITY,
        field: `params.${name}`,
      });
    }
    revealed[name] = cipher.decrypt(ciphertext, secretAad(name));
  }
  return revealed;
}

/**
 * The parameters for display: every secret parameter of the schema, and any
 * stored secret whatever the schema says, as `********`.
 */
export function maskSecretParams(params: JsonObject, schema: Record<string, unknown>): JsonObject {
  const masked: JsonObject = { ...params };
  const secrets = new Set(secretNames(schema));
  for (const [name, value] of Object.entries(params)) {
    if (secrets.has(name) || storedSecret(value) !== undefined) masked[name] = MASKED_PARAM;
  }
  return masked;
}

/** The ciphertext of a stored secret parameter, or undefined for any other value. */
function storedSecret(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  const text = (value as Record<string, unknown>)[SECRET_PARAM_KEY];
  return keys.length === 1 && SecretCipher.isCiphertext(text) ? text : undefined;
}

/**
 * A null default is "no value" in StackStorm's form (sudo_password): a null
 * given for it (a rule's rendered parameters carry the action's defaults) is
 * no value either, and none is filled in. Returns `params`, changed.
 */
function withoutNullForNullDefault(action: RequestedAction, params: JsonObject): JsonObject {
  for (const [name, property] of Object.entries(propertiesOf(action.paramSchema as Record<string, unknown>))) {
    if (property.default === null && params[name] === null) delete params[name];
  }
  return params;
}

/**
 * The schema without `default: null` on its parameters: in StackStorm's form
 * a null default means "no value" (the runners' `sudo_password`), so it is
 * not filled in (ajv would fill null and then refuse it as not a string).
 */
function withoutNullDefaults(schema: Record<string, unknown>): Record<string, unknown> {
  const properties = propertiesOf(schema);
  if (!Object.values(properties).some((property) => property.default === null)) return schema;
  const kept = Object.fromEntries(
    Object.entries(properties).map(([name, property]) => {
      if (property.default !== null) return [name, property];
      const { default: _none, ...rest } = property;
      return [name, rest];
    }),
  );
  return { ...schema, properties: kept };
}

/** The names of the top-level parameters marked `secret: true`. */
export function secretNames(schema: Record<string, unknown>): string[] {
  return Object.entries(propertiesOf(schema))
    .filter(([, property]) => property.secret === true)
    .map(([name]) => name);
}

function propertiesOf(schema: Record<string, unknown>): Record<string, Record<string, unknown>> {
  const properties = schema.properties;
  return properties !== null && typeof properties === 'object' && !Array.isArray(properties) ? (properties as Record<string, Record<string, unknown>>) : {};
}

/** The authenticated data a secret parameter's ciphertext is bound to: the parameter's name. */
function secretAad(name: string): string {
  return `execution-param:${name}`;
}
