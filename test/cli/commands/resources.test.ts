import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventFixture } from '../../../src/testing/index.js';
import { CORE_PACK, EXAMPLES_PACK, json, useCliStack } from './support.js';

// Every client command against a real API on loopback, in table and JSON output.
const stack = useCliStack({ packs: [CORE_PACK] });

/** A table's data rows (after the heading and its rule), cells trimmed. */
function rows(stdout: string): string[][] {
  return stdout
    .trimEnd()
    .split('\n')
    .slice(2)
    .map((line) => line.split('│').map((cell) => cell.trim()))
    .filter((cells) => cells[0] !== ''); // a wrapped cell's continuation line
}

describe('attune pack', () => {
  it('register DIR reads the pack locally, sends it, and reports what changed; list, get, activate, remove', async () => {
    const registered = await stack.attune(['pack', 'register', EXAMPLES_PACK]);
    expect(registered.stderr).toMatch(/^✓ registered examples 1\.0\.0 \(active\)\n$/);
    expect(registered.code).toBe(0);
    expect(registered.stdout).toMatch(/^ pack\s+│ examples\s*$/m);
    expect(registered.stdout).toMatch(/^ created\s+│ \d+\s*$/m);

    const listed = await stack.attune(['pack', 'list']);
    expect(listed.code).toBe(0);
    expect(rows(listed.stdout).map((r) => r[0])).toEqual(['core', 'examples']);
    const listedJson = json(await stack.attune(['pack', 'list', '-j']));
    expect(listedJson.map((p: { ref: string }) => p.ref)).toEqual(['core', 'examples']);
    expect(listedJson[1]).toMatchObject({ ref: 'examples', version: '1.0.0', is_active: true });

    const got = json(await stack.attune(['pack', 'get', 'examples', '-o', 'json']));
    expect(got).toMatchObject({ ref: 'examples', versions: [{ version: '1.0.0', is_active: true }] });
    const yaml = await stack.attune(['pack', 'get', 'examples', '-y']);
    expect(yaml.stdout).toMatch(/^ref: examples$/m);

    // A second version, then back to the first.
    const copy = join(stack.dir, 'examples-2');
    await cp(EXAMPLES_PACK, copy, { recursive: true });
    await writeFile(join(copy, 'pack.yaml'), (await readFile(join(copy, 'pack.yaml'), 'utf8')).replace('version: 1.0.0', 'version: 1.1.0'));
    expect((await stack.attune(['pack', 'register', copy, '-j'])).code).toBe(0);
    const activated = await stack.attune(['pack', 'activate', 'examples', '1.0.0']);
    expect(activated.stderr).toBe('✓ examples 1.0.0 is active (was 1.1.0)\n');
    expect(json(await stack.attune(['pack', 'get', 'examples', '-j'])).version).toBe('1.0.0');

    const removed = await stack.attune(['pack', 'remove', 'examples']);
    expect(removed.stderr).toBe('✓ removed pack examples\n');
    const gone = await stack.attune(['pack', 'get', 'examples']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^error: .*examples.*\n$/);
  });

  it('an invalid pack is refused before anything is sent, every problem with its file and line', async () => {
    const bad = join(stack.dir, 'bad_pack');
    await mkdir(join(bad, 'actions'), { recursive: true });
    await writeFile(join(bad, 'pack.yaml'), 'ref: bad_pack\nname: bad_pack\nversion: 1.0.0\n');
    await writeFile(join(bad, 'actions', 'broken.yaml'), 'name: broken\nrunner_type: shell\nentry_point: broken.sh\nparameters:\n  count:\n    type: integr\n');
    await writeFile(join(bad, 'actions', 'other.yaml'), 'name: other\nrunner_type: no-such-runner\nentry_point: x.sh\n');
    const run = await stack.attune(['pack', 'register', bad]);
    expect(run.code).toBe(1);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^error: .*bad_pack is not a valid pack: \d+ errors?, nothing was sent$/);
    expect(lines.some((l) => /^ {2}actions\/broken\.yaml:\d+(:\d+)?: error: .*integr/.test(l))).toBe(true);
    expect(lines.some((l) => /^ {2}actions\/other\.yaml:\d+(:\d+)?: error: /.test(l))).toBe(true);
    expect((await stack.attune(['pack', 'get', 'bad_pack'])).code).toBe(1);
    const dry = await stack.attune(['pack', 'register', EXAMPLES_PACK, '--dry-run', '-j']);
    expect(json(dry)).toMatchObject({ ref: 'examples', version: '1.0.0' });
    const after = await stack.attune(['pack', 'get', 'examples', '-j']);
    expect(after.stdout).toBe('');
    expect(after.code).toBe(1);
  });
});

describe('actions, triggers', () => {
  it('action list and get, table and JSON; get shows the parameters', async () => {
    const list = await stack.attune(['action', 'list', '--pack', 'core']);
    expect(list.code).toBe(0);
    expect(rows(list.stdout).map((r) => r[0])).toContain('core.local');
    const listJson = json(await stack.attune(['action', 'list', '--pack', 'core', '-j', '--limit', '2']));
    expect(listJson).toHaveLength(2);
    const get = await stack.attune(['action', 'get', 'core.local']);
    expect(get.stdout).toMatch(/^ ref\s+│ core\.local\s*$/m);
    expect(get.stdout).not.toContain('param_schema');
    expect(get.stdout).toMatch(/^ parameter\s+│/m);
    expect(get.stdout).toMatch(/^ cmd\s+│ string\s+│ true/m);
    expect(get.stdout).toMatch(/^ sudo_password\s+│ string\s+│ false\s+│ \*{8}/m);
    expect(json(await stack.attune(['action', 'get', 'core.local', '-j']))).toMatchObject({ ref: 'core.local', runner_type: expect.any(String) });
  });

  it('trigger list and get', async () => {
    const list = await stack.attune(['trigger', 'list']);
    expect(rows(list.stdout).map((r) => r[0])).toContain('core.st2.webhook');
    expect(json(await stack.attune(['trigger', 'get', 'core.st2.webhook', '-j']))).toMatchObject({ ref: 'core.st2.webhook' });
  });

  it('a table fits the terminal it is on; a narrow terminal wraps cells rather than overflow', async () => {
    const wide = await stack.attune(['action', 'list', '--pack', 'core'], { tty: 200 });
    const narrow = await stack.attune(['action', 'list', '--pack', 'core'], { tty: 60 });
    for (const line of narrow.stdout.trimEnd().split('\n')) expect([...line].length).toBeLessThanOrEqual(60);
    expect(Math.max(...wide.stdout.split('\n').map((l) => [...l].length))).toBeGreaterThan(60);
  });

  it('colour only on a terminal and never with NO_COLOR', async () => {
    const coloured = await stack.attune(['action', 'list', '--pack', 'core'], { tty: 120, env: { NO_COLOR: undefined } });
    expect(coloured.stdout).toContain('\u001b[');
    const noColor = await stack.attune(['action', 'list', '--pack', 'core'], { tty: 120, env: { NO_COLOR: '1' } });
    expect(noColor.stdout).not.toContain('\u001b[');
    const pipe = await stack.attune(['action', 'list', '--pack', 'core'], { env: { NO_COLOR: undefined } });
    expect(pipe.stdout).not.toContain('\u001b[');
  });
});

describe('attune rule', () => {
  it('create FILE, list, get, disable, enable, delete', async () => {
    const file = join(stack.dir, 'rule.yaml');
    await writeFile(file, 'name: cli_rule\ntrigger:\n  type: core.st2.webhook\n  parameters: {url: cli}\ncriteria:\n  trigger.body.n: {type: gt, pattern: 1}\naction:\n  ref: core.local\n  parameters: {cmd: echo hi}\n');
    const created = await stack.attune(['rule', 'create', file], { role: 'operator' });
    expect(created.stderr).toBe('✓ created rule default.cli_rule\n');
    expect(created.code).toBe(0);
    expect(rows((await stack.attune(['rule', 'list'])).stdout)).toContainEqual(['default.cli_rule', 'core.st2.webhook', 'core.local', 'true', '']);
    expect(json(await stack.attune(['rule', 'get', 'default.cli_rule', '-j']))).toMatchObject({ ref: 'default.cli_rule', enabled: true, criteria: { 'trigger.body.n': { type: 'greaterthan', pattern: 1 } } });
    expect((await stack.attune(['rule', 'disable', 'default.cli_rule'], { role: 'operator' })).stderr).toBe('✓ rule default.cli_rule disabled\n');
    expect(json(await stack.attune(['rule', 'list', '--disabled', '--pack', 'default', '-j'])).map((r: { ref: string }) => r.ref)).toEqual(['default.cli_rule']);
    expect(json(await stack.attune(['rule', 'enable', 'default.cli_rule', '-j'], { role: 'operator' }))).toMatchObject({ enabled: true });
    expect((await stack.attune(['rule', 'delete', 'default.cli_rule'], { role: 'viewer' })).code).toBe(1);
    expect((await stack.attune(['rule', 'delete', 'default.cli_rule'], { role: 'operator' })).stderr).toBe('✓ deleted rule default.cli_rule\n');
    expect((await stack.attune(['rule', 'get', 'default.cli_rule'])).code).toBe(1);
  });

  it('a rule file that does not read is refused with the field', async () => {
    const file = join(stack.dir, 'bad-rule.yaml');
    await writeFile(file, 'name: bad\ntrigger: {type: core.st2.webhook}\naction: {ref: core.local}\nbogus: 1\n');
    const run = await stack.attune(['rule', 'create', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: .*bogus/);
    const missing = await stack.attune(['rule', 'create', join(stack.dir, 'nope.yaml')]);
    expect(missing.stderr).toMatch(/^error: rule file .*nope\.yaml cannot be read \(ENOENT\)\n$/);
    const test = await stack.attune(['rule', 'test', 'default.x']);
    expect(test.stderr).toBe('error: give --payload FILE or --event ID (one of them)\n');
  });
});

describe('events, enforcements, workers', () => {
  it('event list and get', async () => {
    const event = await new EventFixture().with({ payload: { body: { name: 'Ada' } } }).create(stack.context.pool);
    const list = await stack.attune(['event', 'list']);
    expect(rows(list.stdout).map((r) => r[0])).toContain(String(event.id));
    expect(json(await stack.attune(['event', 'get', String(event.id), '-j']))).toMatchObject({ id: event.id, payload: { body: { name: 'Ada' } } });
    expect(json(await stack.attune(['event', 'list', '--since', '1h', '-j'])).map((e: { id: number }) => e.id)).toContain(event.id);
  });

  it('enforcement list says when there are none; worker list', async () => {
    const none = await stack.attune(['enforcement', 'list']);
    expect(none).toMatchObject({ code: 0, stdout: '', stderr: 'no enforcements found\n' });
    expect(json(await stack.attune(['enforcement', 'list', '-j']))).toEqual([]);
    const workers = await stack.attune(['worker', 'list', '-j']);
    expect(workers.code).toBe(0);
    expect(Array.isArray(json(workers))).toBe(true);
  });
});

describe('attune key', () => {
  it('set, get, list, delete; a secret stays masked unless --decrypt', async () => {
    const secret = `s3cret-${process.pid}`;
    expect((await stack.attune(['key', 'set', 'region', 'eu-west-1'], { role: 'operator' })).stderr).toBe('✓ set system.region\n');
    const set = await stack.attune(['key', 'set', 'system.db_password', secret, '--secret', '--ttl', '3600'], { role: 'operator' });
    expect(set.stderr).toMatch(/^✓ set system\.db_password \(secret\), expires /);
    expect(set.stdout.includes(secret)).toBe(false);
    expect(json(await stack.attune(['key', 'set', 'system.count', '3', '--json-value', '-j'], { role: 'operator' }))).toMatchObject({ value: 3 });

    const list = await stack.attune(['key', 'list']);
    expect(list.stdout.includes(secret)).toBe(false);
    expect(rows(list.stdout)).toContainEqual(expect.arrayContaining(['system.db_password', '********', 'true']));
    expect(rows(list.stdout)).toContainEqual(expect.arrayContaining(['system.region', 'eu-west-1', 'false']));

    const masked = json(await stack.attune(['key', 'get', 'system.db_password', '-j'], { role: 'operator' }));
    expect(masked.value).toBe('********');
    const forbidden = await stack.attune(['key', 'get', 'system.db_password', '--decrypt'], { role: 'operator' });
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(/^error: forbidden: the value of secret key system\.db_password is readable only by an admin or its owner\n$/);
    const decrypted = json(await stack.attune(['key', 'get', 'system.db_password', '--decrypt', '-j']));
    expect(decrypted.value === secret).toBe(true);

    expect((await stack.attune(['key', 'delete', 'region'], { role: 'operator' })).stderr).toBe('✓ deleted system.region\n');
    expect((await stack.attune(['key', 'get', 'region'])).code).toBe(1);
  });
});

describe('identities and tokens', () => {
  it('identity create, list, get, update, deactivate (admin)', async () => {
    const created = await stack.attune(['identity', 'create', 'grace', '--role', 'operator', '--name', 'Grace H', '--password-stdin'], { stdin: 'a long enough password\n' });
    expect(created.stderr).toBe('✓ created identity grace (operator)\n');
    expect(rows((await stack.attune(['identity', 'list'])).stdout)).toContainEqual(['grace', 'operator', 'true', 'true', 'Grace H', '']);
    expect(json(await stack.attune(['identity', 'get', 'grace', '-j']))).toMatchObject({ login: 'grace', role: 'operator', has_password: true });
    expect(json(await stack.attune(['identity', 'update', 'grace', '--role', 'viewer', '-j']))).toMatchObject({ role: 'viewer' });
    expect((await stack.attune(['identity', 'deactivate', 'grace'])).stderr).toBe('✓ deactivated identity grace; its tokens are revoked\n');
    expect(json(await stack.attune(['identity', 'get', 'grace', '-j'])).is_active).toBe(false);
    const bad = await stack.attune(['identity', 'create', 'x', '--role', 'boss']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected one of admin, operator, viewer');
  });

  it('token create shows the token once; list never does; revoke', async () => {
    const created = await stack.attune(['token', 'create', 'ci', '--ttl', '3600'], { role: 'viewer' });
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^attn_/);
    expect(created.stderr).toMatch(/^token \d+ \(ci\) created, expires .*: it is shown only this once\n$/);
    const me = json(await stack.attune(['whoami', '-j'], { token }));
    expect(me).toMatchObject({ login: 'viewer_cli', role: 'viewer' });
    const list = await stack.attune(['token', 'list'], { role: 'viewer' });
    expect(list.stdout.includes(token)).toBe(false);
    expect(rows(list.stdout).map((r) => r[1])).toContain('ci');
    const id = String(me.token_id);
    expect((await stack.attune(['token', 'revoke', id], { role: 'viewer' })).stderr).toBe(`✓ revoked token ${id} (ci)\n`);
    expect((await stack.attune(['whoami'], { token })).code).toBe(1);
  });
});

describe('attune completion', () => {
  it('the bash script loads in bash and completes groups and subcommands', async () => {
    const run = await stack.attune(['completion', 'bash']);
    expect(run.code).toBe(0);
    const script = join(stack.dir, 'attune-completion.bash');
    await writeFile(script, run.stdout);
    const out = execFileSync('bash', ['-c', `source ${script} && complete -p attune && COMP_WORDS=(attune exe); COMP_CWORD=1; _attune_complete; echo "\${COMPREPLY[@]}"; COMP_WORDS=(attune --api-url http://x execution ta); COMP_CWORD=4; _attune_complete; echo "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe('complete -F _attune_complete attune');
    expect(lines[1]!.split(' ')).toContain('execution');
    expect(lines[2]).toBe('tail');
    const zsh = await stack.attune(['completion', 'zsh']);
    expect(zsh.stdout).toContain('bashcompinit');
    expect((await stack.attune(['completion', 'fish'])).code).toBe(2);
  });
});
