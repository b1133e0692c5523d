/**
 * The HTTP client every client command of `attune` uses: where the API is
 * and which token to send (`--api-url` / `--profile`, then `ATTUNE_API_URL` /
 * `ATTUNE_API_TOKEN`, then the CLI config file's profile), JSON requests
 * under /api/v1, Server-Sent Events for following, and the API's failures
 * turned into one-line errors that say what to do.
 *
 * The config file (./config-file.ts: `~/.config/attune/config.yaml`, or
 * under `$XDG_CONFIG_HOME`, or `ATTUNE_CLI_CONFIG`) has exactly this shape,
 * which `attune up` writes on first start and `attune login` / `logout` change:
 *
 *     profiles:
 *       default: { api_url: http://127.0.0.1:8080, token: attn_… }
 *     current_profile: default
 */
import { ApiUnreachableError, AttuneError, ConfigError, ErrorCode } from '../errors.js';
import { cliConfigPath, DEFAULT_PROFILE, readCliConfig } from './config-file.js';

export { cliConfigPath, DEFAULT_PROFILE };

/** Where the API listens when nothing says otherwise: `attune up`'s default. */
export const DEFAULT_API_URL = 'http://127.0.0.1:8080';
/** The prefix of every resource route. */
const API_PREFIX = '/api/v1';

/** What `resolveTarget` is given: the command line's choices and the environment. */
export interface TargetOptions {
  apiUrl?: string | undefined;
  profile?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/** Where requests go and with which token, and where that came from (for messages). */
export interface ApiTarget {
  baseUrl: string;
  token: string | undefined;
  profile: string;
  configFile: string;
}

/** Resolves the API's URL and token: flags, then environment, then the profile, then the default URL. */
export async function resolveTarget(options: TargetOptions = {}): Promise<ApiTarget> {
  const env = options.env ?? process.env;
  const configFile = cliConfigPath(env);
  const file = readCliConfig(configFile) ?? { profiles: {} };
  const named = options.profile ?? env.ATTUNE_PROFILE;
  const profileName = named ?? file.current_profile ?? DEFAULT_PROFILE;
  const profile = file.profiles[profileName];
  if (named !== undefined && profile === undefined) {
    const known = Object.keys(file.profiles);
    throw new ConfigError('--profile', `no profile ${profileName} in ${configFile}${known.length ? ` (profiles: ${known.join(', ')})` : ''}; run attune login --profile ${profileName}`);
  }
  const url = options.apiUrl ?? env.ATTUNE_API_URL ?? profile?.api_url ?? DEFAULT_API_URL;
  const token = env.ATTUNE_API_TOKEN || profile?.token || undefined;
  return { baseUrl: normaliseBaseUrl(url, options.apiUrl !== undefined ? '--api-url' : env.ATTUNE_API_URL !== undefined ? 'ATTUNE_API_URL' : `profile ${profileName}'s api_url`), token, profile: profileName, configFile };
}

function normaliseBaseUrl(url: string, source: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(source, `'${url}' is not a URL such as http://127.0.0.1:8080`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(source, `'${url}' must start with http:// or https://`);
  return parsed.href.replace(/\/+$/, '');
}

/** Query values: arrays repeat the parameter; undefined ones are left out. */
export type Query = Record<string, string | number | boolean | readonly (string | number)[] | undefined>;

/** One Server-Sent Event as the API sends it. */
export interface StreamEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/** A list page as the API returns it. */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
  total?: number;
}

/** An API failure: the registry's error with the HTTP status and the pack problems, when any. */
export class ApiError extends AttuneError {
  readonly status: number;
  readonly problems: unknown[];
  readonly requestId: string | undefined;

  constructor(status: number, code: ErrorCode, message: string, details: { entity?: string; field?: string; problems?: unknown[]; requestId?: string }) {
    super(code, message, { entity: details.entity, field: details.field });
    this.status = status;
    this.problems = details.problems ?? [];
    this.requestId = details.requestId;
  }
}

/** The client of one API target. */
export class ApiClient {
  constructor(readonly target: ApiTarget) {}

  get<T = unknown>(route: string, query?: Query): Promise<T> {
    return this.request<T>('GET', route, { query });
  }

  post<T = unknown>(route: string, body?: unknown, query?: Query): Promise<T> {
    return this.request<T>('POST', route, { body: body ?? {}, query });
  }

  put<T = unknown>(route: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', route, { body });
  }

  patch<T = unknown>(route: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', route, { body });
  }

  delete<T = unknown>(route: string, query?: Query): Promise<T> {
    return this.request<T>('DELETE', route, { query });
  }

  /** `{data}` of a one-object route. */
  async data<T = Record<string, unknown>>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', route: string, body?: unknown, query?: Query): Promise<T> {
    const response = await this.request<{ data: T }>(method, route, { body: method === 'GET' || method === 'DELETE' ? undefined : (body ?? {}), query });
    return response.data;
  }

  /** One page of a list route. */
  list<T = Record<string, unknown>>(route: string, query?: Query): Promise<Page<T>> {
    return this.request<Page<T>>('GET', route, { query });
  }

  /** Sends one request; resolves with the parsed JSON body (undefined for 204). */
  async request<T>(method: string, route: string, options: { body?: unknown; query?: Query | undefined } = {}): Promise<T> {
    const response = await this.send(method, route, options.query, options.body === undefined ? undefined : JSON.stringify(options.body), 'application/json');
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    if (!response.ok) throw this.failure(response.status, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new AttuneError(ErrorCode.INTERNAL, `the API at ${this.target.baseUrl} answered ${method} ${route} with something that is not JSON (is --api-url an Attune API?)`);
    }
  }

  /**
   * Follows a Server-Sent Events route, yielding each event until the server
   * closes the stream (or `signal` aborts). Comments (heartbeats) are skipped.
   */
  async *stream(route: string, query?: Query, options: { signal?: AbortSignal; lastEventId?: string } = {}): AsyncGenerator<StreamEvent> {
    const response = await this.send('GET', route, query, undefined, undefined, { accept: 'text/event-stream', ...(options.lastEventId ? { 'last-event-id': options.lastEventId } : {}) }, options.signal);
    if (!response.ok) throw this.failure(response.status, await response.text());
    if (response.body === null) return;
    const decoder = new TextDecoder();
    let buffer = '';
    let event: { id?: string; event?: string; data: string[] } = { data: [] };
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let newline: number;
        while ((newline = buffer.search(/\r\n|\n|\r/)) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
          if (line === '') {
            if (event.data.length > 0 || event.event !== undefined) yield { id: event.id, event: event.event ?? 'message', data: event.data.join('\n') };
            event = { data: [] };
            continue;
          }
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'data') event.data.push(value);
          else if (field === 'event') event.event = value;
          else if (field === 'id') event.id = value;
        }
      }
    } catch (error) {
      if (options.signal?.aborted) return;
      throw this.unreachable(error);
    } finally {
      reader.releaseLock();
    }
  }

  private async send(method: string, route: string, query: Query | undefined, body: string | undefined, contentType?: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    const url = `${this.target.baseUrl}${route.startsWith('/api/') || route.startsWith('/healthz') || route.startsWith('/readyz') ? '' : API_PREFIX}${route}${queryString(query)}`;
    const all: Record<string, string> = { accept: 'application/json', ...headers };
    if (this.target.token) all.authorization = `Bearer ${this.target.token}`;
    if (body !== undefined && contentType) all['content-type'] = contentType;
    try {
      return await fetch(url, { method, headers: all, ...(body === undefined ? {} : { body }), ...(signal ? { signal } : {}) });
    } catch (error) {
      throw this.unreachable(error);
    }
  }

  private unreachable(error: unknown): ApiUnreachableError {
    const cause = (error as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
    const code = cause?.code ?? cause?.errors?.find((e) => e.code)?.code;
    const why = code === 'ECONNREFUSED' ? 'connection refused' : code === 'ENOTFOUND' ? 'unknown host' : (code ?? cause?.message ?? (error as Error).message);
    return new ApiUnreachableError(
      `cannot reach the API at ${this.target.baseUrl} (${why}): is \`attune up\` running? check --api-url / ATTUNE_API_URL (or profile ${this.target.profile} in ${this.target.configFile})`,
      error,
    );
  }

  /** Turns an error response into an ApiError whose message says what to do. */
  private failure(status: number, text: string): ApiError {
    let body: { error?: { code?: string; message?: string; entity?: string; field?: string; request_id?: string; problems?: unknown[] } } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // Not Attune's JSON (a proxy's page, say): fall back on the status below.
    }
    const error = body.error ?? {};
    const code = (Object.values(ErrorCode) as string[]).includes(error.code ?? '') ? (error.code as ErrorCode) : status >= 500 ? ErrorCode.INTERNAL : ErrorCode.VALIDATION;
    let message = error.message ?? `the API answered HTTP ${status}`;
    if (status === 401) {
      message = this.target.token
        ? `${message}: the token of profile ${this.target.profile} is not accepted; run attune login`
        : `${message}: no token is configured; run attune login (or set ATTUNE_API_TOKEN)`;
    } else if (status === 403) {
      message = `forbidden: ${message}`;
    } else if ((status === 400 || status === 422) && error.field !== undefined && !message.includes(error.field)) {
      message = `${error.field}: ${message}`;
    }
    const details = {
      ...(error.entity === undefined ? {} : { entity: error.entity }),
      ...(error.field === undefined ? {} : { field: error.field }),
      ...(error.problems === undefined ? {} : { problems: error.problems }),
      ...(error.request_id === undefined ? {} : { requestId: error.request_id }),
    };
    return new ApiError(status, code, message, details);
  }
}

function queryString(query: Query | undefined): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) params.append(name, String(item));
    else params.append(name, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** Builds the client for the command line's choices. */
export async function createClient(options: TargetOptions = {}): Promise<ApiClient> {
  return new ApiClient(await resolveTarget(options));
}

/** Encodes one path segment (a ref, a login, an id). */
export function seg(value: string | number): string {
  return encodeURIComponent(String(value));
}
