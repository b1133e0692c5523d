/**
 * Executions, read side: list (status, action, enforcement, parent, time),
 * get, children. Parameters always show secrets masked. Requesting,
 * cancelling, re-running and output are the engine's routes.
 */
import { Type } from '@fastify/type-provider-typebox';
import type { Executor } from '../../db/pool.js';
import { ActionRepository } from '../../repositories/actions.js';
import { EXECUTION_STATUSES, ExecutionRepository, type Execution, type ExecutionStatus } from '../../repositories/executions.js';
import type { ApiContext, ApiInstance } from '../app.js';
import { toHttp } from '../case.js';
import { maskParams } from '../mask.js';
import { listBody, listPage } from '../pagination.js';
import { IdParams, ListOf, ListQuery, One, Timestamp, errors } from '../schemas.js';

const ExecutionRef = Type.Ref('Execution');

/** The param schemas of the executions' actions, one lookup per distinct action. */
async function paramSchemas(db: Executor, executions: readonly Execution[]): Promise<Map<number, Record<string, unknown>>> {
  const ids = [...new Set(executions.map((e) => e.actionId).filter((id): id is number => id !== null))];
  const actions = await Promise.all(ids.map((id) => ActionRepository.findById(db, id)));
  return new Map(actions.filter((a) => a !== null).map((a) => [a.id, a.paramSchema]));
}

/** Executions for a response: secret parameters masked by their action's schema (and any stored ciphertext). */
export async function executionsToHttp(db: Executor, executions: readonly Execution[]): Promise<Record<string, unknown>[]> {
  const schemas = await paramSchemas(db, executions);
  return executions.map((e) => {
    const { pgid: _pgid, ...shown } = e as Execution & { pgid?: unknown };
    return toHttp({ ...shown, params: maskParams(e.params, (e.actionId !== null && schemas.get(e.actionId)) || {}) });
  });
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
          parent_id: Type.Optional(Type.Integer({ minimum: 1 })),
          since: Type.Optional(Timestamp),
          until: Type.Optional(Timestamp),
        }),
        response: { 200: ListOf(ExecutionRef), ...errors(400, 401, 403, 422) },
      },
    },
    async (request) => {
      const { limit, cursor, count, status, action, action_id: actionId, enforcement_id: enforcementId, parent_id: parentId, since, until } = request.query;
      const page = await listPage('execution', { limit, cursor, count }, (pagination) =>
        ExecutionRepository.list(ctx.db, {
          status: status as ExecutionStatus[] | undefined,
          actionRef: action,
          actionId,
          enforcementId,
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
}
