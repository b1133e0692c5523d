/**
 * `/healthz`: the process answers (liveness). `/readyz`: the database
 * answers and its migrations are current (readiness): a load balancer sends
 * traffic only to a ready process, and an orchestrator restarts only a dead one.
 */
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type pg from 'pg';
import { DatabaseUnavailableError, MigrationError, isAttuneError } from '../errors.js';
import { migrationStatus } from '../db/migrator.js';
import type { ApiContext, ApiInstance } from './app.js';
import { errorBody } from './errors.js';
import { errors } from './schemas.js';

/** Where /readyz reads the migration files from; tests point it at a folder with one more. */
export interface HealthOptions {
  migrationsDir?: string;
}

export async function healthRoutes(app: ApiInstance, ctx: ApiContext, options: HealthOptions = {}): Promise<void> {
  app.get(
    '/healthz',
    {
      config: { role: 'public' },
      schema: { tags: ['health'], summary: 'Liveness: the process answers', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { role: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Readiness: the database answers and every migration is applied',
        response: {
          200: Type.Object({ status: Type.Literal('ready'), migrations: Type.Object({ applied: Type.Integer(), latest: Type.Integer() }) }),
          ...errors(503),
        },
      },
    },
    async (request, reply) => {
      try {
        const status = await migrationStatus(ctx.db as pg.Pool, options.migrationsDir === undefined ? {} : { dir: options.migrationsDir });
        if (status.pending.length > 0 || status.problems.length > 0) {
          const what =
            status.pending.length > 0
              ? `${status.pending.length} migration(s) pending (first: ${status.pending[0]!.version}): run attune db migrate`
              : `the migration history disagrees with the files: ${status.problems[0]}`;
          return (reply as FastifyReply).code(503).send(errorBody(new MigrationError(`not ready: ${what}`, { entity: 'migration' }), request.id));
        }
        const latest = status.applied.reduce((max, migration) => Math.max(max, migration.version), 0);
        return { status: 'ready' as const, migrations: { applied: status.applied.length, latest } };
      } catch (error) {
        request.log.warn({ err: isAttuneError(error) ? error.message : String(error) }, 'not ready');
        const reason = isAttuneError(error) ? error : new DatabaseUnavailableError('the database cannot be reached');
        return (reply as FastifyReply).code(503).send(errorBody(new DatabaseUnavailableError(`not ready: ${reason.message}`, { entity: 'database' }), request.id));
      }
    },
  );
}
