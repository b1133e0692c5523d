import { randomBytes, scrypt, scryptSync } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as argon2 from '@node-rs/argon2';
import {
  DEFAULT_PASSWORD_PARAMS,
  VERIFY_LIMITS,
  burnVerificationTime,
  hashPassword,
  needsRehash,
  verifyPassword,
} from '../../src/crypto/passwords.js';
import { IdentityRepository } from '../../src/repositories/identities.js';
import { IdentityFixture } from '../../src/testing/fixtures/identities.js';
import { useTransactionPerTest } from '../support/db.js';

// The hashing library, wrapped so tests can see whether a verification was
// computed at all (a hash with out-of-bounds parameters must not be).
vi.mock('@node-rs/argon2', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@node-rs/argon2')>();
  return { ...actual, verify: vi.fn(actual.verify) };
});
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, scrypt: vi.fn(actual.scrypt) };
});

const SECRET = 'correct horse battery staple';
const ARGON2ID = 2 as argon2.Algorithm;

/** A legacy hash exactly as Attune wrote them before argon2id, made here with node:crypto directly. */
function legacyScryptHash(password: string, ln = 4, r = 8, p = 1): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password.normalize('NFC'), salt, 32, { N: 2 ** ln, r, p });
  return `scrypt$ln=${ln},r=${r},p=${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** An argon2id hash of `password` made with the library directly, with any (cheap) parameters. */
function argon2idHash(password: string, memoryCost: number, timeCost: number, parallelism: number): Promise<string> {
  return argon2.hash(password, { algorithm: ARGON2ID, memoryCost, timeCost, parallelism });
}

beforeEach(() => {
  vi.mocked(argon2.verify).mockClear();
  vi.mocked(scrypt).mockClear();
});

describe('hashPassword', () => {
  it('writes argon2id in PHC form with the default parameters, a 16-byte salt and a 32-byte hash', async () => {
    const stored = await hashPassword(SECRET);
    const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(stored);
    expect(match).not.toBeNull();
    expect(match!.slice(1, 4).map(Number)).toEqual([19_456, 2, 1]);
    expect(Buffer.from(match![4]!, 'base64')).toHaveLength(16);
    expect(Buffer.from(match![5]!, 'base64')).toHaveLength(32);
    expect(stored).not.toContain(SECRET);
  });

  it('defaults to at least OWASP’s argon2id minimum (19 MiB, 2 passes, 1 lane)', () => {
    expect(DEFAULT_PASSWORD_PARAMS.memoryKiB).toBeGreaterThanOrEqual(19 * 1024);
    expect(DEFAULT_PASSWORD_PARAMS.timeCost).toBeGreaterThanOrEqual(2);
    expect(DEFAULT_PASSWORD_PARAMS.parallelism).toBeGreaterThanOrEqual(1);
  });

  it('salts every hash: the same password twice gives two different strings that both verify', async () => {
    const first = await hashPassword(SECRET);
    const second = await hashPassword(SECRET);
    expect(first).not.toBe(second);
    expect(await verifyPassword(SECRET, first)).toBe(true);
    expect(await verifyPassword(SECRET, second)).toBe(true);
    expect(await verifyPassword('wrong password', first)).toBe(false);
  });

  it('produces hashes another argon2id verifier accepts, and honours given parameters', async () => {
    const stored = await hashPassword(SECRET, { memoryKiB: 64, timeCost: 3, parallelism: 2 });
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=64,t=3,p=2\$/);
    expect(await vi.importActual<typeof import('@node-rs/argon2')>('@node-rs/argon2').then((a) => a.verify(stored, SECRET))).toBe(true);
  });

  it('refuses a password that is not a string', async () => {
    await expect(hashPassword(42 as never)).rejects.toThrow('password must be a string');
  });
});

describe('verifyPassword', () => {
  it('treats composed and decomposed forms of the same text as one password (NFC)', async () => {
    const composed = 'caf\u00e9-passw0rd';
    const decomposed = 'cafe\u0301-passw0rd';
    expect(composed).not.toBe(decomposed);
    expect(await verifyPassword(decomposed, await hashPassword(composed))).toBe(true);
    expect(await verifyPassword(composed, legacyScryptHash(decomposed))).toBe(true);
  });

  it('accepts a hash made elsewhere with other in-bounds parameters', async () => {
    expect(await verifyPassword(SECRET, await argon2idHash(SECRET, 1024, 1, 1))).toBe(true);
  });

  it.each([
    ['garbage', 'garbage'],
    ['an empty string', ''],
    ['argon2i instead of argon2id', '$argon2i$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g'],
    ['argon2id version 16', '$argon2id$v=16$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g'],
    ['a salt shorter than 8 bytes', '$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g'],
    ['a not-a-string', 42],
  ])('is false, never an error, for %s', async (_what, stored) => {
    expect(await verifyPassword(SECRET, stored as string)).toBe(false);
  });

  it('is false for a password that is not a string', async () => {
    expect(await verifyPassword(null as never, await hashPassword(SECRET))).toBe(false);
  });
});

describe('verifyPassword bounds the work a stored hash may ask for', () => {
  it('refuses, with the right password, a hash whose parameters are over the limits', async () => {
    // Cheap to make, valid for SECRET, yet beyond what a verification may spend.
    const tooManyPasses = await argon2idHash(SECRET, 64, VERIFY_LIMITS.maxTimeCost + 1, 1);
    const tooManyLanes = await argon2idHash(SECRET, 64, 1, VERIFY_LIMITS.maxParallelism + 1);
    expect(await verifyPassword(SECRET, tooManyPasses)).toBe(false);
    expect(await verifyPassword(SECRET, tooManyLanes)).toBe(false);
    expect(await verifyPassword(SECRET, legacyScryptHash(SECRET, 4, 8, VERIFY_LIMITS.maxParallelism + 1))).toBe(false);
    // The same password, in bounds, verifies.
    expect(await verifyPassword(SECRET, await argon2idHash(SECRET, 64, VERIFY_LIMITS.maxTimeCost, VERIFY_LIMITS.maxParallelism))).toBe(true);
    expect(await verifyPassword(SECRET, legacyScryptHash(SECRET, 4, 8, VERIFY_LIMITS.maxParallelism))).toBe(true);
  });

  it('refuses a hash asking for more than 256 MiB before computing anything', async () => {
    const stored = await argon2idHash(SECRET, 64, 1, 1);
    const fourGiB = stored.replace('m=64,', 'm=4194304,');
    const justOver = stored.replace('m=64,', `m=${VERIFY_LIMITS.maxMemoryBytes / 1024 + 1},`);
    expect(await verifyPassword(SECRET, fourGiB)).toBe(false);
    expect(await verifyPassword(SECRET, justOver)).toBe(false);
    expect(argon2.verify).not.toHaveBeenCalled();
    // At the limit it is computed (and fails: the parameters are not the ones the hash was made with).
    expect(await verifyPassword(SECRET, stored.replace('m=64,', 'm=8,'))).toBe(false);
    expect(argon2.verify).toHaveBeenCalledTimes(1);
  });

  it('refuses a legacy scrypt hash whose 128 × N × r exceeds 256 MiB (the old bounds allowed 4 GiB)', async () => {
    // ln=20, r=32 was accepted before: 128 × 2^20 × 32 bytes = 4 GiB for one verification.
    const stored = legacyScryptHash(SECRET).replace('ln=4,r=8,', 'ln=20,r=32,');
    const justOver = legacyScryptHash(SECRET).replace('ln=4,r=8,', 'ln=19,r=5,');
    expect(await verifyPassword(SECRET, stored)).toBe(false);
    expect(await verifyPassword(SECRET, justOver)).toBe(false);
    expect(scrypt).not.toHaveBeenCalled();
    expect(await verifyPassword(SECRET, legacyScryptHash(SECRET))).toBe(true);
    expect(scrypt).toHaveBeenCalledTimes(1);
  });
});

describe('legacy scrypt hashes', () => {
  it('still verify, and are reported as needing a rehash', async () => {
    const legacy = legacyScryptHash(SECRET);
    expect(await verifyPassword(SECRET, legacy)).toBe(true);
    expect(await verifyPassword('wrong password', legacy)).toBe(false);
    expect(needsRehash(legacy)).toBe(true);
  });
});

describe('needsRehash', () => {
  it('is false for a hash made with the current parameters, true for any other', async () => {
    expect(needsRehash(await hashPassword(SECRET))).toBe(false);
    const cheaper = await hashPassword(SECRET, { memoryKiB: 1024, timeCost: 1, parallelism: 1 });
    expect(needsRehash(cheaper)).toBe(true);
    expect(needsRehash(cheaper, { memoryKiB: 1024, timeCost: 1, parallelism: 1 })).toBe(false);
    expect(needsRehash('garbage')).toBe(true);
    expect(needsRehash(null as never)).toBe(true);
  });
});

describe('burnVerificationTime', () => {
  it('always says no, whatever it is given', async () => {
    expect(await burnVerificationTime(SECRET)).toBe(false);
    expect(await burnVerificationTime(undefined as never)).toBe(false);
  });
});

describe('IdentityRepository.verifyPassword upgrades old hashes', () => {
  const ctx = useTransactionPerTest();

  async function storedHash(id: number): Promise<string> {
    return (await ctx.db.query<{ password_hash: string }>('SELECT password_hash FROM identities WHERE id = $1', [id])).rows[0]!.password_hash;
  }

  it('logs in with a legacy scrypt hash and replaces it with a current argon2id one', async () => {
    const identity = await new IdentityFixture().create(ctx.db);
    const legacy = legacyScryptHash(SECRET);
    await ctx.db.query('UPDATE identities SET password_hash = $2 WHERE id = $1', [identity.id, legacy]);

    const loggedIn = await IdentityRepository.verifyPassword(ctx.db, identity.login, SECRET);
    expect(loggedIn?.id).toBe(identity.id);
    const upgraded = await storedHash(identity.id);
    expect(upgraded).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(needsRehash(upgraded)).toBe(false);
    expect(await IdentityRepository.verifyPassword(ctx.db, identity.login, SECRET)).toMatchObject({ id: identity.id });
  });

  it('leaves a legacy hash alone when the password is wrong, and a current hash alone when it is right', async () => {
    const legacyUser = await new IdentityFixture().create(ctx.db);
    const legacy = legacyScryptHash(SECRET);
    await ctx.db.query('UPDATE identities SET password_hash = $2 WHERE id = $1', [legacyUser.id, legacy]);
    expect(await IdentityRepository.verifyPassword(ctx.db, legacyUser.login, 'wrong password')).toBeNull();
    expect(await storedHash(legacyUser.id)).toBe(legacy);

    const currentUser = await new IdentityFixture().withPassword(SECRET).create(ctx.db);
    const current = await storedHash(currentUser.id);
    expect(await IdentityRepository.verifyPassword(ctx.db, currentUser.login, SECRET)).toMatchObject({ id: currentUser.id });
    expect(await storedHash(currentUser.id)).toBe(current);
  });
});
