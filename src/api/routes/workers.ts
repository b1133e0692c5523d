/** Workers: the list (all, or only live ones: a recent heartbeat and a status that takes work) and one by id. */
import { Type } from '@fastify/type-provider-typebox';
import { WORKER_STATUSES, WORKER_TYPES, WorkerRepository, type Worker } from '../../repositories/workers.js';
import type { ApiContext, ApiInstance } from '../app.js';
import { toHttp } from '../case.js';
import { listBody, listPage } from '../pagination.js';
import { IdParams, ListOf, ListQuery, One, errors } from '../schemas.js';

const WorkerRef = Type.Ref('Worker');

export async function workerRoutes(app: ApiInstance, ctx: ApiContext): Promise<void> {
  app.get(
    '/workers',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['workers'],
        summary: 'List workers; live=true lists only those with a recent heartbeat (one page, no cursor)',
        querystring: ListQuery({
          live: Type.Optional(Type.Boolean()),
          status: Type.Optional(Type.String({ enum: [...WORKER_STATUSES] })),
          worker_type: Type.Optional(Type.String({ enum: [...WORKER_TYPES] })),
        }),
        response: { 200: ListOf(WorkerRef), ...errors(400, 401, 403, 422) },
      },
    },
    async (request) => {
      const { limit, cursor, count, live, status, worker_type: workerType } = request.query;
      if (live === true) {
        const workers = await WorkerRepository.listLive(ctx.db);
        const matching = workers.filter((w) => (status === undefined || w.status === status) && (workerType === undefined || w.workerType === workerType));
        return { data: matching.map(toHttp), next_cursor: null, ...(count === true ? { total: matching.length } : {}) };
      }
      const page = await listPage('worker', { limit, cursor, count }, (pagination) =>
        WorkerRepository.list(ctx.db, { status: status as Worker['status'] | undefined, workerType: workerType as Worker['workerType'] | undefined, ...pagination }),
      );
      return listBody('worker', page, toHttp);
    },
  );

  app.get(
    '/workers/:id',
    {
      config: { role: 'viewer' },
      schema: { tags: ['workers'], summary: 'One worker', params: IdParams, response: { 200: One(WorkerRef), ...errors(400, 401, 403, 404) } },
    },
    async (request) => ({ data: toHttp(await WorkerRepository.getById(ctx.db, request.params.id)) }),
  );
}
