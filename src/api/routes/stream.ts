/**
 * The live stream: `GET /stream` (Server-Sent Events; src/api/stream/) and
 * `POST /stream/ticket`, a one-use token for `?ticket=` because a browser's
 * EventSource cannot send an Authorization header (the API token never goes
 * in a URL). A ticket is a login token of one minute named `stream ticket`,
 * revoked by the request that uses it.
 */
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { ValidationError } from '../../errors.js';
import { ApiTokenRepository } from '../../repositories/api-tokens.js';
import { ExecutionRepository } from '../../repositories/executions.js';
import type { ApiContext, ApiInstance } from '../app.js';
import { principalOf } from '../auth/authenticate.js';
import type { Principal } from '../auth/roles.js';
import { errors } from '../schemas.js';
import { parseStreamFilter } from '../stream/filters.js';
import { closeHub, runStream } from '../stream/session.js';

/** How long a ticket may wait before it is used. */
export const STREAM_TICKET_SECONDS = 60;
const TICKET_NAME = 'stream ticket';

/** The stream position a client resumes from: the Last-Event-ID header (a reconnecting EventSource) or ?last_event_id=. */
export function lastEventIdOf(request: FastifyRequest, query: string | undefined): number | undefined {
  const header = request.headers['last-event-id'];
  const text = typeof header === 'string' && header !== '' ? header : query;
  if (text === undefined) return undefined;
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text)) throw new ValidationError('Last-Event-ID must be the id of a stream event', { entity: 'header', field: 'last-event-id' });
  return Number(text);
}

/** Authenticates a `?ticket=` and uses it up. */
async function ticketPrincipal(ctx: ApiContext, request: FastifyRequest): Promise<Principal | null> {
  const ticket = (request.query as { ticket?: unknown } | undefined)?.ticket;
  if (typeof ticket !== 'string') return null;
  const found = await ApiTokenRepository.authenticate(ctx.db, ticket);
  if (found === null || found.token.kind !== 'login' || found.token.name !== TICKET_NAME) return null;
  // Used up by exactly one request, however many present it at once.
  if (!(await ApiTokenRepository.revokeUnrevoked(ctx.db, found.token.id))) return null;
  return { identity: found.identity, login: found.identity.login, role: found.identity.role, tokenId: found.token.id };
}

const StreamQuery = Type.Object(
  {
    executions: Type.Optional(Type.String({ maxLength: 2000, description: 'execution ids, comma-separated: those executions and their inquiries' })),
    entity: Type.Optional(Type.String({ maxLength: 200, description: 'entity types, comma-separated (execution, event, enforcement, inquiry, rule, pack)' })),
    trigger: Type.Optional(Type.String({ maxLength: 512, description: 'events and enforcements of this trigger ref' })),
    last_event_id: Type.Optional(Type.String({ maxLength: 20, description: 'resume after this event id (the Last-Event-ID header wins)' })),
    ticket: Type.Optional(Type.String({ maxLength: 200, description: 'a ticket from POST /stream/ticket, for clients that cannot send headers' })),
  },
  { additionalProperties: false },
);

export async function streamRoutes(app: ApiInstance, ctx: ApiContext): Promise<void> {
  app.addHook('onClose', async () => closeHub(ctx));

  app.get(
    '/stream',
    {
      config: { role: 'viewer', authenticateWithoutToken: (request) => ticketPrincipal(ctx, request) },
      schema: {
        tags: ['stream'],
        summary: 'Live changes as Server-Sent Events (text/event-stream): each event named by its entity type, its id the notification id',
        description:
          'Filters combine (all must hold). Reconnect with Last-Event-ID to receive what was missed; a `reset` event means the position is too old: reload, then go on from its id.',
        querystring: StreamQuery,
        produces: ['text/event-stream'],
        response: { 200: Type.String({ description: 'text/event-stream' }), ...errors(400, 401, 403, 404, 422, 503) },
      },
    },
    async (request, reply) => {
      const filter = parseStreamFilter(request.query);
      const lastEventId = lastEventIdOf(request, request.query.last_event_id);
      if (filter.executions !== undefined) {
        // An execution that does not exist is a mistake worth saying, not a stream that stays silent.
        for (const id of filter.executions) await ExecutionRepository.getById(ctx.db, id);
      }
      await runStream(ctx, request, reply, filter, lastEventId);
    },
  );

  app.post(
    '/stream/ticket',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['stream'],
        summary: `A one-use ticket for GET /stream?ticket= (EventSource cannot send headers); valid ${STREAM_TICKET_SECONDS} s`,
        response: { 201: Type.Object({ data: Type.Object({ ticket: Type.String(), expires_at: Type.String({ format: 'date-time' }) }) }), ...errors(400, 401, 403, 422) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const expiresAt = new Date(Date.now() + STREAM_TICKET_SECONDS * 1000);
      if (principal.identity === null) {
        throw new ValidationError('authentication is off: GET /stream needs no ticket', { entity: 'stream', field: 'ticket' });
      }
      const { token } = await ApiTokenRepository.create(ctx.db, { identityId: principal.identity.id, name: TICKET_NAME, kind: 'login', expiresAt });
      return reply.code(201).send({ data: { ticket: token, expires_at: expiresAt.toISOString() } });
    },
  );
}
