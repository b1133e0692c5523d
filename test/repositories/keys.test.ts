import { inspect } from 'node:util';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { SecretCipher } from '../../src/crypto/secrets.js';
import type { Executor } from '../../src/db/pool.js';
import { withTransaction } from '../../src/db/transaction.js';
import { AlreadyExistsError, DatabaseUnavailableError, DecryptionError, NotFoundError, ValidationError } from '../../src/errors.js';
import { KEY_OWNER_TYPES, KeyRepository, decryptValue, keyRef, parseKeyRef, type Key } from '../../src/repositories/keys.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { KeyFixture } from '../../src/testing/fixtures/keys.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { useTransactionPerTest } from '../support/db.js';
import { analyze, checkValues, indexesUsed } from '../support/sql.js';

const ctx = useTransactionPerTest();

const cipher = new SecretCipher('keys-test-key-A-0123456789abcdefghijkl');
const otherCipher = new SecretCipher('keys-test-key-B-0123456789abcdefghijkl');
const thirdCipher = new SecretCipher('keys-test-key-C-0123456789abcdefghijkl');
const PLAINTEXT = 'pl41ntext-s3cret-do-not-leak';

/** An executor that fails the test if any SQL reaches it. */
const noSql: Executor = {
  query: (() => {
    throw new Error('SQL ran, but validation should have refused the input first');
  }) as never,
};

async function rawRow(id: number): Promise<{ value_text: string; encrypted: boolean; encryption_key_id: string | null; value_type: string }> {
  const result = await ctx.db.query(
    'SELECT value::text AS value_text, jsonb_typeof(value) AS value_type, encrypted, encryption_key_id FROM keys WHERE id = $1',
    [id],
  );
  return result.rows[0];
}

/** Everything an error could show: message, JSON body, and a deep inspect including its cause. */
function everythingIn(error: Error): string {
  return [error.message, JSON.stringify(error), inspect(error, { depth: 20, showHidden: true }), String(error.stack)].join('\n');
}

describe('KeyRepository.create', () => {
  it('stores a plain system key and derives its ref in the database', async () => {
    const expiresAt = new Date(Date.now() + 3_600_000);
    const key = await KeyRepository.create(ctx.db, {
      ownerType: 'system',
      name: 'smtp_host',
      value: { host: 'mail.example.com', port: 25 },
      description: 'Outgoing mail',
      expiresAt,
    });
    expect(key).toMatchObject({
      ref: 'system.smtp_host',
      ownerType: 'system',
      owner: 'system',
      name: 'smtp_host',
      value: { host: 'mail.example.com', port: 25 },
      encrypted: false,
      encryptionKeyId: null,
      description: 'Outgoing mail',
      expiresAt,
    });
    expect(typeof key.id).toBe('number');
    expect(key.createdAt).toBeInstanceOf(Date);
    expect(await KeyRepository.getById(ctx.db, key.id)).toEqual(key);
  });

  it.each([
    ['pack', 'core', 'pack.core.api_token'],
    ['pack', 'system', 'pack.system.api_token'],
    ['identity', 'Alice.Smith@Example.com', 'identity.alice.smith@example.com.api_token'],
    ['action', 'core.echo', 'action.core.echo.api_token'],
  ] as const)('derives the ref of a %s key owned by %s', async (ownerType, owner, ref) => {
    const key = await KeyRepository.create(ctx.db, { ownerType, owner, name: 'api_token', value: 'v' });
    expect(key.ref).toBe(ref);
    expect(key.ref).toBe(keyRef(key.ownerType, key.owner, key.name));
    expect((await KeyRepository.getByRef(ctx.db, ref)).id).toBe(key.id);
  });

  it('accepts an explicit system owner and stores any JSON value, null and bare strings included', async () => {
    const cases: [unknown, string][] = [
      [null, 'null'],
      ['text', 'string'],
      [7, 'number'],
      [false, 'boolean'],
      [[1, 'a'], 'array'],
      [{ a: { b: [null] } }, 'object'],
    ];
    for (const [i, [value, type]] of cases.entries()) {
      const key = await KeyRepository.create(ctx.db, { ownerType: 'system', owner: 'system', name: `json_${i}`, value });
      expect(key.value).toEqual(value);
      expect((await KeyRepository.getById(ctx.db, key.id)).value).toEqual(value);
      expect((await rawRow(key.id)).value_type).toBe(type);
    }
  });

  it.each([
    [{ ownerType: 'team', name: 'x', value: 1 }, 'ownerType'],
    [{ ownerType: 'pack', name: 'x', value: 1 }, 'owner'],
    [{ ownerType: 'pack', owner: 'Not A Pack', name: 'x', value: 1 }, 'owner'],
    [{ ownerType: 'system', owner: 'core', name: 'x', value: 1 }, 'owner'],
    [{ ownerType: 'identity', owner: '-bad', name: 'x', value: 1 }, 'owner'],
    [{ ownerType: 'action', owner: 'core', name: 'x', value: 1 }, 'owner'],
    [{ ownerType: 'system', name: 'has.dot', value: 1 }, 'name'],
    [{ ownerType: 'system', name: '', value: 1 }, 'name'],
    [{ ownerType: 'system', name: 'x' }, 'value'],
    [{ ownerType: 'system', name: 'x', value: Number.NaN }, 'value'],
    [{ ownerType: 'system', name: 'x', value: 1, secret: 'yes' }, 'secret'],
    [{ ownerType: 'system', name: 'x', value: 1, expiresAt: 'tomorrow' }, 'expiresAt'],
    [{ ownerType: 'system', name: 'x', value: 1, colour: 'red' }, 'colour'],
  ])('refuses %j before any SQL, naming %s', async (input, field) => {
    const error = await expectErrorType(KeyRepository.create(noSql, input as never), ValidationError);
    expect(error).toMatchObject({ code: 'ATTUNE_VALIDATION', entity: 'key', field });
  });

  it('rejects a duplicate (owner_type, owner, name) with AlreadyExistsError and keeps the first', async () => {
    const first = await new KeyFixture('dup').forPack('core').withValue('first').create(ctx.db);
    const error = await expectErrorType(
      withTransaction(ctx.db, (tx) => new KeyFixture('dup').forPack('core').withValue('second').create(tx)),
      AlreadyExistsError,
    );
    expect(error).toMatchObject({ code: 'ATTUNE_ALREADY_EXISTS', entity: 'key', field: 'owner_type, owner, name', value: 'pack, core, dup' });
    // Same name under another owner, or as a system key, is a different key.
    await new KeyFixture('dup').forPack('other').create(ctx.db);
    await new KeyFixture('dup').create(ctx.db);
    expect((await KeyRepository.getByRef(ctx.db, 'pack.core.dup')).value).toBe('first');
    expect(first.value).toBe('first');
  });

  it('identity owners are case-insensitive, like logins', async () => {
    await new KeyFixture('token').forIdentity('Bob').create(ctx.db);
    await expectErrorType(withTransaction(ctx.db, (tx) => new KeyFixture('token').forIdentity('BOB').create(tx)), AlreadyExistsError);
    expect((await KeyRepository.getByRef(ctx.db, 'identity.BoB.token')).owner).toBe('bob');
  });
});

describe('secret keys', () => {
  it('encrypts in the application: the stored value is ciphertext bound to the key, never the plaintext', async () => {
    const key = await KeyRepository.create(
      ctx.db,
      { ownerType: 'pack', owner: 'core', name: 'db_password', value: { password: PLAINTEXT }, secret: true },
      { cipher },
    );
    expect(key).toMatchObject({ encrypted: true, encryptionKeyId: cipher.keyId });
    expect(SecretCipher.isCiphertext(key.value)).toBe(true);
    expect(JSON.stringify(key)).not.toContain(PLAINTEXT);
    const raw = await rawRow(key.id);
    expect(raw).toMatchObject({ encrypted: true, encryption_key_id: cipher.keyId, value_type: 'string' });
    expect(raw.value_text).not.toContain(PLAINTEXT);
    expect(raw.value_text).not.toContain('password');
    const anywhere = await ctx.db.query(`SELECT count(*)::int AS n FROM keys WHERE value::text LIKE '%' || $1 || '%'`, [PLAINTEXT]);
    expect(anywhere.rows[0].n).toBe(0);
    expect(await KeyRepository.getValue(ctx.db, 'pack.core.db_password', { cipher })).toEqual({ password: PLAINTEXT });
  });

  it('a secret without a cipher is a ValidationError naming the setting, before any SQL', async () => {
    const error = await expectErrorType(
      KeyRepository.create(noSql, { ownerType: 'system', name: 'nope', value: PLAINTEXT, secret: true }),
      ValidationError,
    );
    expect(error.message).toBe('no encryption key configured: set ATTUNE__SECURITY__ENCRYPTION_KEY');
    expect(everythingIn(error)).not.toContain(PLAINTEXT);
    await expectErrorType(KeyRepository.create(noSql, { ownerType: 'system', name: 'nope', value: 1, secret: true }, { cipher: {} as never }), ValidationError);
  });

  it('errors about a secret key never contain its plaintext', async () => {
    await new KeyFixture('leaky').secret(cipher).withValue(PLAINTEXT).create(ctx.db);
    const duplicate = await expectErrorType(
      withTransaction(ctx.db, (tx) => new KeyFixture('leaky').secret(cipher).withValue(PLAINTEXT).create(tx)),
      AlreadyExistsError,
    );
    expect(everythingIn(duplicate)).not.toContain(PLAINTEXT);

    const invalid = await expectErrorType(
      KeyRepository.create(noSql, { ownerType: 'system', name: 'bad', value: { secret: PLAINTEXT, n: Number.POSITIVE_INFINITY }, secret: true }, { cipher }),
      ValidationError,
    );
    expect(invalid.message).toBe('key.value is invalid');
    expect(everythingIn(invalid)).not.toContain(PLAINTEXT);

    const wrongKey = await expectErrorType(KeyRepository.getValue(ctx.db, 'system.leaky', { cipher: otherCipher }), DecryptionError);
    expect(everythingIn(wrongKey)).not.toContain(PLAINTEXT);

    const key = await KeyRepository.getByRef(ctx.db, 'system.leaky');
    const badUpdate = await expectErrorType(KeyRepository.update(ctx.db, key.id, { value: PLAINTEXT }), ValidationError);
    expect(everythingIn(badUpdate)).not.toContain(PLAINTEXT);
  });

  it('reads never decrypt; getValue and decryptValue do, on request', async () => {
    const key = await new KeyFixture('api_key').forAction('core.http').secret(cipher).withValue(PLAINTEXT).create(ctx.db);
    const reads: (Key | null)[] = [
      await KeyRepository.findById(ctx.db, key.id),
      await KeyRepository.getById(ctx.db, key.id),
      await KeyRepository.findByRef(ctx.db, key.ref),
      await KeyRepository.getByRef(ctx.db, key.ref),
      (await KeyRepository.list(ctx.db, { ownerType: 'action', owner: 'core.http' })).items[0] ?? null,
    ];
    for (const read of reads) {
      expect(read).toMatchObject({ id: key.id, encrypted: true, value: key.value });
      expect(JSON.stringify(read)).not.toContain(PLAINTEXT);
    }
    expect(await KeyRepository.getValue(ctx.db, key.ref, { cipher })).toBe(PLAINTEXT);
    expect(await KeyRepository.findValue(ctx.db, key.ref, { cipher })).toBe(PLAINTEXT);
    expect(decryptValue(key, { cipher })).toBe(PLAINTEXT);
    expect(KeyRepository.decryptValue(key, { cipher })).toBe(PLAINTEXT);
  });

  it('getValue on an encrypted key without a cipher is a DecryptionError naming the setting', async () => {
    const key = await new KeyFixture().secret(cipher).withValue(PLAINTEXT).create(ctx.db);
    const error = await expectErrorType(KeyRepository.getValue(ctx.db, key.ref), DecryptionError);
    expect(error.message).toContain('ATTUNE__SECURITY__ENCRYPTION_KEY');
    expect(error.message).toContain(key.ref);
  });

  it('the wrong key is a DecryptionError naming the key id the value needs and the configured one', async () => {
    const key = await new KeyFixture().secret(cipher).withValue(PLAINTEXT).create(ctx.db);
    const error = await expectErrorType(KeyRepository.getValue(ctx.db, key.ref, { cipher: otherCipher }), DecryptionError);
    expect(error).toMatchObject({ code: 'ATTUNE_DECRYPTION', entity: 'key', field: 'value' });
    expect(error.message).toContain(cipher.keyId);
    expect(error.message).toContain(otherCipher.keyId);
    expect(error.message).toContain(key.ref);
  });

  it('tampered ciphertext is a DecryptionError', async () => {
    const key = await new KeyFixture().secret(cipher).withValue(PLAINTEXT).create(ctx.db);
    const text = key.value as string;
    const parts = text.split(':');
    const data = Buffer.from(parts[4]!, 'base64url');
    data[0] = data[0]! ^ 0x80;
    parts[4] = data.toString('base64url');
    await ctx.db.query('UPDATE keys SET value = to_jsonb($2::text) WHERE id = $1', [key.id, parts.join(':')]);
    const error = await expectErrorType(KeyRepository.getValue(ctx.db, key.ref, { cipher }), DecryptionError);
    expect(error.message).toMatch(/altered/);
    expect(everythingIn(error)).not.toContain(PLAINTEXT);

    await ctx.db.query(`UPDATE keys SET value = '"not a ciphertext"' WHERE id = $1`, [key.id]);
    await expectErrorType(KeyRepository.getValue(ctx.db, key.ref, { cipher }), DecryptionError);
  });

  it('ciphertext moved to another key fails (the ref is the AAD)', async () => {
    const source = await new KeyFixture('source').forPack('core').secret(cipher).withValue(PLAINTEXT).create(ctx.db);
    const target = await new KeyFixture('target').forPack('core').secret(cipher).withValue('harmless').create(ctx.db);
    await ctx.db.query('UPDATE keys SET value = (SELECT value FROM keys WHERE id = $1) WHERE id = $2', [source.id, target.id]);
    const error = await expectErrorType(KeyRepository.getValue(ctx.db, target.ref, { cipher }), DecryptionError);
    expect(error.message).toContain('pack.core.target');
    expect(error.message).toMatch(/another record/);
    expect(everythingIn(error)).not.toContain(PLAINTEXT);
    expect(await KeyRepository.getValue(ctx.db, source.ref, { cipher })).toBe(PLAINTEXT);
  });
});

describe('key lookups and expiry', () => {
  it('findById and findByRef return null when absent; getById and getByRef throw NotFoundError', async () => {
    expect(await KeyRepository.findById(ctx.db, 999_999_999)).toBeNull();
    expect(await KeyRepository.findByRef(ctx.db, 'system.absent')).toBeNull();
    expect(await KeyRepository.findValue(ctx.db, 'system.absent')).toBeUndefined();
    const byId = await expectErrorType(KeyRepository.getById(ctx.db, 999_999_999), NotFoundError);
    expect(byId).toMatchObject({ entity: 'key', field: 'id', value: 999_999_999 });
    const byRef = await expectErrorType(KeyRepository.getByRef(ctx.db, 'pack.core.absent'), NotFoundError);
    expect(byRef).toMatchObject({ entity: 'key', field: 'ref', value: 'pack.core.absent' });
    await expectErrorType(KeyRepository.getValue(ctx.db, 'pack.core.absent'), NotFoundError);
  });

  it.each(['', 'system', 'system.a.b', 'team.x.y', 'pack.Core.x', 'pack..x', 'action.core.x', 'pack.core.bad name', 'system.', 42])(
    'refuses the malformed ref %j before any SQL',
    async (ref) => {
      const error = await expectErrorType(KeyRepository.findByRef(noSql, ref as string), ValidationError);
      expect(error.field).toBe('ref');
    },
  );

  it('parseKeyRef splits refs whose owner contains dots', () => {
    expect(parseKeyRef('action.core.echo.token')).toEqual({ ownerType: 'action', owner: 'core.echo', name: 'token', ref: 'action.core.echo.token' });
    expect(parseKeyRef('identity.A.B@x.io.k')).toEqual({ ownerType: 'identity', owner: 'a.b@x.io', name: 'k', ref: 'identity.a.b@x.io.k' });
    expect(parseKeyRef('system.k')).toMatchObject({ ownerType: 'system', owner: 'system', name: 'k' });
  });

  it('expired keys are absent for findByRef, getValue and list, but kept for findById', async () => {
    const expired = await new KeyFixture('old').expired().create(ctx.db);
    const live = await new KeyFixture('fresh').expiresAt(new Date(Date.now() + 3_600_000)).create(ctx.db);
    const forever = await new KeyFixture('forever').create(ctx.db);
    expect(await KeyRepository.findByRef(ctx.db, 'system.old')).toBeNull();
    await expectErrorType(KeyRepository.getByRef(ctx.db, 'system.old'), NotFoundError);
    await expectErrorType(KeyRepository.getValue(ctx.db, 'system.old'), NotFoundError);
    expect(await KeyRepository.findValue(ctx.db, 'system.old')).toBeUndefined();
    expect((await KeyRepository.findById(ctx.db, expired.id))?.expiresAt).toEqual(expired.expiresAt);
    expect(await KeyRepository.getValue(ctx.db, 'system.fresh')).toEqual({ fixture: 'fresh' });

    expect((await KeyRepository.list(ctx.db, { ownerType: 'system' })).items.map((k) => k.name)).toEqual(['forever', 'fresh']);
    expect((await KeyRepository.list(ctx.db, { ownerType: 'system', includeExpired: true })).total).toBe(3);

    expect(await KeyRepository.deleteExpired(ctx.db)).toBe(1);
    expect(await KeyRepository.findById(ctx.db, expired.id)).toBeNull();
    expect(await KeyRepository.findById(ctx.db, live.id)).not.toBeNull();
    expect(await KeyRepository.findById(ctx.db, forever.id)).not.toBeNull();
    expect(await KeyRepository.deleteExpired(ctx.db)).toBe(0);
  });
});

describe('KeyRepository.list', () => {
  it('filters by owner type and owner, paginates and reports the total', async () => {
    for (let i = 0; i < 5; i++) await new KeyFixture(`k${i}`).forPack('listed').create(ctx.db);
    await new KeyFixture('k0').forPack('elsewhere').create(ctx.db);
    await new KeyFixture('k0').forIdentity('listed').create(ctx.db);
    const first = await KeyRepository.list(ctx.db, { ownerType: 'pack', owner: 'listed', limit: 2 });
    expect(first.total).toBe(5);
    expect(first.items.map((k) => k.ref)).toEqual(['pack.listed.k0', 'pack.listed.k1']);
    const last = await KeyRepository.list(ctx.db, { ownerType: 'pack', owner: 'listed', limit: 2, offset: 4 });
    expect(last.items.map((k) => k.ref)).toEqual(['pack.listed.k4']);
    expect(await KeyRepository.list(ctx.db, { ownerType: 'pack', owner: 'listed', offset: 10 })).toMatchObject({ items: [], total: 5 });
    expect((await KeyRepository.list(ctx.db, { ownerType: 'pack' })).total).toBe(6);
    expect((await KeyRepository.list(ctx.db, { ownerType: 'identity', owner: 'LISTED' })).items.map((k) => k.ref)).toEqual(['identity.listed.k0']);
  });

  it('filters by encryption and by the key id that encrypted', async () => {
    const a = await new KeyFixture().secret(cipher).create(ctx.db);
    const b = await new KeyFixture().secret(otherCipher).create(ctx.db);
    const plain = await new KeyFixture().create(ctx.db);
    expect((await KeyRepository.list(ctx.db, { encrypted: true })).items.map((k) => k.id).sort()).toEqual([a.id, b.id].sort());
    expect((await KeyRepository.list(ctx.db, { encrypted: false })).items.map((k) => k.id)).toEqual([plain.id]);
    expect((await KeyRepository.list(ctx.db, { encryptionKeyId: otherCipher.keyId })).items.map((k) => k.id)).toEqual([b.id]);
  });

  it('filters by name prefix, treating _ literally', async () => {
    await new KeyFixture('aws_access').forPack('cloud').create(ctx.db);
    await new KeyFixture('aws_secret').create(ctx.db);
    await new KeyFixture('awsX').create(ctx.db);
    await new KeyFixture('gcp_key').create(ctx.db);
    expect((await KeyRepository.list(ctx.db, { namePrefix: 'aws_' })).items.map((k) => k.ref)).toEqual(['pack.cloud.aws_access', 'system.aws_secret']);
    expect((await KeyRepository.list(ctx.db, { namePrefix: 'aws' })).total).toBe(3);
    expect((await KeyRepository.list(ctx.db, { ownerType: 'system', namePrefix: 'aws' })).total).toBe(2);
  });

  it('refuses bad filters before any SQL', async () => {
    await expectErrorType(KeyRepository.list(noSql, { owner: 'core' }), ValidationError);
    await expectErrorType(KeyRepository.list(noSql, { ownerType: 'team' as never }), ValidationError);
    await expectErrorType(KeyRepository.list(noSql, { ownerType: 'pack', owner: 'Bad Pack' }), ValidationError);
    await expectErrorType(KeyRepository.list(noSql, { namePrefix: "x%' OR 1=1" }), ValidationError);
    await expectErrorType(KeyRepository.list(noSql, { encryptionKeyId: 'nope' }), ValidationError);
    await expectErrorType(KeyRepository.list(noSql, { encrypted: 'yes' as never }), ValidationError);
    await expectErrorType(KeyRepository.list(noSql, { limit: 0 }), ValidationError);
  });
});

describe('KeyRepository.update and delete', () => {
  it('touches only the fields given, null clears, and updated_at moves', async () => {
    const key = await new KeyFixture().withDescription('before').expiresAt(new Date(Date.now() + 60_000)).create(ctx.db);
    const updated = await KeyRepository.update(ctx.db, key.id, { description: 'after' });
    expect(updated).toMatchObject({ description: 'after', value: key.value, expiresAt: key.expiresAt, ref: key.ref });
    expect(updated.updatedAt.getTime()).toBeGreaterThan(key.updatedAt.getTime());
    const cleared = await KeyRepository.update(ctx.db, key.id, { description: null, expiresAt: null });
    expect(cleared).toMatchObject({ description: null, expiresAt: null });
    expect(await KeyRepository.update(ctx.db, key.id, {})).toEqual(cleared);
  });

  it('replaces a plain value', async () => {
    const key = await new KeyFixture().withValue({ a: 1 }).create(ctx.db);
    expect((await KeyRepository.update(ctx.db, key.id, { value: [1, 2] })).value).toEqual([1, 2]);
    expect((await KeyRepository.update(ctx.db, key.id, { value: null })).value).toBeNull();
  });

  it('re-encrypts a new value for a secret key, and needs the cipher to do so', async () => {
    const key = await new KeyFixture().secret(cipher).withValue('old-secret').create(ctx.db);
    await expectErrorType(KeyRepository.update(ctx.db, key.id, { value: 'new-secret' }), ValidationError);
    expect(await KeyRepository.getValue(ctx.db, key.ref, { cipher })).toBe('old-secret');

    const updated = await KeyRepository.update(ctx.db, key.id, { value: 'new-secret' }, { cipher: otherCipher });
    expect(updated).toMatchObject({ encrypted: true, encryptionKeyId: otherCipher.keyId });
    expect(updated.value).not.toBe(key.value);
    expect((await rawRow(key.id)).value_text).not.toContain('new-secret');
    expect(await KeyRepository.getValue(ctx.db, key.ref, { cipher: otherCipher })).toBe('new-secret');
    // Description-only changes need no cipher and leave the ciphertext alone.
    expect((await KeyRepository.update(ctx.db, key.id, { description: 'd' })).value).toBe(updated.value);
  });

  it('secret: true encrypts the current value; secret: false decrypts it', async () => {
    const key = await new KeyFixture().withValue({ token: PLAINTEXT }).create(ctx.db);
    await expectErrorType(KeyRepository.update(ctx.db, key.id, { secret: true }), ValidationError);
    const secret = await KeyRepository.update(ctx.db, key.id, { secret: true }, { cipher });
    expect(secret).toMatchObject({ encrypted: true, encryptionKeyId: cipher.keyId });
    expect((await rawRow(key.id)).value_text).not.toContain(PLAINTEXT);
    expect(await KeyRepository.getValue(ctx.db, key.ref, { cipher })).toEqual({ token: PLAINTEXT });
    expect((await KeyRepository.update(ctx.db, key.id, { secret: true }, { cipher })).value).toBe(secret.value);

    await expectErrorType(withTransaction(ctx.db, (tx) => KeyRepository.update(tx, key.id, { secret: false }, { cipher: otherCipher })), DecryptionError);
    const plain = await KeyRepository.update(ctx.db, key.id, { secret: false }, { cipher });
    expect(plain).toMatchObject({ encrypted: false, encryptionKeyId: null, value: { token: PLAINTEXT } });
    const replaced = await KeyRepository.update(ctx.db, key.id, { secret: true, value: 'fresh' }, { cipher });
    expect(await KeyRepository.getValue(ctx.db, replaced.ref, { cipher })).toBe('fresh');
  });

  it('refuses to change the owner type, owner or name, and a missing id is NotFoundError', async () => {
    const key = await new KeyFixture().create(ctx.db);
    for (const patch of [{ ownerType: 'pack' }, { owner: 'core' }, { name: 'renamed' }]) {
      const error = await expectErrorType(KeyRepository.update(noSql, key.id, patch as never), ValidationError);
      expect(error.message).toContain('cannot be changed');
    }
    await expectErrorType(KeyRepository.update(ctx.db, 999_999_999, { description: 'x' }), NotFoundError);
    await expectErrorType(KeyRepository.update(ctx.db, 999_999_999, { value: 1 }), NotFoundError);
    await expectErrorType(KeyRepository.update(noSql, 0, { value: 1 }), ValidationError);
  });

  it('delete returns whether a row went', async () => {
    const key = await new KeyFixture().create(ctx.db);
    expect(await KeyRepository.delete(ctx.db, key.id)).toBe(true);
    expect(await KeyRepository.delete(ctx.db, key.id)).toBe(false);
    expect(await KeyRepository.findById(ctx.db, key.id)).toBeNull();
  });
});

describe('KeyRepository.rotate', () => {
  it('re-encrypts every key under the old key id, and only those', async () => {
    const a = await new KeyFixture('rot_a').secret(cipher).withValue({ pw: PLAINTEXT }).create(ctx.db);
    const b = await new KeyFixture('rot_b').forPack('core').secret(cipher).withValue('two').expired().create(ctx.db);
    const c = await new KeyFixture('rot_c').secret(thirdCipher).withValue('three').create(ctx.db);
    const plain = await new KeyFixture('rot_plain').withValue('plain').create(ctx.db);

    expect(await KeyRepository.rotate(ctx.db, { from: cipher, to: otherCipher })).toBe(2);

    expect(await KeyRepository.getValue(ctx.db, a.ref, { cipher: otherCipher })).toEqual({ pw: PLAINTEXT });
    const after = await KeyRepository.getById(ctx.db, b.id);
    expect(after).toMatchObject({ encryptionKeyId: otherCipher.keyId });
    expect(after.value).not.toBe(b.value);
    expect(decryptValue(after, { cipher: otherCipher })).toBe('two');
    const old = await expectErrorType(KeyRepository.getValue(ctx.db, a.ref, { cipher }), DecryptionError);
    expect(old.message).toContain(otherCipher.keyId);
    expect(await KeyRepository.getById(ctx.db, c.id)).toEqual(c);
    expect(await KeyRepository.getById(ctx.db, plain.id)).toEqual(plain);
    expect((await KeyRepository.list(ctx.db, { encryptionKeyId: cipher.keyId, includeExpired: true })).total).toBe(0);
    expect(await KeyRepository.rotate(ctx.db, { from: cipher, to: otherCipher })).toBe(0);
  });

  it('a key the old cipher cannot decrypt stops the rotation and changes nothing', async () => {
    const good = await new KeyFixture('good').secret(cipher).create(ctx.db);
    const bad = await new KeyFixture('bad').secret(cipher).create(ctx.db);
    await ctx.db.query('UPDATE keys SET value = (SELECT value FROM keys WHERE id = $1) WHERE id = $2', [good.id, bad.id]);
    const error = await expectErrorType(KeyRepository.rotate(ctx.db, { from: cipher, to: otherCipher }), DecryptionError);
    expect(error.message).toContain('system.bad');
    expect(await KeyRepository.getById(ctx.db, good.id)).toEqual(good);
    expect((await KeyRepository.list(ctx.db, { encryptionKeyId: cipher.keyId })).total).toBe(2);
  });

  it('refuses the same key on both sides, or a missing cipher', async () => {
    await expectErrorType(KeyRepository.rotate(noSql, { from: cipher, to: new SecretCipher('keys-test-key-A-0123456789abcdefghijkl') }), ValidationError);
    await expectErrorType(KeyRepository.rotate(noSql, { from: cipher, to: undefined as never }), ValidationError);
  });
});

/**
 * Seeds the volume the plan test needs inside the test's transaction, then
 * ANALYZEs: 3,000 keys, a quarter of them system keys and the rest owned by
 * 75 packs, 75 identities and 75 actions (ten per owner). About ten are
 * secrets (under other encryption keys than the test's ciphers), about ten
 * names start with "idx_", and twenty keys expire, half of them already
 * expired. Returns a seeded pack owner.
 */
async function seedKeys(db: Executor): Promise<{ packOwner: string }> {
  const prefix = uniqueName('plan');
  await db.query(
    `INSERT INTO keys (owner_type, owner, name, value, encrypted, encryption_key_id, expires_at)
     SELECT x.owner_type,
            CASE x.owner_type WHEN 'system' THEN 'system' WHEN 'pack' THEN $1 || '_p' || g % 300
                              WHEN 'identity' THEN 'user' || g % 300 || '@' || $1 ELSE $1 || '_p' || g % 300 || '.run' END,
            CASE WHEN g % 300 = 5 THEN 'idx_' || g
                 ELSE (ARRAY['token', 'url', 'timeout', 'region', 'password', 'user'])[1 + g % 6] || '_' || g END,
            CASE WHEN x.secret THEN to_jsonb('v1:seeded:' || md5(g::text)) ELSE to_jsonb(g) END,
            x.secret,
            CASE WHEN x.secret THEN 'seeded' || g % 3 END,
            CASE WHEN g % 150 = 11 THEN now() + make_interval(days => CASE WHEN g % 300 = 11 THEN 30 ELSE -1 END) END
       FROM generate_series(1, 3000) AS g
       CROSS JOIN LATERAL (
         SELECT (ARRAY['system', 'pack', 'identity', 'action'])[1 + g % 4] AS owner_type, g % 300 = 3 AS secret
       ) AS x`,
    [prefix],
  );
  await analyze(db, 'keys');
  return { packOwner: `${prefix}_p1` };
}

describe('key indexes', () => {
  it.each([
    ['findByRef', 'keys_ref_key', () => (db: Executor) => KeyRepository.findByRef(db, 'pack.core.idx_a')],
    ['the owner filter', 'keys_owner_type_name_key', (packOwner: string) => (db: Executor) => KeyRepository.list(db, { ownerType: 'pack', owner: packOwner })],
    ['the name prefix filter', 'keys_name_pattern_idx', () => (db: Executor) => KeyRepository.list(db, { namePrefix: 'idx_' })],
    ['the encryption key filter', 'keys_encryption_key_id_idx', () => (db: Executor) => KeyRepository.list(db, { encryptionKeyId: cipher.keyId })],
    ['the encrypted filter', 'keys_encryption_key_id_idx', () => (db: Executor) => KeyRepository.list(db, { encrypted: true })],
    ['deleteExpired', 'keys_expires_at_idx', () => (db: Executor) => KeyRepository.deleteExpired(db)],
    ['rotate', 'keys_encryption_key_id_idx', () => (db: Executor) => KeyRepository.rotate(db, { from: cipher, to: otherCipher })],
  ] as const)('%s is served by %s at volume', async (_label, index, callOf) => {
    await new KeyFixture('idx_a').forPack('core').secret(cipher).create(ctx.db);
    const { packOwner } = await seedKeys(ctx.db);
    const plan = await indexesUsed(ctx.db, callOf(packOwner));
    expect(plan.indexes).toContain(index);
    expect(plan.seqScans).toEqual([]);
  });
});

describe('key constants', () => {
  it('KEY_OWNER_TYPES mirrors the migration CHECK exactly', async () => {
    expect(await checkValues(ctx.db, 'keys_owner_type_check')).toEqual([...KEY_OWNER_TYPES]);
  });
});

describe("KeyRepository.update and rotate inside the caller's transaction", () => {
  // Real commits on a connection of the test's own: the caller's BEGIN and
  // ROLLBACK are what is under test. Each test deletes what it committed.
  it("update nests in the caller's BEGIN, so the caller's ROLLBACK undoes it", async () => {
    const key = await new KeyFixture().withValue('before').create(ctx.pool);
    const client = await ctx.pool.connect();
    try {
      await client.query('BEGIN');
      expect((await KeyRepository.update(client, key.id, { value: 'after' })).value).toBe('after');
      await client.query('ROLLBACK');
      expect((await KeyRepository.getById(ctx.pool, key.id)).value).toBe('before');
    } finally {
      client.release();
      await KeyRepository.delete(ctx.pool, key.id);
    }
  });

  it("rotate nests in the caller's BEGIN, so the caller's ROLLBACK undoes it", async () => {
    const key = await new KeyFixture().withValue(PLAINTEXT).secret(cipher).create(ctx.pool);
    const client = await ctx.pool.connect();
    try {
      await client.query('BEGIN');
      expect(await KeyRepository.rotate(client, { from: cipher, to: otherCipher })).toBe(1);
      await client.query('ROLLBACK');
      expect((await KeyRepository.getById(ctx.pool, key.id)).encryptionKeyId).toBe(cipher.keyId);
    } finally {
      client.release();
      await KeyRepository.delete(ctx.pool, key.id);
    }
  });

  it('update on an unreachable server is ATTUNE_DATABASE_UNAVAILABLE, not a driver error', async () => {
    const unreachable = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/attune', max: 1 });
    try {
      await expectErrorType(KeyRepository.update(unreachable, 1, { value: 'x' }), DatabaseUnavailableError);
    } finally {
      await unreachable.end();
    }
  });
});
