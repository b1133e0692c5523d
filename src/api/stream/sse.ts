/**
 * One Server-Sent Events connection, written by hand on the raw response:
 * `id:` / `event:` / `data:` frames, a comment every so often so proxies keep
 * the connection open, and a bound on what may wait in the socket's buffer:
 * a client that does not read is dropped rather than allowed to grow memory.
 */
import type { ServerResponse } from 'node:http';

/** Limits of one connection. */
export interface SseOptions {
  /** Bytes that may wait unsent before the client is dropped. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Milliseconds between keep-alive comments. Default 15 s; 0 turns them off. */
  heartbeatMs?: number;
}

/** One frame: `event` names it, `id` becomes the client's Last-Event-ID, `data` is sent as JSON. */
export interface SseFrame {
  id?: string | number;
  event: string;
  data: unknown;
}

export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
export const DEFAULT_HEARTBEAT_MS = 15_000;

/** The headers of an event stream; the response is never cached or buffered by a proxy. */
export function sseHeaders(requestId: string): Record<string, string> {
  return {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-content-type-options': 'nosniff',
    'x-request-id': requestId,
  };
}

/** Text that is safe on one `id:` line (no line breaks). */
function oneLine(value: string | number): string {
  return String(value).replace(/[\r\n]/g, '');
}

/** A frame as text: JSON data has no raw line breaks, so it is always one `data:` line. */
export function formatFrame(frame: SseFrame): string {
  const id = frame.id === undefined ? '' : `id: ${oneLine(frame.id)}\n`;
  return `${id}event: ${oneLine(frame.event)}\ndata: ${JSON.stringify(frame.data ?? null)}\n\n`;
}

/** Writes frames to a response until it closes, the client falls too far behind, or `close` is called. */
export class SseConnection {
  readonly #response: ServerResponse;
  readonly #maxBuffered: number;
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #onClose: (() => void)[] = [];
  /** Why the connection ended: the client left, it was too slow, or the server ended it. */
  endedBy: 'client' | 'slow' | 'server' | undefined;

  constructor(response: ServerResponse, options: SseOptions = {}) {
    this.#response = response;
    this.#maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    if (heartbeatMs > 0) {
      this.#heartbeat = setInterval(() => this.comment('heartbeat'), heartbeatMs);
      this.#heartbeat.unref();
    }
    response.on('close', () => this.#finish('client'));
    response.on('error', () => this.#finish('client'));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs `fn` once when the connection ends, whoever ends it. */
  onClose(fn: () => void): void {
    if (this.#closed) fn();
    else this.#onClose.push(fn);
  }

  /** Sends a frame; false when the connection is gone (or was just dropped for being too slow). */
  send(frame: SseFrame): boolean {
    return this.#write(formatFrame(frame));
  }

  /** A comment line (ignored by EventSource), used as a heartbeat. */
  comment(text: string): boolean {
    return this.#write(`: ${oneLine(text)}\n\n`);
  }

  /** Ends the stream from the server's side. */
  close(): void {
    if (this.#closed) return;
    this.#finish('server');
    this.#response.end();
  }

  #write(text: string): boolean {
    if (this.#closed) return false;
    if (this.#response.writableLength + Buffer.byteLength(text) > this.#maxBuffered) {
      // The client reads slower than events arrive: drop it; it reconnects with Last-Event-ID.
      this.#finish('slow');
      this.#response.destroy();
      return false;
    }
    this.#response.write(text);
    return true;
  }

  #finish(by: 'client' | 'slow' | 'server'): void {
    if (this.#closed) return;
    this.#closed = true;
    this.endedBy = by;
    clearInterval(this.#heartbeat);
    for (const fn of this.#onClose.splice(0)) fn();
  }
}
