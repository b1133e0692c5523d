/**
 * The key store as the rule engine's templates see it: system keys and the
 * keys of a rule's pack, read in one query before rendering (templates are
 * synchronous) and wrapped in a `KeyStoreView`. Secrets stay ciphertext in
 * the view; `decrypt_kv` decrypts them through the configured cipher.
 */
import type { SecretCipher } from '../crypto/secrets.js';
import { mapErrors } from '../db/pg-errors.js';
import type { Executor } from '../db/pool.js';
import { decryptValue } from '../repositories/keys.js';
import { createKeyStoreView, type KeyEntry, type KeyScope, type KeyStoreView } from '../rules/templates/index.js';

interface KeyRow {
  ref: string;
  owner_type: 'system' | 'pack';
  owner: string;
  name: string;
  value: unknown;
  encrypted: boolean;
  encryption_key_id: string | null;
}

/** A loaded key: its entry for templates, and what decrypting it needs. */
interface LoadedKey {
  entry: KeyEntry;
  row: KeyRow;
}

/**
 * Loads the live (unexpired) system keys and the keys of `packRefs`, and
 * returns a view per pack ref. Each view sees the system keys and its own
 * pack's keys only.
 */
export async function loadKeyStoreViews(db: Executor, packRefs: readonly string[], cipher: SecretCipher | undefined): Promise<Map<string, KeyStoreView>> {
  const result = await mapErrors(
    'key',
    () =>
      db.query<KeyRow>(
        `SELECT ref, owner_type, owner, name, value, encrypted, encryption_key_id FROM keys
          WHERE (owner_type = 'system' OR (owner_type = 'pack' AND owner = ANY($1::text[])))
            AND (expires_at IS NULL OR expires_at > now())`,
        [[...new Set(packRefs)]],
      ),
    ['value'],
  );
  const system = new Map<string, LoadedKey>();
  const byPack = new Map<string, Map<string, LoadedKey>>();
  for (const row of result.rows) {
    const loaded: LoadedKey = { row, entry: row.encrypted ? { secret: true, ciphertext: String(row.value) } : { value: row.value } };
    if (row.owner_type === 'system') system.set(row.name, loaded);
    else {
      let keys = byPack.get(row.owner);
      if (!keys) byPack.set(row.owner, (keys = new Map()));
      keys.set(row.name, loaded);
    }
  }
  const views = new Map<string, KeyStoreView>();
  for (const packRef of new Set(packRefs)) views.set(packRef, viewOf(system, byPack.get(packRef) ?? new Map(), cipher));
  return views;
}

/** The view for one pack: system keys and that pack's. */
export async function loadKeyStoreView(db: Executor, packRef: string, cipher: SecretCipher | undefined): Promise<KeyStoreView> {
  return (await loadKeyStoreViews(db, [packRef], cipher)).get(packRef)!;
}

function viewOf(system: ReadonlyMap<string, LoadedKey>, pack: ReadonlyMap<string, LoadedKey>, cipher: SecretCipher | undefined): KeyStoreView {
  const contents = { system: entries(system), pack: entries(pack) };
  return createKeyStoreView(contents, (_ciphertext: string, scope: KeyScope, name: string) => {
    const loaded = (scope === 'system' ? system : pack).get(name)!;
    return decryptValue(
      { ref: loaded.row.ref, value: loaded.row.value, encrypted: loaded.row.encrypted, encryptionKeyId: loaded.row.encryption_key_id },
      { cipher },
    );
  });
}

function entries(keys: ReadonlyMap<string, LoadedKey>): Record<string, KeyEntry> {
  const result: Record<string, KeyEntry> = {};
  for (const [name, loaded] of keys) Object.defineProperty(result, name, { value: loaded.entry, enumerable: true });
  return result;
}
