/**
 * Secrets in parameters, for display. The one implementation is the
 * engine's (src/engine/request-execution.ts: every parameter the action's
 * schema marks `secret: true`, and any value stored encrypted, shows as
 * `********`); the routes use it under these names.
 */
export { MASKED_PARAM as MASKED, maskSecretParams as maskParams, secretNames as secretParamNames } from '../engine/request-execution.js';
