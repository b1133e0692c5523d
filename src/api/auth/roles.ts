/**
 * Who may call a route. Every route declares the least role it needs in
 * its options (`config: { role }`); `public` routes need no token. The check
 * is made in one place (src/api/auth/authenticate.ts) for every route.
 */
import type { Identity, IdentityRole } from '../../repositories/identities.js';

/** What a route declares: the least role that may call it, or `public`. */
export type RouteRole = 'public' | IdentityRole;

export const ROUTE_ROLES: readonly RouteRole[] = ['public', 'viewer', 'operator', 'admin'];

const RANK: Record<IdentityRole, number> = { viewer: 1, operator: 2, admin: 3 };

/** True when an identity with role `held` may call a route that needs `needed`. */
export function roleAllows(held: IdentityRole, needed: RouteRole): boolean {
  return needed === 'public' || RANK[held] >= RANK[needed];
}

/** The caller of a request, once authenticated. */
export interface Principal {
  /** Null for the built-in admin that acts when authentication is off. */
  identity: Identity | null;
  login: string;
  role: IdentityRole;
  /** The token the request used; null with authentication off. */
  tokenId: number | null;
}

/** Every request acts as this identity when ATTUNE__SECURITY__ENABLE_AUTH=false. */
export const AUTH_DISABLED_PRINCIPAL: Principal = Object.freeze({ identity: null, login: 'admin', role: 'admin', tokenId: null });

/** True when the caller is an admin or the identity `login` itself (logins compare case-insensitively). */
export function isAdminOrSelf(principal: Principal, login: string): boolean {
  return principal.role === 'admin' || principal.login.toLowerCase() === login.toLowerCase();
}
