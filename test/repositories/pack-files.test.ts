import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { PackFileRepository, packPathProblem, sha256Of } from '../../src/repositories/pack-files.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { PackFixture } from '../../src/testing/fixtures/packs.js';
import { useTransactionPerTest } from '../support/db.js';

const ctx = useTransactionPerTest();
const file = (path: string, text: string, executable = false) => ({ path, content: Buffer.from(text), executable });

describe('PackFileRepository', () => {
  it('stores files, each content once across versions, and writes only what differs', async () => {
    const v1 = await new PackFixture('files').withVersion('1.0.0').create(ctx.db);
    const v2 = await new PackFixture('files').withVersion('2.0.0').with({ isActive: false }).create(ctx.db);
    const first = await PackFileRepository.replaceForPack(ctx.db, v1.id, [file('pack.yaml', 'ref: files'), file('actions/run.sh', 'echo 1', true)]);
    expect(first).toMatchObject({ created: ['pack.yaml', 'actions/run.sh'], contentsStored: 2 });
    const second = await PackFileRepository.replaceForPack(ctx.db, v2.id, [file('pack.yaml', 'ref: files'), file('actions/run.sh', 'echo 2', true)]);
    expect(second.contentsStored).toBe(1);
    const listed = await PackFileRepository.listForPack(ctx.db, v1.id);
    expect(listed.map((f) => [f.path, f.size, f.sha256, f.executable])).toEqual([
      ['actions/run.sh', 6, sha256Of(Buffer.from('echo 1')), true],
      ['pack.yaml', 10, sha256Of(Buffer.from('ref: files')), false],
    ]);
    const again = await PackFileRepository.replaceForPack(ctx.db, v1.id, [file('pack.yaml', 'ref: files'), file('actions/run.sh', 'echo 1', false), file('README.md', 'hi')]);
    expect(again).toMatchObject({ created: ['README.md'], updated: ['actions/run.sh'], removed: [], unchanged: ['pack.yaml'] });
    const dropped = await PackFileRepository.replaceForPack(ctx.db, v1.id, [file('pack.yaml', 'ref: files')]);
    expect(dropped.removed.sort()).toEqual(['README.md', 'actions/run.sh']);
    const contents = await PackFileRepository.readContents(ctx.db, [sha256Of(Buffer.from('echo 2'))]);
    expect(contents.get(sha256Of(Buffer.from('echo 2')))?.toString()).toBe('echo 2');
  });

  it('garbage-collects contents no version lists', async () => {
    const pack = await new PackFixture().create(ctx.db);
    await PackFileRepository.replaceForPack(ctx.db, pack.id, [file('a.txt', 'kept'), file('b.txt', 'dropped')]);
    await PackFileRepository.replaceForPack(ctx.db, pack.id, [file('a.txt', 'kept')]);
    expect(await PackFileRepository.deleteUnreferencedContents(ctx.db)).toBe(1);
    expect((await PackFileRepository.readContents(ctx.db, [sha256Of(Buffer.from('kept'))])).size).toBe(1);
  });

  it.each(['../../etc/passwd', '/etc/passwd', 'a/./b', 'a//b', 'a\\b', 'a/', '', 'a\u0000b'])('refuses the path %j before any SQL', async (path) => {
    expect(packPathProblem(path)).not.toBeNull();
    const error = await expectErrorType(PackFileRepository.replaceForPack(ctx.db, 1, [file(path, 'x')]), ValidationError);
    expect(error.field).toBe('path');
  });
});
