import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShellRunner } from '../../src/worker/runners/shell.js';
import { FAST_PROCESS, processRunning, runnerInput, useTempRoot, waitForFile } from './helpers.js';

const root = useTempRoot('shell');
const runner = new ShellRunner({ process: FAST_PROCESS });

describe('shell runner (local-shell-cmd)', () => {
  it('succeeds with exit code, stdout and stderr, and StackStorm\'s fields beside them', async () => {
    const outcome = await runner.run(runnerInput(root.path, { parameters: { cmd: 'echo hello; echo warn >&2' } }));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.result).toMatchObject({ exit_code: 0, return_code: 0, succeeded: true, failed: false, stdout: 'hello', stderr: 'warn' });
    expect('result' in outcome.result).toBe(false);
  });

  it('fails with the exit code', async () => {
    const outcome = await runner.run(runnerInput(root.path, { parameters: { cmd: '>&2 echo broken; exit 4' } }));
    expect(outcome.status).toBe('failed');
    expect(outcome.result).toMatchObject({ exit_code: 4, failed: true, stderr: 'broken' });
    expect(outcome.error).toContain('code 4');
  });

  it('times out by the smaller of the execution timeout and the timeout parameter', async () => {
    const outcome = await runner.run(runnerInput(root.path, { parameters: { cmd: 'sleep 1000', timeout: 1 }, timeoutSeconds: 600 }));
    expect(outcome.status).toBe('timeout');
    expect(outcome.error).toContain('1 seconds');
  });

  it('is canceled through the signal, its background child with it', async () => {
    const pidFile = join(root.path, 'shell-cancel.pid');
    const input = runnerInput(root.path, { parameters: { cmd: `sleep 1000 & echo $! > ${pidFile}; wait` } });
    const running = runner.run(input);
    const child = Number(await waitForFile(pidFile));
    input.controller.abort();
    const outcome = await running;
    expect(outcome.status).toBe('canceled');
    expect(await processRunning(child)).toBe(false);
    expect(input.pgids).toHaveLength(1);
    expect(outcome.pgid).toBe(input.pgids[0]);
  });

  it('exports the action parameters as environment variables, named as declared, but not the runner\'s', async () => {
    const outcome = await runner.run(
      runnerInput(root.path, {
        parameters: { cmd: 'echo "$message|$count|$tags|${cwd-unset}|${PATH}"', message: 'hi there', count: 3, tags: ['a', 'b'], PATH: '/evil' },
      }),
    );
    expect(outcome.result.stdout).toBe('hi there|3|["a","b"]|unset|/usr/local/bin:/usr/bin:/bin');
  });

  it('parses stdout that is one JSON document into result', async () => {
    const outcome = await runner.run(runnerInput(root.path, { parameters: { cmd: 'echo \'{"a": [1, 2]}\'' } }));
    expect(outcome.result.result).toEqual({ a: [1, 2] });
    expect(outcome.result.stdout).toBe('{"a": [1, 2]}');
  });

  it('with output_format json, stdout that is not JSON fails the run', async () => {
    const outcome = await runner.run(runnerInput(root.path, { parameters: { cmd: 'echo plain' }, outputFormat: 'json' }));
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toContain('not one JSON document');
  });

  it('refuses sudo with a clear error and runs nothing', async () => {
    const marker = join(root.path, 'sudo-ran');
    const outcome = await runner.run(runnerInput(root.path, { parameters: { cmd: `touch ${marker}`, sudo: true } }));
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toContain('sudo is not supported');
    expect(await readFile(marker).catch(() => null)).toBeNull();
  });

  it('honours cwd and refuses one that does not exist', async () => {
    const folder = join(root.path, 'chosen');
    await mkdir(folder);
    await writeFile(join(folder, 'here.txt'), 'x');
    const ok = await runner.run(runnerInput(root.path, { parameters: { cmd: 'ls', cwd: folder } }));
    expect(ok.result.stdout).toBe('here.txt');
    const missing = await runner.run(runnerInput(root.path, { parameters: { cmd: 'ls', cwd: join(root.path, 'nope') } }));
    expect(missing.status).toBe('failed');
    expect(missing.error).toContain('is not an existing folder');
  });

  it('passes the env parameter and the declared env to the process', async () => {
    const outcome = await runner.run(runnerInput(root.path, { parameters: { cmd: 'echo "$FROM_PARAM $FROM_INPUT"', env: { FROM_PARAM: 'p' } }, env: { FROM_INPUT: 'i' } }));
    expect(outcome.result.stdout).toBe('p i');
  });

  it('refuses an empty cmd', async () => {
    const outcome = await runner.run(runnerInput(root.path, { parameters: { cmd: ' ' } }));
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toBe('cmd must be a non-empty string');
  });
});
