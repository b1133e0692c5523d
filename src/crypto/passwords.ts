/**
 * Password hashing with scrypt (node:crypto). The stored string carries its
 * own parameters and salt, `scrypt$ln=15,r=8,p=1$<salt>$<hash>` (base64), so
 * the cost can be raised later without breaking existing hashes: verify reads
 * the parameters from the string, `needsRehash` says when to upgrade one.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt cost: N = 2^ln, block size r, parallelism p, and the derived key length in bytes. */
export interface ScryptParams {
  ln: number;
  r: number;
  p: number;
  keyLength: number;
}

/**
 * 2^15 × 8 × 128 bytes = 32 MiB and roughly 50–100 ms per hash on one core:
 * a cost an interactive login can pay. Raise `ln` here and call `needsRehash`
 * after a successful login to upgrade stored hashes.
 */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ ln: 15, r: 8, p: 1, keyLength: 32 });

const SALT_BYTES = 16;
/** Hashes read back are trusted only within these bounds, so a corrupt row cannot ask for gigabytes. */
const MAX_LN = 20;
const MAX_R = 32;
const MAX_P = 16;
const PREFIX = 'scrypt';
const FORMAT = /^scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.ln;
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    // NFC so that the same visible password typed on different systems hashes the same.
    scryptCallback(password.normalize('NFC'), salt, params.keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

function parse(stored: string): { params: ScryptParams; salt: Buffer; hash: Buffer } | null {
  const match = FORMAT.exec(stored);
  if (!match) return null;
  const [ln, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (ln < 1 || ln > MAX_LN || r < 1 || r > MAX_R || p < 1 || p > MAX_P) return null;
  const salt = Buffer.from(match[4]!, 'base64');
  const hash = Buffer.from(match[5]!, 'base64');
  if (salt.length < 8 || hash.length < 16) return null;
  return { params: { ln, r, p, keyLength: hash.length }, salt, hash };
}

/** Hashes `password` with a fresh random salt; the result is safe to store. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  if (typeof password !== 'string') throw new TypeError('password must be a string');
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, params);
  return `${PREFIX}$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/**
 * True when `password` matches `stored`. Compares in constant time; a
 * malformed stored string is simply a mismatch (never an error that could
 * echo it).
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (typeof password !== 'string' || typeof stored !== 'string') return false;
  const parsed = parse(stored);
  if (!parsed) return false;
  const candidate = await derive(password, parsed.salt, parsed.params);
  return candidate.length === parsed.hash.length && timingSafeEqual(candidate, parsed.hash);
}

/** True when `stored` was made with other parameters than `params` (or is not a hash this module reads). */
export function needsRehash(stored: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): boolean {
  const parsed = parse(stored);
  if (!parsed) return true;
  const { ln, r, p, keyLength } = parsed.params;
  return ln !== params.ln || r !== params.r || p !== params.p || keyLength !== params.keyLength;
}

let dummyHash: Promise<string> | undefined;

/**
 * Spends the time one verification takes, against a throwaway hash: called
 * when there is no hash to check (unknown login, no password), so response
 * times do not reveal which logins exist.
 */
export async function burnVerificationTime(password: string): Promise<false> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(typeof password === 'string' ? password : '', await dummyHash);
  return false;
}
