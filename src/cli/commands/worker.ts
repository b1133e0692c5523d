/**
 * The role builders of `attune worker` and `attune maintenance`: the
 * configuration's worker and execution sections turned into the roles'
 * options, on the command's pool and listener.
 */
import { resolve } from 'node:path';
import { SecretCipher } from '../../crypto/secrets.js';
import { createMaintenanceRole } from '../../engine/maintenance.js';
import type { AttuneConfig } from '../../config-types.js';
import type { Role } from '../../roles.js';
import { createWorkerRole, type WorkerOptions } from '../../worker/worker.js';
import type { RoleContext } from './roles.js';

/** The worker role's options from the configuration; the caller adds its pool, listener and logger. */
export function workerOptionsFrom(config: AttuneConfig): Omit<WorkerOptions, 'pool' | 'listener' | 'logger'> {
  return {
    ...(config.worker.name === undefined ? {} : { name: config.worker.name }),
    slots: config.worker.slots,
    leaseSeconds: config.worker.leaseSeconds,
    runnerTypes: config.worker.runners,
    graceSeconds: config.worker.graceSeconds,
    pollIntervalMs: config.worker.pollIntervalMs,
    heartbeatSeconds: config.worker.heartbeatSeconds,
    dataDir: resolve(config.worker.dataDir),
    defaultTimeoutSeconds: config.execution.defaultTimeoutSeconds,
    outputCapBytes: config.execution.outputCapBytes,
    backoff: { baseSeconds: config.execution.retryBackoffBaseSeconds, capSeconds: config.execution.retryBackoffCapSeconds },
    cipher: SecretCipher.fromConfig(config.security),
  };
}

/** `attune worker`: one worker role. */
export function buildWorkerRole(ctx: RoleContext): Role[] {
  const worker = createWorkerRole({
    ...workerOptionsFrom(ctx.config),
    pool: ctx.pool,
    listener: ctx.listener,
    logger: ctx.logger.child({ role: 'worker' }),
  });
  // Notifications sent while the listener was down were lost: look for work now.
  ctx.onListenerReconnect(() => worker.wake());
  return [worker];
}

/** `attune maintenance`: one maintenance role. */
export function buildMaintenanceRole(ctx: RoleContext): Role[] {
  const { config } = ctx;
  return [
    createMaintenanceRole({
      pool: ctx.pool,
      logger: ctx.logger.child({ role: 'maintenance' }),
      intervalMs: config.execution.sweepIntervalMs,
      deadlineGraceSeconds: config.execution.deadlineGraceSeconds,
      backoff: { baseSeconds: config.execution.retryBackoffBaseSeconds, capSeconds: config.execution.retryBackoffCapSeconds },
      outputRetentionDays: config.execution.outputRetentionDays,
    }),
  ];
}
