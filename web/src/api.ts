/**
 * The one way the UI talks to Attune's HTTP API: JSON in and out, the bearer
 * token from the session (never in a URL), errors as ApiError with the
 * registry's code and field. A 401 forgets the token and tells the session.
 */

const TOKEN_KEY = 'attune.token';

/** An API failure as the API describes it (docs/api.md, Errors). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let token: string | null = readStoredToken();
const unauthorizedListeners = new Set<() => void>();

function readStoredToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** Keeps the token for this tab only (sessionStorage: gone when the tab closes). */
export function setToken(next: string | null): void {
  token = next;
  try {
    if (next === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, next);
  } catch {
    // Storage refused (private mode): the token lives in memory only.
  }
}

export function hasToken(): boolean {
  return token !== null;
}

/** The Authorization header for requests made outside `request` (the live stream). */
export function authHeaders(): Record<string, string> {
  return token === null ? {} : { authorization: `Bearer ${token}` };
}

/** Called whenever the API answers 401: the session is over. */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export type Query = Record<string, string | number | boolean | readonly string[] | undefined | null>;

/** `/api/v1<path>?<query>`; arrays repeat the parameter (status=a&status=b), empty values are left out. */
export function apiUrl(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) for (const item of value) params.append(name, String(item));
    else params.append(name, String(value));
  }
  const text = params.toString();
  return `/api/v1${path}${text === '' ? '' : `?${text}`}`;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
}

/** Sends one request; resolves with the parsed body (undefined for 204), rejects with ApiError. */
export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(apiUrl(path, options.query), {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? null : JSON.stringify(options.body),
      signal: options.signal ?? null,
      credentials: 'omit',
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'ATTUNE_UNREACHABLE', 'the Attune API cannot be reached; is it running?');
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
    if (response.status === 401) {
      setToken(null);
      for (const listener of unauthorizedListeners) listener();
    }
    throw new ApiError(response.status, error?.code ?? `HTTP_${response.status}`, error?.message ?? `${response.status} ${response.statusText}`, error?.field ?? undefined);
  }
  return body as T;
}

/** A list page as the API returns it. */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
  total?: number;
}

export const get = <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>(path, { query, signal });
export const post = <T>(path: string, body?: unknown) => request<T>(path, { method: 'POST', body: body ?? {} });
export const put = <T>(path: string, body: unknown) => request<T>(path, { method: 'PUT', body });
export const del = (path: string) => request<void>(path, { method: 'DELETE' });

/** Path segment for a ref or id. */
export const seg = (value: string | number) => encodeURIComponent(String(value));
