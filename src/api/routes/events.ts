/** Events: list (by trigger, source, trace, time) and get. Firing an event is the engine's route. */
import { Type } from '@fastify/type-provider-typebox';
import { EventRepository } from '../../repositories/events.js';
import type { ApiContext, ApiInstance } from '../app.js';
import { toHttp } from '../case.js';
import { listBody, listPage } from '../pagination.js';
import { IdParams, ListOf, ListQuery, One, Timestamp, errors } from '../schemas.js';

const EventRef = Type.Ref('Event');

export async function eventRoutes(app: ApiInstance, ctx: ApiContext): Promise<void> {
  app.get(
    '/events',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['events'],
        summary: 'List events, newest first',
        querystring: ListQuery({
          trigger: Type.Optional(Type.String({ maxLength: 512, description: 'trigger ref' })),
          source: Type.Optional(Type.String({ maxLength: 255 })),
          trace_id: Type.Optional(Type.String({ maxLength: 255 })),
          since: Type.Optional(Timestamp),
          until: Type.Optional(Timestamp),
        }),
        response: { 200: ListOf(EventRef), ...errors(400, 401, 403, 422) },
      },
    },
    async (request) => {
      const { limit, cursor, count, trigger, source, trace_id: traceId, since, until } = request.query;
      const page = await listPage('event', { limit, cursor, count }, (pagination) =>
        EventRepository.list(ctx.db, {
          triggerRef: trigger,
          source,
          traceId,
          since: since === undefined ? undefined : new Date(since),
          until: until === undefined ? undefined : new Date(until),
          ...pagination,
        }),
      );
      return listBody('event', page, toHttp);
    },
  );

  app.get(
    '/events/:id',
    {
      config: { role: 'viewer' },
      schema: { tags: ['events'], summary: 'One event', params: IdParams, response: { 200: One(EventRef), ...errors(400, 401, 403, 404) } },
    },
    async (request) => ({ data: toHttp(await EventRepository.getById(ctx.db, request.params.id)) }),
  );
}
