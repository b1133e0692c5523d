/**
 * registerPack, activatePack and uninstallPack against real PostgreSQL: the
 * built-in packs register cleanly; re-registering an unchanged pack writes
 * nothing; vanished components go; versions switch; bad packs are refused
 * with nothing written; uninstall keeps history's refs.
 */
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { NotFoundError, InvalidReferenceError } from '../../src/errors.js';
import { activatePack } from '../../src/packs/activate.js';
import { PackInvalidError } from '../../src/packs/problems.js';
import { registerPack } from '../../src/packs/register.js';
import { uninstallPack } from '../../src/packs/uninstall.js';
import { ActionRepository } from '../../src/repositories/actions.js';
import { EnforcementRepository } from '../../src/repositories/enforcements.js';
import { EventRepository } from '../../src/repositories/events.js';
import { ExecutionRepository } from '../../src/repositories/executions.js';
import { PackFileRepository } from '../../src/repositories/pack-files.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { RuleRepository } from '../../src/repositories/rules.js';
import { SensorRepository } from '../../src/repositories/sensors.js';
import { TriggerRepository } from '../../src/repositories/triggers.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { useTransactionPerTest } from '../support/db.js';
import { writePack } from './support.js';

const ctx = useTransactionPerTest();
const PACKS = join(import.meta.dirname, '../../packs');

/** Rows inserted, updated and deleted in Attune's tables so far in this transaction. */
async function rowsWritten(db: pg.ClientBase): Promise<number> {
  const result = await db.query<{ n: string }>(
    `SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) AS n FROM pg_stat_xact_user_tables WHERE schemaname = 'attune'`,
  );
  return Number(result.rows[0]!.n);
}

/** Row counts of the tables a registration writes. */
async function counts(db: pg.ClientBase): Promise<Record<string, number>> {
  const result = await db.query<Record<string, string>>(
    `SELECT (SELECT count(*) FROM packs) AS packs, (SELECT count(*) FROM triggers) AS triggers, (SELECT count(*) FROM actions) AS actions,
            (SELECT count(*) FROM rules) AS rules, (SELECT count(*) FROM sensors) AS sensors, (SELECT count(*) FROM pack_files) AS files,
            (SELECT count(*) FROM pack_file_contents) AS contents`,
  );
  return Object.fromEntries(Object.entries(result.rows[0]!).map(([key, value]) => [key, Number(value)]));
}

const demoPack = (version: string, extra: Record<string, string> = {}): Record<string, string> => ({
  'pack.yaml': `ref: demo\nname: Demo\nversion: ${version}\n`,
  'actions/hello.yaml': 'name: hello\nrunner_type: local-shell-script\nentry_point: hello.sh\nparameters:\n  who:\n    type: string\n    default: world\n',
  'actions/hello.sh': '#!/bin/sh\necho "hello $1"\n',
  'actions/later.yaml': 'name: later\nrunner_type: orquesta\nentry_point: workflows/later.yaml\n',
  'actions/workflows/later.yaml': 'version: 1.0\n',
  'triggers/pinged.yaml': 'name: st2.Pinged\npayload_schema:\n  type: object\n  properties:\n    host:\n      type: string\n',
  'rules/on_ping.yaml': 'name: on_ping\ntrigger:\n  type: demo.st2.Pinged\ncriteria:\n  trigger.host:\n    type: eq\n    pattern: db1\naction:\n  ref: demo.hello\n  parameters:\n    who: "{{ trigger.host }}"\n',
  ...extra,
});

describe('the built-in packs', () => {
  it('core and examples register cleanly, and examples resolves its rules against core', async () => {
    const core = await registerPack(ctx.db, join(PACKS, 'core'));
    expect(core).toMatchObject({ pack: 'core', packRow: 'created', activated: true, updated: [], removed: [], disabled: [] });
    const refs = core.created.map((c) => `${c.kind} ${c.ref}`);
    for (const action of ['local', 'http', 'echo', 'noop', 'ask', 'sleep', 'inject_trigger', 'uuid', 'error']) expect(refs).toContain(`action core.${action}`);
    for (const trigger of ['st2.webhook', 'st2.IntervalTimer', 'st2.CronTimer', 'st2.DateTimer']) expect(refs).toContain(`trigger core.${trigger}`);
    expect((await PackRepository.getByRef(ctx.db, 'core')).isSystem).toBe(true);

    const examples = await registerPack(ctx.db, join(PACKS, 'examples'));
    expect(examples).toMatchObject({ pack: 'examples', activated: true });
    const rule = await RuleRepository.getByRef(ctx.db, 'examples.deploy_approval');
    expect(rule).toMatchObject({ triggerRef: 'core.st2.webhook', actionRef: 'core.ask', actionId: (await ActionRepository.getByRef(ctx.db, 'core.ask')).id });
    expect((await PackRepository.getByRef(ctx.db, 'examples')).config).toEqual({ greeting: 'Hello' });
    const files = await PackFileRepository.listForPack(ctx.db, examples.packId);
    expect(files.find((f) => f.path === 'actions/greet.sh')).toMatchObject({ executable: true });
  });

  it('re-registering an unchanged pack is a no-op that writes no row', async () => {
    await registerPack(ctx.db, join(PACKS, 'core'));
    const first = await registerPack(ctx.db, join(PACKS, 'examples'));
    const before = await rowsWritten(ctx.db);
    const again = await registerPack(ctx.db, join(PACKS, 'examples'));
    expect(await rowsWritten(ctx.db)).toBe(before);
    expect(again).toMatchObject({ packRow: 'unchanged', activated: false, created: [], updated: [], removed: [] });
    expect(again.unchanged.length).toBe(first.created.length);
    expect(again.files).toMatchObject({ created: [], updated: [], removed: [], unchanged: first.files.created.length });
  });
});

describe('registering a version again', () => {
  it('updates changed components in place, removes vanished ones, leaves the rest, and reports each', async () => {
    const first = await registerPack(ctx.db, await writePack(demoPack('1.0.0')));
    expect(first.disabled).toEqual([{ ref: 'demo.later', reason: 'runner orquesta is not supported yet' }]);
    expect(await ActionRepository.getByRef(ctx.db, 'demo.later')).toMatchObject({ enabled: false, runnerType: 'orquesta', disabledReason: 'runner orquesta is not supported yet' });
    const hello = await ActionRepository.getByRef(ctx.db, 'demo.hello');
    const trigger = await TriggerRepository.getByRef(ctx.db, 'demo.st2.Pinged');

    const files = demoPack('1.0.0', { 'actions/hello.yaml': 'name: hello\nrunner_type: local-shell-script\nentry_point: hello.sh\ndescription: Says hello.\n' });
    delete files['actions/later.yaml'];
    const second = await registerPack(ctx.db, await writePack(files));
    expect(second.packRow).toBe('unchanged');
    expect(second.updated).toEqual([{ kind: 'action', ref: 'demo.hello' }]);
    expect(second.removed).toEqual([{ kind: 'action', ref: 'demo.later' }]);
    expect(second.unchanged).toEqual(expect.arrayContaining([{ kind: 'trigger', ref: 'demo.st2.Pinged' }, { kind: 'rule', ref: 'demo.on_ping' }]));
    expect(second.files.removed).toEqual(['actions/later.yaml']);
    expect(await ActionRepository.findByRef(ctx.db, 'demo.later')).toBeNull();
    const updated = await ActionRepository.getByRef(ctx.db, 'demo.hello');
    expect(updated).toMatchObject({ id: hello.id, description: 'Says hello.' });
    expect(await TriggerRepository.getByRef(ctx.db, 'demo.st2.Pinged')).toEqual(trigger);
  });
});

describe('versions and activation', () => {
  it('a new version becomes active; activatePack rolls back to the previous one, and refs and rules follow', async () => {
    const v1 = await registerPack(ctx.db, await writePack(demoPack('1.0.0')));
    const v2 = await registerPack(ctx.db, await writePack(demoPack('2.0.0', { 'actions/hello.sh': '#!/bin/sh\necho "hi $1"\n' })));
    expect(v2).toMatchObject({ packRow: 'created', activated: true, previousVersion: '1.0.0' });
    expect((await PackRepository.listVersions(ctx.db, 'demo')).map((p) => [p.version, p.isActive])).toEqual([['1.0.0', false], ['2.0.0', true]]);
    const pinged = (await TriggerRepository.getByRef(ctx.db, 'demo.st2.Pinged')).ref;
    expect((await ActionRepository.getByRef(ctx.db, 'demo.hello')).packId).toBe(v2.packId);
    expect((await RuleRepository.listEnabledForTrigger(ctx.db, pinged)).map((r) => r.packId)).toEqual([v2.packId]);

    const rollback = await activatePack(ctx.db, 'demo', '1.0.0');
    expect(rollback).toMatchObject({ pack: 'demo', version: '1.0.0', previousVersion: '2.0.0' });
    expect((await ActionRepository.getByRef(ctx.db, 'demo.hello')).packId).toBe(v1.packId);
    expect((await RuleRepository.listEnabledForTrigger(ctx.db, pinged)).map((r) => r.packId)).toEqual([v1.packId]);
    // The two versions share every file but pack.yaml and the script: a content is stored once per hash.
    expect((await counts(ctx.db)).contents).toBe((await PackFileRepository.listForPack(ctx.db, v1.packId)).length + 2);
    await expectErrorType(activatePack(ctx.db, 'demo', '9.9.9'), NotFoundError);
  });
});

describe('bad packs are refused with a clear error and nothing written', () => {
  const cases: [string, () => Promise<string>, string][] = [
    ['invalid YAML', () => writePack(demoPack('1.0.0', { 'actions/broken.yaml': 'name: broken\nparameters: [unclosed\n' })), 'actions/broken.yaml'],
    [
      'a missing entry point',
      () => writePack(demoPack('1.0.0', { 'actions/ghost.yaml': 'name: ghost\nrunner_type: python-script\nentry_point: ghost.py\n' })),
      'does not exist in the pack',
    ],
    [
      'an unknown criteria operator',
      () => writePack(demoPack('1.0.0', { 'rules/odd.yaml': 'name: odd\ntrigger:\n  type: demo.st2.Pinged\ncriteria:\n  trigger.host:\n    type: sorta\n    pattern: x\naction:\n  ref: demo.hello\n' })),
      'sorta',
    ],
    ['an oversized file', () => writePack(demoPack('1.0.0', { 'actions/big.bin': 'x'.repeat(10 * 1024 * 1024 + 1) })), 'actions/big.bin'],
    [
      'an entry point of ../../etc/passwd',
      () => writePack(demoPack('1.0.0', { 'actions/escape.yaml': 'name: escape\nrunner_type: local-shell-script\nentry_point: ../../etc/passwd\n' })),
      'leaves the pack',
    ],
    [
      'a symlink pointing outside the pack',
      async () => {
        const dir = await writePack(demoPack('1.0.0'));
        await symlink('/etc/passwd', join(dir, 'actions/passwd.sh'));
        return dir;
      },
      'points outside the pack',
    ],
    [
      'a rule naming a pack that is not a dependency',
      () => writePack(demoPack('1.0.0', { 'rules/foreign.yaml': 'name: foreign\ntrigger:\n  type: demo.st2.Pinged\naction:\n  ref: other.thing\n' })),
      "pack 'other', which pack.yaml does not list in dependencies",
    ],
    [
      'a rule naming a core action that is not installed',
      () => writePack(demoPack('1.0.0', { 'rules/uses_core.yaml': 'name: uses_core\ntrigger:\n  type: demo.st2.Pinged\naction:\n  ref: core.echo\n' })),
      "'core.echo', which is not installed",
    ],
  ];

  it.each(cases)('%s', async (_label, make, expected) => {
    const dir = await make();
    const before = await counts(ctx.db);
    const written = await rowsWritten(ctx.db);
    const error = await expectErrorType(registerPack(ctx.db, dir), PackInvalidError);
    expect(error.message).toContain(expected);
    expect(error.problems.some((p) => p.severity === 'error' && p.file !== undefined)).toBe(true);
    expect(await counts(ctx.db)).toEqual(before);
    expect(await rowsWritten(ctx.db)).toBe(written);
  });
});

describe('uninstallPack', () => {
  it('removes every version, its components, files and unused contents, while history keeps its refs', async () => {
    await registerPack(ctx.db, await writePack(demoPack('1.0.0')));
    const v2 = await registerPack(ctx.db, await writePack(demoPack('2.0.0')));
    const rule = await RuleRepository.getByRef(ctx.db, 'demo.on_ping');
    const event = await EventRepository.create(ctx.db, { triggerRef: 'demo.st2.Pinged', payload: { host: 'db1' } });
    const { enforcement } = await EnforcementRepository.createIfAbsent(ctx.db, { ruleId: rule.id, eventId: event.id });
    const execution = await ExecutionRepository.create(ctx.db, { actionRef: 'demo.hello', enforcementId: enforcement.id });
    expect(event.triggerId).not.toBeNull();
    await SensorRepository.list(ctx.db, { packId: v2.packId });

    const report = await uninstallPack(ctx.db, 'demo');
    expect(report).toMatchObject({ pack: 'demo', versions: ['1.0.0', '2.0.0'] });
    expect(report.contentsRemoved).toBeGreaterThan(0);
    expect(await counts(ctx.db)).toEqual({ packs: 0, triggers: 0, actions: 0, rules: 0, sensors: 0, files: 0, contents: 0 });
    expect(await EventRepository.getById(ctx.db, event.id)).toMatchObject({ triggerId: null, triggerRef: 'demo.st2.Pinged' });
    expect(await EnforcementRepository.getById(ctx.db, enforcement.id)).toMatchObject({ ruleId: null, ruleRef: 'demo.on_ping' });
    expect(await ExecutionRepository.getById(ctx.db, execution.id)).toMatchObject({ actionId: null, actionRef: 'demo.hello' });
    await expectErrorType(uninstallPack(ctx.db, 'demo'), NotFoundError);
  });

  it('refuses to uninstall a pack another active pack depends on, unless forced', async () => {
    await registerPack(ctx.db, join(PACKS, 'core'));
    await registerPack(ctx.db, await writePack({ ...demoPack('1.0.0'), 'pack.yaml': 'ref: demo\nname: Demo\nversion: 1.0.0\ndependencies:\n  - core\n' }));
    const error = await expectErrorType(uninstallPack(ctx.db, 'core'), InvalidReferenceError);
    expect(error.message).toContain("'demo'");
    expect(await PackRepository.findByRef(ctx.db, 'core')).not.toBeNull();
    expect((await uninstallPack(ctx.db, 'core', { force: true })).versions).toEqual(['1.0.0']);
  });
});
