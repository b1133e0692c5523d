/**
 * `uninstallPack`: removes every installed version of a pack, with its
 * components, files and secret configuration, in one transaction. History
 * keeps its refs: events, enforcements and executions reference triggers,
 * rules and actions with ON DELETE SET NULL and a copy of the ref.
 */
import type { Executor } from '../db/pool.js';
import { mapErrors } from '../db/pg-errors.js';
import { withTransaction } from '../db/transaction.js';
import { InvalidReferenceError, NotFoundError } from '../errors.js';
import { PackFileRepository } from '../repositories/pack-files.js';
import { PackRepository } from '../repositories/packs.js';
import { deletePackSecrets, secretKeys } from './pack-config.js';

export interface UninstallPackOptions {
  /** Uninstall even when active packs declare a dependency on it. Default false. */
  force?: boolean;
}

/** What an uninstall removed. */
export interface UninstallPackReport {
  pack: string;
  /** The versions removed, oldest first. */
  versions: string[];
  /** Secret configuration values removed from the keys table. */
  secretsRemoved: number;
  /** File contents no remaining version used, removed. */
  contentsRemoved: number;
}

/**
 * Uninstalls pack `ref`: every version, and by cascade their runtimes,
 * triggers, actions, rules, sensors and file lists; then its secret
 * configuration values and file contents no other version uses.
 * NotFoundError when no version is installed; InvalidReferenceError naming
 * the dependents when active packs depend on it (unless `force`).
 */
export async function uninstallPack(db: Executor, ref: string, options: UninstallPackOptions = {}): Promise<UninstallPackReport> {
  return withTransaction(db, async (tx) => {
    await PackRepository.lockRef(tx, ref);
    const versions = await PackRepository.listVersions(tx, ref);
    if (versions.length === 0) throw new NotFoundError('pack', 'ref', ref);
    const dependents = (await PackRepository.findDependents(tx, ref)).filter((pack) => pack.ref !== ref);
    if (dependents.length > 0 && options.force !== true) {
      throw new InvalidReferenceError(
        `pack '${ref}' is a dependency of ${dependents.map((pack) => `'${pack.ref}'`).join(', ')}: uninstall those first, or pass force`,
        { entity: 'pack', field: 'ref', value: ref },
      );
    }
    const secrets = [...new Set(versions.flatMap((version) => secretKeys(version.confSchema)))];
    const secretsRemoved = await deletePackSecrets(tx, ref, secrets);
    await mapErrors('pack', () => tx.query('DELETE FROM packs WHERE ref = $1', [ref]));
    const contentsRemoved = await PackFileRepository.deleteUnreferencedContents(tx);
    return { pack: ref, versions: versions.map((version) => version.version), secretsRemoved, contentsRemoved };
  });
}
