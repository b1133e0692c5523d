import { describe, expect, it } from 'vitest';
import type { RouteRole } from '../../src/api/auth/roles.js';
import { useTransactionPerTest } from '../support/db.js';
import { call, signedIn, useTestApp } from './support.js';

const ctx = useTransactionPerTest();
const api = useTestApp(ctx);

/**
 * Every route and the least role that may call it. A route added without a
 * line here fails the first test: decide its role, then add it.
 */
const EXPECTED: Record<string, RouteRole> = {
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /metrics': 'public',
  'GET /api/v1/openapi.json': 'public',
  'POST /api/v1/auth/login': 'public',
  'GET /api/v1/auth/whoami': 'viewer',
  'GET /api/v1/packs': 'viewer',
  'GET /api/v1/packs/:ref': 'viewer',
  'POST /api/v1/packs': 'admin',
  'POST /api/v1/packs/:ref/activate': 'admin',
  'DELETE /api/v1/packs/:ref': 'admin',
  'GET /api/v1/packs/:ref/config': 'viewer',
  'PUT /api/v1/packs/:ref/config': 'admin',
  'GET /api/v1/actions': 'viewer',
  'GET /api/v1/actions/:ref': 'viewer',
  'GET /api/v1/triggers': 'viewer',
  'GET /api/v1/triggers/:ref': 'viewer',
  'GET /api/v1/rules': 'viewer',
  'GET /api/v1/rules/:ref': 'viewer',
  'POST /api/v1/rules': 'operator',
  'PATCH /api/v1/rules/:ref': 'operator',
  'POST /api/v1/rules/:ref/enable': 'operator',
  'POST /api/v1/rules/:ref/disable': 'operator',
  'DELETE /api/v1/rules/:ref': 'operator',
  'GET /api/v1/events': 'viewer',
  'GET /api/v1/events/:id': 'viewer',
  'GET /api/v1/enforcements': 'viewer',
  'GET /api/v1/enforcements/:id': 'viewer',
  'GET /api/v1/executions': 'viewer',
  'GET /api/v1/executions/:id': 'viewer',
  'GET /api/v1/executions/:id/children': 'viewer',
  'POST /api/v1/executions': 'operator',
  'POST /api/v1/executions/:id/cancel': 'operator',
  'POST /api/v1/executions/:id/re-run': 'operator',
  'GET /api/v1/executions/:id/output': 'viewer',
  'POST /api/v1/actions/:ref/execute': 'operator',
  'POST /api/v1/rules/:ref/test': 'operator',
  'POST /api/v1/events': 'operator',
  'POST /api/v1/inquiries/:id/respond': 'operator',
  'GET /api/v1/stream': 'viewer',
  'POST /api/v1/stream/ticket': 'viewer',
  'POST /api/v1/webhooks/:name': 'operator',
  'GET /api/v1/inquiries': 'viewer',
  'GET /api/v1/inquiries/:id': 'viewer',
  'GET /api/v1/keys': 'viewer',
  'GET /api/v1/keys/:ref': 'viewer',
  'PUT /api/v1/keys/:ref': 'operator',
  'DELETE /api/v1/keys/:ref': 'operator',
  'GET /api/v1/identities': 'admin',
  'GET /api/v1/identities/:login': 'admin',
  'POST /api/v1/identities': 'admin',
  'PATCH /api/v1/identities/:login': 'admin',
  'POST /api/v1/identities/:login/deactivate': 'admin',
  'POST /api/v1/tokens': 'viewer',
  'GET /api/v1/tokens': 'viewer',
  'DELETE /api/v1/tokens/:id': 'viewer',
  'GET /api/v1/workers': 'viewer',
  'GET /api/v1/workers/:id': 'viewer',
  'GET /api/v1/stats/dashboard': 'viewer',
  'GET /': 'public',
  'GET /assets/*': 'public',
  'GET /*': 'public',
};

const ROLES = ['viewer', 'operator', 'admin'] as const;
const RANK = { public: 0, viewer: 1, operator: 2, admin: 3 } as const;

/** The registered routes, HEAD twins and Swagger UI's own files (public, checked by prefix) aside. */
function routes() {
  return api.app.routeRoles.filter((r) => r.method !== 'HEAD' && !r.url.startsWith('/docs'));
}

function concrete(url: string): string {
  // The stream names an execution that does not exist, so an allowed caller gets 404 rather than an endless stream.
  if (url === '/api/v1/stream') return `${url}?executions=999999`;
  return url.replace(':ref', 'system.nothing_here').replace(':id', '999999').replace(':login', 'nobody_here').replace(':name', 'nothing_here');
}

describe('route × role', () => {
  it('every route has a role here, and declares exactly that one', () => {
    const declared = Object.fromEntries(routes().map((r) => [`${r.method} ${r.url}`, r.role]));
    expect(declared).toEqual(EXPECTED);
    for (const route of api.app.routeRoles.filter((r) => r.url.startsWith('/docs'))) expect(route.role).toBe('public');
  });

  it('without a token every non-public route is 401 (with WWW-Authenticate), and public ones are not', async () => {
    for (const route of routes()) {
      const response = await call(api.app, { method: route.method as 'GET', url: concrete(route.url), payload: route.method === 'GET' || route.method === 'DELETE' ? undefined : {} });
      if (route.role === 'public') expect(response.statusCode, `${route.method} ${route.url}`).not.toBe(401);
      else {
        expect(response.statusCode, `${route.method} ${route.url}`).toBe(401);
        expect(response.data.error.code).toBe('ATTUNE_UNAUTHENTICATED');
        expect(response.headers['www-authenticate']).toBe('Bearer');
      }
    }
  });

  it('a bad, revoked or malformed token is 401 too', async () => {
    for (const authorization of ['Bearer attn_' + 'x'.repeat(43), 'Bearer nonsense', 'Basic dXNlcjpwYXNz', 'Bearer']) {
      const response = await call(api.app, { method: 'GET', url: '/api/v1/packs', headers: { authorization } });
      expect(response.statusCode, authorization).toBe(401);
    }
  });

  it.each(ROLES)('as %s: allowed where the role is enough, 403 where it is not', async (role) => {
    const { auth } = await signedIn(ctx.db, role);
    for (const route of routes()) {
      const response = await call(api.app, {
        method: route.method as 'GET',
        url: concrete(route.url),
        headers: auth,
        payload: route.method === 'GET' || route.method === 'DELETE' ? undefined : {},
      });
      const label = `${role} ${route.method} ${route.url} → ${response.statusCode} ${response.body.slice(0, 120)}`;
      if (RANK[role] >= RANK[route.role]) {
        expect(response.statusCode, label).not.toBe(401);
        expect(response.statusCode, label).not.toBe(403);
      } else {
        expect(response.statusCode, label).toBe(403);
        expect(response.data.error.code, label).toBe('ATTUNE_FORBIDDEN');
      }
    }
  });
});
