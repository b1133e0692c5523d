import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The StackStorm pack metadata used as test input: `ATTUNE_ST2_PACKS` when
 * set, else `shared/st2-packs` beside the checkout (where sessions and CI
 * lay it). Missing data is an error, not a skip: those tests must run.
 */
export const ST2_PACKS_DIR = path.resolve(process.env.ATTUNE_ST2_PACKS ?? path.join(import.meta.dirname, '../../../shared/st2-packs'));

if (!existsSync(path.join(ST2_PACKS_DIR, 'scripts-manifest.json'))) {
  throw new Error(`StackStorm test packs not found at ${ST2_PACKS_DIR}: set ATTUNE_ST2_PACKS to the st2-packs folder of the project's shared data`);
}
