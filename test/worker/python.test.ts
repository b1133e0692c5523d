import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PythonRunner } from '../../src/worker/runners/python.js';
import { CORE_PACK, EXAMPLES_PACK, FAST_PROCESS, runnerInput, useTempRoot, waitForFile } from './helpers.js';

const root = useTempRoot('python');
const runner = new PythonRunner({ process: FAST_PROCESS });
let pack = '';

const ACTIONS: Record<string, string> = {
  'tuple_ok.py': 'from st2common.runners.base_action import Action\n\nclass T(Action):\n    def run(self, n):\n        return (True, {"double": n * 2})\n',
  'tuple_fail.py': 'from st2common.runners.base_action import Action\n\nclass T(Action):\n    def run(self):\n        print("about to fail")\n        return (False, "went wrong")\n',
  'tuple_bad_status.py': 'from st2common.runners.base_action import Action\n\nclass T(Action):\n    def run(self):\n        return ("yes", 1)\n',
  'raises.py': 'from st2common.runners.base_action import Action\n\nclass T(Action):\n    def run(self):\n        raise ValueError("no good value")\n',
  'prints.py':
    'import sys\nfrom st2common.runners.base_action import Action\n\nclass T(Action):\n    def run(self):\n        print("to stdout")\n        sys.stderr.write("to stderr\\n")\n        self.logger.info("logged")\n        return "the result"\n',
  'config.py': 'from st2common.runners.base_action import Action\n\nclass T(Action):\n    def run(self):\n        return self.config\n',
  'not_json.py': 'from st2common.runners.base_action import Action\n\nclass T(Action):\n    def run(self):\n        return {1, 2}\n',
  'sleeper.py':
    'import time\nfrom st2common.runners.base_action import Action\n\nclass T(Action):\n    def run(self, marker):\n        open(marker, "w").write("started")\n        time.sleep(1000)\n',
  'plain.py': 'import json, sys\nparams = json.load(sys.stdin)\nprint(json.dumps({"got": params}))\n',
  'plain_fail.py': 'import sys\nsys.stderr.write("plain failure\\n")\nsys.exit(3)\n',
  'datastore.py': 'from st2common.runners.base_action import Action\n\nclass T(Action):\n    def run(self):\n        return self.action_service.get_value("k")\n',
};

beforeAll(async () => {
  pack = join(root.path, 'pack');
  await mkdir(join(pack, 'actions'), { recursive: true });
  for (const [name, source] of Object.entries(ACTIONS)) await writeFile(join(pack, 'actions', name), source);
});

function input(entryPoint: string, parameters: Record<string, unknown> = {}, overrides = {}) {
  return runnerInput(root.path, { runnerType: 'python-script', packDir: pack, packRef: 'tests', entryPoint, parameters, ...overrides });
}

describe('python runner: StackStorm Action classes', () => {
  it('runs examples.word_count (an Action importing st2common) with its parameters as keyword arguments', async () => {
    const outcome = await runner.run(
      runnerInput(root.path, { runnerType: 'python', packDir: EXAMPLES_PACK, packRef: 'examples', entryPoint: 'word_count.py', parameters: { text: 'one two\nthree', timeout: 600, log_level: 'DEBUG' } }),
    );
    expect(outcome.status).toBe('succeeded');
    expect(outcome.result.result).toEqual({ lines: 2, words: 3, characters: 13 });
    expect(outcome.result.exit_code).toBe(0);
  });

  it('a (True, result) tuple succeeds with the result', async () => {
    const outcome = await runner.run(input('tuple_ok.py', { n: 21 }));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.result.result).toEqual({ double: 42 });
  });

  it('a (False, result) tuple fails and keeps the result and the printed output', async () => {
    const outcome = await runner.run(input('tuple_fail.py'));
    expect(outcome.status).toBe('failed');
    expect(outcome.result.result).toBe('went wrong');
    expect(outcome.result.stdout).toBe('about to fail');
  });

  it('a two-item tuple whose status is not a boolean fails with an explanation', async () => {
    const outcome = await runner.run(input('tuple_bad_status.py'));
    expect(outcome.status).toBe('failed');
    expect(outcome.result.stderr).toContain('must be True or False');
  });

  it('an exception fails the run with the traceback on stderr and the exception as the error', async () => {
    const outcome = await runner.run(input('raises.py'));
    expect(outcome.status).toBe('failed');
    expect(outcome.result.stderr).toContain('Traceback');
    expect(outcome.error).toBe('ValueError: no good value');
  });

  it('prints go to stdout and stderr, the logger to stderr, and never corrupt the result', async () => {
    const collected = input('prints.py');
    const outcome = await runner.run(collected);
    expect(outcome.status).toBe('succeeded');
    expect(outcome.result.result).toBe('the result');
    expect(outcome.result.stdout).toBe('to stdout');
    expect(outcome.result.stderr).toContain('to stderr');
    expect(outcome.result.stderr).toContain('INFO actions.T: logged');
    expect(collected.output.stdout).toBe('to stdout\n');
  });

  it('gives the action the pack config as self.config', async () => {
    const outcome = await runner.run(input('config.py', {}, { config: { region: 'eu', nested: { a: 1 } } }));
    expect(outcome.result.result).toEqual({ region: 'eu', nested: { a: 1 } });
    expect((await runner.run(input('config.py'))).result.result).toEqual({});
  });

  it('a result JSON cannot express is kept as its text', async () => {
    const outcome = await runner.run(input('not_json.py'));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.result.result).toBe('{1, 2}');
  });

  it('the datastore methods of action_service say they are not available', async () => {
    const outcome = await runner.run(input('datastore.py'));
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toContain('action_service.get_value is not available in Attune');
  });

  it('times out and is canceled', async () => {
    const timedOut = await runner.run(input('sleeper.py', { marker: join(root.path, 'py-1') }, { timeoutSeconds: 1 }));
    expect(timedOut.status).toBe('timeout');
    const marker = join(root.path, 'py-2');
    const collected = input('sleeper.py', { marker });
    const running = runner.run(collected);
    await waitForFile(marker);
    collected.controller.abort();
    expect((await running).status).toBe('canceled');
  });
});

describe('python runner: plain scripts', () => {
  it('get the parameters as JSON on stdin, and stdout that is JSON is the result', async () => {
    const outcome = await runner.run(input('plain.py', { a: 1, b: [true] }));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.result.result).toEqual({ got: { a: 1, b: [true] } });
  });

  it('runs core.uuid (a plain script reading stdin)', async () => {
    const outcome = await runner.run(runnerInput(root.path, { runnerType: 'python', packDir: CORE_PACK, packRef: 'core', entryPoint: 'generate_uuid.py', parameters: { uuid_type: 'uuid4' } }));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.result.stdout).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('fail with their exit code', async () => {
    const outcome = await runner.run(input('plain_fail.py'));
    expect(outcome.status).toBe('failed');
    expect(outcome.result.exit_code).toBe(3);
    expect(outcome.result.stderr).toBe('plain failure');
  });
});
