/**
 * A one-use token (a stream ticket) is used up by exactly one of the
 * requests that present it at once: two transactions revoke it together,
 * the second waits on the first's row lock and then finds it revoked.
 */
import { afterAll, beforeEach, expect, it } from 'vitest';
import { ApiTokenRepository } from '../../src/repositories/api-tokens.js';
import { cleanDatabase, createTestPool, IdentityFixture } from '../../src/testing/index.js';

const pool = createTestPool();
beforeEach(() => cleanDatabase(pool));
afterAll(() => pool.end());

it('revokeUnrevoked: of two concurrent revocations exactly one reports it used the token up', async () => {
  const identity = await new IdentityFixture().create(pool);
  const { record } = await ApiTokenRepository.create(pool, { identityId: identity.id, name: 'stream ticket', kind: 'login' });
  const [first, second] = [await pool.connect(), await pool.connect()];
  try {
    await first.query('BEGIN');
    await second.query('BEGIN');
    expect(await ApiTokenRepository.revokeUnrevoked(first, record.id)).toBe(true);
    // The second waits on the first's row lock; once the first commits it sees the token revoked.
    const waiting = ApiTokenRepository.revokeUnrevoked(second, record.id);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await first.query('COMMIT');
    expect(await waiting).toBe(false);
    await second.query('COMMIT');
  } finally {
    first.release();
    second.release();
  }
  expect(await ApiTokenRepository.revokeUnrevoked(pool, record.id)).toBe(false);
  expect((await ApiTokenRepository.getById(pool, record.id)).revokedAt).not.toBeNull();
});
