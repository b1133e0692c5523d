/**
 * Action parameter defaults for a request by hand (API, CLI, re-run): the
 * defaults are Jinja templates (rules.md), as on the rule engine's path, so
 * `core.sleep`'s `cmd: 'sleep {{ seconds }}'` reaches the runner as
 * `sleep 5` whichever path asked for the run. The defaults of the parameters
 * not given are rendered in dependency order against the given parameters
 * (taken as they are: a value given by hand is data, not a template), the
 * action's pack configuration (`config`, `config_context`), the key store
 * (`st2kv`, `keys`) and `action_context`; each is cast to its declared type.
 */
import { isDeepStrictEqual } from 'node:util';
import type { SecretCipher } from '../crypto/secrets.js';
import type { Executor } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';
import { resolvePackConfig } from '../packs/pack-config.js';
import type { Action } from '../repositories/actions.js';
import { IdentityRepository } from '../repositories/identities.js';
import type { JsonObject } from '../repositories/packs.js';
import { prepareActionParameters, type ActionParameterSchema, type TemplateContext } from '../rules/templates/index.js';
import { containsTemplate } from '../rules/template-syntax.js';
import { loadKeyStoreView } from './key-store-loader.js';

/** What rendering the defaults of a request by hand needs besides the action and the parameters. */
export interface DefaultsRenderOptions {
  cipher?: SecretCipher | undefined;
  /** The identity that asked: its login is `action_context.user`. */
  requestedBy?: number | null | undefined;
  /** The workflow execution this one is a step of, `action_context.parent`. */
  parentId?: number | null | undefined;
}

/** The parameters with their defaults rendered, and the context they were rendered against (for checking immutable ones). */
export interface RenderedDefaults {
  params: JsonObject;
  /** Undefined when no default of the action is a template (nothing was rendered). */
  context: TemplateContext | undefined;
}

type Properties = Record<string, Record<string, unknown>>;

/**
 * `given` with the defaults of the parameters not given filled in, the
 * templated ones rendered. An immutable parameter given exactly as its raw
 * default counts as not given (it gets the rendered default). Reads the key
 * store, the pack configuration and the identity only when a templated
 * default names them. Throws TemplateError naming the parameter when a
 * default cannot be rendered.
 */
export async function renderParameterDefaults(
  db: Executor,
  action: Pick<Action, 'packRef' | 'paramSchema'>,
  given: JsonObject,
  options: DefaultsRenderOptions = {},
): Promise<RenderedDefaults> {
  const properties = propertiesOf(action.paramSchema);
  const templated = Object.entries(properties).filter(([, property]) => Object.hasOwn(property, 'default') && templatesIn(property.default));
  if (templated.length === 0) return { params: given, context: undefined };

  const values: JsonObject = { ...given };
  for (const [name, property] of templated) {
    if (property.immutable === true && Object.hasOwn(values, name) && isDeepStrictEqual(values[name], property.default)) delete values[name];
  }
  // Every default not given takes part, templated or not: a template may read a plain default.
  const defaulted: Properties = {};
  for (const [name, property] of Object.entries(properties)) {
    if (!Object.hasOwn(values, name) && Object.hasOwn(property, 'default') && property.default !== null) defaulted[name] = property;
  }
  const text = JSON.stringify(templated.map(([, property]) => property.default));
  const context = await contextFor(db, action.packRef, values, text, options);
  const { params } = prepareActionParameters({}, { properties: defaulted } as ActionParameterSchema).render(context);
  return { params: { ...values, ...(params as JsonObject) }, context };
}

/** The names templated defaults read: the parameters given, then `config`, the key store and `action_context` (which win, as on the rules' path). */
async function contextFor(db: Executor, packRef: string, values: JsonObject, templateText: string, options: DefaultsRenderOptions): Promise<TemplateContext> {
  const packConfig = /\bconfig(_context)?\b/.test(templateText) ? await withTransaction(db, (tx) => resolvePackConfig(tx, packRef, { cipher: options.cipher })) : {};
  const keyStore = /\b(st2kv|keys)\b/.test(templateText) ? await loadKeyStoreView(db, packRef, options.cipher) : undefined;
  let user: string | null = null;
  if (/\baction_context\b/.test(templateText) && options.requestedBy != null) {
    user = (await IdentityRepository.findById(db, options.requestedBy))?.login ?? null;
  }
  return {
    values: {
      ...values,
      config: packConfig,
      config_context: packConfig,
      action_context: { user, pack: packRef, ...(options.parentId != null ? { parent: String(options.parentId) } : {}) },
    },
    keyStore,
  };
}

/**
 * Whether `value` equals `property`'s default rendered against `context`
 * (the other parameters, with their own defaults rendered): how an immutable
 * parameter whose default is a template is recognised as "kept at its
 * default" after rendering.
 */
export function isRenderedDefault(name: string, value: unknown, property: Record<string, unknown>, params: JsonObject, context: TemplateContext | undefined): boolean {
  if (!templatesIn(property.default)) return false;
  const others: JsonObject = { ...params };
  delete others[name];
  try {
    const { params: rendered } = prepareActionParameters({}, { properties: { [name]: property } } as ActionParameterSchema).render({
      ...context,
      values: { ...(context?.values ?? {}), ...others },
    });
    return isDeepStrictEqual(rendered[name], value);
  } catch {
    // A default that cannot be rendered here is not the value given.
    return false;
  }
}

/** Whether a default holds a template (itself, or a string at any depth). */
export function templatesIn(value: unknown): boolean {
  if (typeof value === 'string') return containsTemplate(value);
  if (Array.isArray(value)) return value.some(templatesIn);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(templatesIn);
  return false;
}

function propertiesOf(schema: unknown): Properties {
  const properties = schema !== null && typeof schema === 'object' ? (schema as Record<string, unknown>).properties : undefined;
  return properties !== null && typeof properties === 'object' && !Array.isArray(properties) ? (properties as Properties) : {};
}
