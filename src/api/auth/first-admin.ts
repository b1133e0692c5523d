import { randomBytes } from 'node:crypto';
import type { Executor } from '../../db/pool.js';
import { withTransaction } from '../../db/transaction.js';
import { isAttuneError, ErrorCode } from '../../errors.js';
import { ApiTokenRepository } from '../../repositories/api-tokens.js';
import { IdentityRepository } from '../../repositories/identities.js';

/** What the first start created: show the password once, write the token to the CLI's config file. */
export interface FirstAdmin {
  login: string;
  password: string;
  token: string;
}

/**
 * When no identity exists yet, creates `login` (default `admin`) with the
 * admin role, a random password and an API token, and returns them; returns
 * null when any identity exists (or another process created the admin at the
 * same moment). The caller (`attune up`) shows the password and writes the
 * token to the CLI config file; nothing here logs either.
 */
export async function ensureFirstAdmin(db: Executor, options: { login?: string } = {}): Promise<FirstAdmin | null> {
  const existing = await IdentityRepository.list(db, { limit: 1, count: false });
  if (existing.items.length > 0) return null;
  const login = options.login ?? 'admin';
  const password = randomBytes(18).toString('base64url');
  try {
    // Both or neither: an admin without its token would leave the CLI locked out.
    return await withTransaction(db, async (tx) => {
      const identity = await IdentityRepository.create(tx, { login, displayName: 'Administrator', password, role: 'admin' });
      const { token } = await ApiTokenRepository.create(tx, { identityId: identity.id, name: 'cli (first start)', kind: 'api' });
      return { login: identity.login, password, token };
    });
  } catch (error) {
    if (isAttuneError(error, ErrorCode.ALREADY_EXISTS)) return null;
    throw error;
  }
}
