/** Login (a password for a token that expires) and who the caller is. */
import { Type } from '@fastify/type-provider-typebox';
import { AuthenticationError } from '../../errors.js';
import { ApiTokenRepository } from '../../repositories/api-tokens.js';
import { IdentityRepository, PASSWORD_MAX_LENGTH } from '../../repositories/identities.js';
import type { ApiContext, ApiInstance } from '../app.js';
import { principalOf } from '../auth/authenticate.js';
import { toHttp } from '../case.js';
import { NullableTimestamp, One, errors } from '../schemas.js';

const LoginBody = Type.Object(
  { login: Type.String({ minLength: 1, maxLength: 255 }), password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH }) },
  { additionalProperties: false },
);

export async function authRoutes(app: ApiInstance, ctx: ApiContext): Promise<void> {
  app.post(
    '/auth/login',
    {
      config: {
        role: 'public',
        // Throttles password guessing per client address, whatever the login tried.
        rateLimit: { max: ctx.config.api.loginRateLimitMax, timeWindow: ctx.config.api.rateLimitWindowSeconds * 1000, keyGenerator: (request) => `login:${request.ip}` },
      },
      schema: {
        tags: ['auth'],
        summary: 'Log in with a password; the token it returns is shown once and expires (ATTUNE__SECURITY__LOGIN_TOKEN_TTL_SECONDS)',
        body: LoginBody,
        response: {
          201: One(Type.Object({ token: Type.String(), token_id: Type.Integer(), expires_at: NullableTimestamp, identity: Type.Ref('Identity') })),
          ...errors(400, 401, 429),
        },
      },
    },
    async (request, reply) => {
      const identity = await IdentityRepository.verifyPassword(ctx.db, request.body.login, request.body.password);
      // One answer for an unknown login, a wrong password and an inactive identity: none of them says which.
      if (identity === null) throw new AuthenticationError('login or password is wrong', { entity: 'identity', field: 'password' });
      const expiresAt = new Date(Date.now() + ctx.config.security.loginTokenTtlSeconds * 1000);
      const { token, record } = await ApiTokenRepository.create(ctx.db, { identityId: identity.id, name: 'login', kind: 'login', expiresAt });
      request.log.info({ login: identity.login, token_id: record.id }, 'logged in');
      return reply.code(201).send({ data: { token, token_id: record.id, expires_at: record.expiresAt, identity: toHttp(identity) } });
    },
  );

  app.get(
    '/auth/whoami',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['auth'],
        summary: 'The caller: login, role, and the identity when authentication is on',
        response: { 200: One(Type.Object({ login: Type.String(), role: Type.String(), token_id: Type.Union([Type.Integer(), Type.Null()]), identity: Type.Union([Type.Ref('Identity'), Type.Null()]) })), ...errors(401) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      return { data: { login: principal.login, role: principal.role, token_id: principal.tokenId, identity: principal.identity === null ? null : toHttp(principal.identity) } };
    },
  );
}
