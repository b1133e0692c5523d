/**
 * StackStorm's example actions whose runners Attune has, run with stand-in
 * scripts written from st2-packs/scripts-manifest.json (the metadata is
 * StackStorm's; the scripts are ours, with the same interface).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PythonRunner } from '../../src/worker/runners/python.js';
import { ShellScriptRunner } from '../../src/worker/runners/shell-script.js';
import { ShellRunner } from '../../src/worker/runners/shell.js';
import type { RunnerInput } from '../../src/worker/runners/types.js';
import { ST2_PACKS_DIR } from '../support/st2-packs.js';
import { FAST_PROCESS, runnerInput, useTempRoot } from './helpers.js';

const ST2_PACKS = ST2_PACKS_DIR;
const root = useTempRoot('st2');
let pack = '';

/** Stand-ins, by entry point, behaving as the manifest's behaviour summaries say. */
const STAND_INS: Record<string, string> = {
  'pythonactions/isprime.py':
    'import math\n\nfrom numbers_helper import as_number\nfrom st2common.runners.base_action import Action\n\n\nclass IsPrime(Action):\n    def run(self, value=0):\n        value = as_number(value)\n        if math.floor(value) != value:\n            raise ValueError("%s is not an integer" % value)\n        if value < 2:\n            return False\n        return all(value % d for d in range(2, int(math.sqrt(value)) + 1))\n',
  'pythonactions/json_string_to_object.py':
    'import json\nfrom st2common.runners.base_action import Action\n\n\nclass Parse(Action):\n    def run(self, json_str):\n        return json.loads(json_str)\n',
  'pythonactions/object_return.py':
    'from st2common.runners.base_action import Action\n\n\nclass ObjectReturn(Action):\n    def run(self):\n        return {"a": "b", "c": {"d": "e", "f": 1, "g": True}}\n',
  'print_config.py':
    'import json\nfrom st2common.runners.base_action import Action\n\n\nclass PrintConfig(Action):\n    def run(self):\n        print("=" * 20)\n        print(json.dumps(self.config, indent=2, sort_keys=True))\n        print("=" * 20)\n',
  'print_to_stdout_and_stderr.py':
    'import sys\nimport time\nfrom st2common.runners.base_action import Action\n\n\nclass Printer(Action):\n    def run(self, count=100, sleep_delay=0.5):\n        for i in range(count):\n            stream = sys.stderr if i % 2 == 0 else sys.stdout\n            stream.write("%s -> Line: %d\\n" % ("stderr" if i % 2 == 0 else "stdout", i + 1))\n            stream.flush()\n            time.sleep(sleep_delay)\n',
  'print_to_stdout_and_stderr.sh':
    '#!/usr/bin/env bash\nCOUNT=${1:-100}\nDELAY=${2:-0.5}\nfor i in $(seq 0 $((COUNT - 1))); do\n  if [ $((i % 2)) -eq 0 ]; then echo "stderr line $((i + 1))" >&2; else echo "stdout line $((i + 1))"; fi\n  sleep "$DELAY"\ndone\n',
  'env_reader.sh': '#!/bin/bash\necho "$ST2_ACTION_AUTH_TOKEN"\n',
  'bash_exit_code/bash_exit_code.sh': '#!/usr/bin/env bash\nCODE=$((RANDOM % 256))\necho "exit code: $CODE"\nexit $CODE\n',
};

/** The pack's lib/ helper isprime imports (StackStorm puts lib/ on sys.path). */
const LIB_HELPER = 'def as_number(value):\n    return value if isinstance(value, (int, float)) else float(value)\n';

interface St2Action {
  name: string;
  runner_type: string;
  entry_point: string;
  parameters?: Record<string, Record<string, unknown>>;
}

async function metadata(file: string): Promise<St2Action> {
  return parse(await readFile(join(ST2_PACKS, 'examples', 'actions', file), 'utf8')) as St2Action;
}

/** The metadata's parameters as the schema the runner gets, and their defaults under `given`. */
function inputFor(action: St2Action, given: Record<string, unknown>, overrides: Partial<RunnerInput> = {}) {
  const properties = action.parameters ?? {};
  const defaults = Object.fromEntries(Object.entries(properties).filter(([, p]) => 'default' in p).map(([name, p]) => [name, p.default]));
  return runnerInput(root.path, {
    runnerType: action.runner_type,
    packRef: 'examples',
    actionRef: `examples.${action.name}`,
    packDir: pack,
    entryPoint: action.entry_point,
    parameters: { ...defaults, ...given },
    parameterSchema: { type: 'object', properties },
    ...overrides,
  });
}

describe("StackStorm's example actions", () => {
  beforeAll(async () => {
    pack = join(root.path, 'examples');
    const manifest = JSON.parse(await readFile(join(ST2_PACKS, 'scripts-manifest.json'), 'utf8')) as { entries: { entry_point_file: string }[] };
    for (const [entryPoint, source] of Object.entries(STAND_INS)) {
      // Every stand-in replaces a script the manifest lists.
      expect(manifest.entries.some((entry) => entry.entry_point_file.endsWith(`/actions/${entryPoint}`))).toBe(true);
      const file = join(pack, 'actions', entryPoint);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, source);
    }
    await mkdir(join(pack, 'lib'), { recursive: true });
    await writeFile(join(pack, 'lib', 'numbers_helper.py'), LIB_HELPER);
  });

  it('examples.isprime: an Action class importing from the pack lib/', async () => {
    const action = await metadata('isprime.yaml');
    const runner = new PythonRunner({ process: FAST_PROCESS });
    expect((await runner.run(inputFor(action, { value: 97 }))).result.result).toBe(true);
    expect((await runner.run(inputFor(action, { value: 91 }))).result.result).toBe(false);
    const notInteger = await runner.run(inputFor(action, { value: 4.5 }));
    expect(notInteger.status).toBe('failed');
    expect(notInteger.error).toBe('ValueError: 4.5 is not an integer');
  });

  it('examples.json_string_to_object and examples.object_return return objects', async () => {
    const runner = new PythonRunner({ process: FAST_PROCESS });
    const parsed = await runner.run(inputFor(await metadata('json_string_to_object.meta.yaml'), { json_str: '{"k": [1, 2]}' }));
    expect(parsed.result.result).toEqual({ k: [1, 2] });
    const object = await runner.run(inputFor(await metadata('object_return.meta.yaml'), {}));
    expect(object.result.result).toEqual({ a: 'b', c: { d: 'e', f: 1, g: true } });
  });

  it('examples.print_config prints the pack config it is given', async () => {
    const outcome = await new PythonRunner({ process: FAST_PROCESS }).run(inputFor(await metadata('print_config.yaml'), {}, { config: { region: 'us-east-1', api_key: 'k' } }));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.result.stdout).toContain('"region": "us-east-1"');
  });

  it('python and shell-script print_to_stdout_and_stderr stream both streams', async () => {
    const python = inputFor(await metadata('python_runner_print_to_stdout_and_stderr.yaml'), { count: 4, sleep_delay: 0 });
    const pythonOutcome = await new PythonRunner({ process: FAST_PROCESS }).run(python);
    expect(pythonOutcome.status).toBe('succeeded');
    expect(python.output.stdout).toBe('stdout -> Line: 2\nstdout -> Line: 4\n');
    expect(python.output.stderr).toBe('stderr -> Line: 1\nstderr -> Line: 3\n');
    const script = inputFor(await metadata('local_script_runner_print_to_stdout_and_stderr.yaml'), { count: 4, sleep_delay: 0 });
    const scriptOutcome = await new ShellScriptRunner({ process: FAST_PROCESS }).run(script);
    expect(scriptOutcome.status).toBe('succeeded');
    expect(scriptOutcome.result.stdout).toBe('stdout line 2\nstdout line 4');
    expect(scriptOutcome.result.stderr).toBe('stderr line 1\nstderr line 3');
  });

  it('examples.env_reader reads ST2_ACTION_AUTH_TOKEN, which the runner sets from the context token', async () => {
    const outcome = await new ShellScriptRunner({ process: FAST_PROCESS }).run(inputFor(await metadata('env_reader.yaml'), {}, { context: { token: 'tok-123' } }));
    expect(outcome.result.stdout).toBe('tok-123');
  });

  it('examples.local-random-exit (local-shell-cmd): the command runs the script; the status follows the exit code', async () => {
    const action = await metadata('local-random-exit.yaml');
    const script = join(pack, 'actions', 'bash_exit_code', 'bash_exit_code.sh');
    const outcome = await new ShellRunner({ process: FAST_PROCESS }).run(inputFor(action, { cmd: `bash ${script}` }, { entryPoint: null }));
    const code = outcome.result.exit_code!;
    expect(outcome.result.stdout).toBe(`exit code: ${code}`);
    expect(outcome.status).toBe(code === 0 ? 'succeeded' : 'failed');
  });

  it('examples.local_command_runner_print_to_stdout_and_stderr: its rendered cmd runs with bash', async () => {
    const action = await metadata('local_command_runner_print_to_stdout_and_stderr.yaml');
    // The template in the default cmd is rendered before the run; this is its rendering for count 3, sleep_delay 0.
    const cmd = String(action.parameters!.cmd!.default).replace('{{ count }}', '3').replace('{{ sleep_delay }}', '0');
    const outcome = await new ShellRunner({ process: FAST_PROCESS }).run(inputFor(action, { cmd, count: 3, sleep_delay: 0 }, { entryPoint: null }));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.result.stdout).toBe('stdout line 2');
    expect(outcome.result.stderr).toBe('stderr line 1\nstderr line 3');
  });
});
