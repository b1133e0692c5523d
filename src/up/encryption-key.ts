/**
 * The encryption key of an `attune up` on the embedded PostgreSQL. Secret
 * keys, secret parameters, encrypted pack config values and HMAC-signed
 * webhooks need ATTUNE__SECURITY__ENCRYPTION_KEY; a new user running
 * `npm start` has none. So, when none is configured, the first start makes
 * one (32 random bytes, base64url) in `encryption.key` beside the data folder
 * (`.attune/encryption.key` by default) and every later start reads it back.
 *
 * Only the embedded server gets one: it belongs to this one installation and
 * this one process. On a configured server (ATTUNE__DATABASE__URL) several
 * processes must share one key, so none is made up here.
 */
import { closeSync, fchmodSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ENCRYPTION_KEY_SETTING, MIN_ENCRYPTION_KEY_LENGTH, SecretCipher } from '../crypto/secrets.js';
import { ConfigError } from '../errors.js';

/** The key file's name, in the folder that holds the embedded data folder. */
export const ENCRYPTION_KEY_FILE = 'encryption.key';
/** Random bytes in a generated key (base64url: 43 characters). */
const KEY_BYTES = 32;

/** Where `attune up` keeps the key of the embedded data folder `embeddedDataDir`: beside it. */
export function encryptionKeyPath(embeddedDataDir: string): string {
  return path.join(path.dirname(path.resolve(embeddedDataDir)), ENCRYPTION_KEY_FILE);
}

/** The key of the embedded installation, and how it was found. */
export interface EmbeddedEncryptionKey {
  /** The key text; for the configuration only, never for output. */
  key: string;
  file: string;
  /** True when this call generated the file. */
  created: boolean;
  /** True when the file may be read by others than its owner (group or other bits set). */
  looseMode: boolean;
}

/**
 * Reads the key in `file`, or generates it when the file is missing. The new
 * file is written whole under a temporary name (mode 0600, synced) and then
 * linked into place, which never replaces a file: a crash leaves either no
 * key or the whole key, and of two starts at the same moment both end with
 * the one that was linked first. ConfigError naming
 * ATTUNE__SECURITY__ENCRYPTION_KEY and the file (never its contents) when the
 * file holds no usable key.
 */
export function ensureEncryptionKey(file: string): EmbeddedEncryptionKey {
  const existing = readKeyFile(file);
  if (existing) return existing;
  mkdirSync(path.dirname(file), { recursive: true });
  const key = randomBytes(KEY_BYTES).toString('base64url');
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    // The mode given to open is masked by the umask; this is not.
    fchmodSync(fd, 0o600);
    writeSync(fd, `${key}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another start made it first: use that one.
    const theirs = readKeyFile(file);
    if (theirs) return theirs;
    throw invalidKeyFile(file);
  } finally {
    unlinkSync(temporary);
  }
  syncFolder(path.dirname(file));
  return { key, file, created: true, looseMode: false };
}

/** True when `keyText` and the key in `file` are different keys (the file unreadable counts as not different). */
export function differsFromKeyFile(keyText: string, file: string): boolean {
  let stored: EmbeddedEncryptionKey | undefined;
  try {
    stored = readKeyFile(file);
  } catch {
    return false;
  }
  return stored !== undefined && new SecretCipher(stored.key).keyId !== new SecretCipher(keyText).keyId;
}

/** The key in `file`; undefined when there is no file. */
function readKeyFile(file: string): EmbeddedEncryptionKey | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(ENCRYPTION_KEY_SETTING, `cannot read the key file ${file}: ${(error as Error).message}`);
  }
  const key = text.trim();
  if (key.length < MIN_ENCRYPTION_KEY_LENGTH || /\s/.test(key)) throw invalidKeyFile(file);
  return { key, file, created: false, looseMode: (statSync(file).mode & 0o077) !== 0 };
}

function invalidKeyFile(file: string): ConfigError {
  return new ConfigError(
    ENCRYPTION_KEY_SETTING,
    `is not set and the key file ${file} holds no usable key (one line of at least ${MIN_ENCRYPTION_KEY_LENGTH} characters): ` +
      'restore it from your backup, or set the variable to the key the stored secrets were encrypted with',
  );
}

/** Makes the new directory entry durable (a power cut after the start must not lose the key). */
function syncFolder(folder: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(folder, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the file itself is synced.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
