import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { ApiTokenRepository, hashToken, isTokenShaped } from '../../src/repositories/api-tokens.js';
import { IdentityRepository } from '../../src/repositories/identities.js';
import { IdentityFixture, expectErrorType } from '../../src/testing/index.js';
import { useTransactionPerTest } from '../support/db.js';

const ctx = useTransactionPerTest();

describe('ApiTokenRepository', () => {
  it('creates a random token shown once, stores only its SHA-256, and authenticates it to the identity with its role', async () => {
    const identity = await new IdentityFixture().withRole('operator').create(ctx.db);
    const { token, record } = await ApiTokenRepository.create(ctx.db, { identityId: identity.id, name: 'ci' });
    expect(isTokenShaped(token)).toBe(true);
    expect(record).toMatchObject({ identityId: identity.id, name: 'ci', kind: 'api', expiresAt: null, revokedAt: null });
    expect(record).not.toHaveProperty('token');
    const stored = await ctx.db.query('SELECT token_hash FROM api_tokens WHERE id = $1', [record.id]);
    expect(Buffer.compare(stored.rows[0].token_hash, hashToken(token))).toBe(0);
    const found = await ApiTokenRepository.authenticate(ctx.db, token);
    expect(found?.identity).toMatchObject({ id: identity.id, role: 'operator' });
    expect(found?.token.id).toBe(record.id);
    const second = await ApiTokenRepository.create(ctx.db, { identityId: identity.id, name: 'ci' });
    expect(second.token === token).toBe(false);
  });

  it('does not authenticate an unknown, malformed, revoked or expired token, nor one of an inactive identity', async () => {
    const identity = await new IdentityFixture().create(ctx.db);
    const { token, record } = await ApiTokenRepository.create(ctx.db, { identityId: identity.id, name: 'a' });
    expect(await ApiTokenRepository.authenticate(ctx.db, `${token.slice(0, -1)}x`)).toBeNull();
    expect(await ApiTokenRepository.authenticate(ctx.db, 'not a token')).toBeNull();
    const expiring = await ApiTokenRepository.create(ctx.db, { identityId: identity.id, name: 'b', expiresAt: new Date(Date.now() + 60_000) });
    await ctx.db.query(`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [expiring.record.id]);
    expect(await ApiTokenRepository.authenticate(ctx.db, expiring.token)).toBeNull();
    await ApiTokenRepository.revoke(ctx.db, record.id);
    expect(await ApiTokenRepository.authenticate(ctx.db, token)).toBeNull();
    const other = await ApiTokenRepository.create(ctx.db, { identityId: identity.id, name: 'c' });
    await IdentityRepository.update(ctx.db, identity.id, { isActive: false });
    expect(await ApiTokenRepository.authenticate(ctx.db, other.token)).toBeNull();
  });

  it('lists usable tokens newest first (all with includeInactive), revokes all of an identity, refuses a past expiry', async () => {
    const identity = await new IdentityFixture().create(ctx.db);
    const a = await ApiTokenRepository.create(ctx.db, { identityId: identity.id, name: 'a' });
    const b = await ApiTokenRepository.create(ctx.db, { identityId: identity.id, name: 'b' });
    await ApiTokenRepository.revoke(ctx.db, a.record.id);
    expect((await ApiTokenRepository.list(ctx.db, { identityId: identity.id })).items.map((t) => t.id)).toEqual([b.record.id]);
    expect((await ApiTokenRepository.list(ctx.db, { identityId: identity.id, includeInactive: true })).items.map((t) => t.id)).toEqual([b.record.id, a.record.id]);
    expect(await ApiTokenRepository.revokeAllFor(ctx.db, identity.id)).toBe(1);
    const error = await expectErrorType(ApiTokenRepository.create(ctx.db, { identityId: identity.id, name: 'x', expiresAt: new Date(Date.now() - 1000) }), ValidationError);
    expect(error.field).toBe('expiresAt');
  });

  it('goes with its identity', async () => {
    const identity = await new IdentityFixture().create(ctx.db);
    const { record } = await ApiTokenRepository.create(ctx.db, { identityId: identity.id, name: 'a' });
    await IdentityRepository.delete(ctx.db, identity.id);
    expect(await ApiTokenRepository.findById(ctx.db, record.id)).toBeNull();
  });
});

describe('identity roles', () => {
  it('default to viewer, take admin or operator, and refuse anything else', async () => {
    expect((await new IdentityFixture().create(ctx.db)).role).toBe('viewer');
    const admin = await new IdentityFixture().withRole('admin').create(ctx.db);
    expect(admin.role).toBe('admin');
    expect((await IdentityRepository.update(ctx.db, admin.id, { role: 'operator' })).role).toBe('operator');
    const error = await expectErrorType(IdentityRepository.update(ctx.db, admin.id, { role: 'root' as 'admin' }), ValidationError);
    expect(error.field).toBe('role');
  });
});
