import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildChildEnvironment } from '../../src/worker/environment.js';
import { truncationMarker } from '../../src/worker/output.js';
import { runProcess, type ProcessSpec } from '../../src/worker/process.js';
import { ShellRunner } from '../../src/worker/runners/shell.js';
import { FAST_PROCESS, processRunning, runnerInput, useTempRoot, waitForFile } from './helpers.js';

const root = useTempRoot('process');

function spec(script: string, overrides: Partial<ProcessSpec> = {}): ProcessSpec & { chunks: string[] } {
  const chunks: string[] = [];
  return {
    command: '/bin/bash',
    args: ['-c', script],
    cwd: root.path,
    env: buildChildEnvironment({ executionId: 1, actionRef: 'tests.a', packRef: 'tests', home: root.path }),
    timeoutSeconds: 30,
    outputCapBytes: 1024 * 1024,
    signal: new AbortController().signal,
    onOutput: (_stream, chunk) => chunks.push(chunk),
    options: FAST_PROCESS,
    ...overrides,
    chunks,
  };
}

describe('the clean environment', () => {
  it('gives the child none of the worker environment: not the database URL, not the encryption key', async () => {
    const saved = { url: process.env.ATTUNE__DATABASE__URL, key: process.env.ATTUNE__SECURITY__ENCRYPTION_KEY };
    process.env.ATTUNE__DATABASE__URL = 'postgres://leak-check@127.0.0.1:1/never';
    process.env.ATTUNE__SECURITY__ENCRYPTION_KEY = 'leak-check-key-material';
    try {
      const input = runnerInput(root.path, {
        parameters: { cmd: 'env' },
        env: { DECLARED_BY_ACTION: 'yes' },
        context: { apiUrl: 'http://127.0.0.1:8080/api/v1', token: 'execution-token' },
      });
      const outcome = await new ShellRunner({ process: FAST_PROCESS }).run(input);
      expect(outcome.status).toBe('succeeded');
      const names = outcome.result.stdout.split('\n').map((line) => line.split('=')[0]);
      expect(outcome.result.stdout.includes('leak-check')).toBe(false);
      expect(names.some((name) => name?.startsWith('ATTUNE__'))).toBe(false);
      expect(names).toEqual(expect.arrayContaining(['PATH', 'HOME', 'LANG', 'DECLARED_BY_ACTION', 'ATTUNE_EXECUTION_ID', 'ATTUNE_ACTION_REF', 'ATTUNE_PACK_REF', 'ATTUNE_API_URL', 'ATTUNE_AUTH_TOKEN', 'ST2_ACTION_API_URL', 'ST2_ACTION_AUTH_TOKEN']));
      expect(outcome.result.stdout).toContain('PATH=/usr/local/bin:/usr/bin:/bin');
      expect(outcome.result.stdout).toContain('LANG=C.UTF-8');
      expect(outcome.result.stdout).toContain(`ATTUNE_EXECUTION_ID=${input.executionId}`);
    } finally {
      if (saved.url === undefined) delete process.env.ATTUNE__DATABASE__URL;
      else process.env.ATTUNE__DATABASE__URL = saved.url;
      if (saved.key === undefined) delete process.env.ATTUNE__SECURITY__ENCRYPTION_KEY;
      else process.env.ATTUNE__SECURITY__ENCRYPTION_KEY = saved.key;
    }
  });

  it('leaves the token variables out when no token is given, and an action cannot declare ATTUNE_ or ST2_ names', () => {
    const env = buildChildEnvironment({ executionId: 7, actionRef: 'a.b', packRef: 'a', home: '/h', declared: { ATTUNE_EXECUTION_ID: '99', ST2_ACTION_AUTH_TOKEN: 'x', PATH: '/opt/bin' } });
    expect(env.ATTUNE_EXECUTION_ID).toBe('7');
    expect('ATTUNE_AUTH_TOKEN' in env).toBe(false);
    expect('ST2_ACTION_AUTH_TOKEN' in env).toBe(false);
    expect(env.PATH).toBe('/opt/bin');
  });

  it('runs in a fresh working directory under the work root, removed afterwards', async () => {
    const input = runnerInput(root.path, { parameters: { cmd: 'pwd; touch left-behind; echo "$HOME"' } });
    const outcome = await new ShellRunner({ process: FAST_PROCESS }).run(input);
    const [cwd, home] = outcome.result.stdout.split('\n');
    expect(cwd?.startsWith(`${root.path}/run-${input.executionId}-`)).toBe(true);
    expect(home).not.toBe(cwd);
    expect((await readdir(root.path)).filter((name) => name.startsWith(`run-${input.executionId}-`))).toEqual([]);
  });
});

describe('process groups', () => {
  const backgroundScript = (pidFile: string) => `sleep 1000 & echo $! > ${pidFile}; sleep 1000`;

  it('a timeout kills the process and the background child it forked', async () => {
    const pidFile = join(root.path, 'timeout.pid');
    // Long enough for bash to have written the pid file on a loaded machine.
    const outcome = await runProcess(spec(backgroundScript(pidFile), { timeoutSeconds: 2.5 }));
    expect(outcome.status).toBe('timeout');
    expect(outcome.error).toContain('2.5 seconds');
    const child = Number(await readFile(pidFile, 'utf8'));
    expect(await processRunning(child)).toBe(false);
    expect(outcome.exitCode).toBeLessThan(0);
  });

  it('a cancel kills the process group and reports canceled', async () => {
    const pidFile = join(root.path, 'cancel.pid');
    const controller = new AbortController();
    const pgids: number[] = [];
    const running = runProcess(spec(backgroundScript(pidFile), { signal: controller.signal, onSpawn: (pgid) => pgids.push(pgid) }));
    const child = Number(await waitForFile(pidFile));
    expect(await processRunning(child)).toBe(true);
    controller.abort();
    const outcome = await running;
    expect(outcome.status).toBe('canceled');
    expect(await processRunning(child)).toBe(false);
    expect(pgids).toEqual([outcome.pgid]);
  });

  it('SIGKILL follows SIGTERM after the grace when the process ignores SIGTERM', async () => {
    // Long enough for bash to have set its trap on a loaded machine (SIGTERM before it would end bash: -15, not -9).
    const outcome = await runProcess(spec("trap '' TERM; echo ready; while true; do sleep 0.05; done", { timeoutSeconds: 2.5 }));
    expect(outcome.status).toBe('timeout');
    expect(outcome.exitCode).toBe(-9);
  });

  it('what a finished process left running in its group is killed', async () => {
    const pidFile = join(root.path, 'finished.pid');
    const outcome = await runProcess(spec(`sleep 1000 & echo $! > ${pidFile}; echo done`));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.stdout).toBe('done');
    expect(await processRunning(Number(await readFile(pidFile, 'utf8')))).toBe(false);
  });

  it('a cancel before the start runs nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const marker = join(root.path, 'never');
    const outcome = await runProcess(spec(`touch ${marker}`, { signal: controller.signal }));
    expect(outcome.status).toBe('canceled');
    expect(await readFile(marker).catch(() => null)).toBeNull();
  });

  it('a command that cannot start fails with the reason', async () => {
    const outcome = await runProcess({ ...spec(''), command: join(root.path, 'no-such-binary'), args: [] });
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toContain('could not start');
    expect(outcome.error).toContain('ENOENT');
  });

  it('reports the exit code of a failure and minus the signal number of a signal', async () => {
    expect((await runProcess(spec('exit 3'))).exitCode).toBe(3);
    const killed = await runProcess(spec('kill -SEGV $$'));
    expect(killed.status).toBe('failed');
    expect(killed.exitCode).toBe(-11);
    expect(killed.error).toContain('SIGSEGV');
  });
});

describe('output', () => {
  it('caps what is delivered at the cap with a marker, keeps the tails, and the process runs to its end', async () => {
    const cap = 1024 * 1024;
    const s = spec(`head -c ${50 * 1024 * 1024} /dev/zero | tr '\\0' 'x'; echo; echo the-end; echo err-end >&2`, { outputCapBytes: cap });
    const heapBefore = process.memoryUsage().heapUsed;
    const outcome = await runProcess(s);
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    expect(outcome.status).toBe('succeeded');
    expect(outcome.outputTruncated).toBe(true);
    const delivered = s.chunks.join('');
    expect(delivered.endsWith(truncationMarker(cap))).toBe(true);
    expect(Buffer.byteLength(delivered) - Buffer.byteLength(truncationMarker(cap))).toBe(cap);
    expect(outcome.stdout.endsWith('the-end')).toBe(true);
    expect(outcome.stdout.length).toBeLessThanOrEqual(64 * 1024);
    expect(outcome.stderr).toBe('err-end');
    expect(outcome.wholeStdout).toBeUndefined();
    // 50 MB went through; what stayed is the cap, the tails and noise, far below it.
    expect(heapGrowth).toBeLessThan(20 * 1024 * 1024);
  });

  it('coalesces many small writes into few deliveries', async () => {
    const s = spec('for i in $(seq 1 2000); do echo "line $i"; done');
    const outcome = await runProcess(s);
    expect(outcome.status).toBe('succeeded');
    expect(s.chunks.join('').split('\n').filter(Boolean)).toHaveLength(2000);
    expect(s.chunks.length).toBeLessThan(200);
  });

  it('keeps multi-byte characters whole across chunk boundaries', async () => {
    const s = spec("for i in $(seq 1 30000); do printf 'é€'; done", { options: { ...FAST_PROCESS, maxChunkBytes: 1001 } });
    const outcome = await runProcess(s);
    expect(s.chunks.join('')).toBe('é€'.repeat(30000));
    expect(outcome.stdout.includes('\uFFFD')).toBe(false);
  });

  it('writes stdin and closes it', async () => {
    const outcome = await runProcess(spec('cat', { stdin: '{"a":1}' }));
    expect(outcome.stdout).toBe('{"a":1}');
  });

  it('a process that never reads a large stdin still finishes', async () => {
    const outcome = await runProcess(spec('echo ok', { stdin: 'x'.repeat(4 * 1024 * 1024) }));
    expect(outcome.status).toBe('succeeded');
  });

  it('collects the result channel (fd 3)', async () => {
    const outcome = await runProcess(spec('echo printed; echo \'{"r":2}\' >&3', { resultChannel: true }));
    expect(outcome.stdout).toBe('printed');
    expect(JSON.parse(outcome.resultChannel!)).toEqual({ r: 2 });
  });
});

it('the background-child script writes its pid where the tests read it', async () => {
  // Guards the tests above: without a pid file they would prove nothing.
  const pidFile = join(root.path, 'guard.pid');
  await writeFile(pidFile, '');
  await runProcess(spec(`sleep 1000 & echo $! > ${pidFile}`));
  expect(Number(await readFile(pidFile, 'utf8'))).toBeGreaterThan(1);
});
