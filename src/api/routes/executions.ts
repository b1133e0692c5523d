/**
 * Executions: list (status, action, rule, enforcement, parent, time), get,
 * children; and the engine's routes: request (`POST /executions`, and
 * `POST /actions/{ref}/execute` in actions.ts), cancel, re-run, output
 * (paged, or followed as Server-Sent Events). Parameters always show secrets
 * masked.
 */
import { Type } from '@fastify/type-provider-typebox';
import type { Executor } from '../../db/pool.js';
import { ActionRepository } from '../../repositories/actions.js';
import { EXECUTION_STATUSES, ExecutionRepository, type Execution, type ExecutionStatus } from '../../repositories/executions.js';
import type { ApiContext, ApiInstance } from '../app.js';
import type { HttpShape } from '../case.js';
import { maskParams } from '../mask.js';
import { listBody, listPage } from '../pagination.js';
import { IdParams, JsonObject, ListOf, ListQuery, One, Timestamp, errors } from '../schemas.js';
import { cancelExecution } from '../../engine/cancel-execution.js';
import { requestExecution, revealSecretParams } from '../../engine/request-execution.js';
import { ExecutionOutputRepository } from '../../repositories/execution-output.js';
import type { JsonObject as JsonObjectValue } from '../../repositories/packs.js';
import { principalOf } from '../auth/authenticate.js';
import { encodeCursor, decodeCursor } from '../pagination.js';
import { chunkData, followOutput, parseOutputPosition, type OutputPosition } from '../stream/output.js';
import type { FastifyRequest } from 'fastify';

const ExecutionRef = Type.Ref('Execution');

/**
 * The param schemas of the executions' actions, one lookup of the schema
 * alone per distinct action (a single execution, the common case, without
 * the Set and Promise.all).
 */
async function paramSchemas(db: Executor, executions: readonly Execution[]): Promise<Map<number, Record<string, unknown>>> {
  const schemas = new Map<number, Record<string, unknown>>();
  if (executions.length === 1) {
    const id = executions[0]!.actionId;
    const schema = id === null ? null : await ActionRepository.findParamSchema(db, id);
    if (schema !== null) schemas.set(id!, schema);
    return schemas;
  }
  const ids = [...new Set(executions.map((e) => e.actionId).filter((id): id is number => id !== null))];
  const found = await Promise.all(ids.map((id) => ActionRepository.findParamSchema(db, id)));
  for (let i = 0; i < ids.length; i++) if (found[i] !== null) schemas.set(ids[i]!, found[i]!);
  return schemas;
}

/**
 * An execution in its HTTP shape, as one object literal: every field but
 * `pgid`, snake_case, in the row's order. Written out rather than a walk of
 * Object.keys with computed names, which built each object property by
 * property (a list page maps 50 rows of 25 fields on every request). The
 * return type lists every field of Execution, so a new one cannot be missed.
 */
function executionToHttp(e: Execution, params: JsonObjectValue): HttpShape<Omit<Execution, 'pgid'>> {
  return {
    id: e.id,
    action_id: e.actionId,
    action_ref: e.actionRef,
    params,
    parent_id: e.parentId,
    enforcement_id: e.enforcementId,
    requested_by: e.requestedBy,
    worker_id: e.workerId,
    status: e.status,
    result: e.result,
    error: e.error,
    attempt: e.attempt,
    max_attempts: e.maxAttempts,
    timeout_seconds: e.timeoutSeconds,
    lease_expires_at: e.leaseExpiresAt,
    started_at: e.startedAt,
    finished_at: e.finishedAt,
    trace_id: e.traceId,
    run_after: e.runAfter,
    runner_type: e.runnerType,
    retry_on_timeout: e.retryOnTimeout,
    deadline_at: e.deadlineAt,
    created_at: e.createdAt,
    updated_at: e.updatedAt,
  };
}

/** Executions for a response: secret parameters masked by their action's schema (and any stored ciphertext). */
export async function executionsToHttp(db: Executor, executions: readonly Execution[]): Promise<Record<string, unknown>[]> {
  const schemas = await paramSchemas(db, executions);
  return executions.map((e) => executionToHttp(e, maskParams(e.params, (e.actionId !== null && schemas.get(e.actionId)) || {})));
}


/** What an execution request through the API takes (POST /executions; /actions/{ref}/execute takes the same without action). */
export const ExecuteBody = Type.Object(
  {
    parameters: Type.Optional(JsonObject),
    trace_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  },
  { additionalProperties: false },
);

/**
 * Requests a run of `actionRef` for the caller: parameters checked against
 * the action's schema (defaults applied, secrets encrypted), 201 with the
 * execution, its secrets masked.
 */
export async function executeForRequest(ctx: ApiContext, request: FastifyRequest, actionRef: string, parameters: JsonObjectValue | undefined, traceId: string | undefined): Promise<Record<string, unknown>> {
  const principal = principalOf(request);
  const execution = await requestExecution(ctx.db, actionRef, parameters ?? {}, {
    cipher: ctx.cipher,
    requestedBy: principal.identity?.id ?? null,
    ...(traceId !== undefined ? { traceId } : {}),
  });
  request.log.info({ execution_id: execution.id, action: execution.actionRef }, 'execution requested');
  const [shown] = await executionsToHttp(ctx.db, [execution]);
  return shown!;
}

/**
 * `params` without the action's immutable parameters. Their stored values are
 * their defaults as rendered then (core.sleep's `cmd` is `sleep 5`); a re-run
 * renders them again from the parameters it runs with, so that a new
 * `seconds` is not refused as a change of `cmd`.
 */
function withoutImmutable(params: JsonObjectValue, paramSchema: Record<string, unknown>): JsonObjectValue {
  const properties = paramSchema.properties;
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) return params;
  const kept: JsonObjectValue = { ...params };
  for (const [name, property] of Object.entries(properties as Record<string, { immutable?: unknown }>)) {
    if (property?.immutable === true) delete kept[name];
  }
  return kept;
}

const OUTPUT_LIST = 'execution_output';
const OUTPUT_PAGE = 1000;

/** The output position of a list cursor. */
function outputCursor(cursor: string): OutputPosition {
  const [attempt, seq] = decodeCursor(OUTPUT_LIST, cursor);
  return parseOutputPosition(`${attempt ?? ''}:${seq ?? ''}`, 'cursor');
}

export async function executionRoutes(app: ApiInstance, ctx: ApiContext): Promise<void> {
  app.get(
    '/executions',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['executions'],
        summary: 'List executions, newest first',
        querystring: ListQuery({
          status: Type.Optional(Type.Array(Type.String({ enum: [...EXECUTION_STATUSES] }), { description: 'one status, or several (status=a&status=b)' })),
          action: Type.Optional(Type.String({ maxLength: 512, description: 'action ref' })),
          action_id: Type.Optional(Type.Integer({ minimum: 1 })),
          enforcement_id: Type.Optional(Type.Integer({ minimum: 1, description: "the rule's enforcement that requested it" })),
          rule: Type.Optional(Type.String({ maxLength: 512, description: 'rule ref: executions its enforcements requested' })),
          parent_id: Type.Optional(Type.Integer({ minimum: 1 })),
          since: Type.Optional(Timestamp),
          until: Type.Optional(Timestamp),
        }),
        response: { 200: ListOf(ExecutionRef), ...errors(400, 401, 403, 422) },
      },
    },
    async (request) => {
      const { limit, cursor, count, status, action, action_id: actionId, enforcement_id: enforcementId, rule, parent_id: parentId, since, until } = request.query;
      const page = await listPage('execution', { limit, cursor, count }, (pagination) =>
        ExecutionRepository.list(ctx.db, {
          status: status as ExecutionStatus[] | undefined,
          actionRef: action,
          actionId,
          enforcementId,
          ruleRef: rule,
          parentId,
          since: since === undefined ? undefined : new Date(since),
          until: until === undefined ? undefined : new Date(until),
          ...pagination,
        }),
      );
      const shown = await executionsToHttp(ctx.db, page.items);
      return listBody('execution', { ...page, items: shown }, (item) => item);
    },
  );

  app.get(
    '/executions/:id',
    {
      config: { role: 'viewer' },
      schema: { tags: ['executions'], summary: 'One execution', params: IdParams, response: { 200: One(ExecutionRef), ...errors(400, 401, 403, 404) } },
    },
    async (request) => {
      const [shown] = await executionsToHttp(ctx.db, [await ExecutionRepository.getById(ctx.db, request.params.id)]);
      return { data: shown };
    },
  );

  app.get(
    '/executions/:id/children',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['executions'],
        summary: 'The direct children of a workflow execution, oldest first',
        params: IdParams,
        response: { 200: Type.Object({ data: Type.Array(ExecutionRef) }), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      await ExecutionRepository.getById(ctx.db, request.params.id);
      return { data: await executionsToHttp(ctx.db, await ExecutionRepository.children(ctx.db, request.params.id)) };
    },
  );

  app.post(
    '/executions',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['executions'],
        summary: "Run an action: parameters validated against its schema, defaults applied, secrets stored encrypted",
        body: Type.Object(
          {
            action: Type.String({ minLength: 1, maxLength: 512, description: 'action ref (the active version of its pack)' }),
            parameters: Type.Optional(JsonObject),
            trace_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: One(ExecutionRef), ...errors(400, 401, 403, 422, 503) },
      },
    },
    async (request, reply) => {
      const { action, parameters, trace_id: traceId } = request.body;
      return reply.code(201).send({ data: await executeForRequest(ctx, request, action, parameters as JsonObjectValue | undefined, traceId) });
    },
  );

  app.post(
    '/executions/:id/cancel',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['executions'],
        summary: 'Cancel an execution and its descendants: canceled at once, or canceling while its worker stops the process',
        params: IdParams,
        response: { 200: One(ExecutionRef), ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const result = await cancelExecution(ctx.db, request.params.id);
      request.log.info({ execution_id: result.execution.id, status: result.execution.status, descendants: result.descendants.length }, 'execution canceled');
      const [shown] = await executionsToHttp(ctx.db, [result.execution]);
      return { data: shown };
    },
  );

  app.post(
    '/executions/:id/re-run',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['executions'],
        summary: 'Run the same action again with the same parameters (secret ones re-used, never shown), some overridden by parameters',
        params: IdParams,
        body: Type.Optional(ExecuteBody),
        response: { 201: One(ExecutionRef), ...errors(400, 401, 403, 404, 422, 503) },
      },
    },
    async (request, reply) => {
      const original = await ExecutionRepository.getById(ctx.db, request.params.id);
      const action = await ActionRepository.getByRef(ctx.db, original.actionRef);
      // The stored secrets are decrypted only to be checked and encrypted again with the new request.
      const previous = withoutImmutable(revealSecretParams(original.params, action.paramSchema, ctx.cipher), action.paramSchema);
      const parameters = { ...previous, ...((request.body?.parameters as JsonObjectValue | undefined) ?? {}) };
      const traceId = request.body?.trace_id ?? original.traceId ?? undefined;
      return reply.code(201).send({ data: await executeForRequest(ctx, request, original.actionRef, parameters, traceId) });
    },
  );

  app.get(
    '/executions/:id/output',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['executions'],
        summary: 'What the execution printed, in order (attempt, seq); follow=true streams it as Server-Sent Events until the execution is final',
        description:
          'Paged: `{data: [chunks], next_cursor}`. Followed: `output` events (id `<attempt>:<seq>`; reconnect with Last-Event-ID to resume) and one `end` event with the final status.',
        params: IdParams,
        querystring: Type.Object(
          {
            attempt: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: OUTPUT_PAGE, default: OUTPUT_PAGE })),
            cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            follow: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            data: Type.Array(
              Type.Object({ attempt: Type.Integer(), seq: Type.Integer(), stream: Type.String(), data: Type.String(), created_at: Timestamp }),
            ),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errors(400, 401, 403, 404, 422),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { attempt, limit = OUTPUT_PAGE, cursor, follow } = request.query;
      await ExecutionRepository.getById(ctx.db, id);
      const header = request.headers['last-event-id'];
      const after = typeof header === 'string' && header !== '' ? parseOutputPosition(header, 'last-event-id') : cursor === undefined ? undefined : outputCursor(cursor);
      if (follow === true) {
        await followOutput(ctx, request, reply, id, after);
        return reply;
      }
      const chunks = await ExecutionOutputRepository.read(ctx.db, id, { ...(attempt !== undefined ? { attempt } : {}), ...(after ? { after } : {}), limit });
      const last = chunks[chunks.length - 1];
      return reply.send({
        data: chunks.map(chunkData),
        next_cursor: chunks.length === limit && last ? encodeCursor(OUTPUT_LIST, [String(last.attempt), String(last.seq)]) : null,
      });
    },
  );
}
