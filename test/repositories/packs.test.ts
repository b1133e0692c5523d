import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { withTransaction } from '../../src/db/transaction.js';
import { AlreadyExistsError, DatabaseUnavailableError, NotFoundError, ValidationError } from '../../src/errors.js';
import { PackRepository, toPrefixQuery } from '../../src/repositories/packs.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { PackFixture } from '../../src/testing/fixtures/packs.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { useTransactionPerTest } from '../support/db.js';

const ctx = useTransactionPerTest();

describe('PackRepository.create', () => {
  it('stores every field and returns the row with defaults filled in', async () => {
    const pack = await PackRepository.create(ctx.db, {
      ref: 'aws-ec2',
      version: '2.1.0-beta.1+build.5',
      name: 'AWS EC2',
      description: 'Manage EC2 instances',
      author: 'Ops',
      email: 'ops@example.com',
      keywords: ['aws', 'cloud'],
      dependencies: { core: '^1.0.0' },
      pythonRequirements: ['boto3>=1.26', 'requests==2.31.0'],
      nodeDependencies: { '@aws-sdk/client-ec2': '^3.0.0' },
      confSchema: { type: 'object', properties: { region: { type: 'string' } } },
      config: { region: 'eu-west-1', nested: { list: [1, 'two', null, true] } },
      meta: { homepage: 'https://example.com' },
    });
    expect(pack).toMatchObject({
      ref: 'aws-ec2',
      version: '2.1.0-beta.1+build.5',
      keywords: ['aws', 'cloud'],
      dependencies: { core: '^1.0.0' },
      pythonRequirements: ['boto3>=1.26', 'requests==2.31.0'],
      nodeDependencies: { '@aws-sdk/client-ec2': '^3.0.0' },
      config: { region: 'eu-west-1', nested: { list: [1, 'two', null, true] } },
      isActive: true,
      isSystem: false,
    });
    expect(typeof pack.id).toBe('number');
    expect(pack.createdAt).toBeInstanceOf(Date);
    expect(await PackRepository.getById(ctx.db, pack.id)).toEqual(pack);
  });

  it('defaults the version to 0.1.0 and the name to the ref', async () => {
    const pack = await PackRepository.create(ctx.db, { ref: 'minimal' });
    expect(pack).toMatchObject({ version: '0.1.0', name: 'minimal', description: null, keywords: [], dependencies: {} });
  });

  it.each([
    ['Core', 'uppercase'],
    ['core.echo', 'a dot'],
    ['1core', 'a leading digit'],
    ['', 'empty'],
    ['a'.repeat(65), 'too long'],
  ])('refuses the ref %j (%s) before any SQL runs', async (ref) => {
    const error = await expectErrorType(PackRepository.create(ctx.db, { ref }), ValidationError);
    expect(error).toMatchObject({ code: 'ATTUNE_VALIDATION', entity: 'pack', field: 'ref' });
  });

  it('refuses a version that is not semver', async () => {
    const error = await expectErrorType(PackRepository.create(ctx.db, { ref: 'p', version: '1.0' }), ValidationError);
    expect(error.field).toBe('version');
  });

  it('refuses unknown fields, naming them', async () => {
    const error = await expectErrorType(PackRepository.create(ctx.db, { ref: 'p', nmae: 'typo' } as never), ValidationError);
    expect(error.message).toContain("'nmae'");
  });

  it('refuses dependencies that are not pack ref → range', async () => {
    await expectErrorType(PackRepository.create(ctx.db, { ref: 'p', dependencies: { 'Not A Ref': '1' } }), ValidationError);
    await expectErrorType(PackRepository.create(ctx.db, { ref: 'p', dependencies: { core: '' } }), ValidationError);
    await expectErrorType(PackRepository.create(ctx.db, { ref: 'p', dependencies: ['core'] as never }), ValidationError);
  });

  it('rejects a duplicate ref and version with AlreadyExistsError and changes nothing', async () => {
    await new PackFixture('dup').withVersion('1.0.0').create(ctx.db);
    const error = await expectErrorType(
      withTransaction(ctx.db, (tx) => new PackFixture('dup').withVersion('1.0.0').inactive().withName('second').create(tx)),
      AlreadyExistsError,
    );
    expect(error).toMatchObject({ code: 'ATTUNE_ALREADY_EXISTS', entity: 'pack', field: 'ref, version', value: 'dup, 1.0.0' });
    const versions = await PackRepository.listVersions(ctx.db, 'dup');
    expect(versions.map((p) => p.name)).toEqual(['Test pack dup']);
  });
});

describe('pack versions', () => {
  it('keeps several versions of one ref with exactly one active', async () => {
    const v1 = await new PackFixture('multi').withVersion('1.0.0').create(ctx.db);
    const v2 = await new PackFixture('multi').withVersion('2.0.0').inactive().create(ctx.db);
    // A database-side error aborts the surrounding transaction: run it in a savepoint.
    await expectErrorType(withTransaction(ctx.db, (tx) => new PackFixture('multi').withVersion('3.0.0').create(tx)), AlreadyExistsError);

    expect((await PackRepository.getByRef(ctx.db, 'multi')).id).toBe(v1.id);
    const activated = await PackRepository.activateVersion(ctx.db, 'multi', '2.0.0');
    expect(activated).toMatchObject({ id: v2.id, isActive: true });
    expect((await PackRepository.getByRef(ctx.db, 'multi')).id).toBe(v2.id);
    expect((await PackRepository.getById(ctx.db, v1.id)).isActive).toBe(false);
    expect((await PackRepository.listVersions(ctx.db, 'multi')).map((p) => p.version)).toEqual(['1.0.0', '2.0.0']);
    expect((await PackRepository.findVersion(ctx.db, 'multi', '1.0.0'))?.id).toBe(v1.id);
  });

  it('activating a missing version is NotFoundError and leaves the active one alone', async () => {
    const v1 = await new PackFixture('keep').create(ctx.db);
    await expectErrorType(PackRepository.activateVersion(ctx.db, 'keep', '9.9.9'), NotFoundError);
    expect((await PackRepository.getByRef(ctx.db, 'keep')).id).toBe(v1.id);
  });
});

describe('pack lookups', () => {
  it('findById and findByRef return null when absent; getById and getByRef throw NotFoundError', async () => {
    expect(await PackRepository.findById(ctx.db, 999_999_999)).toBeNull();
    expect(await PackRepository.findByRef(ctx.db, 'absent')).toBeNull();
    const byId = await expectErrorType(PackRepository.getById(ctx.db, 999_999_999), NotFoundError);
    expect(byId).toMatchObject({ entity: 'pack', field: 'id', value: 999_999_999 });
    const byRef = await expectErrorType(PackRepository.getByRef(ctx.db, 'absent'), NotFoundError);
    expect(byRef).toMatchObject({ field: 'ref', value: 'absent' });
  });

  it('refuses a malformed id or ref before any SQL', async () => {
    await expectErrorType(PackRepository.findById(ctx.db, -1), ValidationError);
    await expectErrorType(PackRepository.findById(ctx.db, 1.5), ValidationError);
    await expectErrorType(PackRepository.findByRef(ctx.db, 'Bad Ref'), ValidationError);
  });
});

describe('PackRepository.list and search', () => {
  it('filters, paginates and reports the total', async () => {
    for (let i = 0; i < 5; i++) await new PackFixture(`page_${i}`).withKeywords('paged').create(ctx.db);
    await new PackFixture('other').create(ctx.db);
    const first = await PackRepository.list(ctx.db, { keyword: 'paged', limit: 2 });
    expect(first.total).toBe(5);
    expect(first.items.map((p) => p.ref)).toEqual(['page_0', 'page_1']);
    const last = await PackRepository.list(ctx.db, { keyword: 'paged', limit: 2, offset: 4 });
    expect(last.items.map((p) => p.ref)).toEqual(['page_4']);
    const past = await PackRepository.list(ctx.db, { keyword: 'paged', limit: 2, offset: 10 });
    expect(past).toMatchObject({ items: [], total: 5 });
  });

  it('refuses a limit outside 1–1000 and a negative offset', async () => {
    await expectErrorType(PackRepository.list(ctx.db, { limit: 0 }), ValidationError);
    await expectErrorType(PackRepository.list(ctx.db, { limit: 1001 }), ValidationError);
    await expectErrorType(PackRepository.list(ctx.db, { offset: -1 }), ValidationError);
  });

  it('searches name, keywords and description case-insensitively, by word prefix, best match first', async () => {
    await new PackFixture('gh').withName('GitHub Integration').withDescription('Issues and pulls').create(ctx.db);
    await new PackFixture('slack').withName('Slack').withKeywords('chat', 'GITHUB').create(ctx.db);
    await new PackFixture('jira').withName('Jira').withDescription('Links to github issues').create(ctx.db);
    await new PackFixture('unrelated').withName('Unrelated').create(ctx.db);

    const result = await PackRepository.search(ctx.db, 'GitHub');
    expect(result.total).toBe(3);
    expect(result.items.map((p) => p.ref)).toEqual(['gh', 'slack', 'jira']);
    expect((await PackRepository.search(ctx.db, 'git iss')).items.map((p) => p.ref).sort()).toEqual(['gh', 'jira']);
    expect((await PackRepository.search(ctx.db, 'CHA')).items.map((p) => p.ref)).toEqual(['slack']);
  });

  it('pages through search results, past the last match too, with a steady total', async () => {
    for (let i = 0; i < 3; i++) await new PackFixture(`found_${i}`).withName(`Findable ${i}`).create(ctx.db);
    const page = await PackRepository.search(ctx.db, 'findable', { limit: 2, offset: 2 });
    expect(page).toMatchObject({ total: 3, items: [{ ref: 'found_2' }] });
    // Past the end the total comes from a second query, which must get the right parameters.
    expect(await PackRepository.search(ctx.db, 'findable', { limit: 2, offset: 10 })).toMatchObject({ items: [], total: 3 });
  });

  it('treats search text as words only, so tsquery syntax cannot break the query', async () => {
    await new PackFixture('safe').withName('Safe pack').create(ctx.db);
    expect((await PackRepository.search(ctx.db, "safe & !'|:*()")).items.map((p) => p.ref)).toEqual(['safe']);
    expect(await PackRepository.search(ctx.db, '&|!')).toMatchObject({ items: [], total: 0 });
    expect(toPrefixQuery('Hello, World')).toBe('hello:* & world:*');
  });
});

describe('pack dependencies and requirements', () => {
  it('finds the active packs that depend on a pack', async () => {
    await new PackFixture('base').create(ctx.db);
    await new PackFixture('needs_base').withDependencies({ base: '^1.0.0' }).create(ctx.db);
    await new PackFixture('needs_base_old').withDependencies({ base: '^0.1.0' }).inactive().create(ctx.db);
    await new PackFixture('standalone').create(ctx.db);
    expect((await PackRepository.findDependents(ctx.db, 'base')).map((p) => p.ref)).toEqual(['needs_base']);
    expect((await PackRepository.list(ctx.db, { dependsOn: 'base' })).total).toBe(2);
  });

  it('collects the de-duplicated Python requirements of active packs', async () => {
    await new PackFixture('py_a').withPythonRequirements('requests==2.31.0', 'boto3').create(ctx.db);
    await new PackFixture('py_b').withPythonRequirements('boto3', 'pyyaml').create(ctx.db);
    await new PackFixture('py_c').withPythonRequirements('never').inactive().create(ctx.db);
    expect(await PackRepository.pythonRequirements(ctx.db, ['py_a', 'py_b', 'py_c'])).toEqual(['boto3', 'pyyaml', 'requests==2.31.0']);
    expect(await PackRepository.pythonRequirements(ctx.db, ['py_a'])).toEqual(['boto3', 'requests==2.31.0']);
  });
});

describe('PackRepository.update and delete', () => {
  it('touches only the fields given and moves updated_at', async () => {
    const pack = await new PackFixture('upd').withKeywords('a').withDescription('before').create(ctx.db);
    const updated = await PackRepository.update(ctx.db, pack.id, { description: 'after' });
    expect(updated).toMatchObject({ description: 'after', keywords: ['a'], name: pack.name });
    expect(updated.updatedAt.getTime()).toBeGreaterThan(pack.updatedAt.getTime());
    expect(updated.createdAt).toEqual(pack.createdAt);
    const cleared = await PackRepository.update(ctx.db, pack.id, { description: null });
    expect(cleared.description).toBeNull();
  });

  it('refuses to change ref or version, and a missing id is NotFoundError', async () => {
    const pack = await new PackFixture().create(ctx.db);
    await expectErrorType(PackRepository.update(ctx.db, pack.id, { ref: 'other' } as never), ValidationError);
    await expectErrorType(PackRepository.update(ctx.db, 999_999_999, { name: 'x' }), NotFoundError);
  });

  it('delete returns whether a row went', async () => {
    const pack = await new PackFixture().create(ctx.db);
    expect(await PackRepository.delete(ctx.db, pack.id)).toBe(true);
    expect(await PackRepository.delete(ctx.db, pack.id)).toBe(false);
    expect(await PackRepository.findById(ctx.db, pack.id)).toBeNull();
  });
});

describe("PackRepository.activateVersion inside the caller's transaction", () => {
  // Real commits on a connection of the test's own: the caller's BEGIN and
  // ROLLBACK are what is under test. The test deletes what it committed.
  it("nests in the caller's BEGIN, so the caller's ROLLBACK leaves the old version active", async () => {
    const ref = uniqueName('callers');
    await new PackFixture(ref).withVersion('1.0.0').create(ctx.pool);
    await new PackFixture(ref).withVersion('2.0.0').inactive().create(ctx.pool);
    const client = await ctx.pool.connect();
    try {
      await client.query('BEGIN');
      expect((await PackRepository.activateVersion(client, ref, '2.0.0')).isActive).toBe(true);
      await client.query('ROLLBACK');
      expect((await PackRepository.getByRef(ctx.pool, ref)).version).toBe('1.0.0');
    } finally {
      client.release();
      await ctx.pool.query('DELETE FROM packs WHERE ref = $1', [ref]);
    }
  });

  it('on an unreachable server is ATTUNE_DATABASE_UNAVAILABLE, not a driver error', async () => {
    const unreachable = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/attune', max: 1 });
    try {
      await expectErrorType(PackRepository.activateVersion(unreachable, 'core', '1.0.0'), DatabaseUnavailableError);
    } finally {
      await unreachable.end();
    }
  });
});
