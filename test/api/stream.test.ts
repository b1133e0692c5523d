import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SseConnection } from '../../src/api/stream/sse.js';
import { NotificationRepository } from '../../src/repositories/notifications.js';
import { ExecutionRepository } from '../../src/repositories/executions.js';
import { ExecutionFixture, EventFixture, cleanDatabase, createTestPool } from '../../src/testing/index.js';
import { apiConfig, call, signedIn, testApp } from './support.js';

const pool = createTestPool();
let app: FastifyInstance;
let base: string;
let auth: { authorization: string };

interface Frame {
  id?: string;
  event: string;
  data: any;
}

/** A stream client: frames as they arrive, and a wait for one that matches. */
function openStream(path: string, headers: Record<string, string> = {}) {
  const frames: Frame[] = [];
  const waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  let status = 0;
  let ended = false;
  let onStatus: () => void = () => undefined;
  const statusKnown = new Promise<void>((resolve) => (onStatus = resolve));
  let body = '';
  const request = http.get(`${base}${path}`, { headers }, (response) => {
    status = response.statusCode ?? 0;
    onStatus();
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      body += chunk;
      let end: number;
      while ((end = body.indexOf('\n\n')) >= 0) {
        const block = body.slice(0, end);
        body = body.slice(end + 2);
        const frame: Partial<Frame> = {};
        for (const line of block.split('\n')) {
          if (line.startsWith('id: ')) frame.id = line.slice(4);
          else if (line.startsWith('event: ')) frame.event = line.slice(7);
          else if (line.startsWith('data: ')) frame.data = JSON.parse(line.slice(6));
        }
        if (frame.event === undefined) continue;
        frames.push(frame as Frame);
        for (const waiter of [...waiters]) {
          if (waiter.match(frame as Frame)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(frame as Frame);
          }
        }
      }
    });
    response.on('end', () => (ended = true));
  });
  request.on('error', () => undefined);
  return {
    frames,
    get status() {
      return status;
    },
    get ended() {
      return ended;
    },
    statusKnown,
    next(match: (f: Frame) => boolean): Promise<Frame> {
      const seen = frames.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    close: () => request.destroy(),
  };
}

beforeAll(async () => {
  const built = await testApp(pool, apiConfig({ database: { url: process.env.ATTUNE__DATABASE__URL } }));
  app = built.app;
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app.close();
  await pool.end();
});

beforeEach(async () => {
  await cleanDatabase(pool);
  auth = (await signedIn(pool as never, 'viewer')).auth;
});

describe('GET /api/v1/stream', () => {
  it('sends each change as an event named by its entity, with the notification id, filtered by entity', async () => {
    const stream = openStream('/api/v1/stream?entity=execution', auth);
    await stream.statusKnown;
    expect(stream.status).toBe(200);
    await stream.next((f) => f.event === 'hello');
    await new EventFixture().create(pool);
    const execution = await new ExecutionFixture().create(pool);
    const frame = await stream.next((f) => f.event === 'execution' && f.data.entity_id === execution.id);
    expect(frame.data).toMatchObject({ entity_type: 'execution', activity: 'created', content: { status: 'requested', action_ref: execution.actionRef } });
    const row = await NotificationRepository.getById(pool, Number(frame.id));
    expect(row).toMatchObject({ entityType: 'execution', entityId: execution.id });
    expect(stream.frames.some((f) => f.event === 'event')).toBe(false);
    stream.close();
  });

  it('?executions= follows those executions only, status changes included', async () => {
    const watched = await new ExecutionFixture().create(pool);
    const other = await new ExecutionFixture().create(pool);
    const stream = openStream(`/api/v1/stream?executions=${watched.id}`, auth);
    await stream.next((f) => f.event === 'hello');
    await ExecutionRepository.cancel(pool, other.id);
    await ExecutionRepository.cancel(pool, watched.id);
    // Delivery is at least once from the hello's position: the watched execution's own 'created' may come first.
    const frame = await stream.next((f) => f.event === 'execution' && f.data.activity === 'status_changed');
    expect(frame.data).toMatchObject({ entity_id: watched.id, activity: 'status_changed', content: { status: 'canceled', previous_status: 'requested' } });
    expect(stream.frames.filter((f) => f.event === 'execution').every((f) => f.data.entity_id === watched.id)).toBe(true);
    stream.close();
    const missing = openStream('/api/v1/stream?executions=999999999', auth);
    await missing.statusKnown;
    expect(missing.status).toBe(404);
    missing.close();
  });

  it('Last-Event-ID catches up on what was missed, then goes on live; a position past the retention gets reset', async () => {
    const first = openStream('/api/v1/stream?entity=execution', auth);
    const hello = await first.next((f) => f.event === 'hello');
    expect(Number(hello.id)).toBeGreaterThanOrEqual(0);
    const a = await new ExecutionFixture().create(pool);
    const seen = await first.next((f) => f.data?.entity_id === a.id);
    first.close();
    const b = await new ExecutionFixture().create(pool);
    const c = await new ExecutionFixture().create(pool);
    const again = openStream('/api/v1/stream?entity=execution', { ...auth, 'Last-Event-ID': seen.id! });
    expect((await again.next((f) => f.event === 'hello')).id).toBeUndefined();
    await again.next((f) => f.data?.entity_id === c.id);
    const d = await new ExecutionFixture().create(pool);
    await again.next((f) => f.data?.entity_id === d.id);
    const ids = again.frames.filter((f) => f.event === 'execution').map((f) => f.data.entity_id);
    expect(ids).toEqual([b.id, c.id, d.id]);
    again.close();

    // The retention removes everything older than now: the old position is gone.
    const pruned = await NotificationRepository.prune(pool, { olderThan: new Date(Date.now() + 60_000), keep: 0 });
    expect(pruned).toBeGreaterThan(0);
    await new ExecutionFixture().create(pool);
    const late = openStream('/api/v1/stream', { ...auth, 'Last-Event-ID': seen.id! });
    const reset = await late.next((f) => f.event === 'reset');
    expect(Number(reset.id)).toBeGreaterThan(Number(seen.id));
    late.close();
  });

  it('a ticket opens the stream once without a header; the API token in the URL does not', async () => {
    const ticket = await call(app, { method: 'POST', url: '/api/v1/stream/ticket', headers: auth });
    expect(ticket.statusCode, ticket.body).toBe(201);
    const withTicket = openStream(`/api/v1/stream?ticket=${ticket.data.data.ticket}`);
    await withTicket.statusKnown;
    expect(withTicket.status).toBe(200);
    withTicket.close();
    const reused = openStream(`/api/v1/stream?ticket=${ticket.data.data.ticket}`);
    await reused.statusKnown;
    expect(reused.status).toBe(401);
    const token = openStream(`/api/v1/stream?ticket=${auth.authorization.slice(7)}`);
    await token.statusKnown;
    expect(token.status).toBe(401);
  });
});

describe('GET /api/v1/executions/{id}/output?follow=true', () => {
  it('sends the stored output, each new batch, then end once the execution is final', async () => {
    const execution = await new ExecutionFixture().withStatus('running').create(pool);
    await pool.query(`INSERT INTO execution_output (execution_id, attempt, seq, stream, data) VALUES ($1, 1, 0, 'stdout', 'first')`, [execution.id]);
    const stream = openStream(`/api/v1/executions/${execution.id}/output?follow=true`, auth);
    const first = await stream.next((f) => f.event === 'output');
    expect(first).toMatchObject({ id: '1:0', data: { data: 'first', stream: 'stdout' } });
    await pool.query(`INSERT INTO execution_output (execution_id, attempt, seq, stream, data) VALUES ($1, 1, 1, 'stderr', 'second')`, [execution.id]);
    await pool.query(`SELECT pg_notify('attune_execution_output', json_build_object('executionId', $1::bigint)::text)`, [execution.id]);
    expect((await stream.next((f) => f.event === 'output' && f.id === '1:1')).data.data).toBe('second');
    await pool.query(`UPDATE executions SET status = 'succeeded', finished_at = now() WHERE id = $1`, [execution.id]);
    const end = await stream.next((f) => f.event === 'end');
    expect(end.data).toEqual({ execution_id: execution.id, status: 'succeeded' });
    const resumed = openStream(`/api/v1/executions/${execution.id}/output?follow=true`, { ...auth, 'Last-Event-ID': '1:0' });
    await resumed.next((f) => f.event === 'end');
    expect(resumed.frames.filter((f) => f.event === 'output').map((f) => f.id)).toEqual(['1:1']);
  });
});

describe('SseConnection', () => {
  it('drops a client that does not read once its unsent bytes pass the bound', async () => {
    let connection: SseConnection | undefined;
    const server = http.createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      connection = new SseConnection(response, { maxBufferedBytes: 64 * 1024, heartbeatMs: 0 });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const request = http.get(`http://127.0.0.1:${port}/`, (response) => response.pause());
    request.on('error', () => undefined);
    while (connection === undefined) await new Promise((resolve) => setImmediate(resolve));
    const payload = 'x'.repeat(16 * 1024);
    let sent = 0;
    while (connection.send({ event: 'big', data: payload })) {
      sent += 1;
      if (sent % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
      expect(sent).toBeLessThan(100_000);
    }
    expect(connection.closed).toBe(true);
    expect(connection.endedBy).toBe('slow');
    request.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
});

describe('notifications retention', () => {
  it('the maintenance sweep keeps the newest rows up to the count and drops those past the age', async () => {
    const { createMaintenanceRole } = await import('../../src/engine/maintenance.js');
    const { createLogger } = await import('../../src/log.js');
    for (let i = 0; i < 5; i += 1) await new ExecutionFixture().create(pool);
    const newest = (await NotificationRepository.logBounds(pool)).last!;
    const options = { pool, logger: createLogger('silent'), intervalMs: 60_000, deadlineGraceSeconds: 0, backoff: { baseSeconds: 0, capSeconds: 0 }, outputRetentionDays: 30 };
    const byCount = await createMaintenanceRole({ ...options, notificationRetentionRows: 2 }).sweep();
    expect(byCount.notificationsDeleted).toBeGreaterThan(0);
    const kept = await NotificationRepository.readLog(pool, { after: 0 });
    expect(kept.map((row) => row.id)).toEqual([newest - 1, newest]);
    await pool.query(`UPDATE notifications SET created_at = now() - interval '2 hours' WHERE id = $1`, [newest - 1]);
    const byAge = await createMaintenanceRole({ ...options, notificationRetentionHours: 1 }).sweep();
    expect(byAge.notificationsDeleted).toBe(1);
    expect((await NotificationRepository.readLog(pool, { after: 0 })).map((row) => row.id)).toEqual([newest]);
  });
});
