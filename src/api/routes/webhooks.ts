/**
 * Webhooks: `POST /webhooks/{name}` fires `core.st2.webhook` with trigger
 * parameters `{url: name}` and the payload `{headers, headers_lower, body}`
 * (headers that carry credentials left out); every enabled rule on that
 * trigger with `url: name` matches. The reply is 202 with the event id once
 * the event is committed.
 *
 * Accepted with a bearer token (operator), or without one when the request
 * carries `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw body
 * under the webhook's own secret: the key `system.webhook_<name>` (set it
 * secret). A webhook exists when an enabled rule of an active pack listens on
 * it or its secret is set; an unknown one is 404 for a caller with a token,
 * and a signed request to a name without a secret is 401 like any bad
 * signature, so names cannot be probed without a token.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type pg from 'pg';
import type { Executor } from '../../db/pool.js';
import { withTransaction } from '../../db/transaction.js';
import { AuthenticationError, isAttuneError, NotFoundError, ValidationError } from '../../errors.js';
import { fireEvent } from '../../engine/fire-event.js';
import { KeyRepository, decryptValue } from '../../repositories/keys.js';
import type { JsonObject } from '../../repositories/packs.js';
import { RuleRepository } from '../../repositories/rules.js';
import type { ApiContext, ApiInstance } from '../app.js';
import type { Principal } from '../auth/roles.js';
import { errors } from '../schemas.js';

/** The trigger every webhook fires. */
export const WEBHOOK_TRIGGER = 'core.st2.webhook';
/** The signature header (GitHub's). */
export const SIGNATURE_HEADER = 'x-hub-signature-256';
/** Headers that carry credentials: never stored in an event. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'x-auth-token', 'proxy-authorization', 'st2-api-key']);
/** Statements of a webhook request give up after this, so a database in trouble answers 503 rather than hanging the caller. */
const WEBHOOK_STATEMENT_TIMEOUT_MS = 5000;

/** The key that holds webhook `name`'s secret. */
export function webhookSecretRef(name: string): string {
  return `system.webhook_${name}`;
}

/** `sha256=<hex>` of `body` under `secret`, as GitHub signs. */
export function webhookSignature(secret: string, body: Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Stands for "no token, a signature to check": the handler verifies it against the raw body before anything else. */
const SIGNATURE_PENDING: Principal = Object.freeze({ identity: null, login: 'webhook signature', role: 'operator', tokenId: null });

function withStatus<E extends Error>(error: E, status: number): E {
  return Object.assign(error, { httpStatus: status });
}

/** True when `given` is the signature of `body` under `secret` (compared in constant time). */
function signatureMatches(given: string, secret: string, body: Buffer): boolean {
  const expected = Buffer.from(webhookSignature(secret, body), 'utf8');
  const actual = Buffer.from(given.trim(), 'utf8');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** The body as the event carries it: JSON, a form (repeated fields become lists), or {} when empty. */
function parseBody(request: FastifyRequest, raw: Buffer): JsonObject | unknown[] {
  if (raw.length === 0) return {};
  const type = String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) {
    try {
      return JSON.parse(raw.toString('utf8')) as JsonObject;
    } catch {
      throw withStatus(new ValidationError('request body is not valid JSON', { entity: 'body' }), 400);
    }
  }
  if (type === 'application/x-www-form-urlencoded') {
    const form: Record<string, string | string[]> = {};
    for (const [key, value] of new URLSearchParams(raw.toString('utf8'))) {
      const seen = form[key];
      form[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
    }
    return form;
  }
  throw withStatus(new ValidationError('unsupported Content-Type: send application/json or application/x-www-form-urlencoded', { entity: 'body', field: 'content-type' }), 415);
}

/** The request's headers as sent (first spelling of each name) and lower-cased, credentials left out. */
function eventHeaders(request: FastifyRequest): { headers: Record<string, string>; lower: Record<string, string> } {
  const headers: Record<string, string> = {};
  const lower: Record<string, string> = {};
  const raw = request.raw.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const key = name.toLowerCase();
    if (CREDENTIAL_HEADERS.has(key)) continue;
    const value = lower[key] === undefined ? raw[i + 1]! : `${lower[key]}, ${raw[i + 1]!}`;
    const spelled = Object.keys(headers).find((existing) => existing.toLowerCase() === key) ?? name;
    headers[spelled] = value;
    lower[key] = value;
  }
  return { headers, lower };
}

/** True when an enabled rule of an active pack listens on webhook `name`. */
async function hasRules(db: Executor, name: string): Promise<boolean> {
  const rules = await RuleRepository.listEnabledForTrigger(db, WEBHOOK_TRIGGER);
  return rules.some((rule) => rule.triggerParams.url === name);
}

/**
 * Runs `work` in a transaction, and once more on a fresh connection when the
 * connection was lost after BEGIN but before `work` was done: PostgreSQL
 * rolled that transaction back, so nothing was stored and the second try
 * cannot store the event twice (a pg_terminate_backend or a server restart
 * then costs the caller nothing). Not retried: a connection lost once `work`
 * was done (at COMMIT: the event may be stored) and a server that could not
 * be reached at all (a second try would fail the same way, only later);
 * those requests get the 503.
 */
async function storeOnce<T>(db: Executor, work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  let began = false;
  let done = false;
  const attempt = () =>
    withTransaction(db, async (tx) => {
      began = true;
      const value = await work(tx);
      done = true;
      return value;
    });
  try {
    return await attempt();
  } catch (error) {
    if (!began || done || !isAttuneError(error, 'ATTUNE_DATABASE_UNAVAILABLE')) throw error;
    began = false;
    return attempt();
  }
}

export async function webhookRoutes(app: ApiInstance, ctx: ApiContext): Promise<void> {
  await app.register(async (scope) => {
    // The raw bytes are what the signature covers: this scope parses nothing itself.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: ctx.config.api.bodyLimitBytes }, (_request, body, done) => done(null, body));

    scope.post(
      '/webhooks/:name',
      {
        config: {
          role: 'operator',
          authenticateWithoutToken: async (request) => (typeof request.headers[SIGNATURE_HEADER] === 'string' ? SIGNATURE_PENDING : null),
        },
        bodyLimit: ctx.config.api.bodyLimitBytes,
        schema: {
          tags: ['webhooks'],
          summary: `Fire ${WEBHOOK_TRIGGER} for webhook {name}: a bearer token (operator), or X-Hub-Signature-256 under the key ${webhookSecretRef('{name}')}`,
          description: 'Body: JSON or application/x-www-form-urlencoded. 202 once the event is stored.',
          params: Type.Object({ name: Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_-]{0,199}$' }) }),
          consumes: ['application/json', 'application/x-www-form-urlencoded'],
          // Any body: the handler parses the raw bytes after checking the signature over them.
          body: Type.Unknown({ description: 'the payload the webhook is called with: JSON, or a form' }),
          response: {
            202: Type.Object({ data: Type.Object({ event_id: Type.Integer(), trace_id: Type.String(), webhook: Type.String() }) }),
            ...errors(400, 401, 403, 404, 413, 415, 422, 429, 503),
          },
        },
      },
      async (request, reply) => {
        const { name } = request.params as { name: string };
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const event = await storeOnce(ctx.db, async (tx) => {
          await tx.query(`SET LOCAL statement_timeout = ${WEBHOOK_STATEMENT_TIMEOUT_MS}`);
          const secretKey = await KeyRepository.findByRef(tx, webhookSecretRef(name));
          if (request.principal === SIGNATURE_PENDING) {
            const secret = secretKey === null ? undefined : decryptValue(secretKey, { cipher: ctx.cipher });
            if (typeof secret !== 'string' || !signatureMatches(String(request.headers[SIGNATURE_HEADER]), secret, raw)) {
              throw new AuthenticationError(`the ${SIGNATURE_HEADER} signature does not match this webhook's secret`);
            }
          } else if (secretKey === null && !(await hasRules(tx, name))) {
            throw new NotFoundError('webhook', 'name', name);
          }
          const body = parseBody(request, raw);
          const { headers, lower } = eventHeaders(request);
          return fireEvent(tx, WEBHOOK_TRIGGER, { headers, headers_lower: lower, body } as JsonObject, { source: `webhook:${name}`, triggerParams: { url: name } });
        });
        ctx.metrics.eventsReceived.inc({ source: 'webhook' });
        return reply.code(202).send({ data: { event_id: event.id, trace_id: event.traceId ?? '', webhook: name } });
      },
    );
  });
}
