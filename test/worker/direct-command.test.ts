import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { directCommand } from '../../src/worker/runners/direct-command.js';
import { ShellRunner } from '../../src/worker/runners/shell.js';
import { FAST_PROCESS, runnerInput, useTempRoot } from './helpers.js';

const root = useTempRoot('direct');
const runner = new ShellRunner({ process: FAST_PROCESS });
const PATH = '/usr/local/bin:/usr/bin:/bin';

describe('direct commands: plain words run without bash', () => {
  it('runs a program named by plain words directly, with argv[0] as written and bash\'s variables', async () => {
    const direct = await directCommand('  ls -la /tmp  ', PATH, '/srv/work', {});
    expect(direct).toBeDefined();
    expect(direct!.file).toMatch(/\/ls$/);
    expect(direct!.args).toEqual(['-la', '/tmp']);
    expect(direct!.argv0).toBe('ls');
    expect(direct!.variables).toEqual({ PWD: '/srv/work', SHLVL: '0', _: direct!.file });
    expect((await directCommand('/bin/ls', PATH, '/w', {}))?.file).toBe('/bin/ls');
    expect(await directCommand('true', PATH, '/w', {})).toBeDefined();
  });

  it('leaves to bash anything with shell syntax, builtins, reserved words, assignments and unknown programs', async () => {
    const bashOnly = [
      'ls; ls', 'ls | wc', 'ls > out', 'ls && ls', 'ls &', 'echo $HOME', 'ls *', 'ls ~', 'ls "a b"', "ls 'a'", 'ls a\\ b',
      'ls `pwd`', 'ls $(pwd)', 'ls {a,b}', 'ls # comment', 'ls\nls', 'A=1 ls', 'cd /tmp', 'exit 3', 'echo hi', 'true --help',
      'false x', 'time ls', 'if', '[ -e /tmp ]', 'kill 1', 'pwd', 'source x', 'no-such-program-anywhere', './local-script',
      'relative/script', 'ls é',
    ];
    for (const cmd of bashOnly) expect(await directCommand(cmd, PATH, '/w', {}), cmd).toBeUndefined();
  });

  it('leaves to bash a PATH with a relative or empty entry, and variables that change how bash starts', async () => {
    expect(await directCommand('ls', `:${PATH}`, '/w', {})).toBeUndefined();
    expect(await directCommand('ls', `bin:${PATH}`, '/w', {})).toBeUndefined();
    for (const name of ['BASH_ENV', 'ENV', 'SHLVL', 'PWD', 'SHELLOPTS', 'BASH_FUNC_ls%%']) {
      expect(await directCommand('ls', PATH, '/w', { [name]: 'x' }), name).toBeUndefined();
    }
  });

  it('finds programs as bash does: first executable regular file on PATH, skipping folders and non-executables', async () => {
    const first = join(root.path, 'first');
    const second = join(root.path, 'second');
    await mkdir(join(first, 'tool'), { recursive: true }); // a folder named like the program
    await mkdir(second, { recursive: true });
    await writeFile(join(first, 'other'), '#!/bin/sh\n'); // not executable
    await writeFile(join(second, 'tool'), '#!/bin/sh\necho tool\n');
    await writeFile(join(second, 'other'), '#!/bin/sh\necho other\n');
    await chmod(join(second, 'tool'), 0o755);
    await chmod(join(second, 'other'), 0o755);
    expect((await directCommand('tool', `${first}:${second}`, '/w', {}))?.file).toBe(join(second, 'tool'));
    expect((await directCommand('other', `${first}:${second}`, '/w', {}))?.file).toBe(join(second, 'other'));
  });

  /** Runs `cmd` through the shell runner and returns what an action sees, with the run folder's path made neutral. */
  const run = async (cmd: string) => {
    const outcome = await runner.run(runnerInput(root.path, { parameters: { cmd } }));
    const neutral = (text: string) => text.replace(/\/run-\d+-[^/\s]+/g, '/RUN');
    return { status: outcome.status, exit: outcome.result.exit_code, stdout: neutral(outcome.result.stdout), stderr: neutral(outcome.result.stderr) };
  };

  it('gives an action the same environment, argv, output and exit code as bash does', async () => {
    // Quoting the program's name makes the same command shell syntax: bash runs it (and execs the program itself).
    const pairs: [direct: string, viaBash: string][] = [
      ['env', "'env'"],
      ['cat /proc/self/cmdline', "'cat' /proc/self/cmdline"],
      ['ls /no/such/folder', "'ls' /no/such/folder"],
      ['false', "'false'"],
      ['true', "'true'"],
    ];
    for (const [direct, viaBash] of pairs) {
      expect(await directCommand(direct, PATH, '/w', {}), direct).toBeDefined();
      expect(await directCommand(viaBash, PATH, '/w', {}), viaBash).toBeUndefined();
      const [a, b] = [await run(direct), await run(viaBash)];
      const sorted = (text: string) => text.split('\n').filter((line) => !/^ATTUNE_EXECUTION_ID=|^ST2_ACTION_EXECUTION_ID=/.test(line)).sort().join('\n');
      expect({ ...a, stdout: sorted(a.stdout) }, direct).toEqual({ ...b, stdout: sorted(b.stdout) });
    }
    const env = await run('env');
    expect(env.stdout).toMatch(/^PWD=.*\/RUN\/work$/m);
    expect(env.stdout).toMatch(/^SHLVL=0$/m);
    expect(env.stdout).toMatch(/^_=.*\/env$/m);
  });
});
