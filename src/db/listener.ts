import pg from 'pg';
import { DatabaseUnavailableError, ValidationError } from '../errors.js';
import { isConnectionError } from './pg-errors.js';
import { describeConnectionFailure } from './pool.js';

/**
 * LISTEN/NOTIFY on a dedicated connection. A pooled client would be handed to
 * someone else (and its LISTENs with it), so the listener owns one pg.Client,
 * watches it, and replaces it when it dies: capped exponential backoff, every
 * channel LISTENed again, then `onReconnect` so the caller can re-read what
 * was sent while it was away (NOTIFY is not queued for absent listeners; the
 * notifications table is the durable record).
 */

/** PostgreSQL identifiers, and so channel names, are at most 63 bytes (NAMEDATALEN - 1). */
export const CHANNEL_MAX_BYTES = 63;
/** Channels the listener accepts: identifier-like, no quotes, no spaces. */
export const LISTEN_CHANNEL_PATTERN = /^[A-Za-z_][A-Za-z0-9_.:$-]*$/;

/** True for a channel the listener accepts. */
export function isChannelName(value: unknown): value is string {
  return typeof value === 'string' && Buffer.byteLength(value, 'utf8') <= CHANNEL_MAX_BYTES && LISTEN_CHANNEL_PATTERN.test(value);
}

/** ValidationError unless `value` is a channel name of at most 63 bytes. */
export function assertChannelName(value: unknown, field = 'channel'): asserts value is string {
  if (!isChannelName(value)) {
    throw new ValidationError(
      `${field} must be an identifier matching ${LISTEN_CHANNEL_PATTERN.source} of at most ${CHANNEL_MAX_BYTES} bytes, got ${JSON.stringify(value)}`,
      { entity: 'listener', field, value },
    );
  }
}

/**
 * The channel as a quoted identifier for LISTEN / UNLISTEN, which take an
 * identifier, not a parameter. Quoting keeps the exact case, matching what
 * pg_notify(channel, …) sends to. Validates first.
 */
export function quoteChannel(channel: string): string {
  assertChannelName(channel);
  return `"${channel.replace(/"/g, '""')}"`;
}

export interface BackoffOptions {
  /** First delay. Default 100 ms. */
  initialMs?: number;
  /** Cap. Default 30 s. */
  maxMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Fraction of the delay taken off at random (0–1), so many listeners do not reconnect in step. Default 0.2. */
  jitter?: number;
}

/** Delay before reconnect attempt `attempt` (0-based): initial × factor^attempt, capped, less random jitter. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const { initialMs = 100, maxMs = 30_000, factor = 2, jitter = 0.2 } = options;
  const raw = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt));
  return Math.max(0, Math.round(raw * (1 - Math.min(1, Math.max(0, jitter)) * random())));
}

/** One notification as handed to a handler. */
export interface ListenerMessage {
  channel: string;
  /** The parsed JSON payload, or the raw text when it is not JSON. */
  payload: unknown;
  raw: string;
  /** Backend pid of the session that sent it. */
  processId: number;
}

export type NotificationHandler = (payload: unknown, message: ListenerMessage) => void | Promise<void>;

/** Where an error reported to onError came from. */
export interface ListenerErrorContext {
  phase: 'connection' | 'reconnect' | 'listen' | 'unlisten' | 'handler' | 'health-check' | 'callback';
  channel?: string;
}

export interface NotificationListenerOptions {
  /** PostgreSQL URL of the database to listen on. */
  url: string;
  connectTimeoutMs?: number;
  backoff?: BackoffOptions;
  /**
   * How often a `SELECT 1` checks the connection, to notice one that died
   * without closing (a LISTEN-only connection sends nothing otherwise).
   * 0 turns it off. Default 30 s.
   */
  healthCheckMs?: number;
  applicationName?: string;
  /** Every error: a lost connection, a failed reconnect attempt, a handler that threw. Never thrown, never emitted. */
  onError?: (error: Error, context: ListenerErrorContext) => void;
  /**
   * Called after a lost connection is back and every channel is LISTENed
   * again: notifications sent meanwhile were lost, so re-read pending rows.
   */
  onReconnect?: (info: { attempts: number; downtimeMs: number }) => void | Promise<void>;
}

type State = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

/**
 * Listens to channels on a dedicated connection and reconnects when it drops.
 *
 *     const listener = new NotificationListener({ url, onReconnect: catchUp, onError: log });
 *     await listener.listen('executions', (payload) => …);
 *     await listener.start();
 *     …
 *     await listener.close();
 *
 * `listen` before `start` registers the handler; `start` LISTENs to every
 * channel registered so far. After `close` no handler, onError or onReconnect
 * runs again, close itself never rejects, and in-flight listen/unlisten calls
 * resolve; calling start or listen on a closed listener is a programming
 * error and rejects.
 */
export class NotificationListener {
  readonly #options: NotificationListenerOptions;
  readonly #handlers = new Map<string, Set<NotificationHandler>>();
  /** The live connection: connected, every channel LISTENed. */
  #client: pg.Client | undefined;
  /** A connection being opened (first start or a reconnect). */
  #connecting: pg.Client | undefined;
  #connectPromise: Promise<void> | undefined;
  readonly #listened = new WeakMap<pg.Client, Set<string>>();
  readonly #syncQueue = new WeakMap<pg.Client, Promise<void>>();
  #state: State = 'idle';
  #attempt = 0;
  #disconnectedAt = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #healthTimer: NodeJS.Timeout | undefined;
  #healthBusy = false;
  #reconnects = 0;

  constructor(options: NotificationListenerOptions) {
    if (!options || typeof options.url !== 'string' || options.url === '') {
      throw new ValidationError('NotificationListener needs a database url', { entity: 'listener', field: 'url' });
    }
    this.#options = { ...options };
  }

  /** True while a connection is up and listening. */
  get connected(): boolean {
    return this.#client !== undefined;
  }

  get state(): State {
    return this.#state;
  }

  /** Backend pid of the current connection (for pg_terminate_backend in tests), or undefined. */
  get processId(): number | undefined {
    const pid = (this.#client as unknown as { processID?: number | null } | undefined)?.processID;
    return pid ?? undefined;
  }

  /** Channels with at least one handler. */
  get channels(): string[] {
    return [...this.#handlers.keys()];
  }

  /** How many times a lost connection was re-established. */
  get reconnects(): number {
    return this.#reconnects;
  }

  /**
   * Opens the connection and LISTENs to every registered channel. Rejects
   * with DatabaseUnavailableError when the first connection fails (nothing
   * retries then; call start again). Idempotent while running.
   */
  async start(): Promise<void> {
    if (this.#isClosed()) throw new Error('NotificationListener is closed');
    if (this.#state !== 'idle') return this.#connectPromise ?? undefined;
    this.#state = 'connecting';
    try {
      await this.#connect();
    } catch (error) {
      if (this.#isClosed()) return;
      this.#state = 'idle';
      throw describeConnectionFailure(this.#options.url, error);
    }
  }

  /**
   * Calls `handler` for every notification on `channel`. When connected, the
   * LISTEN is in effect when the promise resolves. Returns a function that
   * removes the handler (and UNLISTENs when it was the channel's last).
   */
  async listen(channel: string, handler: NotificationHandler): Promise<() => Promise<void>> {
    assertChannelName(channel);
    if (typeof handler !== 'function') throw new ValidationError('handler must be a function', { entity: 'listener', field: 'handler' });
    if (this.#isClosed()) throw new Error('NotificationListener is closed');
    let handlers = this.#handlers.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.#handlers.set(channel, handlers);
    }
    handlers.add(handler);
    const client = this.#client;
    if (client) {
      try {
        await this.#sync(client);
      } catch (error) {
        // A lost connection is not the caller's problem: the reconnect LISTENs
        // again and onReconnect fires. Anything else is.
        if (client === this.#client && !isConnectionError(error)) {
          this.#remove(channel, handler);
          throw error;
        }
      }
    }
    return () => this.unlisten(channel, handler);
  }

  /** Removes one handler (or all of the channel's); UNLISTENs when none is left. Never rejects. */
  async unlisten(channel: string, handler?: NotificationHandler): Promise<void> {
    if (!this.#remove(channel, handler)) return;
    const client = this.#client;
    if (!client) return;
    try {
      await this.#sync(client);
    } catch (error) {
      if (client === this.#client && !isConnectionError(error)) this.#report(error, { phase: 'unlisten', channel });
    }
  }

  /** Stops everything: no reconnects, no callbacks, connection closed. Idempotent; never rejects. */
  async close(): Promise<void> {
    if (this.#isClosed()) return;
    this.#state = 'closed';
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#stopHealthCheck();
    this.#handlers.clear();
    const pending = this.#connectPromise;
    const client = this.#client;
    this.#client = undefined;
    if (client) await endQuietly(client);
    // A connection being opened ends itself when it sees the closed state.
    if (pending) await pending.catch(() => undefined);
  }

  /** A method, not a field test, so TypeScript does not narrow the state across awaits. */
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  /** Removes a handler; true when the channel has none left. */
  #remove(channel: string, handler?: NotificationHandler): boolean {
    const handlers = this.#handlers.get(channel);
    if (!handlers) return false;
    if (handler) handlers.delete(handler);
    else handlers.clear();
    if (handlers.size > 0) return false;
    this.#handlers.delete(channel);
    return true;
  }

  #listenedOn(client: pg.Client): Set<string> {
    let set = this.#listened.get(client);
    if (!set) {
      set = new Set();
      this.#listened.set(client, set);
    }
    return set;
  }

  /**
   * Brings the connection's LISTENs in line with the registered channels.
   * Calls run one after another per connection, so when one resolves every
   * channel registered before it was called is LISTENed.
   */
  #sync(client: pg.Client): Promise<void> {
    const previous = this.#syncQueue.get(client) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.#syncNow(client));
    this.#syncQueue.set(client, next);
    return next;
  }

  /** One round trip per pass, until nothing changed meanwhile. */
  async #syncNow(client: pg.Client): Promise<void> {
    const listened = this.#listenedOn(client);
    for (;;) {
      if (this.#isClosed()) return;
      const wanted = [...this.#handlers.keys()];
      const add = wanted.filter((channel) => !listened.has(channel));
      const drop = [...listened].filter((channel) => !this.#handlers.has(channel));
      if (add.length === 0 && drop.length === 0) return;
      const sql = [...add.map((c) => `LISTEN ${quoteChannel(c)}`), ...drop.map((c) => `UNLISTEN ${quoteChannel(c)}`)].join('; ');
      add.forEach((channel) => listened.add(channel));
      drop.forEach((channel) => listened.delete(channel));
      try {
        await client.query(sql);
      } catch (error) {
        add.forEach((channel) => listened.delete(channel));
        drop.forEach((channel) => listened.add(channel));
        throw error;
      }
    }
  }

  /** Opens a connection, LISTENs to every channel, and makes it the live one. */
  #connect(): Promise<void> {
    const run = async (): Promise<void> => {
      const client = new pg.Client({
        connectionString: this.#options.url,
        connectionTimeoutMillis: this.#options.connectTimeoutMs ?? 5000,
        keepAlive: true,
        application_name: this.#options.applicationName ?? 'attune-listener',
      });
      // Attached before connect: an 'error' event without a listener would crash the process.
      client.on('error', (error) => this.#onConnectionError(client, error));
      client.on('end', () => this.#onConnectionLost(client));
      client.on('notification', (message) => this.#dispatch(client, message));
      this.#connecting = client;
      try {
        await client.connect();
        await this.#sync(client);
      } catch (error) {
        await endQuietly(client);
        throw error;
      } finally {
        this.#connecting = undefined;
      }
      if (this.#isClosed()) {
        await endQuietly(client);
        return;
      }
      this.#client = client;
      this.#state = 'connected';
      this.#startHealthCheck(client);
    };
    const promise = run().finally(() => {
      if (this.#connectPromise === promise) this.#connectPromise = undefined;
    });
    this.#connectPromise = promise;
    return promise;
  }

  #dispatch(client: pg.Client, message: pg.Notification): void {
    if (this.#isClosed() || (client !== this.#client && client !== this.#connecting)) return;
    const handlers = this.#handlers.get(message.channel);
    if (!handlers || handlers.size === 0) return;
    const raw = message.payload ?? '';
    let payload: unknown = raw;
    try {
      payload = JSON.parse(raw);
    } catch {
      payload = raw;
    }
    const delivered: ListenerMessage = { channel: message.channel, payload, raw, processId: message.processId };
    for (const handler of [...handlers]) {
      try {
        const result = handler(payload, delivered);
        if (result && typeof (result as Promise<void>).then === 'function') {
          (result as Promise<void>).then(undefined, (error: unknown) => this.#report(error, { phase: 'handler', channel: message.channel }));
        }
      } catch (error) {
        this.#report(error, { phase: 'handler', channel: message.channel });
      }
    }
  }

  #onConnectionError(client: pg.Client, error: Error): void {
    // Errors while connecting reject connect(); errors of a replaced client are old news.
    if (client !== this.#client || this.#isClosed()) return;
    this.#report(new DatabaseUnavailableError(`Listener connection lost: ${error.message}`, { cause: error }), { phase: 'connection' });
    this.#onConnectionLost(client);
  }

  #onConnectionLost(client: pg.Client): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    this.#stopHealthCheck();
    void endQuietly(client);
    if (this.#isClosed()) return;
    this.#state = 'reconnecting';
    this.#disconnectedAt = Date.now();
    this.#attempt = 0;
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#isClosed() || this.#reconnectTimer) return;
    const delay = backoffDelay(this.#attempt, this.#options.backoff);
    this.#attempt += 1;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      void this.#reconnect();
    }, delay);
  }

  async #reconnect(): Promise<void> {
    if (this.#isClosed()) return;
    try {
      await this.#connect();
    } catch (error) {
      if (this.#isClosed()) return;
      this.#report(describeConnectionFailure(this.#options.url, error), { phase: 'reconnect' });
      this.#scheduleReconnect();
      return;
    }
    if (this.#isClosed() || !this.#client) return;
    this.#reconnects += 1;
    const info = { attempts: this.#attempt, downtimeMs: Date.now() - this.#disconnectedAt };
    this.#attempt = 0;
    const onReconnect = this.#options.onReconnect;
    if (!onReconnect) return;
    try {
      const result = onReconnect(info);
      if (result && typeof result.then === 'function') result.then(undefined, (error: unknown) => this.#report(error, { phase: 'callback' }));
    } catch (error) {
      this.#report(error, { phase: 'callback' });
    }
  }

  #startHealthCheck(client: pg.Client): void {
    const every = this.#options.healthCheckMs ?? 30_000;
    if (every <= 0) return;
    this.#stopHealthCheck();
    this.#healthTimer = setInterval(() => void this.#healthCheck(client), every);
    this.#healthTimer.unref();
  }

  #stopHealthCheck(): void {
    clearInterval(this.#healthTimer);
    this.#healthTimer = undefined;
  }

  async #healthCheck(client: pg.Client): Promise<void> {
    if (this.#healthBusy || client !== this.#client) return;
    this.#healthBusy = true;
    const timeoutMs = this.#options.connectTimeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer to a health check within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (error) {
      if (client === this.#client && !this.#isClosed()) {
        this.#report(new DatabaseUnavailableError(`Listener connection failed its health check: ${(error as Error).message}`, { cause: error }), {
          phase: 'health-check',
        });
        destroy(client);
        this.#onConnectionLost(client);
      }
    } finally {
      clearTimeout(timer);
      this.#healthBusy = false;
    }
  }

  #report(error: unknown, context: ListenerErrorContext): void {
    if (this.#isClosed()) return;
    const err = error instanceof Error ? error : new Error(String(error));
    const onError = this.#options.onError;
    try {
      if (onError) onError(err, context);
      else process.emitWarning(`${context.phase}${context.channel ? ` (${context.channel})` : ''}: ${err.message}`, 'AttuneListenerWarning');
    } catch {
      // An onError that throws must not take the listener down.
    }
  }
}

/** Same as `new NotificationListener(options)`. */
export function createListener(options: NotificationListenerOptions): NotificationListener {
  return new NotificationListener(options);
}

async function endQuietly(client: pg.Client): Promise<void> {
  client.removeAllListeners('notification');
  client.removeAllListeners('end');
  client.removeAllListeners('error');
  client.on('error', () => undefined);
  await client.end().catch(() => undefined);
}

/** Drops the socket of a client that stopped answering; end() would wait on it. */
function destroy(client: pg.Client): void {
  (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream?.destroy?.();
}
