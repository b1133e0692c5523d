/** Events: list (by trigger, source, trace, time), get, and fire (the engine's route: fireEvent, 201 once durable). */
import { Type } from '@fastify/type-provider-typebox';
import { EventRepository } from '../../repositories/events.js';
import type { ApiContext, ApiInstance } from '../app.js';
import { toHttp } from '../case.js';
import { listBody, listPage } from '../pagination.js';
import { IdParams, JsonObject, ListOf, ListQuery, One, Timestamp, errors } from '../schemas.js';
import { fireEvent } from '../../engine/fire-event.js';
import type { JsonObject as JsonObjectValue } from '../../repositories/packs.js';
import { principalOf } from '../auth/authenticate.js';

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

  app.post(
    '/events',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['events'],
        summary: "Fire a trigger: the payload is checked against the trigger's payload schema; 201 once the event is stored",
        body: Type.Object(
          {
            trigger: Type.String({ minLength: 1, maxLength: 512, description: 'trigger ref' }),
            payload: Type.Optional(JsonObject),
            trigger_params: Type.Optional(JsonObject),
            trace_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: One(EventRef), ...errors(400, 401, 403, 422, 503) },
      },
    },
    async (request, reply) => {
      const { trigger, payload, trigger_params: triggerParams, trace_id: traceId } = request.body;
      const event = await fireEvent(ctx.db, trigger, (payload ?? {}) as JsonObjectValue, {
        source: `api:${principalOf(request).login}`,
        ...(traceId !== undefined ? { traceId } : {}),
        ...(triggerParams !== undefined ? { triggerParams: triggerParams as JsonObjectValue } : {}),
      });
      ctx.metrics.eventsReceived.inc({ source: 'api' });
      return reply.code(201).send({ data: toHttp(event) });
    },
  );
}
