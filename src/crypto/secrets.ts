/**
 * Application-side encryption of secret keys: AES-256-GCM with a key derived
 * from the configured text (`ATTUNE__SECURITY__ENCRYPTION_KEY`). The database
 * only ever sees ciphertext.
 *
 * Ciphertext format (one string, safe to store in JSONB or a log line):
 *
 *     v1:<keyId>:<iv>:<tag>:<ciphertext>
 *
 * `keyId` is 16 hex characters, a one-way fingerprint of the derived key, so
 * a stored value says which key encrypted it and keys can be rotated; `iv`
 * (12 random bytes), `tag` (16 bytes) and `ciphertext` are base64url. The
 * plaintext is the JSON text of the value. The caller's AAD (for keys: the
 * key's ref) is authenticated together with the version and key id, so a
 * ciphertext copied to another row, or a header edited by hand, fails to
 * decrypt.
 */
import { createCipheriv, createDecipheriv, createHash, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { ConfigError, DecryptionError, ValidationError } from '../errors.js';

/** The setting that holds the key text; named in every configuration error. */
export const ENCRYPTION_KEY_SETTING = 'ATTUNE__SECURITY__ENCRYPTION_KEY';
/** Shortest accepted key text, in characters (the same rule as config.ts). */
export const MIN_ENCRYPTION_KEY_LENGTH = 32;
/** The format tag at the start of every ciphertext this module writes. */
export const CIPHERTEXT_VERSION = 'v1';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
// Fixed, public HKDF inputs: they separate Attune's use of the key text from
// any other use of the same text, and the key-id derivation from the
// encryption key's.
const HKDF_SALT = Buffer.from('attune/secrets/v1', 'utf8');
const HKDF_INFO = Buffer.from('attune aes-256-gcm key', 'utf8');
const KEY_ID_LABEL = Buffer.from('attune key id\u0000', 'utf8');
const KEY_ID_PATTERN = /^[0-9a-f]{16}$/;
const B64URL = '[A-Za-z0-9_-]+';
const CIPHERTEXT_PATTERN = new RegExp(`^${CIPHERTEXT_VERSION}:([0-9a-f]{16}):(${B64URL}):(${B64URL}):(${B64URL}|)$`);

/** The parts of a v1 ciphertext. */
interface Parsed {
  keyId: string;
  iv: Buffer;
  tag: Buffer;
  data: Buffer;
}

/**
 * Encrypts and decrypts JSON values with one key. The key lives in a private
 * field as a KeyObject; JSON.stringify, util.inspect and console.log show only
 * the key id.
 */
export class SecretCipher {
  /** Fingerprint of the derived key (16 hex characters); not reversible. */
  readonly keyId: string;
  readonly #key: KeyObject;

  /**
   * Derives the key from `keyText` with HKDF-SHA256. ConfigError naming
   * ATTUNE__SECURITY__ENCRYPTION_KEY when the text is missing or shorter than
   * 32 characters; the text itself is never echoed. Use random text (for
   * example `openssl rand -base64 32`): HKDF does not stretch a weak password.
   */
  constructor(keyText: string) {
    if (typeof keyText !== 'string') throw new ConfigError(ENCRYPTION_KEY_SETTING, 'must be a string of at least 32 characters');
    if (keyText.length < MIN_ENCRYPTION_KEY_LENGTH) {
      throw new ConfigError(ENCRYPTION_KEY_SETTING, `must be at least ${MIN_ENCRYPTION_KEY_LENGTH} characters (got ${keyText.length})`);
    }
    const derived = Buffer.from(hkdfSync('sha256', Buffer.from(keyText, 'utf8'), HKDF_SALT, HKDF_INFO, KEY_BYTES));
    this.keyId = createHash('sha256').update(KEY_ID_LABEL).update(derived).digest('hex').slice(0, 16);
    this.#key = createSecretKey(derived);
    derived.fill(0);
  }

  /**
   * The cipher for the configured key, or undefined when none is configured.
   * Accepts `config.security`.
   */
  static fromConfig(security: { encryptionKey?: string | undefined }): SecretCipher | undefined {
    return security.encryptionKey === undefined || security.encryptionKey === '' ? undefined : new SecretCipher(security.encryptionKey);
  }

  /** True when `text` looks like a ciphertext written by this module (any key). */
  static isCiphertext(text: unknown): text is string {
    return typeof text === 'string' && CIPHERTEXT_PATTERN.test(text);
  }

  /** The key id a ciphertext was written with, or null when `text` is not a ciphertext. */
  static keyIdOf(text: unknown): string | null {
    if (typeof text !== 'string') return null;
    return CIPHERTEXT_PATTERN.exec(text)?.[1] ?? null;
  }

  /**
   * Encrypts the JSON text of `value`, binding `aad` (for keys, the key's
   * ref). A fresh random IV every call, so equal values encrypt differently.
   */
  encrypt(value: unknown, aad: string): string {
    if (typeof aad !== 'string') throw new ValidationError('encryption context (aad) must be a string', { field: 'aad' });
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch {
      json = undefined;
    }
    if (json === undefined) throw new ValidationError('a secret value must be JSON', { field: 'value' });
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(this.keyId, aad));
    const data = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [CIPHERTEXT_VERSION, this.keyId, iv.toString('base64url'), tag.toString('base64url'), data.toString('base64url')].join(':');
  }

  /**
   * Decrypts a value written by `encrypt` with the same key and AAD.
   * DecryptionError when the text is not a ciphertext, was written under
   * another key (the message names both key ids), or fails authentication
   * (tampered, or moved to another AAD). Messages never hold plaintext or
   * key material.
   */
  decrypt(text: string, aad: string): unknown {
    const parsed = parse(text);
    if (parsed.keyId !== this.keyId) {
      throw new DecryptionError(
        `value was encrypted with key id ${parsed.keyId}, but the configured key (${ENCRYPTION_KEY_SETTING}) has id ${this.keyId}`,
      );
    }
    let json: string;
    try {
      const decipher = createDecipheriv(ALGORITHM, this.#key, parsed.iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(associatedData(parsed.keyId, aad));
      decipher.setAuthTag(parsed.tag);
      json = Buffer.concat([decipher.update(parsed.data), decipher.final()]).toString('utf8');
    } catch {
      throw new DecryptionError(
        `value failed authentication under key id ${this.keyId}: the ciphertext was altered or belongs to another record`,
      );
    }
    try {
      return JSON.parse(json) as unknown;
    } catch {
      throw new DecryptionError(`decrypted value under key id ${this.keyId} is not JSON`);
    }
  }

  /** Only the key id: safe in logs and API bodies. */
  toJSON(): { keyId: string } {
    return { keyId: this.keyId };
  }

  toString(): string {
    return `SecretCipher(${this.keyId})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** The authenticated context: format version, key id and the caller's AAD. */
function associatedData(keyId: string, aad: string): Buffer {
  return Buffer.from(`${CIPHERTEXT_VERSION}:${keyId}:${aad}`, 'utf8');
}

function parse(text: unknown): Parsed {
  const match = typeof text === 'string' ? CIPHERTEXT_PATTERN.exec(text) : null;
  if (!match) throw new DecryptionError(`value is not a ${CIPHERTEXT_VERSION} ciphertext (expected ${CIPHERTEXT_VERSION}:<keyId>:<iv>:<tag>:<data>)`);
  const iv = Buffer.from(match[2]!, 'base64url');
  const tag = Buffer.from(match[3]!, 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
    throw new DecryptionError(`value is not a well-formed ${CIPHERTEXT_VERSION} ciphertext (bad IV or tag length)`);
  }
  return { keyId: match[1]!, iv, tag, data: Buffer.from(match[4]!, 'base64url') };
}

/** True for a key id as written in ciphertexts and the keys table. */
export function isKeyId(value: unknown): value is string {
  return typeof value === 'string' && KEY_ID_PATTERN.test(value);
}
