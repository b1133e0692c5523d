/** Packs the reader must refuse: each with a clear error naming the file, and every error reported, not only the first. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACK_LIMITS, PackInvalidError, readPack } from '../../src/packs/index.js';
import { errorsOf, MINIMAL_PACK_YAML, readOutcome, tempDir, writePack } from './support.js';

const SHELL_ACTION = 'name: hello\nrunner_type: local-shell-cmd\nparameters:\n  cmd:\n    default: echo hi\n';

describe('bad packs', () => {
  it('refuses invalid YAML with line and column', async () => {
    const errors = await errorsOf(await writePack({ 'pack.yaml': MINIMAL_PACK_YAML, 'actions/a.yaml': 'name: a\nrunner_type: [noop\nenabled: true\n' }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: 'actions/a.yaml', line: 3, column: 1 });
    expect(errors[0]!.message).toMatch(/^invalid YAML: /);
  });

  it('refuses duplicate keys at the second one', async () => {
    const errors = await errorsOf(await writePack({ 'pack.yaml': MINIMAL_PACK_YAML, 'actions/a.yaml': 'name: a\nrunner_type: noop\nname: b\n' }));
    expect(errors).toEqual([expect.objectContaining({ file: 'actions/a.yaml', line: 3, message: 'invalid YAML: duplicate key: a mapping names the same key twice' })]);
  });

  it('collects every error of every file, with fields and lines', async () => {
    const error = await readPack(
      await writePack({
        'pack.yaml': 'name: Bad Name\nversion: one\n',
        'actions/a.yaml': 'description: no name\nrunner_type: teleport\n',
        'rules/r.yaml': 'name: r\ntrigger: {type: core.st2.webhook}\ncriteria:\n  trigger.x: {type: like, pattern: y}\naction: {ref: core.local}\n',
      }),
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PackInvalidError);
    const problems = (error as PackInvalidError).problems.map((problem) => `${problem.file}:${problem.line} ${problem.field}`);
    expect(problems).toEqual(['actions/a.yaml:1 name', 'actions/a.yaml:2 runner_type', 'pack.yaml:1 name', 'pack.yaml:2 version', 'rules/r.yaml:4 criteria.trigger.x.type']);
    expect((error as PackInvalidError).code).toBe('ATTUNE_PACK_INVALID');
    expect((error as PackInvalidError).message).toContain('unknown runner type "teleport"');
    expect((error as PackInvalidError).message).toContain('unknown operator "like"');
    expect((error as PackInvalidError).message).toContain(`its name "Bad Name" is not a valid pack ref`);
  });

  it('refuses a missing entry point, naming the path it looked for', async () => {
    const errors = await errorsOf(await writePack({ 'pack.yaml': MINIMAL_PACK_YAML, 'actions/a.yaml': 'name: a\nrunner_type: local-shell-script\nentry_point: scripts/a.sh\n' }));
    expect(errors).toEqual([expect.objectContaining({ file: 'actions/a.yaml', line: 3, field: 'entry_point', message: '"scripts/a.sh" does not exist in the pack (looked for actions/scripts/a.sh)' })]);
  });

  it.each(['../../etc/passwd', '/etc/passwd', '../pack.yaml/../../x', 'a\\..\\..\\b'])('refuses the entry point %s, which would leave the pack', async (entryPoint) => {
    const errors = await errorsOf(await writePack({ 'pack.yaml': MINIMAL_PACK_YAML, 'actions/a.yaml': `name: a\nrunner_type: python-script\nentry_point: ${JSON.stringify(entryPoint)}\n` }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: 'actions/a.yaml', field: 'entry_point' });
    expect(errors[0]!.message).toMatch(/leaves the pack|absolute|'\/'/);
  });

  it('refuses an unknown operator, a missing pattern, an untranslatable regex, a broken template', async () => {
    const rule = [
      'name: r',
      'trigger: {type: core.st2.webhook}',
      'criteria:',
      '  trigger.a: {type: like, pattern: x}',
      '  trigger.b: {type: equals}',
      '  trigger.c: {type: regex, pattern: "a++"}',
      '  trigger.d: {type: exists}',
      '  trigger.e: {type: search, condition: some, pattern: {}}',
      'action:',
      '  ref: core.local',
      '  parameters:',
      '    cmd: "echo {{ trigger.a + }}"',
    ].join('\n');
    const errors = await errorsOf(await writePack({ 'pack.yaml': MINIMAL_PACK_YAML, 'rules/r.yaml': rule }));
    expect(errors.map((error) => [error.line, error.field, error.message])).toEqual([
      [4, 'criteria.trigger.a.type', 'unknown operator "like"'],
      [5, 'criteria.trigger.b.pattern', "operator 'equals' needs a 'pattern'"],
      [6, 'criteria.trigger.c.pattern', 'regular expression cannot be used: possessive quantifiers (*+, ++, ?+, {n}+) are not supported (at character 2)'],
      [8, 'criteria.trigger.e.condition', `'search' needs a condition: one of any, all, any2any, all2any, got "some"`],
      [12, 'action.parameters.cmd', 'template does not parse at line 1, column 6: in expression "{{ trigger.a + }}": Unexpected token: CloseExpression'],
    ]);
  });

  it('refuses a rule naming a trigger or action its own pack does not define', async () => {
    const errors = await errorsOf(await writePack({ 'pack.yaml': MINIMAL_PACK_YAML, 'rules/r.yaml': 'name: r\ntrigger: {type: demo.nothing}\naction: {ref: demo.missing}\n' }));
    expect(errors.map((error) => error.message)).toEqual([
      "rule 'demo.r' names trigger 'demo.nothing', which this pack does not define",
      "rule 'demo.r' names action 'demo.missing', which this pack does not define",
    ]);
  });

  it('refuses a pack field that disagrees, and a component defined twice', async () => {
    const errors = await errorsOf(await writePack({ 'pack.yaml': MINIMAL_PACK_YAML, 'actions/a.yaml': `pack: other\n${SHELL_ACTION}`, 'actions/b.yaml': SHELL_ACTION }));
    expect(errors.map((error) => `${error.file} ${error.field}: ${error.message}`)).toEqual([
      `actions/a.yaml pack: says pack "other", but this file is in pack 'demo'`,
      "actions/b.yaml name: action 'hello' is defined twice (also in actions/a.yaml)",
    ]);
  });

  it('refuses unknown fields of components but keeps extra pack.yaml fields', async () => {
    const outcome = await readOutcome(await writePack({ 'pack.yaml': `${MINIMAL_PACK_YAML}stackstorm_version: ">=3"\n`, 'actions/a.yaml': `${SHELL_ACTION}colour: blue\nuid: x\n` }));
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.problems.map((problem) => [problem.severity, problem.field, problem.message])).toEqual([
      ['error', 'colour', "unknown action field 'colour'"],
      ['warning', 'uid', "'uid' is ignored by Attune"],
    ]);
  });

  it('refuses an oversized metadata file and an oversized file, naming each', async () => {
    const big = `name: big\nrunner_type: noop\ndescription: ${'x'.repeat(PACK_LIMITS.maxMetadataBytes)}\n`;
    const dir = await writePack({ 'pack.yaml': MINIMAL_PACK_YAML, 'actions/big.yaml': big });
    await writeFile(join(dir, 'data.bin'), Buffer.alloc(PACK_LIMITS.maxFileBytes + 1));
    const errors = await errorsOf(dir);
    expect(errors.map((error) => `${error.file}: ${error.message}`)).toEqual([
      `actions/big.yaml: metadata file is ${big.length} bytes; the limit is ${PACK_LIMITS.maxMetadataBytes} bytes`,
      `data.bin: is ${PACK_LIMITS.maxFileBytes + 1} bytes; the limit for one file is ${PACK_LIMITS.maxFileBytes} bytes`,
    ]);
  });

  it('refuses a YAML alias bomb and a deeply nested document', async () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 12 }, (_, index) => `${String.fromCharCode(98 + index)}: &${String.fromCharCode(98 + index)} [${Array(10).fill(`*${String.fromCharCode(97 + index)}`).join(', ')}]`)].join('\n');
    const errors = await errorsOf(await writePack({ 'pack.yaml': MINIMAL_PACK_YAML, 'actions/bomb.yaml': bomb, 'actions/deep.yaml': `name: deep\nx: ${'['.repeat(40)}${']'.repeat(40)}\n` }));
    expect(errors.map((error) => `${error.file}: ${error.message}`)).toEqual([
      `actions/bomb.yaml: has more than ${PACK_LIMITS.maxYamlAliases} aliases`,
      `actions/deep.yaml: nests deeper than ${PACK_LIMITS.maxYamlDepth} levels`,
    ]);
  });

  it('refuses symlinks that point outside the pack, to nothing or to a directory; keeps one to a file inside', async () => {
    const outside = await tempDir();
    await writeFile(join(outside, 'secret.txt'), 'not for packs');
    const dir = await writePack({ 'pack.yaml': MINIMAL_PACK_YAML, 'actions/real.sh': 'echo hi\n' });
    await mkdir(join(dir, 'links'));
    await symlink(join(outside, 'secret.txt'), join(dir, 'links/outside.txt'));
    await symlink('../../../../../../../../etc/passwd', join(dir, 'links/passwd'));
    await symlink(join(dir, 'nowhere'), join(dir, 'links/dangling'));
    await symlink(join(dir, 'actions'), join(dir, 'links/dir'));
    await symlink('../actions/real.sh', join(dir, 'links/inside.sh'));
    const errors = await errorsOf(dir);
    expect(errors.map((error) => `${error.file}: ${error.message}`)).toEqual([
      'links/dangling: is a symlink to nothing (its target does not exist)',
      'links/dir: is a symlink to a directory or special file; only links to regular files inside the pack are allowed',
      'links/outside.txt: is a symlink that points outside the pack; only links to files inside the pack are allowed',
      'links/passwd: is a symlink that points outside the pack; only links to files inside the pack are allowed',
    ]);
  });

  it('refuses special files such as a FIFO', async () => {
    const dir = await writePack({ 'pack.yaml': MINIMAL_PACK_YAML });
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    expect(await errorsOf(dir)).toEqual([expect.objectContaining({ file: 'pipe', message: 'is not a regular file or directory (a socket, device or FIFO); packs hold only files' })]);
  });

  // Root reads anything, so this runs only as an ordinary user (as CI's embedded run does).
  it.skipIf(process.getuid?.() === 0)('reports a file or folder it may not read, instead of throwing', async () => {
    const dir = await writePack({ 'pack.yaml': MINIMAL_PACK_YAML, 'secret.txt': 'x', 'locked/a.txt': 'x' });
    await chmod(join(dir, 'secret.txt'), 0o000);
    await chmod(join(dir, 'locked'), 0o000);
    try {
      expect((await errorsOf(dir)).map((error) => `${error.file}: ${error.message}`)).toEqual(['locked: cannot be read (EACCES)', 'secret.txt: cannot be read (EACCES)']);
    } finally {
      await chmod(join(dir, 'locked'), 0o755);
    }
  });

  it('applies the same rules to a bundle: traversal, absolute and duplicate paths', async () => {
    const errors = await errorsOf([
      { path: 'pack.yaml', content: MINIMAL_PACK_YAML },
      { path: '../evil.sh', content: 'x' },
      { path: '/etc/cron.d/x', content: 'x' },
      { path: 'actions/./a.sh', content: 'x' },
      { path: 'a.txt', content: 'x' },
      { path: 'a.txt', content: 'y' },
    ]);
    expect(errors.map((error) => `${error.file}: ${error.message}`)).toEqual([
      "../evil.sh: file path holds '..' and could leave the pack",
      '/etc/cron.d/x: file path is absolute; paths are relative to the pack root',
      'a.txt: appears twice in the bundle',
      "actions/./a.sh: file path holds an empty or '.' segment",
    ]);
  });

  it('refuses a pack without pack.yaml, and a path that is not a directory', async () => {
    expect((await errorsOf([{ path: 'actions/a.yaml', content: 'name: a\nrunner_type: noop\n' }]))[0]).toMatchObject({ file: 'pack.yaml', message: 'the pack has no pack.yaml at its root' });
    expect((await errorsOf(join(await tempDir(), 'missing')))[0]!.message).toMatch(/is not a directory$/);
  });

  it('reads a good bundle like a directory, hashing each file', async () => {
    const { pack } = await readPack([
      { path: 'pack.yaml', content: MINIMAL_PACK_YAML },
      { path: 'actions/run.yaml', content: 'name: run\nrunner_type: local-shell-script\nentry_point: run.sh\n' },
      { path: 'actions/run.sh', content: Buffer.from('#!/bin/sh\necho hi\n'), executable: true },
      { path: 'requirements.txt', content: '# comment\nrequests>=2  # http\n\n' },
      { path: 'package.json', content: '{"dependencies": {"left-pad": "^1.3.0"}, "devDependencies": {"x": "1"}}' },
    ]);
    expect(pack).toMatchObject({ ref: 'demo', name: 'Demo pack', version: '1.0.0', pythonRequirements: ['requests>=2'], nodeDependencies: { 'left-pad': '^1.3.0' } });
    expect(pack.actions[0]).toMatchObject({ runnerType: 'shell-script', entryPointFile: 'actions/run.sh' });
    const script = '#!/bin/sh\necho hi\n';
    expect(pack.files.find((file) => file.path === 'actions/run.sh')).toMatchObject({
      executable: true,
      size: script.length,
      sha256: createHash('sha256').update(script).digest('hex'),
    });
    expect(pack.files.find((file) => file.path === 'pack.yaml')?.executable).toBe(false);
  });
});
