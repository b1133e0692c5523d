import { createHash, randomBytes } from 'node:crypto';
import { NotFoundError, ValidationError } from '../errors.js';
import type { Executor } from '../db/pool.js';
import { assertId, PAGINATION_RULES, Table, Where, type Page, type Pagination } from './support/table.js';
import { is, validateFilter, validateInput, type Rules } from './support/validate.js';
import { type Identity, type IdentityRole } from './identities.js';

/** How a token was made: by logging in with a password, or on purpose for a script. */
export const API_TOKEN_KINDS = ['login', 'api'] as const;
export type ApiTokenKind = (typeof API_TOKEN_KINDS)[number];

/**
 * A bearer token's record. The token itself is never stored or returned
 * again after `create`: only its SHA-256 is kept, and this entity does not
 * carry even that.
 */
export interface ApiToken {
  id: number;
  identityId: number;
  name: string;
  kind: ApiTokenKind;
  /** Null: never expires. */
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
}

export interface CreateApiTokenInput {
  identityId: number;
  name: string;
  /** Default api. */
  kind?: ApiTokenKind;
  expiresAt?: Date | null;
}

export interface ApiTokenFilter extends Pagination {
  identityId?: number;
  /** Also list revoked and expired tokens. Default false. */
  includeInactive?: boolean;
}

/** An identity authenticated by a token, with the token it used. */
export interface TokenPrincipal {
  identity: Identity;
  token: ApiToken;
}

/** Every token starts with this, so a leaked one is recognisable (secret scanners) and a typo fails fast. */
export const TOKEN_PREFIX = 'attn_';
/** 32 random bytes, base64url: 43 characters after the prefix. */
const TOKEN_PATTERN = /^attn_[A-Za-z0-9_-]{43}$/;

const ENTITY = 'api_token';

const table = new Table<ApiToken>({
  table: 'api_tokens',
  entity: ENTITY,
  columns: {
    id: 'id',
    identityId: 'identity_id',
    name: 'name',
    kind: 'kind',
    expiresAt: 'expires_at',
    revokedAt: 'revoked_at',
    lastUsedAt: 'last_used_at',
    createdAt: 'created_at',
  },
  secretColumns: ['token_hash'],
});

const createRules: Rules = {
  identityId: { check: is.integer(1, Number.MAX_SAFE_INTEGER), required: true },
  name: { check: is.string({ min: 1, max: 255 }), required: true },
  kind: { check: is.oneOf(API_TOKEN_KINDS) },
  expiresAt: { check: is.timestamp, nullable: true },
};

const filterRules: Rules = {
  ...PAGINATION_RULES,
  identityId: { check: is.integer(1, Number.MAX_SAFE_INTEGER) },
  includeInactive: { check: is.boolean },
};

/** A token is usable until revoked or past its expiry; `prefix` is the table alias with its dot. */
const usable = (prefix = ''): string => `(${prefix}revoked_at IS NULL AND (${prefix}expires_at IS NULL OR ${prefix}expires_at > now()))`;

/** SHA-256 of the token text: what is stored and looked up. A fast hash is right for 256 random bits. */
export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** A fresh random token: `attn_` and 32 random bytes in base64url. */
export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** True when `text` looks like a token this module made (checked before any lookup). */
export function isTokenShaped(text: unknown): text is string {
  return typeof text === 'string' && TOKEN_PATTERN.test(text);
}

/** Bearer tokens per identity: created (shown once), looked up by hash, revoked. */
export const ApiTokenRepository = {
  /**
   * Makes a token for an identity; returns the record and the token, which
   * is never available again. InvalidReferenceError when the identity does
   * not exist.
   */
  async create(db: Executor, input: CreateApiTokenInput): Promise<{ token: string; record: ApiToken }> {
    validateInput(ENTITY, input, createRules, 'create');
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
      throw new ValidationError(`${ENTITY}.expiresAt must be in the future`, { entity: ENTITY, field: 'expiresAt' });
    }
    const token = generateToken();
    const result = await table.query(
      db,
      `INSERT INTO api_tokens (identity_id, name, kind, token_hash, expires_at)
       VALUES ($1, $2, COALESCE($3::text, 'api'), $4, $5) RETURNING ${table.columns}`,
      [input.identityId, input.name, input.kind ?? null, hashToken(token), input.expiresAt ?? null],
    );
    return { token, record: table.fromRow(result.rows[0]!) };
  },

  findById: (db: Executor, id: number): Promise<ApiToken | null> => table.findById(db, id),
  getById: (db: Executor, id: number): Promise<ApiToken> => table.getById(db, id),

  /**
   * The active identity and usable token for a bearer token, or null (unknown,
   * revoked, expired, identity inactive). Records the use, at most once a
   * minute per token so that reads do not each write.
   */
  async authenticate(db: Executor, token: string): Promise<TokenPrincipal | null> {
    if (!isTokenShaped(token)) return null;
    const result = await table.query(
      db,
      `WITH found AS (
         SELECT t.id FROM api_tokens t JOIN identities i ON i.id = t.identity_id
          WHERE t.token_hash = $1 AND ${usable('t.')} AND i.is_active
       ), touched AS (
         UPDATE api_tokens SET last_used_at = now()
          WHERE id = (SELECT id FROM found) AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
       )
       SELECT t.id, t.identity_id, t.name, t.kind, t.expires_at, t.revoked_at, t.last_used_at, t.created_at,
              i.login, i.display_name, i.email, i.attributes, i.is_active, i.has_password, i.role,
              i.created_at AS identity_created_at, i.updated_at AS identity_updated_at
         FROM found f JOIN api_tokens t ON t.id = f.id JOIN identities i ON i.id = t.identity_id`,
      [hashToken(token)],
    );
    const row = result.rows[0];
    if (!row) return null;
    const identity: Identity = {
      id: Number(row.identity_id),
      login: row.login,
      displayName: row.display_name,
      email: row.email,
      attributes: row.attributes,
      isActive: row.is_active,
      hasPassword: row.has_password,
      role: row.role as IdentityRole,
      createdAt: row.identity_created_at,
      updatedAt: row.identity_updated_at,
    };
    return { identity, token: table.fromRow(row) };
  },

  /** Newest first; usable tokens only unless `includeInactive`. */
  async list(db: Executor, input?: ApiTokenFilter): Promise<Page<ApiToken>> {
    const filter = validateFilter(ENTITY, input, filterRules);
    const where = new Where().eq('identity_id', filter.identityId);
    if (!filter.includeInactive) where.add(() => usable());
    return table.list(db, where, filter, 'created_at DESC, id DESC');
  },

  /** Revokes a token (kept for the record); NotFoundError for a missing id. Revoking twice keeps the first time. */
  async revoke(db: Executor, id: number): Promise<ApiToken> {
    assertId(id, ENTITY);
    const result = await table.query(
      db,
      `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING ${table.columns}`,
      [id],
    );
    if (result.rows.length === 0) throw new NotFoundError(ENTITY, 'id', id);
    return table.fromRow(result.rows[0]!);
  },

  /**
   * Revokes a token that is not revoked yet: true for the one call that did
   * (of any number made at once), false when it was revoked already. What a
   * one-use token is used up with.
   */
  async revokeUnrevoked(db: Executor, id: number): Promise<boolean> {
    assertId(id, ENTITY);
    const result = await table.query(db, 'UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
    return result.rowCount === 1;
  },

  /** Revokes every usable token of an identity (deactivation, password change); returns how many. */
  async revokeAllFor(db: Executor, identityId: number): Promise<number> {
    assertId(identityId, ENTITY, 'identityId');
    const result = await table.query(db, `UPDATE api_tokens SET revoked_at = now() WHERE identity_id = $1 AND ${usable()}`, [identityId]);
    return result.rowCount ?? 0;
  },

  /** Deletes tokens past their expiry or revoked before `before`; returns how many went. */
  async deleteInactive(db: Executor, before: Date): Promise<number> {
    const result = await table.query(
      db,
      'DELETE FROM api_tokens WHERE (expires_at IS NOT NULL AND expires_at < $1) OR (revoked_at IS NOT NULL AND revoked_at < $1)',
      [before],
    );
    return result.rowCount ?? 0;
  },
};
