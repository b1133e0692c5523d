import { SecretCipher } from '../../crypto/secrets.js';
import { createEventProcessorRole } from '../../engine/event-processor.js';
import type { Role } from '../../roles.js';
import type { RoleContext } from './roles.js';

/** `attune rules`: the event processor on the command's pool and listener, with the `rules` settings. */
export function buildRulesRole(ctx: RoleContext): Role[] {
  const role = createEventProcessorRole({
    pool: ctx.pool,
    listener: ctx.listener,
    logger: ctx.logger,
    batchSize: ctx.config.rules.batchSize,
    pollIntervalMs: ctx.config.rules.pollIntervalMs,
    cipher: SecretCipher.fromConfig(ctx.config.security),
  });
  ctx.onListenerReconnect(() => role.onReconnect());
  return [role];
}
