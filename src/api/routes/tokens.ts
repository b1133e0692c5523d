/**
 * API tokens for scripts and CI: create (the token is in this one response
 * only), list (never the token), revoke. Anyone signed in manages their own;
 * an admin manages anyone's (`login`).
 */
import { Type } from '@fastify/type-provider-typebox';
import { ForbiddenError, ValidationError } from '../../errors.js';
import { ApiTokenRepository } from '../../repositories/api-tokens.js';
import { IdentityRepository } from '../../repositories/identities.js';
import type { ApiContext, ApiInstance } from '../app.js';
import { principalOf } from '../auth/authenticate.js';
import type { Principal } from '../auth/roles.js';
import { toHttp } from '../case.js';
import { listBody, listPage } from '../pagination.js';
import { IdParams, ListOf, ListQuery, NullableTimestamp, One, errors } from '../schemas.js';

const TokenRef = Type.Ref('ApiToken');

/** The identity a token request is about: `login` (an admin's choice, or the caller's own), else the caller. */
async function targetIdentityId(ctx: ApiContext, principal: Principal, login: string | undefined): Promise<number> {
  if (login !== undefined && principal.role !== 'admin' && login.toLowerCase() !== principal.login.toLowerCase()) {
    throw new ForbiddenError("only an admin manages another identity's tokens", { entity: 'api_token', field: 'login' });
  }
  if (login !== undefined) return (await IdentityRepository.getByLogin(ctx.db, login)).id;
  if (principal.identity === null) {
    throw new ValidationError('authentication is off, so there is no calling identity: name one with login', { entity: 'api_token', field: 'login' });
  }
  return principal.identity.id;
}

export async function tokenRoutes(app: ApiInstance, ctx: ApiContext): Promise<void> {
  app.post(
    '/tokens',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['tokens'],
        summary: 'Create an API token; the token is in this response only',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 255 }),
            expires_at: Type.Optional(NullableTimestamp),
            ttl_seconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 10 * 365 * 86_400 })),
            login: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'another identity (admin only)' })),
          },
          { additionalProperties: false },
        ),
        response: { 201: One(Type.Intersect([TokenRef, Type.Object({ token: Type.String() })])), ...errors(400, 401, 403, 404, 422) },
      },
    },
    async (request, reply) => {
      const { name, expires_at: expiresAtText, ttl_seconds: ttl, login } = request.body;
      if (ttl !== undefined && expiresAtText !== undefined) throw new ValidationError('give expires_at or ttl_seconds, not both', { entity: 'api_token', field: 'ttl_seconds' });
      const identityId = await targetIdentityId(ctx, principalOf(request), login);
      const expiresAt = ttl !== undefined ? new Date(Date.now() + ttl * 1000) : expiresAtText == null ? null : new Date(expiresAtText);
      const { token, record } = await ApiTokenRepository.create(ctx.db, { identityId, name, kind: 'api', expiresAt });
      request.log.info({ token_id: record.id, identity_id: identityId }, 'token created');
      return reply.code(201).send({ data: { ...toHttp(record), token } });
    },
  );

  app.get(
    '/tokens',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['tokens'],
        summary: "List tokens (never the token itself): the caller's, or an identity's (admin), or everyone's (admin, all=true)",
        querystring: ListQuery({
          login: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
          all: Type.Optional(Type.Boolean()),
          include_inactive: Type.Optional(Type.Boolean({ description: 'also revoked and expired tokens' })),
        }),
        response: { 200: ListOf(TokenRef), ...errors(400, 401, 403, 404, 422) },
      },
    },
    async (request) => {
      const { limit, cursor, count, login, all, include_inactive: includeInactive } = request.query;
      const principal = principalOf(request);
      if (all === true && principal.role !== 'admin') throw new ForbiddenError("only an admin lists everyone's tokens", { entity: 'api_token', field: 'all' });
      const identityId = all === true ? undefined : await targetIdentityId(ctx, principal, login);
      const page = await listPage('api_token', { limit, cursor, count }, (pagination) => ApiTokenRepository.list(ctx.db, { identityId, includeInactive, ...pagination }));
      return listBody('api_token', page, toHttp);
    },
  );

  app.delete(
    '/tokens/:id',
    {
      config: { role: 'viewer' },
      schema: { tags: ['tokens'], summary: 'Revoke a token (yours, or anyone\'s for an admin)', params: IdParams, response: { 200: One(TokenRef), ...errors(400, 401, 403, 404) } },
    },
    async (request) => {
      const principal = principalOf(request);
      const token = await ApiTokenRepository.getById(ctx.db, request.params.id);
      if (principal.role !== 'admin' && token.identityId !== principal.identity?.id) {
        throw new ForbiddenError("only an admin revokes another identity's tokens", { entity: 'api_token', field: 'id' });
      }
      return { data: toHttp(await ApiTokenRepository.revoke(ctx.db, token.id)) };
    },
  );
}
