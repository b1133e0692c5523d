/**
 * The role builders of `attune timers` and `attune sensors`: the
 * configuration's timers and sensors sections turned into the roles'
 * settings, on the command's pool and listener.
 */
import { resolve } from 'node:path';
import { SecretCipher } from '../../crypto/secrets.js';
import type { Role } from '../../roles.js';
import { createSensorsRole } from '../../sensors/sensors-role.js';
import { createTimersRole } from '../../sensors/timers-role.js';
import type { RoleContext } from './roles.js';

/** `attune timers`: one timers role. */
export function buildTimersRole(ctx: RoleContext): Role[] {
  const timers = createTimersRole({ db: ctx.pool, listener: ctx.listener, logger: ctx.logger, settings: ctx.config.timers });
  // Rule changes announced while the listener was down were lost: read the rules again.
  ctx.onListenerReconnect(() => timers.requestSync());
  return [timers];
}

/** `attune sensors`: one sensors role. */
export function buildSensorsRole(ctx: RoleContext): Role[] {
  const { config } = ctx;
  const sensors = createSensorsRole({
    db: ctx.pool,
    url: config.database.url!,
    listener: ctx.listener,
    logger: ctx.logger,
    settings: { ...config.sensors, dataDir: resolve(config.sensors.dataDir) },
    cipher: SecretCipher.fromConfig(config.security),
  });
  ctx.onListenerReconnect(() => sensors.requestReconcile());
  return [sensors];
}
