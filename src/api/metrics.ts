/**
 * `/metrics`: Prometheus text. HTTP requests, event intake and claim latency
 * are recorded as they happen (src/metrics.ts); executions by status and the
 * queue depth are counted in the database at scrape time, so every process
 * reports the same figures whichever roles it runs.
 */
import { Type } from '@fastify/type-provider-typebox';
import { EXECUTION_STATUSES } from '../repositories/executions.js';
import { StatsRepository } from '../repositories/stats.js';
import type { ApiContext, ApiInstance } from './app.js';
import { errors } from './schemas.js';

export async function metricsRoutes(app: ApiInstance, ctx: ApiContext): Promise<void> {
  app.get(
    '/metrics',
    {
      config: { role: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics (text exposition format)',
        produces: ['text/plain'],
        response: { 200: Type.String(), ...errors(503) },
      },
    },
    async (_request, reply) => {
      const counts = await StatsRepository.executionsByStatus(ctx.db);
      for (const status of EXECUTION_STATUSES) ctx.metrics.executions.set({ status }, counts[status] ?? 0);
      ctx.metrics.queueDepth.set(counts.requested ?? 0);
      const text = await ctx.metrics.registry.metrics();
      return reply.type(ctx.metrics.registry.contentType).send(text);
    },
  );
}
