/**
 * A pack's files: walked from a directory or taken from an uploaded bundle,
 * bounded (file count, total size, size per file, path depth and length) and
 * hashed. Paths are posix and relative to the pack root; none can escape it.
 *
 * Symlinks: one that resolves to a regular file inside the pack is kept, as a
 * plain copy of that file (packs are stored and materialised as plain files);
 * one that points outside the pack, at a directory, or at nothing is refused.
 * Special files (sockets, devices, FIFOs) are refused. `.git` directories are
 * skipped: version-control data is not pack content.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { posix } from 'node:path';
import { PACK_LIMITS } from './limits.js';
import type { ProblemList } from './problems.js';

/** One file of a pack, as stored and materialised. */
export interface PackFile {
  /** Relative to the pack root, posix separators (`actions/echo.sh`). */
  path: string;
  size: number;
  /** Hex SHA-256 of the content. */
  sha256: string;
  /** Whether any execute bit was set (directory) or `executable` was given (bundle). */
  executable: boolean;
  content: Buffer;
}

/** A file as an API client sends it: the same validation applies as to a directory. */
export interface BundleFile {
  path: string;
  /** Bytes, or text (encoded as UTF-8). */
  content: Buffer | string;
  executable?: boolean;
}

/** Directory names never read as pack content. */
const SKIPPED_DIRECTORIES = new Set(['.git']);

/** Why `path` is not an acceptable relative pack path, or null. */
export function relativePathProblem(path: string): string | null {
  if (path === '') return 'is empty';
  if (path.length > PACK_LIMITS.maxPathLength) return `is longer than ${PACK_LIMITS.maxPathLength} characters`;
  if (path.startsWith('/')) return 'is absolute; paths are relative to the pack root';
  if (/^[A-Za-z]:/.test(path)) return 'is a drive path; paths are relative to the pack root';
  if (path.includes('\\')) return "holds '\\'; use '/' between directories";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'holds a control character';
  const segments = path.split('/');
  if (segments.some((segment) => segment === '..')) return "holds '..' and could leave the pack";
  if (segments.some((segment) => segment === '' || segment === '.')) return "holds an empty or '.' segment";
  if (segments.length - 1 > PACK_LIMITS.maxPathDepth) return `is nested deeper than ${PACK_LIMITS.maxPathDepth} directories`;
  return null;
}

/**
 * Resolves an entry point (relative to `base`, `actions` or `sensors`) to a
 * pack path. Returns the problem instead when it is absolute or leaves the pack.
 */
export function resolveEntryPoint(base: string, entryPoint: string): { path: string } | { problem: string } {
  if (entryPoint.startsWith('/')) return { problem: `must be relative to ${base}/, got the absolute path ${JSON.stringify(entryPoint)}` };
  if (entryPoint.includes('\\')) return { problem: `must use '/' between directories, got ${JSON.stringify(entryPoint)}` };
  const path = posix.normalize(`${base}/${entryPoint}`);
  if (path.startsWith('../') || path === '..' || path.startsWith('/')) {
    return { problem: `${JSON.stringify(entryPoint)} leaves the pack; an entry point must stay inside it` };
  }
  const problem = relativePathProblem(path);
  return problem === null ? { path } : { problem: `${JSON.stringify(entryPoint)} ${problem}` };
}

function packFile(path: string, content: Buffer, executable: boolean): PackFile {
  return { path, size: content.length, sha256: createHash('sha256').update(content).digest('hex'), executable, content };
}

/** Tracks the pack-wide limits while files are added. */
class Budget {
  private files = 0;
  private bytes = 0;
  private reported = false;

  constructor(private readonly problems: ProblemList) {}

  /** False (and one problem) once the pack has too many files or bytes. */
  admit(path: string, size: number): boolean {
    if (this.reported) return false;
    if (size > PACK_LIMITS.maxFileBytes) {
      this.problems.error(path, '', `is ${size} bytes; the limit for one file is ${PACK_LIMITS.maxFileBytes} bytes`);
      return false;
    }
    this.files += 1;
    this.bytes += size;
    if (this.files > PACK_LIMITS.maxFiles) {
      this.problems.error('', '', `the pack has more than ${PACK_LIMITS.maxFiles} files`);
      this.reported = true;
      return false;
    }
    if (this.bytes > PACK_LIMITS.maxTotalBytes) {
      this.problems.error('', '', `the pack's files add up to more than ${PACK_LIMITS.maxTotalBytes} bytes`);
      this.reported = true;
      return false;
    }
    return true;
  }

  get exhausted(): boolean {
    return this.reported;
  }
}

/** Reads every file under `dir`. Problems name the offending path; the files that passed are returned. */
export async function readPackDirectory(dir: string, problems: ProblemList): Promise<PackFile[]> {
  const root = await realpath(dir);
  const budget = new Budget(problems);
  const files: PackFile[] = [];
  const pending: string[] = [''];
  while (pending.length > 0 && !budget.exhausted) {
    const relativeDir = pending.pop()!;
    const entries = await readdir(join(root, relativeDir), { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      problems.error(relativeDir, '', `cannot be read (${error.code ?? error.message})`);
      return [];
    });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (budget.exhausted) break;
      const path = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`;
      const problem = relativePathProblem(path);
      if (problem !== null) {
        problems.error(path, '', `file name ${problem}`);
        continue;
      }
      const absolute = join(root, relativeDir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRECTORIES.has(entry.name)) pending.push(path);
      } else if (entry.isSymbolicLink()) {
        const file = await readSymlink(root, absolute, path, problems, budget);
        if (file) files.push(file);
      } else if (entry.isFile()) {
        const info = await lstat(absolute);
        if (!budget.admit(path, info.size)) continue;
        const content = await readFile(absolute).catch((error: NodeJS.ErrnoException) => {
          problems.error(path, '', `cannot be read (${error.code ?? error.message})`);
          return null;
        });
        if (content !== null) files.push(packFile(path, content, (info.mode & 0o111) !== 0));
      } else {
        problems.error(path, '', 'is not a regular file or directory (a socket, device or FIFO); packs hold only files');
      }
    }
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}

async function readSymlink(root: string, absolute: string, path: string, problems: ProblemList, budget: Budget): Promise<PackFile | null> {
  let target: string;
  try {
    target = await realpath(absolute);
  } catch {
    problems.error(path, '', 'is a symlink to nothing (its target does not exist)');
    return null;
  }
  const inside = relative(root, target);
  if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || inside.startsWith(sep)) {
    problems.error(path, '', 'is a symlink that points outside the pack; only links to files inside the pack are allowed');
    return null;
  }
  const info = await stat(target);
  if (!info.isFile()) {
    problems.error(path, '', 'is a symlink to a directory or special file; only links to regular files inside the pack are allowed');
    return null;
  }
  if (!budget.admit(path, info.size)) return null;
  return packFile(path, await readFile(target), (info.mode & 0o111) !== 0);
}

/** Validates and hashes an in-memory bundle: the same rules as a directory. */
export function readPackBundle(bundle: readonly BundleFile[], problems: ProblemList): PackFile[] {
  const budget = new Budget(problems);
  const files: PackFile[] = [];
  const seen = new Set<string>();
  for (const [index, entry] of bundle.entries()) {
    if (budget.exhausted) break;
    const path = typeof entry?.path === 'string' ? entry.path : '';
    const label = path === '' ? `bundle[${index}]` : path;
    const problem = typeof entry?.path === 'string' ? relativePathProblem(path) : 'is missing';
    if (problem !== null) {
      problems.error(label, 'path', `file path ${problem}`);
      continue;
    }
    if (path.split('/').some((segment) => SKIPPED_DIRECTORIES.has(segment))) continue;
    if (seen.has(path)) {
      problems.error(path, 'path', 'appears twice in the bundle');
      continue;
    }
    if (!Buffer.isBuffer(entry.content) && typeof entry.content !== 'string') {
      problems.error(path, 'content', 'must be bytes or text');
      continue;
    }
    seen.add(path);
    const content = Buffer.isBuffer(entry.content) ? entry.content : Buffer.from(entry.content, 'utf8');
    if (!budget.admit(path, content.length)) continue;
    files.push(packFile(path, content, entry.executable === true));
  }
  const paths = new Set(files.map((file) => file.path));
  for (const file of files) {
    // A file and a directory of the same name cannot both be materialised.
    const parts = file.path.split('/');
    for (let length = 1; length < parts.length; length += 1) {
      const prefix = parts.slice(0, length).join('/');
      if (paths.has(prefix)) problems.error(prefix, 'path', `is both a file and the directory of ${file.path}`);
    }
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}
