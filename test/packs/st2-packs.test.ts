/**
 * Every StackStorm metadata file in ../shared/st2-packs, read by the pack
 * reader: each either reads cleanly or is reported with the reason written
 * in the table below. The entry-point scripts are not in that folder; stand-ins
 * are written from scripts-manifest.json.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { PackProblem } from '../../src/packs/index.js';
import { problemsOf, readOutcome, writePack } from './support.js';
import { ST2_PACKS_DIR } from '../support/st2-packs.js';

const ST2 = ST2_PACKS_DIR;

/** What a file is expected to produce: substrings of its errors and warnings (none: reads cleanly). */
interface Expected {
  errors?: string[];
  warnings?: string[];
}

const CLEAN: Expected = {};
const disabled = (runner: string, ...warnings: string[]): Expected => ({ warnings: [`runner ${runner} is not supported yet`, ...warnings] });
const entryPointIgnored = (runner: string): string => `runner ${runner} does not use an entry point`;
const sensorScriptMissing = (script: string): Expected => ({ errors: [`entry_point: "${script}" does not exist in the pack (looked for sensors/${script})`] });

const PACKS: Record<string, Record<string, Expected>> = {
  core: {
    'pack.yaml': CLEAN,
    'actions/announcement.yaml': disabled('announcement'),
    'actions/ask.yaml': CLEAN,
    'actions/echo.yaml': CLEAN,
    'actions/error.yaml': CLEAN,
    'actions/http.yaml': CLEAN,
    'actions/inject_trigger.yaml': CLEAN,
    'actions/local.yaml': CLEAN,
    'actions/local_sudo.yaml': CLEAN,
    'actions/noop.yaml': CLEAN,
    'actions/pause.yaml': CLEAN,
    'actions/remote.yaml': disabled('remote-shell-cmd'),
    'actions/remote_sudo.yaml': disabled('remote-shell-cmd'),
    'actions/sendmail.yaml': CLEAN,
    'actions/uuid.yaml': CLEAN,
    'actions/winrm_cmd.yaml': disabled('winrm-cmd'),
    'actions/winrm_ps_cmd.yaml': disabled('winrm-ps-cmd'),
  },
  examples: {
    'pack.yaml': CLEAN,
    'config.schema.yaml': CLEAN,
    'actions/echochain.meta.yaml': disabled('action-chain'),
    'actions/env_reader.yaml': CLEAN,
    'actions/isprime.yaml': CLEAN,
    'actions/json_string_to_object.meta.yaml': CLEAN,
    'actions/local-random-exit.yaml': { warnings: [entryPointIgnored('local-shell-cmd')] },
    'actions/local.yaml': CLEAN,
    'actions/local_command_runner_print_to_stdout_and_stderr.yaml': CLEAN,
    'actions/local_script_runner_print_to_stdout_and_stderr.yaml': CLEAN,
    'actions/object_return.meta.yaml': CLEAN,
    'actions/orquesta-basic.yaml': disabled('orquesta'),
    'actions/orquesta-st2kv.yaml': disabled('orquesta'),
    'actions/ping.yaml': { warnings: [entryPointIgnored('local-shell-cmd')] },
    'actions/print_config.yaml': CLEAN,
    'actions/python-mock-create-vm.yaml': CLEAN,
    'actions/python_runner_print_to_stdout_and_stderr.yaml': CLEAN,
    'actions/remote-random-exit.yaml': disabled('remote-shell-cmd', entryPointIgnored('remote-shell-cmd')),
    'actions/remote_command_runner_print_to_stdout_and_stderr.yaml': disabled('remote-shell-cmd'),
    'actions/render_config_context.yaml': disabled('orquesta'),
    'actions/ubuntu_pkg_info.yaml': CLEAN,
    'actions/weather.yaml': CLEAN,
    // Workflow and chain definitions are pack files, not components.
    'actions/chains/echochain.yaml': CLEAN,
    'actions/workflows/orquesta-basic.yaml': CLEAN,
    'actions/workflows/orquesta-st2kv.yaml': CLEAN,
    'actions/workflows/render_config_context.yaml': CLEAN,
    'rules/notify_inquiry.yaml': CLEAN,
    'rules/notify_slack.yaml': CLEAN,
    'rules/sample_rule_file_watch.yaml': CLEAN,
    'rules/sample_rule_with_actiontrigger.yaml': CLEAN,
    'rules/sample_rule_with_timer.yaml': CLEAN,
    'rules/sample_rule_with_webhook.yaml': CLEAN,
    // The sensors' Python files are neither here nor in the manifest.
    'sensors/echo_flask_app.yaml': sensorScriptMissing('echo_flask_app.py'),
    'sensors/fibonacci_sensor.yaml': sensorScriptMissing('fibonacci_sensor.py'),
    'sensors/sample_polling_sensor.yaml': sensorScriptMissing('sample_polling_sensor.py'),
    'sensors/sample_sensor.yaml': sensorScriptMissing('sample_sensor.py'),
    'triggers/sample-trigger.yaml': CLEAN,
  },
};

/** Rules of other packs; each is read inside a pack named by its `pack` field. */
const OTHER_RULES: Record<string, Expected> = {
  'other/contrib/chatops/rules/notify_errbot.yaml': CLEAN,
  'other/contrib/chatops/rules/notify_hubot.yaml': CLEAN,
  'other/contrib/hello_st2/rules/rule1.yaml': CLEAN,
  'other/st2tests/st2tests/fixtures/backstop/rules/backstop.yaml': { errors: ['type: rule type "backstop" is not supported'] },
  'other/st2tests/st2tests/fixtures/generic/rules/backstop_rule.yaml': {
    errors: ['type: rule type "backstop" is not supported', `criteria.t1_p: criteria key "t1_p" must start with 'trigger.'`],
  },
  'other/st2tests/st2tests/fixtures/generic/rules/cron_timer_rule_1.yaml': { errors: [`criteria.t1_p: criteria key "t1_p" must start with 'trigger.'`] },
  'other/st2tests/st2tests/fixtures/generic/rules/rule1.yaml': CLEAN,
  'other/st2tests/st2tests/fixtures/generic/rules/rule_use_none_filter.yaml': { errors: [`criteria.t1_p: criteria key "t1_p" must start with 'trigger.'`] },
  'other/st2tests/st2tests/fixtures/generic/rules/rule_with_webhook_trigger.yaml': CLEAN,
  'other-historical/contrib/examples/rules/sample_rule_with_webhook_unicode_name.yaml': { errors: [`name: rule name may hold only letters, digits, '_', '-' and '.', got "你"`] },
};

interface ManifestEntry {
  entry_point_file: string;
  first_line: string | null;
}

/** Copies a StackStorm pack to a temporary folder with a stand-in for each entry-point script of the manifest. */
async function withStandIns(pack: 'core' | 'examples'): Promise<string> {
  const manifest = JSON.parse(await readFile(join(ST2, 'scripts-manifest.json'), 'utf8')) as { entries: ManifestEntry[] };
  const files: Record<string, string> = {};
  for (const entry of manifest.entries) {
    const prefix = `contrib/${pack}/`;
    if (!entry.entry_point_file.startsWith(prefix)) continue;
    files[entry.entry_point_file.slice(prefix.length)] = `${entry.first_line ?? '# stand-in'}\n# Stand-in for the StackStorm script of the same path.\n`;
  }
  return writePack(files, join(ST2, pack));
}

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.yaml')).map((entry) => relative(dir, join(entry.parentPath, entry.name))).sort();
}

function describeProblems(problems: PackProblem[]): string[] {
  return problems.map((problem) => `${problem.field}: ${problem.message}`);
}

function expectFile(problems: PackProblem[], expected: Expected): void {
  const errors = describeProblems(problems.filter((problem) => problem.severity === 'error'));
  const warnings = describeProblems(problems.filter((problem) => problem.severity === 'warning'));
  expect(errors.length).toBe(expected.errors?.length ?? 0);
  for (const text of expected.errors ?? []) expect(errors.some((error) => error.includes(text)), `${text} in ${errors.join(' | ')}`).toBe(true);
  expect(warnings.length).toBe(expected.warnings?.length ?? 0);
  for (const text of expected.warnings ?? []) expect(warnings.some((warning) => warning.includes(text)), `${text} in ${warnings.join(' | ')}`).toBe(true);
}

describe.each(['core', 'examples'] as const)('StackStorm pack %s', (pack) => {
  let problems: PackProblem[] = [];
  beforeAll(async () => {
    problems = await problemsOf(await withStandIns(pack));
  });

  it('has a table entry for every YAML file', async () => {
    expect(await yamlFiles(join(ST2, pack))).toEqual(Object.keys(PACKS[pack]!).sort());
  });

  it.each(Object.entries(PACKS[pack]!))('%s', (file, expected) => {
    expectFile(
      problems.filter((problem) => problem.file === file),
      expected,
    );
  });

  it('reports problems only for files of the table, each with a line', () => {
    for (const problem of problems) {
      expect(Object.keys(PACKS[pack]!)).toContain(problem.file);
      expect(problem.line).toBeGreaterThan(0);
    }
  });
});

describe('StackStorm rules of other packs', () => {
  it('has a table entry for every rule file', async () => {
    const files = [...(await yamlFiles(join(ST2, 'other'))).map((file) => `other/${file}`), ...(await yamlFiles(join(ST2, 'other-historical'))).map((file) => `other-historical/${file}`)];
    expect(files.sort()).toEqual(Object.keys(OTHER_RULES).sort());
  });

  it.each(Object.entries(OTHER_RULES))('%s', async (file, expected) => {
    const text = await readFile(join(ST2, file), 'utf8');
    const rule = parseYaml(text) as { pack?: string; trigger?: { type?: string }; action?: { ref?: string } };
    const packRef = rule.pack ?? 'examples';
    // The rule's own pack is not in the folder: define what it names in that pack, so the rule is judged alone.
    const files: Record<string, string> = { 'pack.yaml': `name: ${packRef}\nversion: 1.0.0\n`, 'rules/rule.yaml': text };
    const own = (ref: string | undefined): string | null => (ref?.startsWith(`${packRef}.`) ? ref.slice(packRef.length + 1) : null);
    const action = own(rule.action?.ref);
    const trigger = own(rule.trigger?.type);
    if (action !== null) files['actions/stand_in_action.yaml'] = `name: ${action}\nrunner_type: noop\n`;
    if (trigger !== null) files['triggers/stand_in_trigger.yaml'] = `name: ${trigger}\n`;
    const dir = await writePack(files);
    const problems = await problemsOf(dir);
    for (const problem of problems) expect(problem.file).toBe('rules/rule.yaml');
    expectFile(problems, expected);
  });
});

describe('the StackStorm packs as models', () => {
  it('reads core with its runners mapped, overrides merged and unsupported actions disabled', async () => {
    const outcome = await readOutcome(await withStandIns('core'));
    if (!outcome.ok) throw outcome.error;
    const { pack } = outcome.result;
    expect(pack).toMatchObject({ ref: 'core', name: 'core', version: '1.0.1', author: 'StackStorm, Inc.', meta: { python_versions: ['2', '3'] } });
    const byName = new Map(pack.actions.map((action) => [action.name, action]));
    expect(byName.get('local')).toMatchObject({ ref: 'core.local', runnerType: 'shell', runnerTypeAsWritten: 'local-shell-cmd', enabled: true, entryPoint: '', entryPointFile: null });
    expect(byName.get('local')?.paramSchema).toMatchObject({
      type: 'object',
      required: ['cmd'],
      additionalProperties: false,
      properties: { cmd: { type: 'string' }, sudo: { type: 'boolean', default: false, immutable: true }, sudo_password: { secret: true } },
    });
    expect(byName.get('sendmail')).toMatchObject({ runnerType: 'shell-script', entryPoint: 'send_mail/send_mail', entryPointFile: 'actions/send_mail/send_mail' });
    expect(byName.get('sendmail')?.paramSchema).toMatchObject({ properties: { sendmail_binary: { default: 'None', position: 0 }, send_empty_body: { default: true } } });
    expect(byName.get('winrm_cmd')).toMatchObject({ enabled: false, disabledReason: 'runner winrm-cmd is not supported yet' });
    expect(pack.files.find((file) => file.path === 'actions/uuid.yaml')?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads examples with sensor trigger types as triggers once the sensors have their scripts', async () => {
    const base = await withStandIns('examples');
    const dir = await writePack(
      Object.fromEntries(['echo_flask_app.py', 'fibonacci_sensor.py', 'sample_polling_sensor.py', 'sample_sensor.py'].map((name) => [`sensors/${name}`, '# stand-in\n'])),
      base,
    );
    const outcome = await readOutcome(dir);
    if (!outcome.ok) throw outcome.error;
    const { pack } = outcome.result;
    expect(pack.sensors.map((sensor) => sensor.ref).sort()).toEqual(['examples.EchoFlaskSensor', 'examples.FibonacciSensor', 'examples.SamplePollingSensor', 'examples.SampleSensor']);
    expect(pack.sensors.find((sensor) => sensor.name === 'FibonacciSensor')).toMatchObject({ runner: 'python', pollInterval: 20, triggerTypes: ['examples.fibonacci'], entryPointFile: 'sensors/fibonacci_sensor.py' });
    expect(pack.triggers.map((trigger) => trigger.ref).sort()).toEqual(['examples.echoflasksensor', 'examples.event', 'examples.fibonacci', 'examples.polling_event', 'examples.sample_trigger']);
    // Draft 3's `required: true` on properties became draft 07's list.
    expect(pack.triggers.find((trigger) => trigger.name === 'sample_trigger')?.payloadSchema).toMatchObject({ required: ['value', 'executed_at'], additionalProperties: false });
    expect(pack.configSchema).toMatchObject({ required: ['api_key', 'api_secret', 'region'], properties: { api_key: { secret: true }, region: { default: 'us-east-1' } } });
    const webhook = pack.rules.find((rule) => rule.name === 'sample_rule_with_webhook');
    expect(webhook).toMatchObject({ triggerRef: 'core.st2.webhook', triggerParams: { url: 'sample' }, actionRef: 'core.local', criteria: { 'trigger.body.name': { type: 'equals', pattern: 'st2' } } });
    expect(pack.rules.find((rule) => rule.name === 'sample_rule_file_watch')?.triggerRef).toBe('linux.file_watch.line');
  });

  it('reports each missing entry point of the StackStorm packs as they are (scripts absent)', async () => {
    const problems = (await problemsOf(join(ST2, 'core'))).filter((problem) => problem.severity === 'error');
    expect(problems.map((problem) => `${problem.file}:${problem.line} ${problem.field}`).sort()).toEqual([
      'actions/inject_trigger.yaml:6 entry_point',
      'actions/pause.yaml:6 entry_point',
      'actions/sendmail.yaml:5 entry_point',
      'actions/uuid.yaml:6 entry_point',
    ]);
    expect(problems.find((problem) => problem.file === 'actions/uuid.yaml')?.message).toBe('"generate_uuid.py" does not exist in the pack (looked for actions/generate_uuid.py)');
  });
});
