/** Helpers for the pack reader tests: temporary pack folders and reading them. */
import { chmod, cp, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll } from 'vitest';
import { PackInvalidError, readPack, type PackProblem, type PackSource, type ReadPackResult } from '../../src/packs/index.js';

const created: string[] = [];

/** A fresh temporary folder, removed after the file's tests. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'attune-pack-'));
  created.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(created.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Writes `files` (path → text) under a new temporary folder; returns the folder. */
export async function writePack(files: Record<string, string>, copyFrom?: string): Promise<string> {
  const dir = await tempDir();
  if (copyFrom !== undefined) {
    await cp(copyFrom, dir, { recursive: true });
    // The source may be read-only (CI lays the shared data without write bits): the copy must take stand-ins.
    await makeWritable(dir);
  }
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

/** Either the result or the problems of the PackInvalidError it threw. */
export async function readOutcome(source: PackSource): Promise<{ ok: true; result: ReadPackResult } | { ok: false; error: PackInvalidError }> {
  try {
    return { ok: true, result: await readPack(source) };
  } catch (error) {
    if (error instanceof PackInvalidError) return { ok: false, error };
    throw error;
  }
}

/** The problems a read produced, whichever way it ended. */
export async function problemsOf(source: PackSource): Promise<PackProblem[]> {
  const outcome = await readOutcome(source);
  return outcome.ok ? outcome.result.problems : outcome.error.problems;
}

/** The errors of a read that must fail. */
export async function errorsOf(source: PackSource): Promise<PackProblem[]> {
  const outcome = await readOutcome(source);
  if (outcome.ok) throw new Error('expected the pack to be refused, but it was read');
  return outcome.error.problems.filter((problem) => problem.severity === 'error');
}

export const MINIMAL_PACK_YAML = 'ref: demo\nname: Demo pack\nversion: 1.0.0\n';

/** Adds the owner's write bit to a folder tree, as a copy of read-only data needs before files are added to it. */
async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, ((await stat(dir)).mode & 0o7777) | 0o200);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await makeWritable(path);
    else if (entry.isFile()) await chmod(path, ((await stat(path)).mode & 0o7777) | 0o200);
  }
}
