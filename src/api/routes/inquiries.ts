/**
 * Inquiries: the list (pending ones by default, those timing out soonest
 * first; `status=` for others, newest first), one by id, and respond (the
 * engine's respondToInquiry: the response checked against the inquiry's
 * schema, the paused execution succeeds). When the inquiry names users or
 * roles, only those (and admins) may answer.
 */
import { Type } from '@fastify/type-provider-typebox';
import { INQUIRY_STATUSES, InquiryRepository, type InquiryStatus } from '../../repositories/inquiries.js';
import type { ApiContext, ApiInstance } from '../app.js';
import { toHttp } from '../case.js';
import { listBody, listPage } from '../pagination.js';
import { IdParams, JsonObject, ListOf, ListQuery, One, errors } from '../schemas.js';
import { respondToInquiry } from '../../engine/inquiries.js';
import { ForbiddenError } from '../../errors.js';
import type { JsonObject as JsonObjectValue } from '../../repositories/packs.js';
import { principalOf } from '../auth/authenticate.js';

const InquiryRef = Type.Ref('Inquiry');

export async function inquiryRoutes(app: ApiInstance, ctx: ApiContext): Promise<void> {
  app.get(
    '/inquiries',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['inquiries'],
        summary: 'List inquiries: pending ones (soonest time-out first) unless status is given',
        querystring: ListQuery({
          status: Type.Optional(Type.Array(Type.String({ enum: [...INQUIRY_STATUSES] }))),
          execution_id: Type.Optional(Type.Integer({ minimum: 1 })),
          assigned_to: Type.Optional(Type.Integer({ minimum: 1 })),
        }),
        response: { 200: ListOf(InquiryRef), ...errors(400, 401, 403, 422) },
      },
    },
    async (request) => {
      const { limit, cursor, count, status, execution_id: executionId, assigned_to: assignedTo } = request.query;
      // Pending (the default) has its own order, by time-out; its cursors are a list of their own.
      const pendingOnly = status === undefined && executionId === undefined;
      const list = pendingOnly ? 'inquiry_pending' : 'inquiry';
      const page = await listPage(list, { limit, cursor, count }, (pagination) =>
        pendingOnly
          ? InquiryRepository.listPending(ctx.db, { assignedTo, ...pagination })
          : InquiryRepository.list(ctx.db, { status: status as InquiryStatus[] | undefined, executionId, assignedTo, ...pagination }),
      );
      return listBody(list, page, toHttp);
    },
  );

  app.get(
    '/inquiries/:id',
    {
      config: { role: 'viewer' },
      schema: { tags: ['inquiries'], summary: 'One inquiry', params: IdParams, response: { 200: One(InquiryRef), ...errors(400, 401, 403, 404) } },
    },
    async (request) => ({ data: toHttp(await InquiryRepository.getById(ctx.db, request.params.id)) }),
  );

  app.post(
    '/inquiries/:id/respond',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['inquiries'],
        summary: "Answer an inquiry: the response must satisfy its schema; its paused execution succeeds with it",
        params: IdParams,
        body: Type.Object({ response: JsonObject }, { additionalProperties: false }),
        response: { 200: One(InquiryRef), ...errors(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const inquiry = await InquiryRepository.getById(ctx.db, request.params.id);
      const users = inquiry.users ?? [];
      const roles = inquiry.roles ?? [];
      const named = users.length > 0 || roles.length > 0;
      const allowed = principal.role === 'admin' || users.some((user) => user.toLowerCase() === principal.login.toLowerCase()) || roles.includes(principal.role);
      if (named && !allowed) {
        throw new ForbiddenError(`inquiry ${inquiry.id} may be answered only by ${[...users, ...roles.map((role) => `role ${role}`)].join(', ')}`, { entity: 'inquiry', field: 'users' });
      }
      const result = await respondToInquiry(ctx.db, inquiry.id, request.body.response as JsonObjectValue, { respondedBy: principal.identity?.id ?? null });
      request.log.info({ inquiry_id: inquiry.id, execution_id: result.inquiry.executionId }, 'inquiry answered');
      return { data: toHttp(result.inquiry) };
    },
  );
}
