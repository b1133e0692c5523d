/**
 * `http` (StackStorm's `http-request`): one HTTP call from the worker, with
 * node:http / node:https (a `lookup` per request is what lets every
 * resolved address be checked, see http-address.ts). Query `params`,
 * `headers`, `cookies`, basic auth (`username` / `password`), a `body`
 * (JSON-checked when the content type is JSON; an object is sent as JSON),
 * `timeout`, redirects (bounded), `verify_ssl_cert`, host allow and deny
 * lists, and a response size cap. The result is StackStorm's:
 * `{status_code, headers, body, parsed}`, `body` parsed when the response is
 * JSON. 200–206 succeed, as in StackStorm; other statuses fail.
 */
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { BlockedAddressError, guardedLookup, isBlockedAddress, type Resolver } from './http-address.js';
import { effectiveTimeoutSeconds } from './process-runner.js';
import type { Runner, RunnerInput, RunnerOutcome, RunnerResult } from './types.js';

export interface HttpRunnerOptions {
  /** Allow link-local and cloud metadata addresses (refused by default). */
  allowLinkLocal?: boolean;
  /** Redirects followed at most; default 10. */
  maxRedirects?: number;
  /** Bytes of response body accepted; default the execution's output cap. */
  maxResponseBytes?: number;
  /** Name resolution (`dns.lookup` by default); tests give their own. */
  resolver?: Resolver;
  /** User-Agent when the action sets none. */
  userAgent?: string;
}

/** StackStorm's success range. */
const SUCCESS_STATUSES = new Set([200, 201, 202, 203, 204, 205, 206]);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const UNSUPPORTED_PARAMETERS = ['http_proxy', 'https_proxy', 'file_path', 'file_name', 'file_content', 'file_content_type'] as const;

class RequestRefused extends Error {}

interface PreparedRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

export class HttpRunner implements Runner {
  readonly name = 'http';

  constructor(private readonly options: HttpRunnerOptions = {}) {}

  async run(input: RunnerInput): Promise<RunnerOutcome> {
    if (input.signal.aborted) return failure('canceled', 'the execution was canceled');
    let prepared: PreparedRequest;
    try {
      prepared = prepare(input, this.options.userAgent ?? 'attune');
    } catch (error) {
      if (error instanceof RequestRefused) return failure('failed', error.message);
      throw error;
    }
    const timeoutSeconds = effectiveTimeoutSeconds(input);
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), Math.min(2 ** 31 - 1, timeoutSeconds * 1000));
    const signal = AbortSignal.any([input.signal, deadline.signal]);
    try {
      const response = await this.follow(input, prepared, signal);
      const status = SUCCESS_STATUSES.has(response.status_code as number) ? 'succeeded' : 'failed';
      const outcome: RunnerOutcome = { status, result: response };
      if (status === 'failed') outcome.error = `the server answered ${response.status_code as number}`;
      return outcome;
    } catch (error) {
      if (input.signal.aborted) return failure('canceled', 'the execution was canceled');
      if (deadline.signal.aborted) return failure('timeout', `no complete response within ${timeoutSeconds} seconds`);
      if (error instanceof RequestRefused || error instanceof BlockedAddressError) return failure('failed', error.message);
      return failure('failed', `the request to ${prepared.url.host} failed: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private async follow(input: RunnerInput, first: PreparedRequest, signal: AbortSignal): Promise<RunnerResult> {
    const maxRedirects = this.options.maxRedirects ?? 10;
    const followAll = input.parameters.allow_redirects === true;
    let current = first;
    for (let hop = 0; ; hop += 1) {
      const response = await this.send(input, current, signal);
      const location = response.headers.location;
      const follows = followAll || current.method === 'GET' || current.method === 'HEAD';
      if (!REDIRECT_STATUSES.has(response.statusCode) || typeof location !== 'string' || !follows) {
        return readResult(response.message, response.body);
      }
      if (hop >= maxRedirects) throw new RequestRefused(`more than ${maxRedirects} redirects`);
      current = redirected(current, response.statusCode, location);
    }
  }

  private send(input: RunnerInput, prepared: PreparedRequest, signal: AbortSignal): Promise<{ statusCode: number; headers: IncomingMessage['headers']; message: IncomingMessage; body: Buffer }> {
    const { url } = prepared;
    checkUrl(url, this.options.allowLinkLocal === true);
    const maxBytes = this.options.maxResponseBytes ?? input.outputCapBytes;
    const lookup: LookupFunction | undefined = this.options.allowLinkLocal ? undefined : guardedLookup(this.options.resolver);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: prepared.method,
          headers: prepared.headers as OutgoingHttpHeaders,
          signal,
          ...(lookup ? { lookup } : {}),
          ...(url.protocol === 'https:' ? { rejectUnauthorized: input.parameters.verify_ssl_cert !== false } : {}),
        },
        (message) => {
          const chunks: Buffer[] = [];
          let size = 0;
          message.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes) {
              message.destroy();
              reject(new RequestRefused(`the response body is larger than ${maxBytes} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          message.on('end', () => resolve({ statusCode: message.statusCode ?? 0, headers: message.headers, message, body: Buffer.concat(chunks) }));
          message.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(prepared.body);
    });
  }
}

function failure(status: RunnerOutcome['status'], error: string): RunnerOutcome {
  return { status, result: { stdout: '', stderr: '', error }, error };
}

function checkUrl(url: URL, allowLinkLocal: boolean): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RequestRefused(`url must be http or https, not ${url.protocol.replace(':', '')}`);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (!allowLinkLocal && isIP(host) !== 0 && isBlockedAddress(host)) throw new BlockedAddressError(host, host);
}

function stringRecord(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new RequestRefused(`${field} must be an object of names to values`);
  const record: Record<string, string> = {};
  for (const [name, item] of Object.entries(value as Record<string, unknown>)) {
    if (item === null || item === undefined) continue;
    record[name] = typeof item === 'string' ? item : typeof item === 'object' ? JSON.stringify(item) : String(item);
  }
  return record;
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

function prepare(input: RunnerInput, userAgent: string): PreparedRequest {
  const p = input.parameters;
  for (const name of UNSUPPORTED_PARAMETERS) {
    if (p[name] !== undefined && p[name] !== null && p[name] !== '') throw new RequestRefused(`${name} is not supported by Attune's http runner`);
  }
  if (typeof p.url !== 'string' || p.url === '') throw new RequestRefused('url must be a non-empty string');
  let url: URL;
  try {
    url = new URL(p.url);
  } catch {
    throw new RequestRefused('url is not a valid URL');
  }
  for (const [name, value] of Object.entries(stringRecord(p.params, 'params'))) url.searchParams.append(name, value);

  const deny = Array.isArray(p.url_hosts_blacklist) ? p.url_hosts_blacklist.map(String) : [];
  const allow = Array.isArray(p.url_hosts_whitelist) ? p.url_hosts_whitelist.map(String) : [];
  if (deny.length > 0 && allow.length > 0) throw new RequestRefused('url_hosts_blacklist and url_hosts_whitelist cannot both be given');
  if (deny.map((h) => h.toLowerCase()).includes(hostOf(url))) throw new RequestRefused(`url host ${hostOf(url)} is in url_hosts_blacklist`);
  if (allow.length > 0 && !allow.map((h) => h.toLowerCase()).includes(hostOf(url))) throw new RequestRefused(`url host ${hostOf(url)} is not in url_hosts_whitelist`);

  const headers = stringRecord(p.headers, 'headers');
  const headerName = (name: string): string | undefined => Object.keys(headers).find((key) => key.toLowerCase() === name);
  if (headerName('user-agent') === undefined) headers['User-Agent'] = userAgent;
  const cookies = stringRecord(p.cookies, 'cookies');
  if (Object.keys(cookies).length > 0) {
    headers.Cookie = Object.entries(cookies).map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('; ');
  }
  if ((typeof p.username === 'string' && p.username !== '') || (typeof p.password === 'string' && p.password !== '')) {
    headers.Authorization = `Basic ${Buffer.from(`${String(p.username ?? '')}:${String(p.password ?? '')}`).toString('base64')}`;
  }

  let body: Buffer | undefined;
  const contentTypeName = headerName('content-type');
  const isJson = contentTypeName !== undefined && /^application\/([\w.+-]*\+)?json\b/i.test(headers[contentTypeName]!);
  if (p.body !== undefined && p.body !== null && p.body !== '') {
    if (typeof p.body === 'string') {
      if (isJson) {
        try {
          JSON.parse(p.body);
        } catch {
          throw new RequestRefused('body is not valid JSON, and the content-type header says it is');
        }
      }
      body = Buffer.from(p.body, 'utf8');
    } else {
      body = Buffer.from(JSON.stringify(p.body), 'utf8');
      if (contentTypeName === undefined) headers['Content-Type'] = 'application/json';
    }
  }
  const method = typeof p.method === 'string' && p.method !== '' ? p.method.toUpperCase() : body !== undefined ? 'POST' : 'GET';
  if (!/^[A-Z]+$/.test(method)) throw new RequestRefused('method must be an HTTP method name');
  return { url, method, headers, body };
}

function redirected(previous: PreparedRequest, status: number, location: string): PreparedRequest {
  let url: URL;
  try {
    url = new URL(location, previous.url);
  } catch {
    throw new RequestRefused('the server redirected to an invalid URL');
  }
  const headers = { ...previous.headers };
  if (url.origin !== previous.url.origin) {
    // Credentials go to the origin they were meant for only.
    for (const name of Object.keys(headers)) if (['authorization', 'cookie'].includes(name.toLowerCase())) delete headers[name];
  }
  const toGet = status === 303 || ((status === 301 || status === 302) && previous.method === 'POST');
  if (toGet) {
    for (const name of Object.keys(headers)) if (['content-type', 'content-length'].includes(name.toLowerCase())) delete headers[name];
    return { url, method: previous.method === 'HEAD' ? 'HEAD' : 'GET', headers, body: undefined };
  }
  return { url, method: previous.method, headers, body: previous.body };
}

function readResult(message: IncomingMessage, raw: Buffer): RunnerResult {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const text = raw.toString('utf8');
  let body: unknown = text;
  let parsed = false;
  const contentType = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (/^application\/([\w.+-]*\+)?json$/.test(contentType)) {
    try {
      body = JSON.parse(text) as unknown;
      parsed = true;
    } catch {
      // Not JSON after all: the body stays text and parsed says so.
    }
  }
  return { status_code: message.statusCode ?? 0, headers, body, parsed, stdout: '', stderr: '' };
}
