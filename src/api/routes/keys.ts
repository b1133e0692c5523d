/**
 * Keys: configuration values and secrets. A secret's value shows as
 * `********` except to an admin or the key's owner (an identity key of the
 * caller's own login) asking with `?decrypt=true`. Setting and deleting an
 * identity key of someone else needs admin.
 */
import { Type } from '@fastify/type-provider-typebox';
import { ForbiddenError, NotFoundError, ValidationError } from '../../errors.js';
import { withTransaction } from '../../db/transaction.js';
import { KEY_OWNER_TYPES, KeyRepository, decryptValue, parseKeyRef, type Key, type KeyOwnerType } from '../../repositories/keys.js';
import type { ApiContext, ApiInstance } from '../app.js';
import { principalOf } from '../auth/authenticate.js';
import { isAdminOrSelf, type Principal } from '../auth/roles.js';
import { toHttp } from '../case.js';
import { MASKED } from '../mask.js';
import { listBody, listPage } from '../pagination.js';
import { ListOf, ListQuery, NullableString, NullableTimestamp, One, errors } from '../schemas.js';

const KeyRef = Type.Ref('Key');
const KeyRefParams = Type.Object({ ref: Type.String({ minLength: 1, maxLength: 600, description: 'system.<name>, pack.<pack>.<name>, identity.<login>.<name> or action.<action>.<name>' }) });

/** A key for a response: the value masked when secret, unless the caller passes the decrypted one. */
function keyToHttp(key: Key, value: unknown = key.encrypted ? MASKED : key.value): Record<string, unknown> {
  const { encrypted, encryptionKeyId: _keyId, value: _value, ...rest } = key;
  return toHttp({ ...rest, value, secret: encrypted });
}

/** Admin, or the identity a key of owner type identity belongs to. */
function mayReadSecret(principal: Principal, key: { ownerType: KeyOwnerType; owner: string }): boolean {
  return principal.role === 'admin' || (key.ownerType === 'identity' && isAdminOrSelf(principal, key.owner));
}

/** Identity keys of others are an admin's business; other keys need the route's role (operator). */
function assertMayWrite(principal: Principal, key: { ownerType: KeyOwnerType; owner: string; ref: string }): void {
  if (key.ownerType === 'identity' && !isAdminOrSelf(principal, key.owner)) {
    throw new ForbiddenError(`key ${key.ref} belongs to identity ${key.owner}: only an admin or that identity may change it`, { entity: 'key', field: 'ref' });
  }
}

/** The key with this ref whether or not it has expired (an expired one is replaced by a set). */
async function findAnyByRef(ctx: ApiContext, ref: string): Promise<Key | null> {
  const parsed = parseKeyRef(ref);
  const page = await KeyRepository.list(ctx.db, { ownerType: parsed.ownerType, owner: parsed.owner, namePrefix: parsed.name, includeExpired: true, limit: 1000, count: false });
  return page.items.find((key) => key.name === parsed.name) ?? null;
}

export async function keyRoutes(app: ApiInstance, ctx: ApiContext): Promise<void> {
  app.get(
    '/keys',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['keys'],
        summary: 'List keys by ref; secret values masked',
        querystring: ListQuery({
          owner_type: Type.Optional(Type.String({ enum: [...KEY_OWNER_TYPES] })),
          owner: Type.Optional(Type.String({ maxLength: 255 })),
          prefix: Type.Optional(Type.String({ maxLength: 255, description: 'names starting with this' })),
          secret: Type.Optional(Type.Boolean()),
        }),
        response: { 200: ListOf(KeyRef), ...errors(400, 401, 403, 422) },
      },
    },
    async (request) => {
      const { limit, cursor, count, owner_type: ownerType, owner, prefix, secret } = request.query;
      const page = await listPage('key', { limit, cursor, count }, (pagination) =>
        KeyRepository.list(ctx.db, { ownerType: ownerType as KeyOwnerType | undefined, owner, namePrefix: prefix, encrypted: secret, ...pagination }),
      );
      return listBody('key', page, (key) => keyToHttp(key));
    },
  );

  app.get(
    '/keys/:ref',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['keys'],
        summary: "One key; a secret's value only with decrypt=true, for an admin or the key's owner",
        params: KeyRefParams,
        querystring: Type.Object({ decrypt: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: { 200: One(KeyRef), ...errors(400, 401, 403, 404, 422) },
      },
    },
    async (request) => {
      const key = await KeyRepository.getByRef(ctx.db, request.params.ref);
      if (!key.encrypted || request.query.decrypt !== true) return { data: keyToHttp(key) };
      if (!mayReadSecret(principalOf(request), key)) {
        throw new ForbiddenError(`the value of secret key ${key.ref} is readable only by an admin or its owner`, { entity: 'key', field: 'decrypt' });
      }
      return { data: keyToHttp(key, decryptValue(key, { cipher: ctx.cipher })) };
    },
  );

  app.put(
    '/keys/:ref',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['keys'],
        summary: 'Set a key (created when absent, replaced when present); secret=true stores it encrypted',
        params: KeyRefParams,
        body: Type.Object(
          {
            value: Type.Unknown({ description: 'any JSON value' }),
            secret: Type.Optional(Type.Boolean()),
            description: Type.Optional(NullableString),
            expires_at: Type.Optional(NullableTimestamp),
            ttl_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 * 365 * 86_400, description: 'expires this many seconds from now' })),
          },
          { additionalProperties: false, required: ['value'] },
        ),
        response: { 200: One(KeyRef), 201: One(KeyRef), ...errors(400, 401, 403, 422) },
      },
    },
    async (request, reply) => {
      const parsed = parseKeyRef(request.params.ref);
      assertMayWrite(principalOf(request), parsed);
      const { value, secret, description, expires_at: expiresAtText, ttl_seconds: ttl } = request.body;
      if (value === undefined) throw new ValidationError('body field value is required', { entity: 'key', field: 'value' });
      if (ttl !== undefined && expiresAtText !== undefined) {
        throw new ValidationError('give expires_at or ttl_seconds, not both', { entity: 'key', field: 'ttl_seconds' });
      }
      const expiresAt = ttl !== undefined ? new Date(Date.now() + ttl * 1000) : expiresAtText === undefined ? undefined : expiresAtText === null ? null : new Date(expiresAtText);
      const existing = await findAnyByRef(ctx, parsed.ref);
      const options = { cipher: ctx.cipher };
      if (existing === null) {
        const created = await withTransaction(ctx.db, (tx) => KeyRepository.create(
          tx,
          { ownerType: parsed.ownerType, owner: parsed.owner, name: parsed.name, value, secret: secret ?? false, description, expiresAt },
          options,
        ));
        return reply.code(201).send({ data: keyToHttp(created) });
      }
      // A set replaces the key: an expiry not given again is cleared; a secret stays secret unless secret=false says otherwise.
      const updated = await KeyRepository.update(ctx.db, existing.id, { value, secret: secret ?? existing.encrypted, description, expiresAt: expiresAt ?? null }, options);
      return { data: keyToHttp(updated) };
    },
  );

  app.delete(
    '/keys/:ref',
    {
      config: { role: 'operator' },
      schema: { tags: ['keys'], summary: 'Delete a key', params: KeyRefParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 422) } },
    },
    async (request, reply) => {
      const parsed = parseKeyRef(request.params.ref);
      assertMayWrite(principalOf(request), parsed);
      const key = await findAnyByRef(ctx, parsed.ref);
      if (key === null || !(await KeyRepository.delete(ctx.db, key.id))) throw new NotFoundError('key', 'ref', parsed.ref);
      return reply.code(204).send(null);
    },
  );
}
