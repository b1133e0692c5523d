/**
 * A client of `GET /api/v1/stream`: catch-up from the log after its
 * Last-Event-ID, then what the hub reads, filtered, each event with its
 * notification id. A position older than the log keeps, or further behind
 * than MAX_CATCH_UP rows, gets a `reset` event instead: reload, then follow
 * from the id it carries.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DatabaseUnavailableError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { NotificationRepository, type Notification } from '../../repositories/notifications.js';
import type { ApiContext } from '../app.js';
import { matchesFilter, notificationData, type StreamFilter } from './filters.js';
import { StreamHub } from './hub.js';
import { SseConnection, sseHeaders, type SseOptions } from './sse.js';

/** Rows a reconnecting client may catch up on; further behind, it is told to reset. */
export const MAX_CATCH_UP = 10_000;

const hubs = new WeakMap<ApiContext, StreamHub>();
const sseOptions = new WeakMap<ApiContext, SseOptions>();

/** The process's hub for this API (one LISTEN connection), started on first use. */
export async function hubFor(ctx: ApiContext, request: FastifyRequest): Promise<StreamHub> {
  let hub = hubs.get(ctx);
  if (hub === undefined) {
    const url = ctx.config.database.url;
    if (url === undefined) throw new DatabaseUnavailableError('the live stream needs the database URL (ATTUNE__DATABASE__URL) to listen for changes', { entity: 'stream' });
    hub = new StreamHub({ db: ctx.db, url, logger: request.server.log as unknown as Logger });
    hubs.set(ctx, hub);
  }
  await hub.start();
  return hub;
}

/** Closes the hub of `ctx`, if one was started (the API's onClose). */
export async function closeHub(ctx: ApiContext): Promise<void> {
  const hub = hubs.get(ctx);
  hubs.delete(ctx);
  await hub?.close();
}

/** Overrides the connection limits (tests use a small buffer). */
export function setSseOptions(ctx: ApiContext, options: SseOptions): void {
  sseOptions.set(ctx, options);
}

/**
 * Opens the event stream on the raw response (Fastify stops handling the
 * reply) with a `hello` event: what follows it is live. Its id, when given, is
 * the position a client that reconnects before any other event resumes from.
 */
export function openSse(ctx: ApiContext, request: FastifyRequest, reply: FastifyReply, position?: number): SseConnection {
  reply.hijack();
  reply.raw.writeHead(200, sseHeaders(request.id));
  const connection = new SseConnection(reply.raw, sseOptions.get(ctx));
  connection.send({ ...(position === undefined ? {} : { id: position }), event: 'hello', data: { request_id: request.id } });
  return connection;
}

/** Runs one stream client until it disconnects. */
export async function runStream(ctx: ApiContext, request: FastifyRequest, reply: FastifyReply, filter: StreamFilter, lastEventId: number | undefined): Promise<void> {
  const hub = await hubFor(ctx, request);
  const liveFrom = hub.position;
  // A resuming client keeps its own position; a new one starts from now.
  const connection = openSse(ctx, request, reply, lastEventId === undefined ? liveFrom : undefined);
  const send = (row: Notification) => connection.send({ id: row.id, event: row.entityType, data: notificationData(row) });
  // Live rows that arrive during the catch-up wait until it is done.
  let pending: Notification[] | null = [];
  const unsubscribe = hub.subscribe({
    notifications(rows) {
      for (const row of rows) {
        if (!matchesFilter(filter, row)) continue;
        if (pending !== null) pending.push(row);
        else send(row);
      }
    },
  });
  connection.onClose(unsubscribe);
  try {
    const sent = new Set<number>();
    if (lastEventId !== undefined && lastEventId < liveFrom) {
      const bounds = await NotificationRepository.logBounds(ctx.db);
      const lost = bounds.first === null ? lastEventId < liveFrom : lastEventId < bounds.first - 1;
      if (lost || liveFrom - lastEventId > MAX_CATCH_UP) {
        connection.send({ id: liveFrom, event: 'reset', data: { reason: lost ? 'the events after this id are no longer kept' : `more than ${MAX_CATCH_UP} events were missed`, position: liveFrom } });
      } else {
        let after = lastEventId;
        while (!connection.closed && after < liveFrom) {
          const rows = await NotificationRepository.readLog(ctx.db, { after, limit: 1000 });
          if (rows.length === 0) break;
          for (const row of rows) {
            if (row.id > liveFrom) break;
            sent.add(row.id);
            if (matchesFilter(filter, row)) send(row);
          }
          after = rows[rows.length - 1]!.id;
        }
      }
    }
    const waiting: Notification[] = pending;
    pending = null;
    for (const row of waiting) if (!sent.has(row.id)) send(row);
  } catch (error) {
    request.log.warn({ err: (error as Error).message }, 'stream catch-up failed');
    connection.close();
  }
}
