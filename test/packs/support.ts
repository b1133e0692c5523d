/** Helpers for the pack reader tests: temporary pack folders and reading them. */
import { mkdtemp, mkdir, rm, writeFile, cp } from 'node:fs/promises';
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
  if (copyFrom !== undefined) await cp(copyFrom, dir, { recursive: true });
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
