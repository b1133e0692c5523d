/**
 * `activatePack`: switch which installed version of a pack is in use, in one
 * transaction. This is how a bad upgrade is rolled back: the previous
 * version's components become the ones refs resolve to, and the rule engine
 * fires only the rules of the active version.
 */
import type { Executor } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';
import { PackRepository, type Pack } from '../repositories/packs.js';

/** What an activation did. */
export interface ActivatePackReport {
  pack: string;
  /** The version now active. */
  version: string;
  /** The version active before, when it was another one. */
  previousVersion: string | null;
  /** The active version's row. */
  active: Pack;
}

/**
 * Makes `version` of pack `ref` the active one. NotFoundError when that
 * version is not installed; activating the active version changes nothing.
 * Safe when run concurrently for one pack: each waits for the one before it
 * (the pack's advisory lock), and the last to commit wins.
 */
export async function activatePack(db: Executor, ref: string, version: string): Promise<ActivatePackReport> {
  return withTransaction(db, async (tx) => {
    await PackRepository.lockRef(tx, ref);
    const before = await PackRepository.findByRef(tx, ref);
    const active = await PackRepository.activateVersion(tx, ref, version);
    return { pack: ref, version: active.version, previousVersion: before !== null && before.id !== active.id ? before.version : null, active };
  });
}
