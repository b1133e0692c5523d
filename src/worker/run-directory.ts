/**
 * A fresh folder per run under the worker's work root: `work/` is the
 * process's working directory, `home/` its HOME, `control/` (made by the
 * runner that needs it) what the runner hands the process outside its
 * arguments (a Python action's pack config). All of it is removed when the
 * run is over.
 */
import { chmod, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface RunDirectory {
  root: string;
  work: string;
  home: string;
  control: string;
}

/** Work roots this process made (or found) already: one mkdir less per run. */
const madeRoots = new Set<string>();

/** Makes the run's folders (mode 0700: other users of the machine see nothing). */
export async function createRunDirectory(workRoot: string, executionId: number): Promise<RunDirectory> {
  if (!madeRoots.has(workRoot)) {
    await mkdir(workRoot, { recursive: true, mode: 0o700 });
    madeRoots.add(workRoot);
  }
  const prefix = join(workRoot, `run-${executionId}-`);
  const root = await mkdtemp(prefix).catch(async (error: NodeJS.ErrnoException) => {
    // The work root went away (cleaned by hand): make it again, once.
    if (error.code !== 'ENOENT') throw error;
    await mkdir(workRoot, { recursive: true, mode: 0o700 });
    return mkdtemp(prefix);
  });
  const directory = { root, work: join(root, 'work'), home: join(root, 'home'), control: join(root, 'control') };
  // control/ is made by the runner that needs it (Python, for the pack config): one folder less to make and remove per run.
  await Promise.all([directory.work, directory.home].map((path) => mkdir(path, { mode: 0o700 })));
  return directory;
}

/** Removes the run's folders, even where the action took its own write permission away. */
export async function removeRunDirectory(directory: RunDirectory): Promise<void> {
  try {
    await rm(directory.root, { recursive: true, force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw error;
    await restoreWritePermission(directory.root);
    await rm(directory.root, { recursive: true, force: true });
  }
}

async function restoreWritePermission(path: string): Promise<void> {
  await chmod(path, 0o700).catch(() => undefined);
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory()) await restoreWritePermission(join(path, entry.name));
  }
}

/** Runs `fn` with a fresh run directory and removes it afterwards, whatever happens. */
export async function withRunDirectory<T>(workRoot: string, executionId: number, fn: (directory: RunDirectory) => Promise<T>): Promise<T> {
  const directory = await createRunDirectory(workRoot, executionId);
  try {
    return await fn(directory);
  } finally {
    await removeRunDirectory(directory);
  }
}
