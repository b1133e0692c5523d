/**
 * Turns a sensor's lines into events: each line `{"trigger": "...",
 * "payload": {...}}` is checked, queued, and written through `fireEvents` in
 * batches. Memory stays bounded: the queue holds at most `maxQueued` events
 * (the caller pauses the sensor's stdout when `push` says so, and the sensor
 * then blocks on its own writes), and events leave at most `maxPerSecond`
 * (a token bucket with one second of burst), so a sensor that floods is
 * slowed down, not allowed to flood the database or the process.
 */
import { fireEvents, type EventToFire } from '../engine/fire-event.js';
import { InvalidReferenceError, ValidationError } from '../errors.js';
import { isComponentRef } from '../refs.js';
import type { Executor } from '../db/pool.js';
import type { JsonObject } from '../repositories/packs.js';
import { Wakeup } from './wake.js';

/** A line as a sensor event, or why it is not one. */
export type ParsedLine = { event: EventToFire } | { error: string };

/**
 * Reads one line of the sensor protocol. `trigger` is a trigger ref;
 * `payload` an object (default {}); `trace_id` (or StackStorm's
 * `trace_tag`) an optional string. When `allowed` is not empty, the trigger
 * must be one of the sensor's declared trigger types.
 */
export function parseSensorLine(line: string, source: string, allowed: readonly string[]): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: 'not JSON' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { error: 'not a JSON object {"trigger": ..., "payload": {...}}' };
  const { trigger, payload = {}, trace_id: traceId, trace_tag: traceTag } = value as Record<string, unknown>;
  if (!isComponentRef(trigger)) return { error: `"trigger" must be a trigger ref '<pack>.<name>', got ${JSON.stringify(trigger)?.slice(0, 100)}` };
  if (allowed.length > 0 && !allowed.includes(trigger)) return { error: `trigger '${trigger}' is not one of the sensor's trigger types (${allowed.join(', ')})` };
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return { error: '"payload" must be a JSON object' };
  const trace = traceId ?? traceTag;
  if (trace !== undefined && (typeof trace !== 'string' || trace === '' || trace.length > 255)) return { error: '"trace_id" must be a string of 1 to 255 characters' };
  return { event: { triggerRef: trigger, payload: payload as JsonObject, source, ...(trace === undefined ? {} : { traceId: trace }) } };
}

export interface EventPumpOptions {
  db: Executor;
  /** Events per `fireEvents` call. */
  batchSize: number;
  /** Events held in memory before the producer is told to pause. */
  maxQueued: number;
  /** Events written per second at most. */
  maxPerSecond: number;
  /** An event the intake refused (it is dropped; the others go on). */
  onRefused(error: Error, event: EventToFire): void;
  /** The database failed; the batch is kept and tried again. */
  onDatabaseError(error: Error): void;
  /** The queue is full: stop reading the producer. */
  onPause(): void;
  /** The queue has room again. */
  onResume(): void;
  /** Milliseconds before a failed batch is tried again. Default 1000. */
  retryMs?: number;
}

/** One producer's queue and writer. */
export class EventPump {
  readonly #options: EventPumpOptions;
  readonly #queue: EventToFire[] = [];
  readonly #wakeup = new Wakeup();
  #tokens: number;
  #refilledAt = Date.now();
  #paused = false;
  #closing = false;
  #loop: Promise<void>;
  /** Events written, events refused, times the producer was paused. */
  readonly stats = { fired: 0, refused: 0, pauses: 0, highWater: 0 };

  constructor(options: EventPumpOptions) {
    this.#options = options;
    this.#tokens = options.maxPerSecond;
    this.#loop = this.#run();
  }

  /** Events waiting to be written. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Queues an event; pauses the producer when the queue is full. */
  push(event: EventToFire): void {
    this.#queue.push(event);
    if (this.#queue.length > this.stats.highWater) this.stats.highWater = this.#queue.length;
    if (!this.#paused && this.#queue.length >= this.#options.maxQueued) {
      this.#paused = true;
      this.stats.pauses++;
      this.#options.onPause();
    }
    this.#wakeup.wake();
  }

  /** Writes what is queued (within `deadlineMs`), then stops. */
  async close(deadlineMs: number): Promise<void> {
    this.#closing = true;
    this.#wakeup.wake();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#loop, new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)))]);
    clearTimeout(timer);
    this.#queue.length = 0;
    this.#wakeup.wake();
  }

  #refill(): void {
    const now = Date.now();
    const max = this.#options.maxPerSecond;
    this.#tokens = Math.min(max, this.#tokens + ((now - this.#refilledAt) / 1000) * max);
    this.#refilledAt = now;
  }

  async #run(): Promise<void> {
    for (;;) {
      if (this.#queue.length === 0) {
        if (this.#closing) return;
        await this.#wakeup.sleep(1_000);
        continue;
      }
      this.#refill();
      if (this.#tokens < 1) {
        // Throttled: wait for the next token (the producer is paused once the queue fills).
        await this.#wakeup.sleep(Math.ceil(((1 - this.#tokens) / this.#options.maxPerSecond) * 1000));
        continue;
      }
      const take = Math.min(this.#options.batchSize, Math.floor(this.#tokens), this.#queue.length);
      this.#tokens -= take;
      try {
        await this.#write(take);
      } catch (error) {
        this.#options.onDatabaseError(error as Error);
        if (this.#closing) return;
        await this.#wakeup.sleep(this.#options.retryMs ?? 1_000);
        continue;
      }
      if (this.#paused && this.#queue.length <= this.#options.maxQueued / 2) {
        this.#paused = false;
        this.#options.onResume();
      }
    }
  }

  /**
   * Writes the first `count` queued events in one INSERT and takes them off
   * the queue; when the intake refuses the batch, each event alone, so one
   * bad event costs only itself. A database failure leaves the unwritten
   * events queued.
   */
  async #write(count: number): Promise<void> {
    const batch = this.#queue.slice(0, count);
    try {
      await fireEvents(this.#options.db, batch);
      this.stats.fired += batch.length;
      this.#queue.splice(0, count);
      return;
    } catch (error) {
      if (!isRefusal(error)) throw error;
    }
    for (const event of batch) {
      try {
        await fireEvents(this.#options.db, [event]);
        this.stats.fired++;
      } catch (error) {
        if (!isRefusal(error)) throw error;
        this.stats.refused++;
        this.#options.onRefused(error, event);
      }
      this.#queue.shift();
    }
  }
}

function isRefusal(error: unknown): error is Error {
  return error instanceof ValidationError || error instanceof InvalidReferenceError;
}
