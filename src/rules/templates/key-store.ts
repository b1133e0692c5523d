/**
 * The key store as templates see it: a synchronous, read-only view over keys
 * the engine loaded before rendering (templates cannot wait on the database).
 * `st2kv.system.<name>` and `keys.<name>` read system keys, `keys.pack.<name>`
 * the rule's pack's keys. A secret key reads as its ciphertext (StackStorm
 * renders the encrypted value); only the `decrypt_kv` filter turns it into
 * plaintext, through `decrypt`.
 */

/** Where a key lives: system-wide, or scoped to the rule's pack. */
export type KeyScope = 'system' | 'pack';

/** A key found in the view: a plain JSON value, or a secret's ciphertext. */
export type KeyEntry = { readonly value: unknown } | { readonly secret: true; readonly ciphertext: string };

/** What the template renderer needs from the key store. */
export interface KeyStoreView {
  /** The key named `name` in `scope`, or undefined when there is none (it renders as ''). */
  lookup(scope: KeyScope, name: string): KeyEntry | undefined;
  /**
   * The plaintext of a secret, given the ciphertext a lookup returned. Called
   * only by the `decrypt_kv` filter. Throws when the ciphertext is not one of
   * this view's secrets.
   */
  decrypt(ciphertext: string): unknown;
}

/** Keys by scope and name, as the engine preloads them for one render. */
export interface KeyStoreContents {
  system?: Readonly<Record<string, KeyEntry>>;
  pack?: Readonly<Record<string, KeyEntry>>;
}

/**
 * A view over preloaded keys. `decrypt` (the real cipher, e.g. a
 * SecretCipher with the key's ref) is called only for a ciphertext that is
 * one of these keys' secrets, so a template cannot use `decrypt_kv` to
 * decrypt text from anywhere else.
 */
export function createKeyStoreView(contents: KeyStoreContents, decrypt: (ciphertext: string, scope: KeyScope, name: string) => unknown): KeyStoreView {
  const secrets = new Map<string, { scope: KeyScope; name: string }>();
  for (const scope of ['system', 'pack'] as const) {
    for (const [name, entry] of Object.entries(contents[scope] ?? {})) if ('secret' in entry) secrets.set(entry.ciphertext, { scope, name });
  }
  return {
    lookup: (scope, name) => {
      const keys = contents[scope];
      return keys !== undefined && Object.hasOwn(keys, name) ? keys[name] : undefined;
    },
    decrypt: (ciphertext) => {
      const owner = secrets.get(ciphertext);
      if (owner === undefined) throw new Error('not a secret of this key store');
      return decrypt(ciphertext, owner.scope, owner.name);
    },
  };
}
