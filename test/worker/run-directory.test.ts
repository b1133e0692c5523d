/**
 * Run folders: work/ and home/ made per run (control/ only when a runner
 * needs it), removed afterwards; a work root removed by hand between runs is
 * made again.
 */
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRunDirectory, removeRunDirectory } from '../../src/worker/run-directory.js';
import { useTempRoot } from './helpers.js';

const root = useTempRoot('run-dir');
const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

describe('run folders', () => {
  it('makes work/ and home/ (not control/) and removes them all', async () => {
    const directory = await createRunDirectory(join(root.path, 'work'), 1);
    expect([await exists(directory.work), await exists(directory.home), await exists(directory.control)]).toEqual([true, true, false]);
    await removeRunDirectory(directory);
    expect(await exists(directory.root)).toBe(false);
  });

  it('makes the work root again when it was removed between two runs', async () => {
    const workRoot = join(root.path, 'gone');
    await removeRunDirectory(await createRunDirectory(workRoot, 2));
    await rm(workRoot, { recursive: true, force: true });
    const directory = await createRunDirectory(workRoot, 3);
    expect(await exists(directory.work)).toBe(true);
    await removeRunDirectory(directory);
  });
});
