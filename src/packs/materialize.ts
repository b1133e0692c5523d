/**
 * `materializePack`: writes a pack version's files from the database into a
 * folder a worker can run them from (engine.md, "Pack files"). The folder is
 * `<dir>/<content hash of the version>`, so versions with the same files
 * share one, and a folder once written is reused.
 *
 * Atomic: files are written into a temporary sibling (`.tmp-<hash>-<pid>-…`),
 * each fsynced, then the folder is renamed into place. A crash mid-write
 * leaves only a temporary folder, which never looks complete and is removed
 * by a later call once its process is gone. Two processes materialising the
 * same version at once both write; the first rename wins and the other
 * discards its copy and uses the winner's.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Executor } from '../db/pool.js';
import { ValidationError } from '../errors.js';
import { PackFileRepository, packPathProblem, sha256Of, versionContentHash } from '../repositories/pack-files.js';
import { assertId } from '../repositories/support/table.js';

/** What `materializePack` produced. */
export interface MaterializedPack {
  /** The folder holding the version's files. */
  path: string;
  /** The version's content hash: the folder's name. */
  contentHash: string;
  /** True when the folder existed already (written earlier, or by a concurrent call). */
  reused: boolean;
  files: number;
}

const TEMP_PREFIX = '.tmp-';

/**
 * Materialises pack version `packVersion` (its id, or its row) under `dir`.
 * Paths from the database are validated again (a path that could leave the
 * folder is a ValidationError, and nothing is written); each content's hash
 * is checked against what the row says; executable files get mode 0755,
 * others 0644.
 */
export async function materializePack(db: Executor, packVersion: number | { id: number }, dir: string): Promise<MaterializedPack> {
  const packId = typeof packVersion === 'number' ? packVersion : packVersion?.id;
  assertId(packId, 'pack', 'id');
  if (typeof dir !== 'string' || dir === '') throw new ValidationError('materializePack needs a folder to write into', { entity: 'pack', field: 'dir' });
  const files = await PackFileRepository.listForPack(db, packId);
  if (files.length === 0) throw new ValidationError(`pack version ${packId} has no files (is it registered?)`, { entity: 'pack', field: 'id', value: packId });
  for (const file of files) {
    const problem = packPathProblem(file.path);
    if (problem !== null) throw new ValidationError(`pack file path ${JSON.stringify(file.path)} ${problem}`, { entity: 'packFile', field: 'path' });
  }
  const contentHash = versionContentHash(files);
  const root = resolve(dir);
  const target = join(root, contentHash);
  if (await exists(target)) return { path: target, contentHash, reused: true, files: files.length };

  await mkdir(root, { recursive: true });
  await removeAbandonedTemps(root, contentHash);
  const contents = await PackFileRepository.readContents(db, files.map((file) => file.sha256));
  const temp = join(root, `${TEMP_PREFIX}${contentHash}-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(temp, { mode: 0o755 });
    for (const file of files) {
      const content = contents.get(file.sha256);
      if (content === undefined || sha256Of(content) !== file.sha256) {
        throw new ValidationError(`pack file ${file.path}: its stored content is missing or does not match its hash`, { entity: 'packFile', field: 'sha256' });
      }
      const destination = resolve(temp, ...file.path.split('/'));
      const inside = relative(temp, destination);
      if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) {
        throw new ValidationError(`pack file path ${JSON.stringify(file.path)} leaves the pack folder`, { entity: 'packFile', field: 'path' });
      }
      await mkdir(dirname(destination), { recursive: true, mode: 0o755 });
      await writeDurably(destination, content, file.executable ? 0o755 : 0o644);
    }
    await syncDirectory(temp);
    try {
      await rename(temp, target);
    } catch (error) {
      // Another process renamed its copy into place first: use it.
      if (isCode(error, 'ENOTEMPTY', 'EEXIST') && (await exists(target))) {
        await rm(temp, { recursive: true, force: true });
        return { path: target, contentHash, reused: true, files: files.length };
      }
      throw error;
    }
    await syncDirectory(root);
    return { path: target, contentHash, reused: false, files: files.length };
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/** The name of the temporary folder a writer uses, so tests can simulate a crash. */
export function temporaryFolderPrefix(contentHash: string): string {
  return `${TEMP_PREFIX}${contentHash}-`;
}

async function writeDurably(path: string, content: Buffer, mode: number): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  // The umask may have taken bits away from `mode`.
  await chmod(path, mode);
}

async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems cannot fsync a directory; the rename is still atomic there.
    if (!isCode(error, 'EINVAL', 'EISDIR', 'EPERM')) throw error;
  } finally {
    await handle.close();
  }
}

/** Removes temporary folders of this hash left by processes that no longer run (a crash mid-write). */
async function removeAbandonedTemps(root: string, contentHash: string): Promise<void> {
  const prefix = temporaryFolderPrefix(contentHash);
  for (const name of await readdir(root)) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    // A live process may still be writing it (this one included): leave it.
    if (Number.isSafeInteger(pid) && pid > 0 && (pid === process.pid || isAlive(pid))) continue;
    await rm(join(root, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isCode(error, 'EPERM');
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (error) {
    if (isCode(error, 'ENOENT')) return false;
    throw error;
  }
}

function isCode(error: unknown, ...codes: string[]): boolean {
  return typeof error === 'object' && error !== null && codes.includes((error as { code?: string }).code ?? '');
}
