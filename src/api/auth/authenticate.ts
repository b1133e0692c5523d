/**
 * Authentication and the per-route role check, for every route in one
 * place. A route without a declared role cannot be registered at all, so a
 * route added later cannot be left open by mistake.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Executor } from '../../db/pool.js';
import { AuthenticationError, ForbiddenError } from '../../errors.js';
import { ApiTokenRepository } from '../../repositories/api-tokens.js';
import { AUTH_DISABLED_PRINCIPAL, ROUTE_ROLES, roleAllows, type Principal, type RouteRole } from './roles.js';

/** A registered route and the role it declared: what docs/api.md's table and the route × role test read. */
export interface RouteRoleEntry {
  method: string;
  url: string;
  role: RouteRole;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered so far, with its role. */
    routeRoles: RouteRoleEntry[];
  }
  interface FastifyContextConfig {
    /** The least role that may call the route; `public` needs no token. Required on every route. */
    role?: RouteRole;
    /**
     * How a request without a bearer token may still authenticate on this
     * route (a stream ticket, a webhook's signature); null means 401.
     */
    authenticateWithoutToken?: (request: FastifyRequest) => Promise<Principal | null>;
  }
  interface FastifyRequest {
    /** The authenticated caller; null on public routes. */
    principal: Principal | null;
  }
}

/** Where Swagger UI's routes live. */
const PUBLIC_PREFIXES = ['/docs'];

/** The bearer token of a request, or undefined when it sends none. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match ? match[1] : undefined;
}

/**
 * Requires every route to declare a role, then checks it on each request:
 * no token or an unusable one → 401, a role below the route's → 403. With
 * `enabled` false every request acts as the built-in admin.
 */
export function installAuthentication(app: FastifyInstance, options: { db: Executor; enabled: boolean }): void {
  app.decorateRequest('principal', null);
  const registered: RouteRoleEntry[] = [];
  app.decorate('routeRoles', registered);
  app.addHook('onRoute', (route) => {
    const url = route.url ?? route.path;
    // Swagger UI's files, and CORS preflight (OPTIONS, answered by @fastify/cors before any handler), are public by nature.
    const pluginRoute = PUBLIC_PREFIXES.some((prefix) => url === prefix || url.startsWith(`${prefix}/`)) || route.method === 'OPTIONS';
    if (route.config?.role === undefined && pluginRoute) {
      route.config = { ...route.config, role: 'public' };
    }
    const role = route.config?.role;
    if (role === undefined || !ROUTE_ROLES.includes(role)) {
      throw new Error(`route ${String(route.method)} ${url} declares no role: add config: { role: 'public' | 'viewer' | 'operator' | 'admin' }`);
    }
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) registered.push({ method, url, role });
  });
  app.addHook('onRequest', async (request) => {
    const needed = request.routeOptions.config?.role;
    // Unknown routes (the 404 handler) have no role and need no token to be told so.
    if (needed === undefined || needed === 'public') return;
    const principal = options.enabled ? await authenticate(options.db, request) : AUTH_DISABLED_PRINCIPAL;
    request.principal = principal;
    if (!roleAllows(principal.role, needed)) {
      throw new ForbiddenError(`this needs the ${needed} role; ${principal.login} has ${principal.role}`, { entity: 'role', field: 'role' });
    }
  });
}

async function authenticate(db: Executor, request: FastifyRequest): Promise<Principal> {
  const token = bearerToken(request);
  if (token === undefined) {
    const alternative = request.routeOptions.config?.authenticateWithoutToken;
    const principal = alternative === undefined ? null : await alternative(request);
    if (principal === null) throw new AuthenticationError();
    return principal;
  }
  const found = await ApiTokenRepository.authenticate(db, token);
  if (found === null) throw new AuthenticationError('the bearer token is unknown, expired or revoked');
  return { identity: found.identity, login: found.identity.login, role: found.identity.role, tokenId: found.token.id };
}

/** The principal of a request that passed the role check (never null past it). */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new AuthenticationError();
  return request.principal;
}
