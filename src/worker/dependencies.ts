/**
 * Python and Node dependencies of a pack version, installed on first use
 * into an environment of their own (a venv; a folder holding node_modules)
 * under an environment root, and reused afterwards. The environment is keyed
 * by the pack folder (one per pack version, as packs are materialised by
 * content) and the requirements, so a changed requirement gets a new one.
 * Installation is safe across processes (a lock file holding the installer's
 * pid; a dead holder's lock is taken over) and within one (a shared promise).
 * A failed installation is a `DependencyInstallError` naming what failed and
 * ending with the installer's last lines; it leaves no half environment.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AttuneError, ErrorCode } from '../errors.js';
import { DEFAULT_LANG, DEFAULT_SAFE_PATH } from './environment.js';

/** A pack's dependencies could not be installed; the message names them and ends with the installer's last lines. */
export class DependencyInstallError extends AttuneError {
  constructor(message: string, context: { field?: string; value?: unknown } = {}) {
    super(ErrorCode.DEPENDENCY_INSTALL, message, { entity: 'pack', ...context });
  }
}

/** Options shared by both installers. */
export interface InstallOptions {
  /** PATH for the installer (python3, npm); default `/usr/local/bin:/usr/bin:/bin`. */
  path?: string;
  /** Milliseconds an installation may take (and a waiter may wait for another's); default 10 minutes. */
  timeoutMs?: number;
  /** Install from local paths and wheels only: pip `--no-index`, npm `--offline`. */
  offline?: boolean;
  /** Lines of the installer's output quoted in an error; default 15. */
  errorLines?: number;
}

export interface PythonEnvironmentOptions extends InstallOptions {
  /** The interpreter the venv is made from; default `python3` on `path`. */
  python?: string;
  /** pip's `--index-url`; default pip's own. */
  indexUrl?: string;
}

export interface NodeModulesOptions extends InstallOptions {
  /** The npm command; default `npm` on `path`. */
  npm?: string;
  /** npm's `--registry`; default npm's own. */
  registry?: string;
}

export interface PythonEnvironment {
  /** The venv's folder. */
  root: string;
  /** Its interpreter, to run the pack's actions with. */
  python: string;
}

export interface NodeModules {
  root: string;
  /** The node_modules folder, for NODE_PATH. */
  nodeModules: string;
}

const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;
const READY_MARKER = '.attune-ready';

/** The requirements of a pack's requirements.txt (comments and blank lines dropped); [] without one. */
export async function readRequirements(packDir: string): Promise<string[]> {
  const text = await readFile(join(packDir, 'requirements.txt'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter((line) => line !== '');
}

/** The `dependencies` of a pack's package.json; {} without one. */
export async function readNodeDependencies(packDir: string): Promise<Record<string, string>> {
  const text = await readFile(join(packDir, 'package.json'), 'utf8').catch(() => '');
  if (text === '') return {};
  try {
    const parsed = JSON.parse(text) as { dependencies?: unknown };
    const dependencies = parsed.dependencies;
    if (dependencies === null || typeof dependencies !== 'object' || Array.isArray(dependencies)) return {};
    return Object.fromEntries(Object.entries(dependencies).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  } catch {
    throw new DependencyInstallError(`package.json of the pack in ${packDir} is not valid JSON`, { field: 'package.json' });
  }
}

const inProcess = new Map<string, Promise<unknown>>();

/**
 * The pack's venv with its requirements installed, made on first use.
 * Relative paths in requirements (a wheel, a folder) are relative to the pack folder.
 */
export async function ensurePythonEnvironment(
  packDir: string,
  envRoot: string,
  requirements: readonly string[],
  options: PythonEnvironmentOptions = {},
): Promise<PythonEnvironment> {
  const root = join(envRoot, 'python', environmentKey(packDir, requirements));
  const environment = { root, python: join(root, 'bin', 'python') };
  await ensureOnce(root, options, async () => {
    const env = installerEnvironment(options, root);
    await runInstaller(options.python ?? 'python3', ['-m', 'venv', root], { cwd: packDir, env, options, what: 'creating the Python virtual environment', requirements: [] });
    const requirementsFile = join(root, 'attune-requirements.txt');
    await writeFile(requirementsFile, requirements.map((line) => absoluteLocalRequirement(line, packDir)).join('\n') + '\n');
    const args = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--retries', '0', '--timeout', '15', '-r', requirementsFile];
    if (options.offline) args.push('--no-index');
    if (options.indexUrl) args.push('--index-url', options.indexUrl);
    await runInstaller(environment.python, args, { cwd: packDir, env, options, what: 'installing the Python requirements', requirements });
  });
  return environment;
}

/** The pack's node_modules with its dependencies installed, made on first use. `file:` paths are relative to the pack folder. */
export async function ensureNodeModules(
  packDir: string,
  envRoot: string,
  dependencies: Record<string, string>,
  options: NodeModulesOptions = {},
): Promise<NodeModules> {
  const entries = Object.entries(dependencies).sort(([a], [b]) => a.localeCompare(b));
  const root = join(envRoot, 'node', environmentKey(packDir, entries.map(([name, range]) => `${name}@${range}`)));
  const modules = { root, nodeModules: join(root, 'node_modules') };
  await ensureOnce(root, options, async () => {
    await mkdir(root, { recursive: true });
    const resolved = Object.fromEntries(entries.map(([name, range]) => [name, absoluteFileDependency(range, packDir)]));
    await writeFile(join(root, 'package.json'), JSON.stringify({ name: 'attune-pack-dependencies', private: true, dependencies: resolved }, null, 2));
    const args = ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock', '--fetch-retries=0'];
    if (options.offline) args.push('--offline');
    if (options.registry) args.push(`--registry=${options.registry}`);
    const env = { ...installerEnvironment(options, root), npm_config_cache: join(envRoot, 'npm-cache'), npm_config_update_notifier: 'false' };
    await runInstaller(options.npm ?? 'npm', args, { cwd: root, env, options, what: 'installing the Node dependencies', requirements: entries.map(([name, range]) => `${name}@${range}`) });
  });
  return modules;
}

function environmentKey(packDir: string, requirements: readonly string[]): string {
  return createHash('sha256').update(resolve(packDir)).update('\0').update(requirements.join('\n')).digest('hex').slice(0, 24);
}

function absoluteLocalRequirement(line: string, packDir: string): string {
  // ./x, ../x and a bare path to a wheel or archive are local; anything else is pip's to read.
  if (line.startsWith('./') || line.startsWith('../')) return resolve(packDir, line);
  if (/^[^\s:@=<>!~;]+\.(whl|tar\.gz|zip)$/.test(line) && !isAbsolute(line)) return resolve(packDir, line);
  return line;
}

function absoluteFileDependency(range: string, packDir: string): string {
  if (!range.startsWith('file:')) return range;
  const path = range.slice('file:'.length);
  return isAbsolute(path) ? range : `file:${resolve(packDir, path)}`;
}

function installerEnvironment(options: InstallOptions, home: string): Record<string, string> {
  // Like an action's, never the worker's own: the installer runs code the pack brings.
  return { PATH: options.path ?? DEFAULT_SAFE_PATH, HOME: home, LANG: DEFAULT_LANG, PIP_NO_CACHE_DIR: '1' };
}

/** Runs `install` unless the environment is ready, under the lock; a failure removes what it left. */
async function ensureOnce(root: string, options: InstallOptions, install: () => Promise<void>): Promise<void> {
  if (await isReady(root)) return;
  let pending = inProcess.get(root);
  if (pending === undefined) {
    pending = withLock(root, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, async () => {
      if (await isReady(root)) return;
      await rm(root, { recursive: true, force: true });
      try {
        await install();
        await writeFile(join(root, READY_MARKER), new Date().toISOString());
      } catch (error) {
        await rm(root, { recursive: true, force: true });
        throw error;
      }
    }).finally(() => inProcess.delete(root));
    inProcess.set(root, pending);
  }
  await pending;
}

async function isReady(root: string): Promise<boolean> {
  return stat(join(root, READY_MARKER)).then(() => true, () => false);
}

async function withLock(root: string, timeoutMs: number, fn: () => Promise<void>): Promise<void> {
  const lockFile = `${root}.lock`;
  await mkdir(join(root, '..'), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(lockFile, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(await readFile(lockFile, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(holder) && holder > 0 && !processExists(holder)) {
        // The installer that held it died; its half environment is removed under our lock.
        await rm(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new DependencyInstallError(`timed out waiting for another installation of ${root} (lock ${lockFile})`);
      await sleep(200);
    }
  }
  try {
    await fn();
  } finally {
    await rm(lockFile, { force: true });
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface InstallerRun {
  cwd: string;
  env: Record<string, string>;
  options: InstallOptions;
  what: string;
  requirements: readonly string[];
}

async function runInstaller(command: string, args: string[], run: InstallerRun): Promise<void> {
  const timeoutMs = run.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxLines = run.options.errorLines ?? 15;
  const lines: string[] = [];
  const keep = (data: Buffer): void => {
    for (const line of data.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line.trimEnd());
      if (lines.length > 200) lines.splice(0, lines.length - 200);
    }
  };
  const result = await new Promise<{ code: number | null; error?: Error; timedOut: boolean }>((resolvePromise) => {
    const child = spawn(command, args, { cwd: run.cwd, env: run.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolvePromise({ code: null, error, timedOut });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, timedOut });
    });
  });
  if (result.code === 0 && result.error === undefined) return;
  const named = namedRequirements(run.requirements, lines);
  const subject = named.length > 0 ? `: ${named.join(', ')}` : '';
  const reason = result.error
    ? `could not run ${command}: ${result.error.message}`
    : result.timedOut
      ? `${command} did not finish within ${Math.round(timeoutMs / 1000)} seconds`
      : `${command} exited with code ${result.code}`;
  const tail = lines.slice(-maxLines).join('\n');
  throw new DependencyInstallError(`${run.what} failed${subject} (${reason})${tail ? `\n${tail}` : ''}`, {
    field: run.requirements.length > 0 ? 'dependencies' : undefined,
  });
}

/** The requirements the installer's output names; all of them when it names none. */
function namedRequirements(requirements: readonly string[], lines: readonly string[]): string[] {
  if (requirements.length === 0) return [];
  const output = lines.join('\n').toLowerCase();
  const named = requirements.filter((requirement) => {
    const name = requirement.split(/[\s=<>!~;@[]/)[0]!.toLowerCase();
    return name !== '' && output.includes(name);
  });
  return named.length > 0 ? named : [...requirements];
}
