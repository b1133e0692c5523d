import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRunners, runnerFor } from '../../src/worker/runners/index.js';
import { NodeRunner } from '../../src/worker/runners/node.js';
import { NoopRunner } from '../../src/worker/runners/noop.js';
import { FAST_PROCESS, runnerInput, useTempRoot, waitForFile } from './helpers.js';

const root = useTempRoot('node');
const runner = new NodeRunner({ process: FAST_PROCESS });
let pack = '';

beforeAll(async () => {
  pack = join(root.path, 'pack');
  await mkdir(join(pack, 'actions'), { recursive: true });
  const files: Record<string, string> = {
    'sum.js': "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const p=JSON.parse(s);console.log(JSON.stringify({sum:p.a+p.b}));});\n",
    'fail.js': "console.error('node failure');process.exit(5);\n",
    'wait.js': "require('fs').writeFileSync(process.argv[2] ?? JSON.parse(require('fs').readFileSync(0,'utf8')).marker,'started');setInterval(()=>{},1000);\n",
  };
  for (const [name, source] of Object.entries(files)) await writeFile(join(pack, 'actions', name), source);
});

describe('node runner', () => {
  it('gives the parameters as JSON on stdin and parses JSON stdout into result', async () => {
    const outcome = await runner.run(runnerInput(root.path, { runnerType: 'node', packDir: pack, entryPoint: 'sum.js', parameters: { a: 2, b: 3, timeout: 600 } }));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.result.result).toEqual({ sum: 5 });
  });

  it('fails with the exit code', async () => {
    const outcome = await runner.run(runnerInput(root.path, { runnerType: 'node', packDir: pack, entryPoint: 'fail.js' }));
    expect(outcome.status).toBe('failed');
    expect(outcome.result).toMatchObject({ exit_code: 5, stderr: 'node failure' });
  });

  it('times out and is canceled', async () => {
    const timedOut = await runner.run(runnerInput(root.path, { runnerType: 'node', packDir: pack, entryPoint: 'wait.js', parameters: { marker: join(root.path, 'n1') }, timeoutSeconds: 1 }));
    expect(timedOut.status).toBe('timeout');
    const marker = join(root.path, 'n2');
    const input = runnerInput(root.path, { runnerType: 'node', packDir: pack, entryPoint: 'wait.js', parameters: { marker } });
    const running = runner.run(input);
    await waitForFile(marker);
    input.controller.abort();
    expect((await running).status).toBe('canceled');
  });
});

describe('noop runner and the registry', () => {
  it('noop succeeds at once with an empty result, or reports a cancel that came first', async () => {
    expect(await new NoopRunner().run(runnerInput(root.path, { runnerType: 'noop' }))).toEqual({ status: 'succeeded', result: { stdout: '', stderr: '' } });
    const input = runnerInput(root.path, { runnerType: 'noop' });
    input.controller.abort();
    expect((await new NoopRunner().run(input)).status).toBe('canceled');
  });

  it('finds runners by Attune name and StackStorm alias; none for database runners or unknown names', () => {
    const registry = createRunners();
    expect(runnerFor(registry, 'local-shell-cmd')?.name).toBe('shell');
    expect(runnerFor(registry, 'local-shell-script')?.name).toBe('shell-script');
    expect(runnerFor(registry, 'python-script')?.name).toBe('python');
    expect(runnerFor(registry, 'http-request')?.name).toBe('http');
    expect(runnerFor(registry, 'node')?.name).toBe('node');
    expect(runnerFor(registry, 'noop')?.name).toBe('noop');
    expect(runnerFor(registry, 'inquiry')).toBeUndefined();
    expect(runnerFor(registry, 'no-such-runner')).toBeUndefined();
  });
});
