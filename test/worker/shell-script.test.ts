import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { positionalArgument, pythonRepr, scriptArguments } from '../../src/worker/runners/script-arguments.js';
import { ShellScriptRunner } from '../../src/worker/runners/shell-script.js';
import { EXAMPLES_PACK, FAST_PROCESS, runnerInput, useTempRoot, waitForFile } from './helpers.js';

const root = useTempRoot('shell-script');
const runner = new ShellScriptRunner({ process: FAST_PROCESS });
let pack = '';

beforeAll(async () => {
  pack = join(root.path, 'pack');
  await mkdir(join(pack, 'actions'), { recursive: true });
  // Prints each argument on its own line between brackets, then stdin.
  await writeFile(join(pack, 'actions', 'args.sh'), '#!/usr/bin/env bash\nfor a in "$@"; do echo "[$a]"; done\necho "stdin:$(cat)"\n');
  await writeFile(join(pack, 'actions', 'noshebang.sh'), 'echo "bash:${BASH_VERSION:+yes}"\n');
  await writeFile(join(pack, 'actions', 'python.py'), '#!/usr/bin/env python3\nimport sys\nprint("py", sys.argv[1:])\n');
  await writeFile(join(pack, 'actions', 'slow.sh'), '#!/bin/bash\necho started > "$1"\nsleep 1000\n');
});

describe("StackStorm's argument rules", () => {
  const schema = {
    properties: {
      first: { type: 'string', position: 0 },
      flag: { type: 'boolean', position: 1 },
      list: { type: 'array', position: 2 },
      obj: { type: 'object', position: 3 },
      missing: { type: 'string', position: 4 },
      named: { type: 'string' },
      on: { type: 'boolean' },
      off: { type: 'boolean' },
      empty: { type: 'string' },
      nothing: { type: 'string' },
      items: { type: 'array' },
      map: { type: 'object' },
      number: { type: 'integer' },
    },
  };

  it('puts named arguments first, then positional ones in position order, each formatted by type', () => {
    const args = scriptArguments(
      { first: 'a b', flag: true, list: ['x', 1, true], obj: { k: 'v' }, named: 'n', on: true, off: false, empty: '', nothing: null, items: ["it's", 2], map: { a: null }, number: 0 },
      schema,
      '--',
    );
    expect(args).toEqual(['--named=n', '--on', `--items=["it's", 2]`, "--map={'a': None}", '--number=0', 'a b', '1', 'x,1,True', '{"k":"v"}', '']);
  });

  it('uses kwarg_op as the prefix', () => {
    expect(scriptArguments({ named: 'v' }, schema, '-')).toEqual(['-named=v', '', '', '', '', '']);
  });

  it('formats positional values as StackStorm does', () => {
    expect(positionalArgument('boolean', false)).toBe('0');
    expect(positionalArgument('boolean', null)).toBe('');
    expect(positionalArgument('array', [])).toBe('');
    expect(positionalArgument('object', {})).toBe('');
    expect(positionalArgument('number', 1.5)).toBe('1.5');
    expect(positionalArgument('integer', 0)).toBe('0');
    expect(positionalArgument(undefined, 'x')).toBe('x');
  });

  it("writes Python's repr of nested values", () => {
    expect(pythonRepr({ a: [1, 'x\n', null, false], 'b"': "it's" })).toBe(`{'a': [1, 'x\\n', None, False], 'b"': "it's"}`);
  });
});

describe('shell-script runner (local-shell-script)', () => {
  it('runs the script with its shebang, arguments as argv elements, and the parameters as JSON on stdin', async () => {
    const outcome = await runner.run(
      runnerInput(root.path, {
        runnerType: 'local-shell-script',
        packDir: pack,
        entryPoint: 'args.sh',
        parameters: { who: 'x; rm -rf /', count: 2, timeout: 60, kwarg_op: '--', cwd: null },
        parameterSchema: { properties: { who: { type: 'string', position: 0 }, count: { type: 'integer' } } },
      }),
    );
    expect(outcome.status).toBe('succeeded');
    expect(outcome.result.stdout).toBe('[--count=2]\n[x; rm -rf /]\nstdin:{"who":"x; rm -rf /","count":2}');
  });

  it('runs a script without a shebang with bash, and honours a python shebang', async () => {
    const bash = await runner.run(runnerInput(root.path, { runnerType: 'shell-script', packDir: pack, entryPoint: 'noshebang.sh' }));
    expect(bash.result.stdout).toBe('bash:yes');
    const python = await runner.run(runnerInput(root.path, { runnerType: 'shell-script', packDir: pack, entryPoint: 'python.py', parameters: { a: 1 } }));
    expect(python.result.stdout).toBe("py ['--a=1']");
  });

  it('runs examples.greet from the examples pack (positional name and greeting)', async () => {
    const outcome = await runner.run(
      runnerInput(root.path, {
        runnerType: 'shell-script',
        packDir: EXAMPLES_PACK,
        entryPoint: 'greet.sh',
        parameters: { name: 'Ada', greeting: 'Howdy' },
        parameterSchema: { properties: { name: { type: 'string', position: 0 }, greeting: { type: 'string', position: 1 } } },
      }),
    );
    expect(outcome.status).toBe('succeeded');
    expect(outcome.result.stdout).toBe('Howdy, Ada!');
  });

  it('fails with the exit code of a failing script (examples.greet without a name)', async () => {
    const outcome = await runner.run(
      runnerInput(root.path, {
        runnerType: 'shell-script',
        packDir: EXAMPLES_PACK,
        entryPoint: 'greet.sh',
        parameters: {},
        parameterSchema: { properties: { name: { type: 'string', position: 0 } } },
      }),
    );
    expect(outcome.status).toBe('failed');
    expect(outcome.result.exit_code).not.toBe(0);
    expect(outcome.result.stderr).toContain('usage: greet.sh');
  });

  it('times out and is canceled', async () => {
    const schema = { properties: { marker: { type: 'string', position: 0 } } };
    const timedOut = await runner.run(
      runnerInput(root.path, { runnerType: 'shell-script', packDir: pack, entryPoint: 'slow.sh', parameters: { marker: join(root.path, 'slow-1') }, parameterSchema: schema, timeoutSeconds: 0.5 }),
    );
    expect(timedOut.status).toBe('timeout');
    const marker = join(root.path, 'slow-2');
    const input = runnerInput(root.path, { runnerType: 'shell-script', packDir: pack, entryPoint: 'slow.sh', parameters: { marker }, parameterSchema: schema });
    const running = runner.run(input);
    await waitForFile(marker);
    input.controller.abort();
    expect((await running).status).toBe('canceled');
  });

  it('refuses an entry point that is missing or leads outside the pack', async () => {
    const missing = await runner.run(runnerInput(root.path, { runnerType: 'shell-script', packDir: pack, entryPoint: 'nope.sh' }));
    expect(missing.status).toBe('failed');
    expect(missing.error).toContain('does not exist');
    const escaping = await runner.run(runnerInput(root.path, { runnerType: 'shell-script', packDir: pack, entryPoint: '../../pack/actions/../../../etc/passwd' }));
    expect(escaping.status).toBe('failed');
    expect(escaping.error).toMatch(/outside the pack|does not exist/);
  });
});
