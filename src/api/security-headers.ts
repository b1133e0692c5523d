/**
 * The security headers on every response: the set helmet 8 sends with the
 * Content-Security-Policy below, written out once. @fastify/helmet built a
 * new helmet middleware on every request (parsing the CSP directives and
 * making eleven closures each time) in two extra onRequest hooks, about 5%
 * of a `GET /api/v1/executions/:id`'s CPU; this is one callback hook setting
 * constants. test/api/platform.test.ts holds the set to what @fastify/helmet
 * sends with the same options, header by header.
 */
import type { FastifyInstance } from 'fastify';

/**
 * Suited to the web UI served at / and to Swagger UI: everything from this
 * origin, nothing inline but styles. Not `upgrade-insecure-requests`: the UI
 * is also reached over plain http (a LAN address), where it would send every
 * script request to https and load nothing.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "base-uri 'self'",
  "font-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
].join(';');

/** Name and value of each header, in the order helmet sets them. */
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = Object.freeze([
  ['Content-Security-Policy', CONTENT_SECURITY_POLICY],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
  ['Origin-Agent-Cluster', '?1'],
  ['Referrer-Policy', 'no-referrer'],
  ['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-DNS-Prefetch-Control', 'off'],
  ['X-Download-Options', 'noopen'],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['X-Permitted-Cross-Domain-Policies', 'none'],
  ['X-XSS-Protection', '0'],
] as const);

/**
 * Sets SECURITY_HEADERS and `X-Request-Id` (the request's id) on every
 * response, errors included, on the raw response where no later reply
 * state can drop them: the first onRequest hook, so that a 401 or 403 from
 * the authentication hook (which helmet's hooks, registered after it, never
 * reached) carries them too. One hook for both: the request id no longer
 * needs an onSend hook, which made every response run Fastify's onSend
 * chain. (helmet also removes X-Powered-By, which Fastify never sets.)
 */
export function installResponseHeaders(app: FastifyInstance): void {
  const headers = SECURITY_HEADERS;
  const count = headers.length;
  app.addHook('onRequest', (request, reply, done) => {
    const raw = reply.raw;
    for (let i = 0; i < count; i++) raw.setHeader(headers[i]![0], headers[i]![1]);
    raw.setHeader('X-Request-Id', request.id);
    done();
  });
}
