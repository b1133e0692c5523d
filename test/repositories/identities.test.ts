import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/pool.js';
import { withTransaction } from '../../src/db/transaction.js';
import { AlreadyExistsError, NotFoundError, ValidationError } from '../../src/errors.js';
import { IdentityRepository } from '../../src/repositories/identities.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { IdentityFixture } from '../../src/testing/fixtures/identities.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { useTransactionPerTest } from '../support/db.js';
import { analyze, indexesUsed } from '../support/sql.js';

const ctx = useTransactionPerTest();

const SECRET = 'correct horse battery staple';

async function storedHash(id: number): Promise<string | null> {
  const result = await ctx.db.query<{ password_hash: string | null }>('SELECT password_hash FROM identities WHERE id = $1', [id]);
  return result.rows[0]!.password_hash;
}

/**
 * Seeds the volume the plan test needs inside the test's transaction, then
 * ANALYZEs: 3,000 identities with first-name logins and display names.
 * About ten logins and ten display names start with "ab".
 */
async function seedIdentities(db: Executor): Promise<void> {
  const tag = uniqueName('plan');
  await db.query(
    `INSERT INTO identities (login, display_name, email)
     SELECT x.first || '.' || g || '.' || $1, initcap(x.shown) || ' Smith', x.first || g || '@example.com'
       FROM generate_series(1, 3000) AS g
       CROSS JOIN LATERAL (
         SELECT CASE WHEN g % 300 = 0 THEN 'abbott' ELSE (ARRAY['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'])[1 + g % 8] END AS first,
                CASE WHEN g % 300 = 1 THEN 'abigail' ELSE (ARRAY['ivan', 'judy', 'mallory', 'niaj', 'olivia', 'peggy', 'rupert'])[1 + g % 7] END AS shown
       ) AS x`,
    [tag],
  );
  await analyze(db, 'identities');
}

describe('IdentityRepository.create', () => {
  it('stores every field and returns the row with defaults filled in', async () => {
    const identity = await IdentityRepository.create(ctx.db, {
      login: 'Alice.Smith@corp',
      displayName: 'Alice Smith',
      email: 'alice@example.com',
      attributes: { team: 'ops', groups: ['a', 'b'] },
    });
    expect(identity).toMatchObject({
      login: 'Alice.Smith@corp',
      displayName: 'Alice Smith',
      email: 'alice@example.com',
      attributes: { team: 'ops', groups: ['a', 'b'] },
      isActive: true,
      hasPassword: false,
    });
    expect(typeof identity.id).toBe('number');
    expect(identity.createdAt).toBeInstanceOf(Date);
    expect(await IdentityRepository.getById(ctx.db, identity.id)).toEqual(identity);
  });

  it('defaults optional fields: a service account with no password', async () => {
    const identity = await IdentityRepository.create(ctx.db, { login: 'svc-bot' });
    expect(identity).toMatchObject({ displayName: null, email: null, attributes: {}, isActive: true, hasPassword: false });
    expect(await storedHash(identity.id)).toBeNull();
  });

  it('hashes the password with argon2id and never exposes the hash on the entity', async () => {
    const identity = await new IdentityFixture().withPassword(SECRET).create(ctx.db);
    expect(identity.hasPassword).toBe(true);
    expect(Object.keys(identity)).not.toContain('passwordHash');
    expect(JSON.stringify(identity)).not.toContain('argon2');
    const hash = await storedHash(identity.id);
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$/);
    expect(hash).not.toContain(SECRET);
  });

  it('refuses a login that differs from an existing one only in case, naming the login', async () => {
    await new IdentityFixture('bob').create(ctx.db);
    const error = await expectErrorType(withTransaction(ctx.db, (tx) => new IdentityFixture('BOB').create(tx)), AlreadyExistsError);
    expect(error).toMatchObject({ code: 'ATTUNE_ALREADY_EXISTS', entity: 'identity', field: 'login', value: 'BOB' });
    expect((await IdentityRepository.list(ctx.db, { search: 'bob' })).total).toBe(1);
  });

  it.each([
    ['', 'empty'],
    ['-leading-dash', 'a leading dash'],
    ['has space', 'a space'],
    ['a'.repeat(256), 'too long'],
  ])('refuses the login %j (%s) before any SQL', async (login) => {
    const error = await expectErrorType(IdentityRepository.create(ctx.db, { login }), ValidationError);
    expect(error).toMatchObject({ entity: 'identity', field: 'login' });
  });

  it('refuses a short password without echoing it, and unknown fields', async () => {
    const error = await expectErrorType(IdentityRepository.create(ctx.db, { login: 'carol', password: 'sh0rt!' }), ValidationError);
    expect(error.field).toBe('password');
    expect(error.value).toBeUndefined();
    expect(error.message).not.toContain('sh0rt!');
    expect(JSON.stringify(error.toJSON())).not.toContain('sh0rt!');
    await expectErrorType(IdentityRepository.create(ctx.db, { login: 'carol', passwordHash: 'x' } as never), ValidationError);
    await expectErrorType(IdentityRepository.create(ctx.db, { login: 'carol', email: 'not an email' }), ValidationError);
    await expectErrorType(IdentityRepository.create(ctx.db, { login: 'carol', attributes: [] as never }), ValidationError);
  });
});

describe('identity lookups', () => {
  it('findByLogin and getByLogin ignore case', async () => {
    const identity = await new IdentityFixture('Dave').create(ctx.db);
    expect((await IdentityRepository.findByLogin(ctx.db, 'dave'))?.id).toBe(identity.id);
    expect((await IdentityRepository.getByLogin(ctx.db, 'DAVE')).id).toBe(identity.id);
    expect((await IdentityRepository.getByLogin(ctx.db, 'DAVE')).login).toBe('Dave');
  });

  it('find returns null when absent; get throws NotFoundError; malformed input is refused before SQL', async () => {
    expect(await IdentityRepository.findById(ctx.db, 999_999_999)).toBeNull();
    expect(await IdentityRepository.findByLogin(ctx.db, 'nobody')).toBeNull();
    const byId = await expectErrorType(IdentityRepository.getById(ctx.db, 999_999_999), NotFoundError);
    expect(byId).toMatchObject({ entity: 'identity', field: 'id', value: 999_999_999 });
    const byLogin = await expectErrorType(IdentityRepository.getByLogin(ctx.db, 'nobody'), NotFoundError);
    expect(byLogin).toMatchObject({ field: 'login', value: 'nobody' });
    await expectErrorType(IdentityRepository.findById(ctx.db, 0), ValidationError);
    await expectErrorType(IdentityRepository.findByLogin(ctx.db, 'no spaces allowed'), ValidationError);
  });
});

describe('IdentityRepository.list', () => {
  it('searches login and display name by case-insensitive prefix', async () => {
    await new IdentityFixture('erin').withDisplayName('Erin Example').create(ctx.db);
    await new IdentityFixture('frank').withDisplayName('ERINA Frank').create(ctx.db);
    await new IdentityFixture('gina').withDisplayName('Gina from Erinvale').create(ctx.db);
    const result = await IdentityRepository.list(ctx.db, { search: 'Erin' });
    expect(result.items.map((i) => i.login)).toEqual(['erin', 'frank']);
    expect(result.total).toBe(2);
    expect((await IdentityRepository.list(ctx.db, { search: 'GIN' })).items.map((i) => i.login)).toEqual(['gina']);
  });

  it('treats LIKE wildcards in the search as literal characters', async () => {
    await new IdentityFixture('under_score').create(ctx.db);
    await new IdentityFixture('underXscore').create(ctx.db);
    expect((await IdentityRepository.list(ctx.db, { search: 'under_' })).items.map((i) => i.login)).toEqual(['under_score']);
    expect((await IdentityRepository.list(ctx.db, { search: '%' })).total).toBe(0);
  });

  it('filters by activity and paginates with a total', async () => {
    for (let i = 0; i < 3; i++) await new IdentityFixture(`page${i}`).create(ctx.db);
    await new IdentityFixture('page9').inactive().create(ctx.db);
    const active = await IdentityRepository.list(ctx.db, { search: 'page', isActive: true, limit: 2 });
    expect(active).toMatchObject({ total: 3, limit: 2, offset: 0 });
    expect(active.items.map((i) => i.login)).toEqual(['page0', 'page1']);
    const second = await IdentityRepository.list(ctx.db, { search: 'page', isActive: true, limit: 2, offset: 2 });
    expect(second.items.map((i) => i.login)).toEqual(['page2']);
    const inactive = await IdentityRepository.list(ctx.db, { search: 'page', isActive: false });
    expect(inactive.items.map((i) => i.login)).toEqual(['page9']);
    await expectErrorType(IdentityRepository.list(ctx.db, { limit: 0 }), ValidationError);
  });

  it('the prefix search is served by the two pattern indexes', async () => {
    await seedIdentities(ctx.db);
    const plan = await indexesUsed(ctx.db, (db) => IdentityRepository.list(db, { search: 'ab' }));
    expect(plan.indexes).toEqual(expect.arrayContaining(['identities_login_lower_pattern_idx', 'identities_display_name_lower_pattern_idx']));
    expect(plan.seqScans).toEqual([]);
  });
});

describe('passwords', () => {
  it('verifyPassword returns the identity for the right password in any login case, null otherwise', async () => {
    const identity = await new IdentityFixture('Heidi').withPassword(SECRET).create(ctx.db);
    expect((await IdentityRepository.verifyPassword(ctx.db, 'heidi', SECRET))?.id).toBe(identity.id);
    expect(await IdentityRepository.verifyPassword(ctx.db, 'heidi', `${SECRET}!`)).toBeNull();
    expect(await IdentityRepository.verifyPassword(ctx.db, 'nobody-here', SECRET)).toBeNull();
    expect(await IdentityRepository.verifyPassword(ctx.db, 'not a login', SECRET)).toBeNull();
  });

  it('an inactive identity or a service account never verifies', async () => {
    const inactive = await new IdentityFixture().withPassword(SECRET).inactive().create(ctx.db);
    const service = await new IdentityFixture().create(ctx.db);
    expect(await IdentityRepository.verifyPassword(ctx.db, inactive.login, SECRET)).toBeNull();
    expect(await IdentityRepository.verifyPassword(ctx.db, service.login, SECRET)).toBeNull();
  });

  it('setPassword replaces the hash (old password stops working) and null removes it', async () => {
    const identity = await new IdentityFixture().withPassword(SECRET).create(ctx.db);
    const before = await storedHash(identity.id);
    const changed = await IdentityRepository.setPassword(ctx.db, identity.id, 'a brand new passphrase');
    expect(changed.hasPassword).toBe(true);
    expect(await storedHash(identity.id)).not.toBe(before);
    expect(await IdentityRepository.verifyPassword(ctx.db, identity.login, SECRET)).toBeNull();
    expect((await IdentityRepository.verifyPassword(ctx.db, identity.login, 'a brand new passphrase'))?.id).toBe(identity.id);
    const cleared = await IdentityRepository.setPassword(ctx.db, identity.id, null);
    expect(cleared.hasPassword).toBe(false);
    expect(await storedHash(identity.id)).toBeNull();
    expect(await IdentityRepository.verifyPassword(ctx.db, identity.login, 'a brand new passphrase')).toBeNull();
  });

  it('setPassword: NotFoundError for a missing id, ValidationError (without the value) for a bad password', async () => {
    await expectErrorType(IdentityRepository.setPassword(ctx.db, 999_999_999, SECRET), NotFoundError);
    const identity = await new IdentityFixture().create(ctx.db);
    const error = await expectErrorType(IdentityRepository.setPassword(ctx.db, identity.id, 'tiny'), ValidationError);
    expect(error.message).not.toContain('tiny');
    expect((await IdentityRepository.getById(ctx.db, identity.id)).hasPassword).toBe(false);
  });

  it('a unique-key error never carries the password or its hash', async () => {
    await new IdentityFixture('ivan').withPassword(SECRET).create(ctx.db);
    const error = await expectErrorType(
      withTransaction(ctx.db, (tx) => new IdentityFixture('IVAN').withPassword(SECRET).create(tx)),
      AlreadyExistsError,
    );
    const shown = `${error.message} ${JSON.stringify(error.toJSON())} ${String((error.cause as Error | undefined)?.message ?? '')}`;
    expect(shown).not.toContain(SECRET);
    expect(shown).not.toContain('$argon2id$');
  });
  it('a database error that quotes the failing row never carries the hash', async () => {
    // A CHECK the repository does not know about makes PostgreSQL report "Failing row contains (…)".
    await ctx.db.query("ALTER TABLE identities ADD CONSTRAINT identities_test_only_check CHECK (login <> 'forbidden')");
    const error = await expectErrorType(
      withTransaction(ctx.db, (tx) => IdentityRepository.create(tx, { login: 'forbidden', password: SECRET })),
      ValidationError,
    );
    // The driver error (whose detail quotes the row, hash included) is not kept at all.
    expect(error.cause).toBeUndefined();
    const shown = `${error.message} ${JSON.stringify(error.toJSON())} ${error.stack} ${inspect(error, { depth: 5 })}`;
    expect(shown).not.toContain('$argon2id$');
    expect(shown).not.toContain(SECRET);
  });
});

describe('IdentityRepository.update and delete', () => {
  it('touches only the fields given and null clears', async () => {
    const identity = await new IdentityFixture().withAttributes({ a: 1 }).create(ctx.db);
    const updated = await IdentityRepository.update(ctx.db, identity.id, { displayName: 'Renamed', isActive: false });
    expect(updated).toMatchObject({ displayName: 'Renamed', isActive: false, email: identity.email, attributes: { a: 1 } });
    expect(updated.updatedAt.getTime()).toBeGreaterThan(identity.updatedAt.getTime());
    expect((await IdentityRepository.update(ctx.db, identity.id, { email: null })).email).toBeNull();
  });

  it('refuses to change the login or the password through update; NotFoundError for a missing id', async () => {
    const identity = await new IdentityFixture().create(ctx.db);
    await expectErrorType(IdentityRepository.update(ctx.db, identity.id, { login: 'other' } as never), ValidationError);
    const error = await expectErrorType(IdentityRepository.update(ctx.db, identity.id, { password: SECRET } as never), ValidationError);
    expect(error.message).toContain('setPassword');
    expect(error.message).not.toContain(SECRET);
    await expectErrorType(IdentityRepository.update(ctx.db, 999_999_999, { displayName: 'x' }), NotFoundError);
  });

  it('delete returns whether a row went', async () => {
    const identity = await new IdentityFixture().create(ctx.db);
    expect(await IdentityRepository.delete(ctx.db, identity.id)).toBe(true);
    expect(await IdentityRepository.delete(ctx.db, identity.id)).toBe(false);
    expect(await IdentityRepository.findById(ctx.db, identity.id)).toBeNull();
  });
});
