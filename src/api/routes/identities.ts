/** Identities (admin only): list, get, create, update (role, password, …), deactivate. */
import { Type } from '@fastify/type-provider-typebox';
import { withTransaction } from '../../db/transaction.js';
import { ApiTokenRepository } from '../../repositories/api-tokens.js';
import { IDENTITY_ROLES, IdentityRepository, PASSWORD_MAX_LENGTH, type IdentityRole } from '../../repositories/identities.js';
import type { ApiContext, ApiInstance } from '../app.js';
import { fromHttp, toHttp } from '../case.js';
import { listBody, listPage } from '../pagination.js';
import { JsonObject, ListOf, ListQuery, NullableString, One, errors } from '../schemas.js';

const IdentityRef = Type.Ref('Identity');
const LoginParams = Type.Object({ login: Type.String({ minLength: 1, maxLength: 255 }) });
const Role = Type.String({ enum: [...IDENTITY_ROLES] });
const Password = Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH, description: 'at least 8 characters; stored as an argon2id hash' });

export async function identityRoutes(app: ApiInstance, ctx: ApiContext): Promise<void> {
  app.get(
    '/identities',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['identities'],
        summary: 'List identities by login',
        querystring: ListQuery({ active: Type.Optional(Type.Boolean()), search: Type.Optional(Type.String({ maxLength: 255 })) }),
        response: { 200: ListOf(IdentityRef), ...errors(400, 401, 403, 422) },
      },
    },
    async (request) => {
      const { limit, cursor, count, active, search } = request.query;
      const page = await listPage('identity', { limit, cursor, count }, (pagination) => IdentityRepository.list(ctx.db, { isActive: active, search, ...pagination }));
      return listBody('identity', page, toHttp);
    },
  );

  app.get(
    '/identities/:login',
    {
      config: { role: 'admin' },
      schema: { tags: ['identities'], summary: 'One identity', params: LoginParams, response: { 200: One(IdentityRef), ...errors(401, 403, 404, 422) } },
    },
    async (request) => ({ data: toHttp(await IdentityRepository.getByLogin(ctx.db, request.params.login)) }),
  );

  app.post(
    '/identities',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['identities'],
        summary: 'Create an identity (no password: a service account that uses API tokens)',
        body: Type.Object(
          {
            login: Type.String({ minLength: 1, maxLength: 255 }),
            display_name: Type.Optional(NullableString),
            email: Type.Optional(NullableString),
            password: Type.Optional(Password),
            role: Type.Optional(Role),
            attributes: Type.Optional(JsonObject),
          },
          { additionalProperties: false },
        ),
        response: { 201: One(IdentityRef), ...errors(400, 401, 403, 409, 422) },
      },
    },
    async (request, reply) => {
      const body = fromHttp<Parameters<typeof IdentityRepository.create>[1]>(request.body);
      // In a transaction of its own (a savepoint inside a caller's): a taken login leaves nothing half done.
      return reply.code(201).send({ data: toHttp(await withTransaction(ctx.db, (tx) => IdentityRepository.create(tx, body))) });
    },
  );

  app.patch(
    '/identities/:login',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['identities'],
        summary: 'Change an identity: display name, email, attributes, role, activity, password (null removes it)',
        params: LoginParams,
        body: Type.Object(
          {
            display_name: Type.Optional(NullableString),
            email: Type.Optional(NullableString),
            attributes: Type.Optional(JsonObject),
            role: Type.Optional(Role),
            is_active: Type.Optional(Type.Boolean()),
            password: Type.Optional(Type.Union([Password, Type.Null()])),
          },
          { additionalProperties: false },
        ),
        response: { 200: One(IdentityRef), ...errors(400, 401, 403, 404, 422) },
      },
    },
    async (request) => {
      const { password, ...rest } = request.body;
      const patch = fromHttp<{ displayName?: string | null; email?: string | null; attributes?: Record<string, unknown>; role?: IdentityRole; isActive?: boolean }>(rest);
      const identity = await withTransaction(ctx.db, async (tx) => {
        const current = await IdentityRepository.getByLogin(tx, request.params.login);
        let updated = await IdentityRepository.update(tx, current.id, patch);
        if (password !== undefined) updated = await IdentityRepository.setPassword(tx, current.id, password);
        // A deactivated identity, or one whose password changed, keeps no way in from before.
        if (patch.isActive === false || password !== undefined) await ApiTokenRepository.revokeAllFor(tx, current.id);
        return updated;
      });
      return { data: toHttp(identity) };
    },
  );

  app.post(
    '/identities/:login/deactivate',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['identities'],
        summary: 'Deactivate an identity: it can no longer log in, and every token it has is revoked',
        params: LoginParams,
        response: { 200: One(IdentityRef), ...errors(401, 403, 404, 422) },
      },
    },
    async (request) => {
      const identity = await withTransaction(ctx.db, async (tx) => {
        const current = await IdentityRepository.getByLogin(tx, request.params.login);
        const updated = await IdentityRepository.update(tx, current.id, { isActive: false });
        await ApiTokenRepository.revokeAllFor(tx, current.id);
        return updated;
      });
      return { data: toHttp(identity) };
    },
  );
}
