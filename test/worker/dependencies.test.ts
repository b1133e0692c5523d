import { execFileSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isAttuneError } from '../../src/errors.js';
import { DependencyInstallError, ensureNodeModules, ensurePythonEnvironment, readRequirements } from '../../src/worker/dependencies.js';
import { NodeRunner } from '../../src/worker/runners/node.js';
import { PythonRunner } from '../../src/worker/runners/python.js';
import { FAST_PROCESS, runnerInput, useTempRoot } from './helpers.js';

const root = useTempRoot('deps');
let closedPort = 0;

/** A port nothing listens on: connections to it are refused at once (no network needed). */
async function findClosedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A minimal pure-Python wheel, written with python's zipfile: a local dependency that needs no index. */
function buildWheel(folder: string): string {
  const wheel = join(folder, 'attune_testdep-1.0-py3-none-any.whl');
  const script = `
import sys, zipfile
files = {
  "attune_testdep/__init__.py": "def shout(text):\\n    return text.upper() + '!'\\n",
  "attune_testdep-1.0.dist-info/METADATA": "Metadata-Version: 2.1\\nName: attune-testdep\\nVersion: 1.0\\n",
  "attune_testdep-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: attune-tests\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
files["attune_testdep-1.0.dist-info/RECORD"] = "".join(name + ",,\\n" for name in files) + "attune_testdep-1.0.dist-info/RECORD,,\\n"
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for name, text in files.items():
        z.writestr(name, text)
`;
  execFileSync('python3', ['-c', script, wheel]);
  return wheel;
}

beforeAll(async () => {
  closedPort = await findClosedPort();
});

describe('Python environments', () => {
  let pack = '';
  beforeAll(async () => {
    pack = join(root.path, 'pypack');
    await mkdir(join(pack, 'actions'), { recursive: true });
    await mkdir(join(pack, 'wheels'));
    buildWheel(join(pack, 'wheels'));
    await writeFile(join(pack, 'requirements.txt'), '# a local wheel\n./wheels/attune_testdep-1.0-py3-none-any.whl\n');
    await writeFile(
      join(pack, 'actions', 'shout.py'),
      'import sys\nfrom attune_testdep import shout\nfrom st2common.runners.base_action import Action\n\nclass S(Action):\n    def run(self, text):\n        return {"shout": shout(text), "python": sys.executable}\n',
    );
  });

  it('installs a local requirement into a venv per pack version on first use, and the python runner uses it', { timeout: 120_000 }, async () => {
    const envRoot = join(root.path, 'envs');
    const runner = new PythonRunner({ process: FAST_PROCESS, environmentRoot: envRoot, install: { offline: true } });
    const outcome = await runner.run(runnerInput(root.path, { runnerType: 'python', packDir: pack, entryPoint: 'shout.py', parameters: { text: 'hi' } }));
    expect(outcome.error).toBeUndefined();
    expect(outcome.status).toBe('succeeded');
    const result = outcome.result.result as { shout: string; python: string };
    expect(result.shout).toBe('HI!');
    expect(result.python.startsWith(join(envRoot, 'python'))).toBe(true);

    // Reused afterwards (and by concurrent callers): still one environment.
    const again = await Promise.all([1, 2].map(() => ensurePythonEnvironment(pack, envRoot, ['./wheels/attune_testdep-1.0-py3-none-any.whl'], { offline: true })));
    expect(again[0]).toEqual(again[1]);
    expect(again[0]!.python).toBe(result.python);
    expect(await readdir(join(envRoot, 'python'))).toHaveLength(1);
  });

  it('a requirement that needs an unreachable index fails clearly, naming it, and leaves no environment', { timeout: 120_000 }, async () => {
    const envRoot = join(root.path, 'envs-unreachable');
    const error = await ensurePythonEnvironment(pack, envRoot, ['definitely-not-local-pkg==1.0'], { indexUrl: `http://127.0.0.1:${closedPort}/simple` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyInstallError);
    expect(isAttuneError(error, 'ATTUNE_DEPENDENCY_INSTALL')).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('installing the Python requirements failed: definitely-not-local-pkg==1.0');
    expect(message.split('\n').length).toBeGreaterThan(1);
    expect((await readdir(join(envRoot, 'python'))).filter((name) => !name.endsWith('.lock'))).toEqual([]);
  });

  it('reads requirements.txt without comments and blank lines', async () => {
    expect(await readRequirements(pack)).toEqual(['./wheels/attune_testdep-1.0-py3-none-any.whl']);
    expect(await readRequirements(join(root.path, 'nowhere'))).toEqual([]);
  });
});

describe('Node modules', () => {
  let pack = '';
  beforeAll(async () => {
    pack = join(root.path, 'nodepack');
    await mkdir(join(pack, 'actions'), { recursive: true });
    await mkdir(join(pack, 'vendor', 'pad'), { recursive: true });
    await writeFile(join(pack, 'vendor', 'pad', 'package.json'), JSON.stringify({ name: 'attune-test-pad', version: '1.0.0', main: 'index.js' }));
    await writeFile(join(pack, 'vendor', 'pad', 'index.js'), "module.exports = (s, n) => s.padStart(n, '*');\n");
    await writeFile(join(pack, 'package.json'), JSON.stringify({ name: 'nodepack', dependencies: { 'attune-test-pad': 'file:./vendor/pad' } }));
    await writeFile(join(pack, 'actions', 'pad.js'), "const pad = require('attune-test-pad');\nconsole.log(JSON.stringify({ padded: pad('x', 4) }));\n");
  });

  it('installs a local file: dependency into node_modules per pack version, found through NODE_PATH', { timeout: 120_000 }, async () => {
    const envRoot = join(root.path, 'node-envs');
    const runner = new NodeRunner({ process: FAST_PROCESS, environmentRoot: envRoot, install: { offline: true } });
    const outcome = await runner.run(runnerInput(root.path, { runnerType: 'node', packDir: pack, entryPoint: 'pad.js' }));
    expect(outcome.error).toBeUndefined();
    expect(outcome.result.result).toEqual({ padded: '***x' });
    expect(await readdir(join(envRoot, 'node'))).toHaveLength(1);
  });

  it('a dependency that needs an unreachable registry fails clearly, naming it', { timeout: 120_000 }, async () => {
    const envRoot = join(root.path, 'node-envs-unreachable');
    const error = await ensureNodeModules(pack, envRoot, { 'some-remote-package': '^1.0.0' }, { registry: `http://127.0.0.1:${closedPort}/` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyInstallError);
    expect((error as Error).message).toContain('installing the Node dependencies failed: some-remote-package@^1.0.0');
  });

  it('the node runner reports an installation failure as a failed run', { timeout: 120_000 }, async () => {
    const broken = join(root.path, 'brokenpack');
    await mkdir(join(broken, 'actions'), { recursive: true });
    await writeFile(join(broken, 'package.json'), JSON.stringify({ dependencies: { 'some-remote-package': '^1.0.0' } }));
    await writeFile(join(broken, 'actions', 'a.js'), 'console.log(1)\n');
    const runner = new NodeRunner({ process: FAST_PROCESS, environmentRoot: join(root.path, 'node-envs-broken'), install: { registry: `http://127.0.0.1:${closedPort}/` } });
    const outcome = await runner.run(runnerInput(root.path, { runnerType: 'node', packDir: broken, entryPoint: 'a.js' }));
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toContain('some-remote-package');
  });
});
