/** Actions: list (by pack, runner, enabled, tag, search) and get (actions come from packs), and execute (the engine's route). */
import { Type } from '@fastify/type-provider-typebox';
import { ActionRepository, RUNNER_TYPES } from '../../repositories/actions.js';
import type { ApiContext, ApiInstance } from '../app.js';
import { fromHttp, toHttp } from '../case.js';
import { listBody, listPage } from '../pagination.js';
import { ListOf, ListQuery, One, RefParams, errors } from '../schemas.js';
import type { JsonObject } from '../../repositories/packs.js';
import { byIdOrRef } from './lookup.js';
import { ExecuteBody, executeForRequest } from './executions.js';

const ActionRef = Type.Ref('Action');

export async function actionRoutes(app: ApiInstance, ctx: ApiContext): Promise<void> {
  app.get(
    '/actions',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['actions'],
        summary: 'List actions of the active pack versions (or of one version with pack_id)',
        querystring: ListQuery({
          pack: Type.Optional(Type.String({ maxLength: 255, description: "the pack's ref: its active version" })),
          pack_id: Type.Optional(Type.Integer({ minimum: 1 })),
          runner_type: Type.Optional(Type.String({ enum: [...RUNNER_TYPES] })),
          enabled: Type.Optional(Type.Boolean()),
          tag: Type.Optional(Type.String({ maxLength: 255 })),
          search: Type.Optional(Type.String({ maxLength: 255 })),
        }),
        response: { 200: ListOf(ActionRef), ...errors(400, 401, 403, 422) },
      },
    },
    async (request) => {
      const { limit, cursor, count, pack, ...filters } = request.query;
      const page = await listPage('action', { limit, cursor, count }, (pagination) =>
        ActionRepository.list(ctx.db, { ...fromHttp(filters), packRef: pack, ...pagination }),
      );
      return listBody('action', page, toHttp);
    },
  );

  app.get(
    '/actions/:ref',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['actions'],
        summary: 'One action, by ref (in the active version of its pack) or id',
        params: RefParams,
        response: { 200: One(ActionRef), ...errors(401, 403, 404, 422) },
      },
    },
    async (request) => ({ data: toHttp(await byIdOrRef(request.params.ref, (id) => ActionRepository.getById(ctx.db, id), (ref) => ActionRepository.getByRef(ctx.db, ref))) }),
  );

  app.post(
    '/actions/:ref/execute',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['actions'],
        summary: 'Run the action: parameters validated against its schema, defaults applied, secrets stored encrypted',
        params: RefParams,
        body: Type.Optional(ExecuteBody),
        response: { 201: One(Type.Ref('Execution')), ...errors(400, 401, 403, 404, 422, 503) },
      },
    },
    async (request, reply) => {
      const action = await byIdOrRef(request.params.ref, (id) => ActionRepository.getById(ctx.db, id), (ref) => ActionRepository.getByRef(ctx.db, ref));
      const body = request.body ?? {};
      return reply.code(201).send({ data: await executeForRequest(ctx, request, action.ref, body.parameters as JsonObject | undefined, body.trace_id) });
    },
  );
}
