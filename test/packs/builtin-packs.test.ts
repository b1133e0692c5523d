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
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const PACKS = path.resolve(import.meta.dirname, '../../packs');
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
  const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true });
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
