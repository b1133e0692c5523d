/** Enforcements: list (by rule, event, status, time) and get. Resolved parameters show secrets masked. */
import { Type } from '@fastify/type-provider-typebox';
import { ENFORCEMENT_STATUSES, EnforcementRepository, type Enforcement } from '../../repositories/enforcements.js';
import type { ApiContext, ApiInstance } from '../app.js';
import { toHttp } from '../case.js';
import { maskParams } from '../mask.js';
import { listBody, listPage } from '../pagination.js';
import { IdParams, ListOf, ListQuery, One, Timestamp, errors } from '../schemas.js';

const EnforcementRef = Type.Ref('Enforcement');

function enforcementToHttp(enforcement: Enforcement): Record<string, unknown> {
  return toHttp({ ...enforcement, resolvedParams: maskParams(enforcement.resolvedParams, {}) });
}

export async function enforcementRoutes(app: ApiInstance, ctx: ApiContext): Promise<void> {
  app.get(
    '/enforcements',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['enforcements'],
        summary: 'List enforcements, newest first',
        querystring: ListQuery({
          rule: Type.Optional(Type.String({ maxLength: 512, description: 'rule ref' })),
          rule_id: Type.Optional(Type.Integer({ minimum: 1 })),
          event_id: Type.Optional(Type.Integer({ minimum: 1 })),
          status: Type.Optional(Type.String({ enum: [...ENFORCEMENT_STATUSES] })),
          since: Type.Optional(Timestamp),
        }),
        response: { 200: ListOf(EnforcementRef), ...errors(400, 401, 403, 422) },
      },
    },
    async (request) => {
      const { limit, cursor, count, rule, rule_id: ruleId, event_id: eventId, status, since } = request.query;
      const page = await listPage('enforcement', { limit, cursor, count }, (pagination) =>
        EnforcementRepository.list(ctx.db, {
          ruleRef: rule,
          ruleId,
          eventId,
          status: status as Enforcement['status'] | undefined,
          since: since === undefined ? undefined : new Date(since),
          ...pagination,
        }),
      );
      return listBody('enforcement', page, enforcementToHttp);
    },
  );

  app.get(
    '/enforcements/:id',
    {
      config: { role: 'viewer' },
      schema: { tags: ['enforcements'], summary: 'One enforcement', params: IdParams, response: { 200: One(EnforcementRef), ...errors(400, 401, 403, 404) } },
    },
    async (request) => ({ data: enforcementToHttp(await EnforcementRepository.getById(ctx.db, request.params.id)) }),
  );
}
