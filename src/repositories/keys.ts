import { DecryptionError, NotFoundError, ValidationError } from '../errors.js';
import { LOGIN_PATTERN } from './identities.js';
import { ENCRYPTION_KEY_SETTING, SecretCipher, isKeyId } from '../crypto/secrets.js';
import type { Executor } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';
import { isComponentRef, isPackRef } from '../refs.js';
import { found, PAGINATION_RULES, Table, Where, assertId, type Page, type Pagination } from './support/table.js';
import { is, validateFilter, validateInput, type Check, type Rules } from './support/validate.js';

/** Who a key belongs to; mirrors keys_owner_type_check. */
export const KEY_OWNER_TYPES = ['system', 'pack', 'identity', 'action'] as const;
export type KeyOwnerType = (typeof KEY_OWNER_TYPES)[number];

/** The owner of every system key. */
export const SYSTEM_OWNER = 'system';
/** A key name, as CHECKed by keys_name_check. */
export const KEY_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
export const KEY_NAME_MAX_LENGTH = 255;
/** An identity login, as CHECKed by identities_login_check. */
const OWNER_MAX_LENGTH = 255;

/**
 * A configuration value or a secret.
 *
 * Reads never decrypt. For an encrypted key (`encrypted: true`) `value` holds
 * the ciphertext string (`v1:<keyId>:…`, see src/crypto/secrets.ts), never the
 * plaintext; `KeyRepository.getValue` or `decryptValue` decrypts on request.
 */
export interface Key {
  id: number;
  /** Derived in the database: `system.<name>`, `pack.<pack>.<name>`, `identity.<login>.<name>`, `action.<action_ref>.<name>`. */
  ref: string;
  ownerType: KeyOwnerType;
  /** Pack ref, identity login (lowercase), action ref, or `system`. */
  owner: string;
  name: string;
  /** The JSON value, or the ciphertext string when `encrypted`. */
  value: unknown;
  encrypted: boolean;
  /** Id of the key that encrypted the value (SecretCipher.keyId); null when not encrypted. */
  encryptionKeyId: string | null;
  description: string | null;
  /** After this instant the key is treated as absent by findByRef / getValue. */
  expiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface CreateKeyInput {
  ownerType: KeyOwnerType;
  /** Pack ref, identity login or action ref; omit (or 'system') for system keys. */
  owner?: string;
  name: string;
  /** Any JSON value. Encrypted in the application when `secret` is true. */
  value: unknown;
  /** Encrypt the value (needs `{ cipher }` in the options). Default false. */
  secret?: boolean;
  description?: string | null;
  expiresAt?: Date | null;
}

/**
 * owner_type, owner and name identify the key (its ref, and the AAD its
 * ciphertext is bound to) and cannot change: create a new key instead.
 * `secret` switches encryption on (encrypting the current value) or off
 * (decrypting it); both need `{ cipher }`, as does a new value for a secret.
 */
export type UpdateKeyInput = Partial<Pick<CreateKeyInput, 'value' | 'secret' | 'description' | 'expiresAt'>>;

/** The encryption key to use; `SecretCipher.fromConfig(config.security)`. */
export interface KeyCryptoOptions {
  cipher?: SecretCipher | undefined;
}

export interface KeyFilter extends Pagination {
  ownerType?: KeyOwnerType;
  /** Needs `ownerType`: served by the (owner_type, owner, name) unique index. */
  owner?: string;
  encrypted?: boolean;
  /** Keys encrypted under this key id: what a rotation still has to do. */
  encryptionKeyId?: string;
  /** Keys whose name starts with this text (case-sensitive). */
  namePrefix?: string;
  /** Also list keys past their expires_at. Default false. */
  includeExpired?: boolean;
}

const ENTITY = 'key';

const table = new Table<Key>({
  table: 'keys',
  entity: ENTITY,
  columns: {
    id: 'id',
    ref: 'ref',
    ownerType: 'owner_type',
    owner: 'owner',
    name: 'name',
    // Sent as JSON text by this module (so JSON null and bare strings survive), read back parsed.
    value: 'value',
    encrypted: 'encrypted',
    encryptionKeyId: 'encryption_key_id',
    description: 'description',
    expiresAt: 'expires_at',
    createdAt: 'created_at',
    updatedAt: 'updated_at',
  },
  secretColumns: ['value'],
});

const valueRule = { check: is.json, nullable: true, secret: true };

const createRules: Rules = {
  ownerType: { check: is.oneOf(KEY_OWNER_TYPES), required: true },
  owner: { check: is.string({ min: 1, max: OWNER_MAX_LENGTH }) },
  name: { check: is.string({ min: 1, max: KEY_NAME_MAX_LENGTH, pattern: KEY_NAME_PATTERN }), required: true },
  value: { ...valueRule, required: true },
  secret: { check: is.boolean },
  description: { check: is.string(), nullable: true },
  expiresAt: { check: is.timestamp, nullable: true },
};

const updateRules: Rules = {
  ownerType: { check: is.oneOf(KEY_OWNER_TYPES), immutable: true },
  owner: { check: is.string(), immutable: true },
  name: { check: is.string(), immutable: true },
  value: valueRule,
  secret: { check: is.boolean },
  description: { check: is.string(), nullable: true },
  expiresAt: { check: is.timestamp, nullable: true },
};

const keyIdCheck: Check = (value, field, entity) => {
  if (!isKeyId(value)) throw new ValidationError(`${entity} filter ${field} must be a key id (16 hex characters)`, { entity, field, value });
};

const filterRules: Rules = {
  ...PAGINATION_RULES,
  ownerType: { check: is.oneOf(KEY_OWNER_TYPES) },
  owner: { check: is.string({ min: 1, max: OWNER_MAX_LENGTH }) },
  encrypted: { check: is.boolean },
  encryptionKeyId: { check: keyIdCheck },
  namePrefix: { check: is.string({ max: KEY_NAME_MAX_LENGTH, pattern: /^[A-Za-z0-9_-]*$/ }) },
  includeExpired: { check: is.boolean },
};

/** A key is live until its expires_at; expired keys are treated as absent. */
const LIVE = '(expires_at IS NULL OR expires_at > now())';

/**
 * The owner stored for a key: 'system' for system keys, the pack ref, the
 * lowercased login (logins are case-insensitive), or the action ref.
 * ValidationError naming `field` otherwise.
 */
export function normalizeOwner(ownerType: KeyOwnerType, owner: string | undefined, field = 'owner'): string {
  const bad = (expected: string): never => {
    throw new ValidationError(`${ENTITY}.${field} for a ${ownerType} key must be ${expected}, got ${JSON.stringify(owner)}`, {
      entity: ENTITY,
      field,
      value: owner,
    });
  };
  switch (ownerType) {
    case 'system':
      if (owner !== undefined && owner !== SYSTEM_OWNER) bad(`omitted or '${SYSTEM_OWNER}'`);
      return SYSTEM_OWNER;
    case 'pack':
      if (!isPackRef(owner)) bad('a pack ref');
      return owner as string;
    case 'identity':
      if (typeof owner !== 'string' || owner.length > OWNER_MAX_LENGTH || !LOGIN_PATTERN.test(owner)) bad('an identity login');
      return (owner as string).toLowerCase();
    case 'action':
      if (!isComponentRef(owner)) bad("an action ref '<pack>.<name>'");
      return owner as string;
    default:
      throw new ValidationError(`${ENTITY}.ownerType must be one of ${KEY_OWNER_TYPES.join(', ')}, got ${JSON.stringify(ownerType)}`, {
        entity: ENTITY,
        field: 'ownerType',
        value: ownerType,
      });
  }
}

/** The ref the database derives (the keys.ref generated column), computed here for the AAD. */
export function keyRef(ownerType: KeyOwnerType, owner: string, name: string): string {
  return ownerType === 'system' ? `system.${name}` : `${ownerType}.${owner}.${name}`;
}

/**
 * Splits and validates a key ref: the first segment is the owner type, the
 * last the name (names hold no dots), the rest the owner. Identity owners are
 * lowercased. ValidationError before any SQL when the ref is malformed.
 */
export function parseKeyRef(ref: unknown): { ownerType: KeyOwnerType; owner: string; name: string; ref: string } {
  const invalid = (): never => {
    throw new ValidationError(
      `${ENTITY}.ref must be 'system.<name>' or '<pack|identity|action>.<owner>.<name>', got ${JSON.stringify(ref)}`,
      { entity: ENTITY, field: 'ref', value: ref },
    );
  };
  if (typeof ref !== 'string' || ref.length > 600) return invalid();
  const first = ref.indexOf('.');
  const last = ref.lastIndexOf('.');
  if (first < 1) return invalid();
  const ownerType = ref.slice(0, first) as KeyOwnerType;
  const name = ref.slice(last + 1);
  if (!KEY_OWNER_TYPES.includes(ownerType) || !KEY_NAME_PATTERN.test(name) || name.length > KEY_NAME_MAX_LENGTH) return invalid();
  if (ownerType === 'system') {
    if (first !== last) return invalid();
    return { ownerType, owner: SYSTEM_OWNER, name, ref };
  }
  if (first === last) return invalid();
  const owner = normalizeOwner(ownerType, ref.slice(first + 1, last), 'ref');
  return { ownerType, owner, name, ref: keyRef(ownerType, owner, name) };
}

function requireCipher(options: KeyCryptoOptions | undefined): SecretCipher {
  const cipher = options?.cipher;
  if (cipher === undefined || cipher === null) {
    throw new ValidationError(`no encryption key configured: set ${ENCRYPTION_KEY_SETTING}`, { entity: ENTITY, field: 'value' });
  }
  if (!(cipher instanceof SecretCipher)) throw new ValidationError('options.cipher must be a SecretCipher', { entity: ENTITY, field: 'cipher' });
  return cipher;
}

/** JSONB parameter text: JSON null and bare strings stay JSON, not SQL NULL or text. */
function jsonText(value: unknown): string {
  return JSON.stringify(value);
}

/** Rephrases a cipher failure with the key's ref; never the value. */
function decryptionFailure(ref: string, error: unknown): unknown {
  if (error instanceof DecryptionError) return new DecryptionError(`cannot decrypt key ${ref}: ${error.message}`, { entity: ENTITY, field: 'value' });
  return error;
}

/**
 * The plaintext value of a key row: the value itself when not encrypted,
 * else decrypted with `options.cipher`. DecryptionError when no cipher is
 * given, the key was encrypted under another key id (the message names
 * both), or the ciphertext fails authentication (altered, or copied from
 * another key). No SQL.
 */
export function decryptValue(key: Pick<Key, 'ref' | 'value' | 'encrypted' | 'encryptionKeyId'>, options: KeyCryptoOptions = {}): unknown {
  if (!key.encrypted) return key.value;
  const cipher = options.cipher;
  if (!cipher) {
    throw new DecryptionError(`key ${key.ref} is encrypted but no encryption key is configured: set ${ENCRYPTION_KEY_SETTING}`, {
      entity: ENTITY,
      field: 'value',
    });
  }
  if (key.encryptionKeyId !== cipher.keyId) {
    throw new DecryptionError(
      `key ${key.ref} was encrypted with key id ${String(key.encryptionKeyId)}, but the configured key (${ENCRYPTION_KEY_SETTING}) has id ${cipher.keyId}`,
      { entity: ENTITY, field: 'value' },
    );
  }
  try {
    return cipher.decrypt(key.value as string, key.ref);
  } catch (error) {
    throw decryptionFailure(key.ref, error);
  }
}

/**
 * Configuration values and secrets. Secret values are encrypted here, with
 * the key's ref as AAD, so the database and its error messages only ever
 * hold ciphertext; reads return the ciphertext and decrypt only on request.
 */
export const KeyRepository = {
  /**
   * Inserts a key. With `secret: true` the value is encrypted with
   * `options.cipher` (ValidationError when there is none). AlreadyExistsError
   * for a taken (owner_type, owner, name).
   */
  async create(db: Executor, input: CreateKeyInput, options: KeyCryptoOptions = {}): Promise<Key> {
    validateInput(ENTITY, input, createRules, 'create');
    const owner = normalizeOwner(input.ownerType, input.owner);
    const ref = keyRef(input.ownerType, owner, input.name);
    const cipher = input.secret ? requireCipher(options) : undefined;
    return table.insert(db, {
      ownerType: input.ownerType,
      owner,
      name: input.name,
      value: jsonText(cipher ? cipher.encrypt(input.value, ref) : input.value),
      encrypted: cipher !== undefined,
      encryptionKeyId: cipher?.keyId,
      description: input.description,
      expiresAt: input.expiresAt,
    });
  },

  /** By id, expired or not (the administrative handle); value still encrypted. */
  findById: (db: Executor, id: number): Promise<Key | null> => table.findById(db, id),
  getById: (db: Executor, id: number): Promise<Key> => table.getById(db, id),

  /** The live key with this ref, or null when absent or expired; value still encrypted. */
  async findByRef(db: Executor, ref: string): Promise<Key | null> {
    const parsed = parseKeyRef(ref);
    return table.findOne(db, `ref = $1 AND ${LIVE}`, [parsed.ref]);
  },

  /** The live key with this ref; NotFoundError when absent or expired. */
  async getByRef(db: Executor, ref: string): Promise<Key> {
    return found(await KeyRepository.findByRef(db, ref), ENTITY, 'ref', ref);
  },

  /** The plaintext value of a live key; NotFoundError when absent or expired, DecryptionError as for `decryptValue`. */
  async getValue(db: Executor, ref: string, options: KeyCryptoOptions = {}): Promise<unknown> {
    return decryptValue(await KeyRepository.getByRef(db, ref), options);
  },

  /** Like getValue, but undefined (never a JSON value) when the key is absent or expired. */
  async findValue(db: Executor, ref: string, options: KeyCryptoOptions = {}): Promise<unknown> {
    const key = await KeyRepository.findByRef(db, ref);
    return key === null ? undefined : decryptValue(key, options);
  },

  decryptValue,

  /** Filters and pagination, ordered by ref. Expired keys are left out unless `includeExpired`. */
  async list(db: Executor, input?: KeyFilter): Promise<Page<Key>> {
    const filter = validateFilter(ENTITY, input, filterRules);
    if (filter.owner !== undefined && filter.ownerType === undefined) {
      throw new ValidationError(`${ENTITY} filter owner needs ownerType`, { entity: ENTITY, field: 'owner', value: filter.owner });
    }
    const where = new Where()
      .eq('owner_type', filter.ownerType)
      .eq('owner', filter.owner === undefined ? undefined : normalizeOwner(filter.ownerType!, filter.owner))
      .eq('encrypted', filter.encrypted)
      .eq('encryption_key_id', filter.encryptionKeyId);
    if (filter.encryptionKeyId !== undefined) where.add(() => 'encrypted');
    if (filter.namePrefix) where.add((p) => `name LIKE ${p(`${filter.namePrefix!.replace(/_/g, '\\_')}%`)}`);
    if (!filter.includeExpired) where.add(() => LIVE);
    return table.list(db, where, filter, 'ref');
  },

  /**
   * Partial update. A new value for a secret key is encrypted with
   * `options.cipher`; `secret` turns encryption on or off for the current
   * value. Changes that touch no value run as one statement; the others read
   * the row FOR UPDATE first, in a transaction. NotFoundError for a missing id.
   */
  async update(db: Executor, id: number, input: UpdateKeyInput, options: KeyCryptoOptions = {}): Promise<Key> {
    validateInput(ENTITY, input, updateRules, 'update');
    assertId(id, ENTITY);
    const { value, secret, ...rest } = input;
    if (value === undefined && secret === undefined) return table.update(db, id, rest);
    return withTransaction(db, async (tx) => {
      const result = await table.query(tx, `SELECT ${table.columns} FROM keys WHERE id = $1 FOR UPDATE`, [id]);
      if (result.rows.length === 0) throw new NotFoundError(ENTITY, 'id', id);
      const current = table.fromRow(result.rows[0]!);
      const encrypt = secret ?? current.encrypted;
      let plain: unknown;
      if (value !== undefined) plain = value;
      else if (encrypt !== current.encrypted) plain = current.encrypted ? decryptWith(current, requireCipher(options)) : current.value;
      else return table.update(tx, id, rest);
      const cipher = encrypt ? requireCipher(options) : undefined;
      return table.update(tx, id, {
        ...rest,
        value: jsonText(cipher ? cipher.encrypt(plain, current.ref) : plain),
        encrypted: encrypt,
        encryptionKeyId: cipher ? cipher.keyId : null,
      });
    });
  },

  /** Deletes one key; true when a row went. */
  delete: (db: Executor, id: number): Promise<boolean> => table.deleteById(db, id),

  /** Deletes every key past its expires_at (served by keys_expires_at_idx); returns how many went. */
  async deleteExpired(db: Executor): Promise<number> {
    const result = await table.query(db, 'DELETE FROM keys WHERE expires_at <= now()');
    return result.rowCount ?? 0;
  },

  /**
   * Re-encrypts, in one transaction, every key encrypted under `from.keyId`
   * with `to`, expired ones included; returns how many. A key that `from`
   * cannot decrypt is a DecryptionError naming its ref, and nothing changes.
   */
  async rotate(db: Executor, keys: { from: SecretCipher; to: SecretCipher }): Promise<number> {
    const from = requireCipher({ cipher: keys?.from });
    const to = requireCipher({ cipher: keys?.to });
    if (from.keyId === to.keyId) {
      throw new ValidationError(`rotate needs two different keys; both have id ${from.keyId}`, { entity: ENTITY, field: 'to' });
    }
    return withTransaction(db, async (tx) => {
      const result = await table.query<{ id: number; ref: string; value: unknown }>(
        tx,
        'SELECT id, ref, value FROM keys WHERE encrypted AND encryption_key_id = $1 ORDER BY id FOR UPDATE',
        [from.keyId],
      );
      if (result.rows.length === 0) return 0;
      const ids: number[] = [];
      const values: string[] = [];
      for (const row of result.rows) {
        const plain = decryptWith({ ref: row.ref, value: row.value }, from);
        ids.push(Number(row.id));
        values.push(jsonText(to.encrypt(plain, row.ref)));
      }
      await table.query(
        tx,
        `UPDATE keys AS k SET value = v.value::jsonb, encryption_key_id = $3
           FROM unnest($1::bigint[], $2::text[]) AS v(id, value) WHERE k.id = v.id`,
        [ids, values, to.keyId],
      );
      return ids.length;
    });
  },
};

function decryptWith(key: { ref: string; value: unknown }, cipher: SecretCipher): unknown {
  try {
    if (typeof key.value !== 'string') throw new DecryptionError('stored value is not a ciphertext string');
    return cipher.decrypt(key.value, key.ref);
  } catch (error) {
    throw decryptionFailure(key.ref, error);
  }
}
