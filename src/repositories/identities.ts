import { burnVerificationTime, hashPassword, needsRehash, verifyPassword as checkPassword } from '../crypto/passwords.js';
import { AlreadyExistsError, NotFoundError, ValidationError } from '../errors.js';
import type { Executor } from '../db/pool.js';
import type { JsonObject } from './packs.js';
import { found, assertId, PAGINATION_RULES, Table, Where, type Page, type Pagination } from './support/table.js';
import { is, validateFilter, validateInput, type Check, type Rules } from './support/validate.js';

/**
 * A user or a service account. The password hash never leaves the database
 * layer: the entity only says whether one is set.
 */
export interface Identity {
  id: number;
  /** Unique case-insensitively; kept as first written. */
  login: string;
  displayName: string | null;
  email: string | null;
  attributes: JsonObject;
  isActive: boolean;
  /** False for service accounts, which authenticate by other means (API tokens). */
  hasPassword: boolean;
  /** What the identity may do through the API (docs/api.md). */
  role: IdentityRole;
  createdAt: Date;
  updatedAt: Date;
}

export interface CreateIdentityInput {
  login: string;
  displayName?: string | null;
  email?: string | null;
  /** Hashed with argon2id before it reaches SQL; omit for a service account. */
  password?: string | null;
  attributes?: JsonObject;
  /** Default true. */
  isActive?: boolean;
  /** Default viewer. */
  role?: IdentityRole;
}

/** The login identifies the identity (keys name it as their owner) and cannot change; the password has `setPassword`. */
export type UpdateIdentityInput = Partial<Omit<CreateIdentityInput, 'login' | 'password'>>;

export interface IdentityFilter extends Pagination {
  isActive?: boolean;
  /** Case-insensitive prefix of the login or the display name. */
  search?: string;
}

/** API roles, most powerful first; mirrors identities_role_check. */
export const IDENTITY_ROLES = ['admin', 'operator', 'viewer'] as const;
export type IdentityRole = (typeof IDENTITY_ROLES)[number];

/** As CHECKed by identities_login_check. */
export const LOGIN_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@+-]*$/;
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 1024;

const ENTITY = 'identity';

const table = new Table<Identity>({
  table: 'identities',
  entity: ENTITY,
  columns: {
    id: 'id',
    login: 'login',
    displayName: 'display_name',
    email: 'email',
    attributes: { column: 'attributes', kind: 'json' },
    isActive: 'is_active',
    hasPassword: 'has_password',
    role: 'role',
    createdAt: 'created_at',
    updatedAt: 'updated_at',
  },
  secretColumns: ['password_hash'],
});

const loginCheck = is.string({ min: 1, max: 255, pattern: LOGIN_PATTERN });

/** Says what is wrong without ever echoing the password. */
const passwordCheck: Check = (value, field, entity) => {
  if (typeof value !== 'string' || value.length < PASSWORD_MIN_LENGTH || value.length > PASSWORD_MAX_LENGTH) {
    throw new ValidationError(`${entity}.${field} must be a string of ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`, { entity, field });
  }
};

const rules: Rules = {
  login: { check: loginCheck, required: true, immutable: true },
  displayName: { check: is.string({ max: 255 }), nullable: true },
  email: { check: is.string({ min: 3, max: 320, pattern: /^[^\s@]+@[^\s@]+$/ }), nullable: true },
  password: { check: passwordCheck, nullable: true, secret: true },
  attributes: { check: is.object },
  isActive: { check: is.boolean },
  role: { check: is.oneOf(IDENTITY_ROLES) },
};

const filterRules: Rules = {
  ...PAGINATION_RULES,
  isActive: { check: is.boolean },
  search: { check: is.string({ max: 255 }) },
};

function assertLogin(login: unknown, field = 'login'): asserts login is string {
  loginCheck(login, field, ENTITY);
}

function assertPassword(password: unknown): asserts password is string {
  if (password === null || password === undefined) throw new ValidationError(`${ENTITY}.password is required`, { entity: ENTITY, field: 'password' });
  passwordCheck(password, 'password', ENTITY);
}

/** `%`, `_` and `\` match literally in a LIKE prefix. */
function likePrefix(text: string): string {
  return `${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The unique index is on lower(login): report the field as `login`, the value as given. */
function loginTaken(error: unknown, login: string): unknown {
  if (error instanceof AlreadyExistsError) {
    return new AlreadyExistsError(`${ENTITY} already exists with login '${login}' (logins are case-insensitive)`, {
      entity: ENTITY,
      field: 'login',
      value: login,
      cause: error,
    });
  }
  return error;
}

/** Users and service accounts, with argon2id passwords. Every function takes the executor first. */
export const IdentityRepository = {
  /**
   * Inserts an identity, hashing `password` when given. AlreadyExistsError
   * when the login is taken in any letter case.
   */
  async create(db: Executor, input: CreateIdentityInput): Promise<Identity> {
    validateInput(ENTITY, input, rules, 'create');
    const passwordHash = input.password == null ? null : await hashPassword(input.password);
    try {
      const result = await table.query(
        db,
        `INSERT INTO identities (login, display_name, email, password_hash, attributes, is_active, role)
         VALUES ($1, $2, $3, $4, COALESCE($5::jsonb, '{}'), COALESCE($6::boolean, true), COALESCE($7::text, 'viewer'))
         RETURNING ${table.columns}`,
        [
          input.login,
          input.displayName ?? null,
          input.email ?? null,
          passwordHash,
          input.attributes === undefined ? null : JSON.stringify(input.attributes),
          input.isActive ?? null,
          input.role ?? null,
        ],
      );
      return table.fromRow(result.rows[0]!);
    } catch (error) {
      // table.query maps errors with password_hash as a secret column: no driver detail survives.
      throw loginTaken(error, input.login);
    }
  },

  findById: (db: Executor, id: number): Promise<Identity | null> => table.findById(db, id),
  getById: (db: Executor, id: number): Promise<Identity> => table.getById(db, id),

  /** Case-insensitive: `Alice` finds `alice`. */
  async findByLogin(db: Executor, login: string): Promise<Identity | null> {
    assertLogin(login);
    return table.findOne(db, 'lower(login) = lower($1)', [login]);
  },

  async getByLogin(db: Executor, login: string): Promise<Identity> {
    return found(await IdentityRepository.findByLogin(db, login), ENTITY, 'login', login);
  },

  /** Filters by activity and login / display-name prefix; ordered by login. */
  async list(db: Executor, input?: IdentityFilter): Promise<Page<Identity>> {
    const filter = validateFilter(ENTITY, input, filterRules);
    const where = new Where().eq('is_active', filter.isActive);
    if (filter.search !== undefined) {
      const search = filter.search.trim();
      if (search !== '') {
        where.add((p) => {
          const pattern = p(likePrefix(search));
          return `(lower(login) LIKE ${pattern} OR lower(display_name) LIKE ${pattern})`;
        });
      }
    }
    return table.list(db, where, filter, 'lower(login), id');
  },

  /** Partial update of display name, email, attributes, activity and role. */
  async update(db: Executor, id: number, input: UpdateIdentityInput): Promise<Identity> {
    if (input !== null && typeof input === 'object' && 'password' in input) {
      throw new ValidationError(`${ENTITY}.password is changed with setPassword, not update`, { entity: ENTITY, field: 'password' });
    }
    validateInput(ENTITY, input, rules, 'update');
    return table.update(db, id, input);
  },

  /** Sets (hashing it) or, with null, removes the password. NotFoundError for a missing id. */
  async setPassword(db: Executor, id: number, password: string | null): Promise<Identity> {
    assertId(id, ENTITY);
    if (password !== null) assertPassword(password);
    const passwordHash = password === null ? null : await hashPassword(password);
    const result = await table.query(db, `UPDATE identities SET password_hash = $2 WHERE id = $1 RETURNING ${table.columns}`, [id, passwordHash]);
    if (result.rowCount === 0) throw new NotFoundError(ENTITY, 'id', id);
    return table.fromRow(result.rows[0]!);
  },

  /**
   * The active identity with this login (any case) when `password` matches,
   * else null: unknown login, inactive identity, no password set, or wrong
   * password all look the same and take about the same time. A match on a
   * hash made with older settings (a legacy scrypt hash, lower argon2id
   * costs) replaces it with a current one, unless the password changed
   * meanwhile.
   */
  async verifyPassword(db: Executor, login: string, password: string): Promise<Identity | null> {
    if (typeof password !== 'string' || password.length > PASSWORD_MAX_LENGTH) return null;
    if (typeof login !== 'string' || !LOGIN_PATTERN.test(login) || login.length > 255) return burnVerificationTime(password).then(() => null);
    const result = await table.query<{ id: number; password_hash: string | null; is_active: boolean }>(
      db,
      `SELECT ${table.columns}, password_hash FROM identities WHERE lower(login) = lower($1)`,
      [login],
    );
    const row = result.rows[0];
    if (!row || row.password_hash === null || !row.is_active) {
      await burnVerificationTime(password);
      return null;
    }
    if (!(await checkPassword(password, row.password_hash))) return null;
    if (!needsRehash(row.password_hash)) return table.fromRow(row);
    const upgraded = await table.query(
      db,
      `UPDATE identities SET password_hash = $3 WHERE id = $1 AND password_hash = $2 RETURNING ${table.columns}`,
      [row.id, row.password_hash, await hashPassword(password)],
    );
    return table.fromRow(upgraded.rows[0] ?? row);
  },

  /** Deletes the identity; executions and inquiries keep their rows with the reference cleared. */
  delete: (db: Executor, id: number): Promise<boolean> => table.deleteById(db, id),
};
