/**
 * Inquiries: the list (pending ones by default, those timing out soonest
 * first; `status=` for others, newest first) and one by id. Answering is the
 * engine's route.
 */
import { Type } from '@fastify/type-provider-typebox';
import { INQUIRY_STATUSES, InquiryRepository, type InquiryStatus } from '../../repositories/inquiries.js';
import type { ApiContext, ApiInstance } from '../app.js';
import { toHttp } from '../case.js';
import { listBody, listPage } from '../pagination.js';
import { IdParams, ListOf, ListQuery, One, errors } from '../schemas.js';

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
}
