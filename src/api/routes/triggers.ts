/** Triggers: list and get. The webhook key is a secret and is never part of a response. */
import { Type } from '@fastify/type-provider-typebox';
import { TriggerRepository } from '../../repositories/triggers.js';
import type { ApiContext, ApiInstance } from '../app.js';
import { fromHttp, toHttp } from '../case.js';
import { listBody, listPage } from '../pagination.js';
import { ListOf, ListQuery, One, RefParams, errors } from '../schemas.js';
import { byIdOrRef } from './lookup.js';

const TriggerRef = Type.Ref('Trigger');

export async function triggerRoutes(app: ApiInstance, ctx: ApiContext): Promise<void> {
  app.get(
    '/triggers',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['triggers'],
        summary: 'List triggers (built-in and from packs)',
        querystring: ListQuery({
          pack: Type.Optional(Type.String({ maxLength: 255 })),
          pack_id: Type.Optional(Type.Integer({ minimum: 1 })),
          enabled: Type.Optional(Type.Boolean()),
        }),
        response: { 200: ListOf(TriggerRef), ...errors(400, 401, 403, 422) },
      },
    },
    async (request) => {
      const { limit, cursor, count, pack, ...filters } = request.query;
      const page = await listPage('trigger', { limit, cursor, count }, (pagination) =>
        TriggerRepository.list(ctx.db, { ...fromHttp(filters), packRef: pack, ...pagination }),
      );
      return listBody('trigger', page, toHttp);
    },
  );

  app.get(
    '/triggers/:ref',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['triggers'],
        summary: 'One trigger, by ref or id',
        params: RefParams,
        response: { 200: One(TriggerRef), ...errors(401, 403, 404, 422) },
      },
    },
    async (request) =>
      ({ data: toHttp(await byIdOrRef(request.params.ref, (id) => TriggerRepository.getById(ctx.db, id), (ref) => TriggerRepository.getByRef(ctx.db, ref))) }),
  );
}
