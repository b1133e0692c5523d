/**
 * Rules: list, get, and the rules created through the API: create (a
 * StackStorm rule as JSON, validated exactly as the pack reader validates a
 * rule file), update, enable, disable, delete. Rules created here belong to
 * the installation's own pack `default` (created on first use), as
 * StackStorm's rules without a pack do; `test` evaluates a rule against a
 * payload or a stored event as the engine would, writing nothing; rules of other packs come from
 * their pack files and change by registering the pack again, though any
 * rule may be enabled or disabled here.
 */
import { Type, type Static } from '@fastify/type-provider-typebox';
import { ValidationError } from '../../errors.js';
import type { Executor } from '../../db/pool.js';
import { withTransaction } from '../../db/transaction.js';
import { readPack } from '../../packs/read-pack.js';
import type { RuleModel } from '../../packs/model.js';
import { PackRepository } from '../../repositories/packs.js';
import { RuleRepository, type Rule } from '../../repositories/rules.js';
import { isAttuneError, ErrorCode } from '../../errors.js';
import type { ApiContext, ApiInstance } from '../app.js';
import { toHttp } from '../case.js';
import { listBody, listPage } from '../pagination.js';
import { JsonObject, ListOf, ListQuery, One, RefParams, errors } from '../schemas.js';
import { byIdOrRef } from './lookup.js';
import { matchRule } from '../../engine/match-rule.js';
import type { JsonObject as JsonObjectValue } from '../../repositories/packs.js';

const RuleRef = Type.Ref('Rule');

/** The pack that holds the rules created through the API. */
export const API_RULES_PACK = 'default';

/** A rule as StackStorm writes it (rules/*.yaml), as JSON. */
const StackStormRule = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    pack: Type.Optional(Type.String({ description: `must be ${API_RULES_PACK} when given` })),
    description: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    enabled: Type.Optional(Type.Boolean()),
    trigger: Type.Object({ type: Type.String(), parameters: Type.Optional(JsonObject) }, { additionalProperties: true }),
    criteria: Type.Optional(JsonObject),
    action: Type.Object({ ref: Type.String(), parameters: Type.Optional(JsonObject) }, { additionalProperties: true }),
    tags: Type.Optional(Type.Array(Type.Unknown())),
  },
  { additionalProperties: true, description: 'A StackStorm rule (name, trigger {type, parameters}, criteria, action {ref, parameters}); unknown fields are refused by the rule reader' },
);

const RulePatch = Type.Object(
  {
    description: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    enabled: Type.Optional(Type.Boolean()),
    trigger: Type.Optional(Type.Object({ type: Type.String(), parameters: Type.Optional(JsonObject) }, { additionalProperties: true })),
    criteria: Type.Optional(JsonObject),
    action: Type.Optional(Type.Object({ ref: Type.String(), parameters: Type.Optional(JsonObject) }, { additionalProperties: true })),
  },
  { additionalProperties: false },
);

/** Reads one rule through the pack reader, as the file rules/<name>.yaml of pack `default`: every check a pack's rule gets. */
async function readRule(rule: Record<string, unknown>): Promise<RuleModel> {
  const name = typeof rule.name === 'string' && /^[A-Za-z0-9_-]{1,200}$/.test(rule.name) ? rule.name : 'rule';
  const { pack } = await readPack([
    { path: 'pack.yaml', content: `ref: ${API_RULES_PACK}\nname: ${API_RULES_PACK}\nversion: 0.1.0\ndescription: Rules created through the API\n` },
    { path: `rules/${name}.yaml`, content: JSON.stringify(rule) },
  ]);
  return pack.rules[0]!;
}

/** The active version of pack `default`, created when it does not exist yet. */
async function apiRulesPack(db: Executor): Promise<number> {
  const existing = await PackRepository.findByRef(db, API_RULES_PACK);
  if (existing !== null) return existing.id;
  try {
    return (await withTransaction(db, (tx) => PackRepository.create(tx, { ref: API_RULES_PACK, version: '0.1.0', name: API_RULES_PACK, description: 'Rules created through the API' }))).id;
  } catch (error) {
    if (isAttuneError(error, ErrorCode.ALREADY_EXISTS)) return (await PackRepository.getByRef(db, API_RULES_PACK)).id;
    throw error;
  }
}

/** The StackStorm form of a stored rule, to merge a change into and read again. */
function stackStormForm(rule: Rule): Record<string, unknown> {
  return {
    name: rule.name,
    description: rule.description,
    enabled: rule.enabled,
    trigger: { type: rule.triggerRef, parameters: rule.triggerParams },
    criteria: rule.criteria,
    action: { ref: rule.actionRef, parameters: rule.actionParams },
  };
}

function findRule(ctx: ApiContext, ref: string): Promise<Rule> {
  return byIdOrRef(ref, (id) => RuleRepository.getById(ctx.db, id), (r) => RuleRepository.getByRef(ctx.db, r));
}

export async function ruleRoutes(app: ApiInstance, ctx: ApiContext): Promise<void> {
  app.get(
    '/rules',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['rules'],
        summary: 'List rules',
        querystring: ListQuery({
          pack: Type.Optional(Type.String({ maxLength: 255 })),
          pack_id: Type.Optional(Type.Integer({ minimum: 1 })),
          trigger: Type.Optional(Type.String({ maxLength: 512, description: 'trigger ref' })),
          action: Type.Optional(Type.String({ maxLength: 512, description: 'action ref' })),
          enabled: Type.Optional(Type.Boolean()),
        }),
        response: { 200: ListOf(RuleRef), ...errors(400, 401, 403, 422) },
      },
    },
    async (request) => {
      const { limit, cursor, count, pack, pack_id: packId, trigger, action, enabled } = request.query;
      const page = await listPage('rule', { limit, cursor, count }, (pagination) =>
        RuleRepository.list(ctx.db, { packRef: pack, packId, triggerRef: trigger, actionRef: action, enabled, ...pagination }),
      );
      return listBody('rule', page, toHttp);
    },
  );

  app.get(
    '/rules/:ref',
    {
      config: { role: 'viewer' },
      schema: { tags: ['rules'], summary: 'One rule, by ref (active version of its pack) or id', params: RefParams, response: { 200: One(RuleRef), ...errors(401, 403, 404, 422) } },
    },
    async (request) => ({ data: toHttp(await findRule(ctx, request.params.ref)) }),
  );

  app.post(
    '/rules',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['rules'],
        summary: `Create a rule in pack ${API_RULES_PACK} from its StackStorm form`,
        body: StackStormRule,
        response: { 201: One(RuleRef), ...errors(400, 401, 403, 409, 422) },
      },
    },
    async (request, reply) => {
      const body = request.body as Static<typeof StackStormRule>;
      if (body.pack !== undefined && body.pack !== API_RULES_PACK) {
        throw new ValidationError(`rules created through the API belong to pack ${API_RULES_PACK}; rules of pack ${body.pack} come from its files (register the pack)`, { entity: 'rule', field: 'pack' });
      }
      const { pack: _pack, ...rule } = body;
      const model = await readRule(rule);
      const created = await withTransaction(ctx.db, async (tx) =>
        RuleRepository.create(tx, {
          packId: await apiRulesPack(tx),
          name: model.name,
          description: model.description,
          triggerRef: model.triggerRef,
          actionRef: model.actionRef,
          criteria: model.criteria as unknown as Record<string, unknown>,
          actionParams: model.actionParams,
          triggerParams: model.triggerParams,
          enabled: model.enabled,
        }),
      );
      return reply.code(201).send({ data: toHttp(created) });
    },
  );

  app.patch(
    '/rules/:ref',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['rules'],
        summary: `Change a rule of pack ${API_RULES_PACK} (description, enabled, trigger, criteria, action); the result is validated as a rule file`,
        params: RefParams,
        body: RulePatch,
        response: { 200: One(RuleRef), ...errors(400, 401, 403, 404, 422) },
      },
    },
    async (request) => {
      const current = await findRule(ctx, request.params.ref);
      const patch = request.body;
      const onlyEnabled = Object.keys(patch).every((key) => key === 'enabled');
      if (current.packRef !== API_RULES_PACK && !onlyEnabled) {
        throw new ValidationError(`rule ${current.ref} comes from pack ${current.packRef}'s files: change them and register the pack again (only enabled can change here)`, { entity: 'rule', field: 'ref' });
      }
      const merged = { ...stackStormForm(current), ...patch };
      const model = await readRule(merged);
      const updated = await RuleRepository.update(ctx.db, current.id, {
        description: model.description,
        triggerRef: model.triggerRef,
        actionRef: model.actionRef,
        criteria: model.criteria as unknown as Record<string, unknown>,
        actionParams: model.actionParams,
        triggerParams: model.triggerParams,
        enabled: model.enabled,
      });
      return { data: toHttp(updated) };
    },
  );

  for (const [verb, enabled] of [['enable', true], ['disable', false]] as const) {
    app.post(
      `/rules/:ref/${verb}`,
      {
        config: { role: 'operator' },
        schema: { tags: ['rules'], summary: `${verb === 'enable' ? 'Enable' : 'Disable'} a rule`, params: RefParams, response: { 200: One(RuleRef), ...errors(401, 403, 404, 422) } },
      },
      async (request) => {
        const rule = await findRule(ctx, request.params.ref);
        return { data: toHttp(enabled ? await RuleRepository.enable(ctx.db, rule.id) : await RuleRepository.disable(ctx.db, rule.id)) };
      },
    );
  }

  app.delete(
    '/rules/:ref',
    {
      config: { role: 'operator' },
      schema: { tags: ['rules'], summary: `Delete a rule of pack ${API_RULES_PACK}`, params: RefParams, response: { 204: Type.Null(), ...errors(401, 403, 404, 422) } },
    },
    async (request, reply) => {
      const rule = await findRule(ctx, request.params.ref);
      if (rule.packRef !== API_RULES_PACK) {
        throw new ValidationError(`rule ${rule.ref} comes from pack ${rule.packRef}'s files: remove it there and register the pack again, or disable it`, { entity: 'rule', field: 'ref' });
      }
      await RuleRepository.delete(ctx.db, rule.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/rules/:ref/test',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['rules'],
        summary: "Evaluate a rule against a payload or a stored event: each criterion's verdict and the rendered parameters (secrets masked); nothing is written",
        params: RefParams,
        body: Type.Object(
          {
            payload: Type.Optional(JsonObject),
            trigger_params: Type.Optional(JsonObject),
            event_id: Type.Optional(Type.Integer({ minimum: 1 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            data: Type.Object({
              rule: Type.String(),
              enabled: Type.Boolean(),
              event_id: Type.Union([Type.Integer(), Type.Null()]),
              trigger_params_matched: Type.Boolean(),
              matched: Type.Boolean(),
              criteria: Type.Array(JsonObject),
              action: Type.String(),
              params: Type.Optional(JsonObject),
              error: Type.Optional(Type.String()),
              enforcement_status: Type.Optional(Type.String()),
            }),
          }),
          ...errors(400, 401, 403, 404, 422),
        },
      },
    },
    async (request, reply) => {
      const { payload, trigger_params: triggerParams, event_id: eventId } = request.body;
      if ((payload === undefined) === (eventId === undefined)) {
        throw new ValidationError('give payload (with trigger_params if needed) or event_id, not both', { entity: 'ruleTest', field: 'payload' });
      }
      if (eventId !== undefined && triggerParams !== undefined) {
        throw new ValidationError('trigger_params go with payload; a stored event has its own', { entity: 'ruleTest', field: 'trigger_params' });
      }
      const rule = await findRule(ctx, request.params.ref);
      const subject =
        eventId !== undefined
          ? { eventId }
          : { payload: payload as JsonObjectValue, ...(triggerParams !== undefined ? { triggerParams: triggerParams as JsonObjectValue } : {}) };
      const result = toHttp(await matchRule(ctx.db, rule, subject, { cipher: ctx.cipher }));
      return reply.send({ data: result as typeof result & { rule: string; enabled: boolean; event_id: number | null; trigger_params_matched: boolean; matched: boolean; criteria: object[]; action: string } });
    },
  );
}
