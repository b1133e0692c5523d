/**
 * Stats for the web UI's dashboard: executions per status over a recent
 * window, the queue depth, live workers, recent failures and the pending
 * inquiries, in one request (viewer).
 */
import { Type } from '@fastify/type-provider-typebox';
import { ExecutionRepository, type ExecutionStatus } from '../../repositories/executions.js';
import { InquiryRepository } from '../../repositories/inquiries.js';
import { StatsRepository } from '../../repositories/stats.js';
import { WorkerRepository } from '../../repositories/workers.js';
import type { ApiContext, ApiInstance } from '../app.js';
import { toHttp } from '../case.js';
import { errors } from '../schemas.js';
import { executionsToHttp } from './executions.js';

/** Statuses the dashboard counts as failures. */
const FAILURE_STATUSES: ExecutionStatus[] = ['failed', 'timeout', 'abandoned'];

const DashboardBody = Type.Object({
  data: Type.Object({
    since: Type.String({ format: 'date-time' }),
    window_seconds: Type.Integer(),
    executions_by_status: Type.Record(Type.String(), Type.Integer(), { description: 'executions created in the window, per status (statuses with none absent)' }),
    queue_depth: Type.Integer({ description: 'executions requested and waiting for a worker' }),
    live_workers: Type.Array(Type.Ref('Worker')),
    recent_failures: Type.Array(Type.Ref('Execution'), { description: 'the newest failed, timed-out or abandoned executions' }),
    pending_inquiries: Type.Integer(),
    next_inquiries: Type.Array(Type.Ref('Inquiry'), { description: 'pending inquiries timing out soonest' }),
  }),
});

export async function statsRoutes(app: ApiInstance, ctx: ApiContext): Promise<void> {
  app.get(
    '/stats/dashboard',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['stats'],
        summary: "The dashboard's figures: executions per status over the window (default the last hour), queue depth, live workers, recent failures, pending inquiries",
        querystring: Type.Object(
          {
            window_seconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 7 * 86_400, default: 3600 })),
            failures: Type.Optional(Type.Integer({ minimum: 0, maximum: 50, default: 5, description: 'how many recent failures to list' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: DashboardBody, ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const windowSeconds = request.query.window_seconds ?? 3600;
      const since = new Date(Date.now() - windowSeconds * 1000);
      const [counts, workers, failures, inquiries] = await Promise.all([
        StatsRepository.dashboard(ctx.db, since),
        WorkerRepository.listLive(ctx.db),
        ExecutionRepository.list(ctx.db, { status: FAILURE_STATUSES, limit: Math.max(1, request.query.failures ?? 5), count: false }),
        InquiryRepository.listPending(ctx.db, { limit: 5, count: false }),
      ]);
      const failureItems = request.query.failures === 0 ? [] : failures.items;
      return {
        data: {
          since: since.toISOString(),
          window_seconds: windowSeconds,
          executions_by_status: counts.executionsByStatus,
          queue_depth: counts.queueDepth,
          live_workers: workers.map(toHttp),
          recent_failures: await executionsToHttp(ctx.db, failureItems),
          pending_inquiries: counts.pendingInquiries,
          next_inquiries: inquiries.items.map(toHttp),
        },
      };
    },
  );
}
