/**
 * Live updates: one Server-Sent Events connection per tab to
 * GET /api/v1/stream, shared by every page. It is read with fetch rather than
 * EventSource so the token travels in the Authorization header (never in a
 * URL) and every event name arrives. It reconnects with Last-Event-ID after
 * a drop; while the stream cannot be had at all, subscribers get a `tick`
 * every few seconds instead, so pages still refresh.
 */
import { useEffect, useRef, useSyncExternalStore } from 'react';
import { apiUrl, authHeaders } from './api';

/** One event from the stream: its SSE name, id and parsed data; `tick` when polling. */
export interface LiveEvent {
  type: string;
  id?: string;
  data: unknown;
}

export type LiveState = 'connecting' | 'live' | 'polling';

type Listener = (event: LiveEvent) => void;

const POLL_MS = 3000;
const RETRY_MS = 2000;

const listeners = new Set<Listener>();
const stateListeners = new Set<() => void>();
let state: LiveState = 'connecting';
let controller: AbortController | null = null;
let pollTimer: ReturnType<typeof setInterval> | null = null;
let lastEventId: string | undefined;

function setState(next: LiveState): void {
  if (state === next) return;
  state = next;
  for (const listener of stateListeners) listener();
}

function emit(event: LiveEvent): void {
  for (const listener of listeners) listener(event);
}

function startPolling(): void {
  setState('polling');
  pollTimer ??= setInterval(() => emit({ type: 'tick', data: null }), POLL_MS);
}

function stopPolling(): void {
  if (pollTimer !== null) clearInterval(pollTimer);
  pollTimer = null;
}

/** Parses SSE text blocks (`event:`, `data:`, `id:`; blank line ends one) and hands each on. */
export function parseSse(buffer: string, dispatch: (event: LiveEvent) => void): string {
  const blocks = buffer.split(/\r?\n\r?\n/);
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let type = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(':') || line === '') continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
    if (data.length === 0) continue;
    const text = data.join('\n');
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Plain text data stays text.
    }
    dispatch({ type, id, data: parsed });
  }
  return rest;
}

/**
 * Reads one SSE response from `path` (with the session's token) until it ends
 * or `signal` aborts, handing each event on. Rejects when the request fails.
 */
export async function readSse(path: string, onEvent: (event: LiveEvent) => void, signal: AbortSignal, headers: Record<string, string> = {}): Promise<void> {
  const response = await fetch(path, { headers: { accept: 'text/event-stream', ...authHeaders(), ...headers }, signal, credentials: 'omit' });
  if (!response.ok || response.body === null) throw new Error(`the stream answered ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer = parseSse(buffer + value, onEvent);
  }
}

async function connect(): Promise<void> {
  controller = new AbortController();
  const headers: Record<string, string> = { accept: 'text/event-stream', ...authHeaders() };
  if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
  try {
    const response = await fetch(apiUrl('/stream'), { headers, signal: controller.signal, credentials: 'omit' });
    if (!response.ok || response.body === null) throw new Error(`stream answered ${response.status}`);
    stopPolling();
    setState('live');
    // Whatever happened while disconnected: let pages refresh once.
    emit({ type: 'connected', data: null });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer = parseSse(buffer + value, (event) => {
        if (event.id !== undefined) lastEventId = event.id;
        if (event.type === 'reset') lastEventId = undefined;
        emit(event);
      });
    }
    throw new Error('stream ended');
  } catch {
    if (controller?.signal.aborted) return;
    startPolling();
    setTimeout(() => {
      if (listeners.size > 0 && !controller?.signal.aborted) void connect();
    }, RETRY_MS * (state === 'polling' ? 5 : 1));
  }
}

function ensureConnected(): void {
  if (controller === null || controller.signal.aborted) void connect();
}

/** Closes the stream (on log out); the next subscriber opens it again. */
export function disconnectLive(): void {
  controller?.abort();
  controller = null;
  stopPolling();
  lastEventId = undefined;
  setState('connecting');
}

/** Calls `onEvent` for every live event (or poll tick) while the component is mounted. */
export function useLive(onEvent: Listener): void {
  const latest = useRef(onEvent);
  latest.current = onEvent;
  useEffect(() => {
    const listener: Listener = (event) => latest.current(event);
    listeners.add(listener);
    ensureConnected();
    return () => {
      listeners.delete(listener);
    };
  }, []);
}

/** Whether updates come from the stream or from polling. */
export function useLiveState(): LiveState {
  return useSyncExternalStore(
    (listener) => {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },
    () => state,
  );
}

/** Names of the entity an event is about, as far as its name or data tell (execution, event, inquiry, ...). */
export function eventEntity(event: LiveEvent): string {
  const data = event.data as { entity_type?: unknown } | null;
  if (data !== null && typeof data === 'object' && typeof data.entity_type === 'string') return data.entity_type;
  return event.type.split(/[._:]/)[0] ?? event.type;
}
