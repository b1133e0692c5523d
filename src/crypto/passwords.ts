/**
 * Password hashing with argon2id (`@node-rs/argon2`). The stored string is
 * the standard PHC form, `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, so it
 * carries its own parameters and salt: the cost can be raised later without
 * breaking existing hashes, and `needsRehash` says when to upgrade one.
 *
 * Hashes made by earlier versions of Attune (scrypt,
 * `scrypt$ln=15,r=8,p=1$<salt>$<hash>`) still verify; `needsRehash` reports
 * them, and a successful login replaces them (IdentityRepository.verifyPassword).
 *
 * A stored hash is read as untrusted input: before any work is done its
 * parameters are checked against fixed bounds (memory, passes, lanes), so a
 * corrupt or planted row cannot make one verification allocate gigabytes or
 * run for minutes. Out of bounds is simply a mismatch.
 */
import { hash as argon2Hash, verify as argon2Verify, type Algorithm } from '@node-rs/argon2';
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** argon2id cost: memory in KiB, passes over it, lanes. */
export interface PasswordParams {
  memoryKiB: number;
  timeCost: number;
  parallelism: number;
}

/**
 * OWASP's Password Storage Cheat Sheet (argon2id, at least 19 MiB, 2 passes,
 * 1 lane): about 20–40 ms on one core, a cost an interactive login can pay.
 * Raise it here; `needsRehash` then flags the hashes made before.
 */
export const DEFAULT_PASSWORD_PARAMS: Readonly<PasswordParams> = Object.freeze({ memoryKiB: 19_456, timeCost: 2, parallelism: 1 });

/** Verification refuses (as a mismatch, before computing) a stored hash that asks for more than this. */
export const VERIFY_LIMITS = Object.freeze({
  /** 256 MiB, for argon2id's m and for scrypt's 128 × N × r alike. */
  maxMemoryBytes: 256 * 1024 * 1024,
  maxTimeCost: 10,
  maxParallelism: 4,
});

const SALT_BYTES = 16;
const HASH_BYTES = 32;
const ARGON2ID = 2 as Algorithm;
const ARGON2_VERSION = 19;
/** PHC strings use unpadded base64; salt 8–64 bytes, hash 16–64 bytes. */
const ARGON2_FORMAT = /^\$argon2id\$v=(\d{1,3})\$m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$([A-Za-z0-9+/]{11,86})\$([A-Za-z0-9+/]{22,86})$/;
const SCRYPT_FORMAT = /^scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

type Parsed =
  | { kind: 'argon2id'; params: PasswordParams; hashLength: number }
  | { kind: 'scrypt'; ln: number; r: number; p: number; salt: Buffer; hash: Buffer };

/** NFC, so that the same visible password typed on different systems hashes the same. */
function normalized(password: string): string {
  return password.normalize('NFC');
}

function parseArgon2(stored: string): Parsed | null {
  const match = ARGON2_FORMAT.exec(stored);
  if (!match) return null;
  const [version, memoryKiB, timeCost, parallelism] = [1, 2, 3, 4].map((i) => Number(match[i]));
  if (version !== ARGON2_VERSION) return null;
  if (parallelism! < 1 || parallelism! > VERIFY_LIMITS.maxParallelism) return null;
  if (timeCost! < 1 || timeCost! > VERIFY_LIMITS.maxTimeCost) return null;
  // Argon2 needs at least 8 KiB per lane.
  if (memoryKiB! < 8 * parallelism! || memoryKiB! * 1024 > VERIFY_LIMITS.maxMemoryBytes) return null;
  const hashLength = Buffer.from(match[6]!, 'base64').length;
  return { kind: 'argon2id', params: { memoryKiB: memoryKiB!, timeCost: timeCost!, parallelism: parallelism! }, hashLength };
}

function parseScrypt(stored: string): Parsed | null {
  const match = SCRYPT_FORMAT.exec(stored);
  if (!match) return null;
  const [ln, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (ln < 1 || r < 1 || p < 1 || p > VERIFY_LIMITS.maxParallelism) return null;
  // scrypt's working memory is 128 × N × r bytes.
  if (128 * 2 ** ln * r > VERIFY_LIMITS.maxMemoryBytes) return null;
  const salt = Buffer.from(match[4]!, 'base64');
  const hash = Buffer.from(match[5]!, 'base64');
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) return null;
  return { kind: 'scrypt', ln, r, p, salt, hash };
}

function parse(stored: string): Parsed | null {
  return parseArgon2(stored) ?? parseScrypt(stored);
}

function scryptDerive(password: string, parsed: Extract<Parsed, { kind: 'scrypt' }>): Promise<Buffer> {
  const N = 2 ** parsed.ln;
  const options: ScryptOptions = { N, r: parsed.r, p: parsed.p, maxmem: 128 * N * parsed.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scryptCallback(normalized(password), parsed.salt, parsed.hash.length, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Hashes `password` with argon2id and a fresh random salt; the result is safe to store. */
export async function hashPassword(password: string, params: PasswordParams = DEFAULT_PASSWORD_PARAMS): Promise<string> {
  if (typeof password !== 'string') throw new TypeError('password must be a string');
  return argon2Hash(normalized(password), {
    algorithm: ARGON2ID,
    memoryCost: params.memoryKiB,
    timeCost: params.timeCost,
    parallelism: params.parallelism,
    outputLen: HASH_BYTES,
    salt: randomBytes(SALT_BYTES),
  });
}

/**
 * True when `password` matches `stored` (argon2id, or a legacy scrypt hash).
 * Compares in constant time. A malformed stored string, or one whose
 * parameters exceed VERIFY_LIMITS, is simply a mismatch (never an error that
 * could echo it), decided before any hashing.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (typeof password !== 'string' || typeof stored !== 'string') return false;
  const parsed = parse(stored);
  if (!parsed) return false;
  if (parsed.kind === 'scrypt') {
    const candidate = await scryptDerive(password, parsed);
    return timingSafeEqual(candidate, parsed.hash);
  }
  try {
    return await argon2Verify(stored, normalized(password));
  } catch {
    return false;
  }
}

/**
 * True when `stored` should be replaced by a fresh `hashPassword`: a legacy
 * scrypt hash, an argon2id hash made with other parameters than `params`, or
 * a string this module cannot read.
 */
export function needsRehash(stored: string, params: PasswordParams = DEFAULT_PASSWORD_PARAMS): boolean {
  const parsed = typeof stored === 'string' ? parse(stored) : null;
  if (!parsed || parsed.kind !== 'argon2id') return true;
  const current = parsed.params;
  return (
    current.memoryKiB !== params.memoryKiB ||
    current.timeCost !== params.timeCost ||
    current.parallelism !== params.parallelism ||
    parsed.hashLength !== HASH_BYTES
  );
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
