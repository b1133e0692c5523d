import net from 'node:net';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withDatabase } from '../../src/config.js';
import { findFreePort } from '../../src/db/embedded.js';
import {
  NotificationListener,
  assertChannelName,
  backoffDelay,
  createListener,
  quoteChannel,
  type ListenerErrorContext,
  type ListenerMessage,
  type NotificationListenerOptions,
} from '../../src/db/listener.js';
import { DatabaseUnavailableError, ValidationError } from '../../src/errors.js';
import { NotificationRepository, type NotificationPayload } from '../../src/repositories/notifications.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { cleanDatabase, createTestPool } from '../../src/testing/database.js';
import { loadTestConfig } from '../../src/testing/env.js';
import { NotificationFixture } from '../../src/testing/fixtures/notifications.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';

const pool = createTestPool();
const url = loadTestConfig().database.url!;
const WAIT_MS = 10_000;

/** Rejects when `promise` has not settled within `ms`. */
function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Collects a channel's messages; `next()` waits (bounded) for the next one. */
class Inbox {
  readonly received: ListenerMessage[] = [];
  private readonly queue: ListenerMessage[] = [];
  private waiters: ((message: ListenerMessage) => void)[] = [];

  readonly handler = (_payload: unknown, message: ListenerMessage): void => {
    this.received.push(message);
    const waiter = this.waiters.shift();
    if (waiter) waiter(message);
    else this.queue.push(message);
  };

  next(what = 'a notification'): Promise<ListenerMessage> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    let resolveWaiter!: (message: ListenerMessage) => void;
    const promise = new Promise<ListenerMessage>((resolve) => {
      resolveWaiter = resolve;
      this.waiters.push(resolve);
    });
    return within(promise, what).catch((error: unknown) => {
      this.waiters = this.waiters.filter((w) => w !== resolveWaiter);
      throw error;
    });
  }

  /** Messages received but not yet taken with next(). */
  get pending(): ListenerMessage[] {
    return [...this.queue];
  }
}

/** Resolves the next time `register` calls back. */
function signal<T = void>(): { promise: Promise<T>; fire: (value: T) => void } {
  let fire!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    fire = resolve;
  });
  return { promise, fire };
}

const listeners: NotificationListener[] = [];
function newListener(options: Partial<NotificationListenerOptions> = {}): NotificationListener {
  const listener = createListener({ url, backoff: { initialMs: 20, maxMs: 200, jitter: 0 }, onError: () => undefined, ...options });
  listeners.push(listener);
  return listener;
}

async function sessionsNamed(applicationName: string): Promise<number> {
  const result = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
  return result.rows[0]!.n;
}

beforeEach(async () => {
  await cleanDatabase(pool);
});
afterEach(async () => {
  await Promise.all(listeners.splice(0).map((listener) => listener.close()));
});
afterAll(async () => {
  await pool.end();
});

describe('channel names', () => {
  it('accepts identifiers up to 63 bytes and quotes them, keeping case', () => {
    expect(quoteChannel('executions')).toBe('"executions"');
    expect(quoteChannel('Mixed_Case.1:x-y$')).toBe('"Mixed_Case.1:x-y$"');
    expect(() => assertChannelName('a'.repeat(63))).not.toThrow();
  });

  it.each(['', 'a'.repeat(64), 'é'.repeat(32), 'has space', 'quote"d', "x'; DROP TABLE keys; --", '1abc', 42])(
    'refuses %j',
    (channel) => {
      expect(() => quoteChannel(channel as string)).toThrow(ValidationError);
    },
  );

  it('listen refuses a bad channel or handler before touching the connection', async () => {
    const listener = newListener();
    await expectErrorType(listener.listen('bad channel', () => undefined), ValidationError);
    await expectErrorType(listener.listen('ok', 'not a function' as never), ValidationError);
    expect(listener.channels).toEqual([]);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially from the initial delay and stops at the cap', () => {
    const none = () => 0;
    expect([0, 1, 2, 3, 4].map((n) => backoffDelay(n, { initialMs: 100, maxMs: 1000, factor: 2 }, none))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(500, { initialMs: 100, maxMs: 1000 }, none)).toBe(1000);
    expect(backoffDelay(0, {}, none)).toBe(100);
    expect(backoffDelay(100, {}, none)).toBe(30_000);
  });

  it('takes at most the jitter fraction off, at random', () => {
    expect(backoffDelay(3, { initialMs: 100, maxMs: 10_000, jitter: 0.25 }, () => 1)).toBe(600);
    expect(backoffDelay(3, { initialMs: 100, maxMs: 10_000, jitter: 0.25 }, () => 0.5)).toBe(700);
    expect(backoffDelay(3, { initialMs: 100, maxMs: 10_000, jitter: 0 }, () => 1)).toBe(800);
  });
});

describe('NotificationListener delivery', () => {
  it('delivers a notification at commit, not before, with the trigger payload', async () => {
    const fixture = new NotificationFixture().about('execution', 99).withActivity('status_changed');
    const inbox = new Inbox();
    const listener = newListener();
    await listener.listen(fixture.channel, inbox.handler);
    await listener.start();
    expect(listener.connected).toBe(true);

    const tx = await pool.connect();
    try {
      await tx.query('BEGIN');
      const inside = await fixture.create(tx);
      // A second notification committed meanwhile arrives; the open transaction's does not.
      const outside = await fixture.create(pool);
      const first = await inbox.next('the committed notification');
      expect((first.payload as NotificationPayload).id).toBe(outside.id);
      expect(inbox.pending).toEqual([]);
      await tx.query('COMMIT');
      const second = await inbox.next('the notification committed second');
      expect(second.channel).toBe(fixture.channel);
      expect(second.payload).toEqual({ id: inside.id, entity_type: 'execution', entity_id: 99, activity: 'status_changed' });
      expect(JSON.parse(second.raw)).toEqual(second.payload);
      expect(second.processId).toBeGreaterThan(0);
    } finally {
      tx.release();
    }
  });

  it('delivers nothing for a rolled-back insert', async () => {
    const fixture = new NotificationFixture();
    const inbox = new Inbox();
    const listener = newListener();
    await listener.start();
    await listener.listen(fixture.channel, inbox.handler);

    const tx = await pool.connect();
    try {
      await tx.query('BEGIN');
      await fixture.create(tx);
      await tx.query('ROLLBACK');
    } finally {
      tx.release();
    }
    const after = await fixture.create(pool);
    // NOTIFYs arrive in commit order: once the later one is here, the rolled-back one never will be.
    expect(((await inbox.next()).payload as NotificationPayload).id).toBe(after.id);
    expect(inbox.received).toHaveLength(1);
  });

  it('handles several channels and several handlers, and unlisten stops delivery', async () => {
    const a = new NotificationFixture();
    const b = new NotificationFixture();
    const unheard = new NotificationFixture();
    const inboxA = new Inbox();
    const inboxA2 = new Inbox();
    const inboxB = new Inbox();
    const listener = newListener();
    await listener.start();
    const stopA = await listener.listen(a.channel, inboxA.handler);
    const stopA2 = await listener.listen(a.channel, inboxA2.handler);
    await listener.listen(b.channel, inboxB.handler);
    expect(listener.channels.sort()).toEqual([a.channel, b.channel].sort());

    await unheard.create(pool);
    const na = await a.create(pool);
    const nb = await b.create(pool);
    expect(((await inboxA.next()).payload as NotificationPayload).id).toBe(na.id);
    expect(((await inboxA2.next()).payload as NotificationPayload).id).toBe(na.id);
    expect(((await inboxB.next()).payload as NotificationPayload).id).toBe(nb.id);

    await stopA();
    const na2 = await a.create(pool);
    // Both handlers run in the same dispatch: once A2 has it, A would have too.
    expect(((await inboxA2.next()).payload as NotificationPayload).id).toBe(na2.id);
    expect(inboxA.received).toHaveLength(1);

    await stopA2();
    expect(listener.channels).toEqual([b.channel]);
    await a.create(pool);
    const nb2 = await b.create(pool);
    // Delivered in commit order: once b's later one is here, a's would have been too.
    expect(((await inboxB.next()).payload as NotificationPayload).id).toBe(nb2.id);
    expect(inboxA2.received).toHaveLength(2);
    expect(inboxB.received).toHaveLength(2);
  });

  it('a channel listened to before start is LISTENed by start; exact case is kept', async () => {
    const channel = `Mixed_${uniqueName('Case')}`;
    const inbox = new Inbox();
    const listener = newListener();
    await listener.listen(channel, inbox.handler);
    expect(listener.connected).toBe(false);
    await listener.start();
    await listener.start();
    await pool.query('SELECT pg_notify($1, $2)', [channel.toLowerCase(), 'wrong case']);
    await pool.query('SELECT pg_notify($1, $2)', [channel, 'plain text, not JSON']);
    const message = await inbox.next();
    expect(message).toMatchObject({ channel, payload: 'plain text, not JSON', raw: 'plain text, not JSON' });
    expect(inbox.received).toHaveLength(1);
  });

  it('a handler that throws or rejects goes to onError and delivery goes on', async () => {
    const fixture = new NotificationFixture();
    const errors: [Error, ListenerErrorContext][] = [];
    const listener = newListener({ onError: (error, context) => errors.push([error, context]) });
    const inbox = new Inbox();
    await listener.listen(fixture.channel, () => {
      throw new Error('handler exploded');
    });
    await listener.listen(fixture.channel, async () => {
      throw new Error('handler rejected');
    });
    await listener.listen(fixture.channel, inbox.handler);
    await listener.start();
    await fixture.create(pool);
    await inbox.next();
    const second = await fixture.create(pool);
    expect(((await inbox.next()).payload as NotificationPayload).id).toBe(second.id);
    await within(
      (async () => {
        while (errors.length < 4) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      'four handler errors',
    );
    expect(errors.map(([error]) => error.message).sort()).toEqual(['handler exploded', 'handler exploded', 'handler rejected', 'handler rejected']);
    expect(errors.every(([, context]) => context.phase === 'handler' && context.channel === fixture.channel)).toBe(true);
    expect(listener.connected).toBe(true);
  });
});

describe('NotificationListener reconnects', () => {
  it('after pg_terminate_backend: reconnects, re-LISTENs every channel, reports it, and delivers again', async () => {
    const a = new NotificationFixture();
    const b = new NotificationFixture();
    const inboxA = new Inbox();
    const inboxB = new Inbox();
    const errors: [Error, ListenerErrorContext][] = [];
    const reconnected = signal<{ attempts: number; downtimeMs: number; missed: number[] }>();
    const listener = newListener({
      onError: (error, context) => errors.push([error, context]),
      // What a real caller does: re-read the rows it may have missed.
      onReconnect: async (info) => {
        const pending = await NotificationRepository.listPending(pool, { channel: a.channel });
        reconnected.fire({ ...info, missed: pending.map((n) => n.id) });
      },
      backoff: { initialMs: 300, maxMs: 1000, jitter: 0 },
    });
    await listener.listen(a.channel, inboxA.handler);
    await listener.listen(b.channel, inboxB.handler);
    await listener.start();
    const pid = listener.processId;
    expect(pid).toBeGreaterThan(0);

    const killed = await pool.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid]);
    expect(killed.rows[0]!.ok).toBe(true);
    // Sent while the listener is away (the first reconnect attempt waits 300 ms).
    const whileAway = await a.create(pool);

    const info = await within(reconnected.promise, 'onReconnect');
    expect(info.attempts).toBe(1);
    expect(info.downtimeMs).toBeGreaterThanOrEqual(250);
    expect(info.missed).toContain(whileAway.id);
    expect(listener.connected).toBe(true);
    expect(listener.reconnects).toBe(1);
    expect(listener.processId).not.toBe(pid);
    expect(errors.some(([error, context]) => error instanceof DatabaseUnavailableError && context.phase === 'connection')).toBe(true);

    const na = await a.create(pool);
    const nb = await b.create(pool);
    const gotA = await inboxA.next('a notification on channel a after the reconnect');
    const idA = (gotA.payload as NotificationPayload).id;
    // The row sent while away may or may not have reached the dying session; the new one must arrive.
    expect(idA === na.id || (idA === whileAway.id && ((await inboxA.next()).payload as NotificationPayload).id === na.id)).toBe(true);
    expect(((await inboxB.next()).payload as NotificationPayload).id).toBe(nb.id);
  });

  it('keeps retrying with backoff while the database refuses connections', async () => {
    const fixture = new NotificationFixture();
    const inbox = new Inbox();
    const errors: [Error, ListenerErrorContext][] = [];
    const twoFailures = signal();
    const reconnected = signal<{ attempts: number }>();
    const listener = newListener({
      onError: (error, context) => {
        errors.push([error, context]);
        if (errors.filter(([, c]) => c.phase === 'reconnect').length === 2) twoFailures.fire();
      },
      onReconnect: (info) => reconnected.fire(info),
      backoff: { initialMs: 20, maxMs: 100, jitter: 0 },
    });
    await listener.listen(fixture.channel, inbox.handler);
    await listener.start();

    // A database cannot refuse connections to itself: switch it from the maintenance database.
    const database = (await pool.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    const quoted = `"${database.replace(/"/g, '""')}"`;
    const admin = new pg.Client({ connectionString: withDatabase(url, 'postgres') });
    admin.on('error', () => undefined);
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE ${quoted} ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend($1)', [listener.processId]);
      await within(twoFailures.promise, 'two failed reconnect attempts');
      expect(listener.connected).toBe(false);
      expect(listener.state).toBe('reconnecting');
    } finally {
      await admin.query(`ALTER DATABASE ${quoted} ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    const info = await within(reconnected.promise, 'onReconnect');
    expect(info.attempts).toBeGreaterThanOrEqual(3);
    const reconnectErrors = errors.filter(([, c]) => c.phase === 'reconnect');
    expect(reconnectErrors.every(([error]) => error instanceof DatabaseUnavailableError)).toBe(true);
    const sent = await fixture.create(pool);
    expect(((await inbox.next()).payload as NotificationPayload).id).toBe(sent.id);
  });
});

describe('NotificationListener lifecycle', () => {
  it('close stops delivery and callbacks, ends the connection, and is idempotent', async () => {
    const fixture = new NotificationFixture();
    const applicationName = uniqueName('listener_close');
    const inbox = new Inbox();
    const sentinel = new Inbox();
    const errors: Error[] = [];
    let reconnects = 0;
    const listener = newListener({ applicationName, onError: (error) => errors.push(error), onReconnect: () => void reconnects++ });
    const other = newListener();
    const stop = await listener.listen(fixture.channel, inbox.handler);
    await other.listen(fixture.channel, sentinel.handler);
    await Promise.all([listener.start(), other.start()]);
    expect(await sessionsNamed(applicationName)).toBe(1);

    await listener.close();
    await listener.close();
    expect(listener.connected).toBe(false);
    expect(listener.state).toBe('closed');
    expect(await sessionsNamed(applicationName)).toBe(0);

    await fixture.create(pool);
    await sentinel.next('the sentinel listener to hear the notification');
    expect(inbox.received).toEqual([]);
    await expect(stop()).resolves.toBeUndefined();
    await expect(listener.listen(fixture.channel, inbox.handler)).rejects.toThrow(/closed/);
    await expect(listener.start()).rejects.toThrow(/closed/);
    expect(errors).toEqual([]);
    expect(reconnects).toBe(0);
  });

  it('close while reconnecting cancels the reconnect', async () => {
    const applicationName = uniqueName('listener_cancel');
    let reconnects = 0;
    const errors: ListenerErrorContext[] = [];
    const lost = signal();
    const listener = newListener({
      applicationName,
      backoff: { initialMs: 50, jitter: 0 },
      onReconnect: () => void reconnects++,
      onError: (_error, context) => {
        errors.push(context);
        if (context.phase === 'connection') lost.fire();
      },
    });
    await listener.listen(new NotificationFixture().channel, () => undefined);
    await listener.start();
    await pool.query('SELECT pg_terminate_backend($1)', [listener.processId]);
    await within(lost.promise, 'the lost connection to be noticed');
    await listener.close();
    // Past the 50 ms backoff: a reconnect that was not cancelled would have happened by now.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reconnects).toBe(0);
    expect(await sessionsNamed(applicationName)).toBe(0);
    expect(errors.map((c) => c.phase)).toEqual(['connection']);
  });

  it('start rejects with DatabaseUnavailableError when the server cannot be reached, and may be retried', async () => {
    const port = await findFreePort();
    const unreachable = new URL(url);
    unreachable.hostname = '127.0.0.1';
    unreachable.port = String(port);
    const listener = newListener({ url: unreachable.toString(), connectTimeoutMs: 2000 });
    const error = await expectErrorType(listener.start(), DatabaseUnavailableError);
    expect(error.message).toContain(String(port));
    expect(listener.state).toBe('idle');
    await expectErrorType(listener.start(), DatabaseUnavailableError);
  });

  it('refuses to be built without a url', () => {
    expect(() => new NotificationListener({} as never)).toThrow(ValidationError);
  });

  it('a health check notices a connection that stops answering without closing, and replaces it', async () => {
    const proxy = await startProxy(new URL(url));
    try {
      const fixture = new NotificationFixture();
      const inbox = new Inbox();
      const phases: string[] = [];
      const reconnected = signal();
      const through = new URL(url);
      through.port = String(proxy.port);
      const listener = newListener({
        url: through.toString(),
        healthCheckMs: 50,
        // Also the health check's own bound: 2 s notices the frozen connection well inside the wait below, and does not
        // tear down the healthy new one when a loaded machine answers a check slowly.
        connectTimeoutMs: 2000,
        onError: (_error, context) => phases.push(context.phase),
        onReconnect: () => reconnected.fire(),
      });
      await listener.listen(fixture.channel, inbox.handler);
      await listener.start();
      const pid = listener.processId;
      // Black-hole the live connection: no bytes either way, no FIN, no RST.
      proxy.freeze();
      await within(reconnected.promise, 'the health check to replace the silent connection');
      expect(phases).toContain('health-check');
      expect(listener.processId).not.toBe(pid);
      const sent = await fixture.create(pool);
      expect(((await inbox.next()).payload as NotificationPayload).id).toBe(sent.id);
    } finally {
      await proxy.close();
    }
  });

  it('a health check keeps a healthy connection and reports nothing', async () => {
    const fixture = new NotificationFixture();
    const inbox = new Inbox();
    const errors: Error[] = [];
    const listener = newListener({ healthCheckMs: 20, onError: (error) => errors.push(error) });
    await listener.listen(fixture.channel, inbox.handler);
    await listener.start();
    const pid = listener.processId;
    await new Promise((resolve) => setTimeout(resolve, 120));
    const sent = await fixture.create(pool);
    expect(((await inbox.next()).payload as NotificationPayload).id).toBe(sent.id);
    expect(listener.processId).toBe(pid);
    expect(errors).toEqual([]);
  });
});

/** A TCP proxy to the test server whose current connections can be frozen (bytes dropped, sockets left open). */
async function startProxy(target: URL): Promise<{ port: number; freeze: () => void; close: () => Promise<void> }> {
  const pairs: { frozen: boolean; sockets: net.Socket[] }[] = [];
  const server = net.createServer((downstream) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    const pair = { frozen: false, sockets: [downstream, upstream] };
    pairs.push(pair);
    downstream.on('data', (chunk) => void (pair.frozen || upstream.write(chunk)));
    upstream.on('data', (chunk) => void (pair.frozen || downstream.write(chunk)));
    for (const socket of pair.sockets) {
      socket.on('error', () => undefined);
      socket.on('close', () => pair.sockets.forEach((s) => s.destroy()));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze: () => pairs.forEach((pair) => (pair.frozen = true)),
    close: async () => {
      pairs.forEach((pair) => pair.sockets.forEach((socket) => socket.destroy()));
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
