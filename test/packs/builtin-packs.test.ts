/**
 * The built-in packs under packs/: they read cleanly with the pack reader, hold
 * the expected components, and their scripts and trigger schemas do what the
 * metadata promises.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkReferences, readPack, type ActionModel, type JsonSchema, type PackModel } from '../../src/packs/index.js';
import { ST2_PACKS_DIR } from '../support/st2-packs.js';

const PACKS = path.resolve(import.meta.dirname, '../../packs');
const ST2_PACKS = ST2_PACKS_DIR;
const HAS_PYTHON = spawnSync('python3', ['--version']).status === 0;

function run(command: string, args: string[], input = '') {
  const result = spawnSync(command, args, { input, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('core.uuid (actions/generate_uuid.py)', () => {
  const script = path.join(PACKS, 'core/actions/generate_uuid.py');
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-([0-9a-f])[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it('is executable', () => {
    expect(statSync(script).mode & 0o111).not.toBe(0);
  });

  it.skipIf(!HAS_PYTHON).each([
    ['{"uuid_type": "uuid1"}', '1'],
    ['{"uuid_type": "uuid4"}', '4'],
    ['{}', '4'],
    ['', '4'],
  ])('given %j on stdin prints one UUID of version %s', (input, version) => {
    const { status, stdout } = run('python3', [script], input);
    expect(status).toBe(0);
    const match = UUID.exec(stdout.trim());
    expect(match?.[1]).toBe(version);
  });

  it.skipIf(!HAS_PYTHON)('refuses another uuid_type with exit code 2 and says why', () => {
    const { status, stdout, stderr } = run('python3', [script], '{"uuid_type": "uuid7"}');
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('uuid_type must be uuid1 or uuid4');
  });
});

describe('examples.greet (actions/greet.sh)', () => {
  const script = path.join(PACKS, 'examples/actions/greet.sh');

  it('greets the name given first, with the greeting given second', () => {
    expect(run('bash', [script, 'Ada', 'Hi'])).toMatchObject({ status: 0, stdout: 'Hi, Ada!\n' });
    expect(run('bash', [script, 'Ada'])).toMatchObject({ status: 0, stdout: 'Hello, Ada!\n' });
  });

  it('passes odd text through as data, never as shell', () => {
    const { status, stdout } = run('bash', [script, '$(echo pwned); `id` "quoted"', 'Hi']);
    expect(status).toBe(0);
    expect(stdout).toBe('Hi, $(echo pwned); `id` "quoted"!\n');
  });

  it('fails with a usage message when no name is given', () => {
    const { status, stderr } = run('bash', [script]);
    expect(status).not.toBe(0);
    expect(stderr).toContain('usage: greet.sh NAME');
  });
});

interface TriggerFile {
  name: string;
  parameters_schema: object;
  payload_schema: object;
}

describe('core trigger schemas', () => {
  const folder = path.join(PACKS, 'core/triggers');
  const triggers = readdirSync(folder)
    .filter((file) => file.endsWith('.yaml'))
    .map((file) => ({ file, ...(parse(readFileSync(path.join(folder, file), 'utf8')) as TriggerFile) }));
  const ajv = new Ajv({ strict: true, allErrors: true });
  addFormats.default(ajv);

  function validator(trigger: string, schema: 'parameters_schema' | 'payload_schema') {
    const found = triggers.find((t) => t.name === trigger);
    if (!found) throw new Error(`no trigger ${trigger}`);
    return ajv.compile(found[schema]);
  }

  it.each(triggers.map((t) => [t.file, t] as const))('%s: both schemas compile in strict mode', (_file, trigger) => {
    expect(() => ajv.compile(trigger.parameters_schema)).not.toThrow();
    expect(() => ajv.compile(trigger.payload_schema)).not.toThrow();
  });

  it.each([
    ['st2.webhook', { url: 'hello' }, true],
    ['st2.webhook', {}, false],
    ['st2.webhook', { url: 'hello', extra: 1 }, false],
    ['st2.IntervalTimer', { unit: 'seconds', delta: 5 }, true],
    ['st2.IntervalTimer', { unit: 'fortnights', delta: 5 }, false],
    ['st2.IntervalTimer', { unit: 'seconds' }, false],
    ['st2.CronTimer', { minute: '*/5', hour: 3, day_of_week: 'mon-fri' }, true],
    ['st2.CronTimer', { hour: 24 }, false],
    ['st2.CronTimer', { timezone: 'UTC', sometimes: true }, false],
    ['st2.DateTimer', { date: '2030-01-31T12:00:00Z' }, true],
    ['st2.DateTimer', { date: '2030-01-31 12:00:00' }, true],
    ['st2.DateTimer', { date: '2030-01-31T12:00:00.5+02:00', timezone: 'Europe/Paris' }, true],
    ['st2.DateTimer', { date: 'next tuesday' }, false],
    ['execution_finished', {}, true],
    ['execution_finished', { anything: 1 }, false],
  ])('%s parameters %j valid: %s', (trigger, parameters, valid) => {
    expect(validator(trigger, 'parameters_schema')(parameters)).toBe(valid);
  });

  it.each([
    ['st2.webhook', { headers: { 'content-type': 'application/json' }, body: { name: 'Ada' } }, true],
    ['st2.webhook', { headers: {}, body: 'text' }, false],
    ['st2.IntervalTimer', { executed_at: '2030-01-31T12:00:00.123Z', schedule: null }, true],
    ['execution_finished', { execution_id: 7, action_ref: 'core.local', status: 'succeeded', result: { stdout: 'x' } }, true],
    ['execution_finished', { execution_id: 7, action_ref: 'core.local', status: 'running' }, false],
    ['inquiry_responded', { inquiry_id: 1, execution_id: 2, route: 'deploy', response: { approved: true } }, true],
    ['inquiry_responded', { inquiry_id: 1, execution_id: 2, route: 'deploy' }, false],
    ['st2.generic.inquiry', { id: 1, route: '' }, true],
    ['st2.generic.inquiry', { id: 1, route: '', schema: {} }, false],
  ])('%s payload %j valid: %s', (trigger, payload, valid) => {
    expect(validator(trigger, 'payload_schema')(payload)).toBe(valid);
  });
});

function action(pack: PackModel, ref: string): ActionModel {
  const found = pack.actions.find((a) => a.ref === ref);
  if (!found) throw new Error(`no action ${ref}`);
  return found;
}

function property(schema: JsonSchema, name: string): Record<string, unknown> | undefined {
  return (schema.properties as Record<string, Record<string, unknown>> | undefined)?.[name];
}

function yamlFile(file: string): Record<string, unknown> {
  return parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

describe('packs/core, read by readPack', () => {
  let core: PackModel;
  let warnings: unknown[];
  beforeAll(async () => {
    ({ pack: core, problems: warnings } = await readPack(path.join(PACKS, 'core')));
  });

  it('reads with no error and no warning', () => {
    expect(warnings).toEqual([]);
    expect(core).toMatchObject({ ref: 'core', name: 'core', author: 'Attune' });
    expect(core.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('holds the nine core actions, each enabled, on the expected runner', () => {
    const runners = Object.fromEntries(core.actions.map((a) => [a.ref, a.runnerType]));
    expect(runners).toEqual({
      'core.ask': 'inquiry',
      'core.echo': 'shell',
      'core.error': 'shell',
      'core.http': 'http',
      'core.inject_trigger': 'inject-trigger',
      'core.local': 'shell',
      'core.noop': 'noop',
      'core.sleep': 'shell',
      'core.uuid': 'python',
    });
    expect(core.actions.filter((a) => !a.enabled || a.disabledReason !== null)).toEqual([]);
    expect(action(core, 'core.uuid').entryPointFile).toBe('actions/generate_uuid.py');
  });

  it('holds the webhook, the three timers, and the internal triggers', () => {
    expect(core.triggers.map((t) => t.ref).sort()).toEqual(
      [
        'core.st2.webhook',
        'core.st2.IntervalTimer',
        'core.st2.CronTimer',
        'core.st2.DateTimer',
        'core.execution_finished',
        'core.inquiry_created',
        'core.inquiry_responded',
        'core.inquiry_timed_out',
        'core.st2.generic.actiontrigger',
        'core.st2.generic.inquiry',
      ].sort(),
    );
    expect(core.rules).toEqual([]);
    expect(core.sensors).toEqual([]);
  });

  it('merges the runner parameters into each action schema', () => {
    const local = action(core, 'core.local').paramSchema;
    expect(local.required).toEqual(['cmd']);
    expect(property(local, 'timeout')).toMatchObject({ type: 'integer', default: 60 });
    expect(property(local, 'sudo')).toMatchObject({ type: 'boolean', default: false, immutable: true });
    expect(property(local, 'sudo_password')).toMatchObject({ secret: true });

    const http = action(core, 'core.http').paramSchema;
    expect(http.required).toEqual(['url']);
    expect(property(http, 'method')?.enum).toContain('GET');
    expect(property(http, 'password')).toMatchObject({ type: 'string', secret: true });

    const ask = action(core, 'core.ask').paramSchema;
    expect((ask.required as string[]).sort()).toEqual(['schema', 'ttl']);
    expect(property(ask, 'ttl')).toMatchObject({ type: 'integer', default: 1440 });

    expect(property(action(core, 'core.echo').paramSchema, 'cmd')).toMatchObject({ immutable: true, default: 'echo "{{ message }}"' });
    expect(property(action(core, 'core.sleep').paramSchema, 'seconds')).toMatchObject({ type: 'integer', minimum: 0 });
    expect(property(action(core, 'core.uuid').paramSchema, 'uuid_type')).toMatchObject({ default: 'uuid4', enum: ['uuid1', 'uuid4'] });
    expect(Object.keys(action(core, 'core.inject_trigger').paramSchema.properties as object).sort()).toEqual([
      'payload',
      'trace_tag',
      'trigger',
      'trigger_name',
    ]);
  });

  // The same parameter names, types, defaults, enums and flags as StackStorm's
  // same-named actions; descriptions are Attune's own. Deliberate differences:
  const DIFFERENT_DEFAULTS: Record<string, string> = {
    'error.cmd': 'core.error also exits 1',
    'echo.cmd': 'spaces inside {{ }}',
  };

  it.each(['local', 'http', 'echo', 'error', 'noop', 'ask', 'inject_trigger', 'uuid'])(
    "core.%s declares the parameters of StackStorm's same-named action",
    (name) => {
      const ours = (yamlFile(path.join(PACKS, 'core/actions', `${name}.yaml`)).parameters ?? {}) as Record<string, Record<string, unknown>>;
      const theirs = (yamlFile(path.join(ST2_PACKS, 'core/actions', `${name}.yaml`)).parameters ?? {}) as Record<string, Record<string, unknown>>;
      expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
      for (const [parameter, meta] of Object.entries(theirs)) {
        const mine = ours[parameter] ?? {};
        for (const attribute of ['type', 'required', 'enum', 'immutable', 'secret', 'position', 'default']) {
          if (attribute === 'default' && `${name}.${parameter}` in DIFFERENT_DEFAULTS) continue;
          expect(mine[attribute], `core.${name} ${parameter}.${attribute}`).toEqual(meta[attribute]);
        }
      }
    },
  );

  it('provides every core trigger and action that the StackStorm rules in st2-packs use, but notifytrigger', () => {
    const used = new Set<string>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith('.yaml') && path.basename(dir) === 'rules') {
          const rule = yamlFile(full) as { trigger?: { type?: string }; action?: { ref?: string } };
          for (const ref of [rule.trigger?.type, rule.action?.ref]) if (ref?.startsWith('core.')) used.add(ref);
        }
      }
    };
    walk(ST2_PACKS);
    const provided = new Set([...core.triggers, ...core.actions].map((c) => c.ref));
    expect([...used].filter((ref) => !provided.has(ref)).sort()).toEqual(['core.st2.generic.notifytrigger']);
    expect(used.size).toBeGreaterThan(4);
  });
});

describe('packs/examples, read by readPack', () => {
  let core: PackModel;
  let examples: PackModel;
  let warnings: unknown[];
  beforeAll(async () => {
    core = (await readPack(path.join(PACKS, 'core'))).pack;
    ({ pack: examples, problems: warnings } = await readPack(path.join(PACKS, 'examples')));
  });

  it('reads with no error and no warning', () => {
    expect(warnings).toEqual([]);
    expect(examples).toMatchObject({ ref: 'examples', author: 'Attune' });
    expect(property(examples.configSchema, 'greeting')).toMatchObject({ type: 'string', default: 'Hello' });
  });

  it('holds a shell-script and a python action with their files', () => {
    const greet = action(examples, 'examples.greet');
    expect(greet).toMatchObject({ runnerType: 'shell-script', entryPointFile: 'actions/greet.sh', enabled: true });
    expect(property(greet.paramSchema, 'name')).toMatchObject({ type: 'string', position: 0 });
    expect(property(greet.paramSchema, 'greeting')).toMatchObject({ default: '{{ config.greeting }}', position: 1 });
    expect(action(examples, 'examples.word_count')).toMatchObject({ runnerType: 'python', entryPointFile: 'actions/word_count.py' });
  });

  it('holds the tutorial rules, the timer one disabled', () => {
    const rules = Object.fromEntries(examples.rules.map((r) => [r.ref, [r.triggerRef, r.actionRef, r.enabled]]));
    expect(rules).toEqual({
      'examples.hello_webhook': ['core.st2.webhook', 'examples.greet', true],
      'examples.count_words_webhook': ['core.st2.webhook', 'examples.word_count', true],
      'examples.health_check_timer': ['core.st2.IntervalTimer', 'core.http', false],
      'examples.deploy_approval': ['core.st2.webhook', 'core.ask', true],
      'examples.deploy_approved': ['core.inquiry_responded', 'core.echo', true],
    });
    const hello = examples.rules.find((r) => r.ref === 'examples.hello_webhook');
    expect(hello?.triggerParams).toEqual({ url: 'hello' });
    expect(Object.values(hello?.criteria ?? {})).toEqual([expect.objectContaining({ key: 'trigger.body.name', type: 'exists' })]);
  });

  it("refers only to triggers and actions that the core pack and itself define", () => {
    const known = { triggers: new Set(core.triggers.map((t) => t.ref)), actions: new Set(core.actions.map((a) => a.ref)) };
    expect(checkReferences(examples, known)).toEqual([]);
    expect(checkReferences(examples, { triggers: new Set(), actions: new Set() }).length).toBeGreaterThan(0);
  });
});
