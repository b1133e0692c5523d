/**
 * Attune's data layer: configuration, database access, migrations, the
 * error registry, and one repository per entity. Every repository function
 * takes an executor (pool, client or open transaction) first.
 */
export * from './errors.js';
export * from './refs.js';
export { loadConfig, defaults, envName, parseDatabaseUrl, withDatabase, redactUrl, LOG_LEVELS, INPUT_LIMIT_RANGES, FALLBACK_URL_VARIABLE } from './config.js';
export type { AttuneConfig, LoadConfigOptions, LogLevel, DatabaseUrlParts } from './config.js';
export { configureLimits, inputLimits, DEFAULT_INPUT_LIMITS, type InputLimits } from './limits.js';
export { createLogger, REDACTED_PATHS, type Logger } from './log.js';
export { createPool, checkConnection, describeConnectionFailure, attuneTypes, SCHEMA, SEARCH_PATH } from './db/pool.js';
export type { Executor, PoolOptions } from './db/pool.js';
export { withTransaction } from './db/transaction.js';
export { mapPgError, mapErrors } from './db/pg-errors.js';
export { migrate, migrationStatus, loadMigrations, migrationsChecksum, DEFAULT_MIGRATIONS_DIR } from './db/migrator.js';
export type { Migration, AppliedMigration, MigrationStatus, MigrateOptions } from './db/migrator.js';
export { EmbeddedServer, findFreePort, type EmbeddedServerOptions } from './db/embedded.js';
export { cleanTables } from './db/clean.js';
export { openDatabaseTarget, targetDatabaseName, type DatabaseTarget, type OpenTargetOptions } from './db/target.js';
export { createDatabase, dropDatabase, databaseExists, serverInfo, tableRowCounts, type ServerInfo, type TableRowCount } from './db/admin.js';
export { verifySchema, type SchemaVerification, type SchemaDifference } from './db/verify.js';
export { SCHEMA_MANIFEST } from './db/schema-manifest.js';
export { TABLES, TABLES_CHILDREN_FIRST, type TableName } from './db/tables.js';
export { NotificationListener, createListener } from './db/listener.js';
export type { NotificationListenerOptions, NotificationHandler, ListenerMessage } from './db/listener.js';
export { SecretCipher } from './crypto/secrets.js';
export { hashPassword, verifyPassword } from './crypto/passwords.js';
export type { Page, Pagination } from './repositories/support/table.js';
export * from './repositories/packs.js';
export * from './repositories/runtimes.js';
export * from './repositories/workers.js';
export * from './repositories/triggers.js';
export * from './repositories/actions.js';
export * from './repositories/rules.js';
export * from './repositories/events.js';
export * from './repositories/enforcements.js';
export * from './repositories/identities.js';
export * from './repositories/executions.js';
export * from './repositories/inquiries.js';
export * from './repositories/keys.js';
export * from './repositories/notifications.js';
/**
 * Rule criteria: `matchCriteria(criteria, payload, options?)` evaluates a
 * rule's criteria against an event payload with StackStorm's operators and
 * returns `{ matched, criteria: [{ key, operator, pattern, value, matched, error? }] }`.
 */
export { matchCriteria, type CriteriaMatch, type CriterionResult, type SearchItemResult, type MatchCriteriaOptions, type PatternRenderer } from './rules/criteria/index.js';
/**
 * Rule templates (Jinja, as StackStorm renders them, sandboxed with a step
 * budget and an output cap): `renderTemplate(template, context, options?)`
 * renders one template (a single `{{ expression }}` keeps its type; other
 * templates render text in JSON spelling); `renderActionParameters(ruleParams,
 * actionSchema, context)` renders a rule's action parameters and the action's
 * defaults in dependency order and casts each to its declared type. Failures
 * are `TemplateError` (`ATTUNE_TEMPLATE`), `field` naming the parameter.
 */
export {
  renderTemplate,
  renderActionParameters,
  castToDeclaredType,
  createKeyStoreView,
  PreparedContext,
  TemplateError,
  STACKSTORM_FILTER_NAMES,
  NONE_MAGIC_VALUE,
  DEFAULT_MAX_STEPS,
  DEFAULT_MAX_OUTPUT,
  type TemplateContext,
  type RenderOptions,
  type KeyStoreView,
  type KeyScope,
  type KeyEntry,
  type KeyStoreContents,
  type ActionParameterSchema,
  type RenderedParameters,
} from './rules/templates/index.js';
export * from './repositories/sensors.js';
export * from './repositories/pack-files.js';
export { readPack, PackInvalidError, formatProblem, type PackSource, type ReadPackResult, type PackProblem, type PackModel } from './packs/index.js';
export { registerPack, type RegisterPackOptions, type RegisterPackReport, type ComponentChange, type ComponentKind } from './packs/register.js';
export { activatePack, type ActivatePackReport } from './packs/activate.js';
export { uninstallPack, type UninstallPackOptions, type UninstallPackReport } from './packs/uninstall.js';
export { materializePack, type MaterializedPack } from './packs/materialize.js';
export { setPackConfig, getPackConfig, resolvePackConfig, validatePackConfig, MASKED_SECRET, type PackConfigOptions } from './packs/pack-config.js';
/**
 * Execution lifecycle: `cancelExecution(db, id)` (a parent's cancel cascades
 * to its children), `respondToInquiry(db, inquiryId, response, { respondedBy })`,
 * and the worker and maintenance roles (`createWorkerRole`, `createMaintenanceRole`).
 */
export { cancelExecution, type CancelResult } from './engine/cancel-execution.js';
export { respondToInquiry, type RespondOptions, type RespondResult } from './engine/inquiries.js';
export { createMaintenanceRole, MaintenanceRole, type MaintenanceOptions, type SweepReport } from './engine/maintenance.js';
export { createWorkerRole, WorkerRole, EXECUTIONS_CHANNEL, CANCEL_CHANNEL, type WorkerOptions } from './worker/worker.js';
/**
 * The event pipeline: `fireEvent` / `fireEvents` record trigger firings
 * (durable on return, checked against the trigger's payload schema);
 * `requestExecution` requests a run of an action with validated parameters
 * (secrets encrypted); `matchRule` tests a rule against a payload or a stored
 * event without writing anything; `createEventProcessorRole` is the rules
 * role, `runRoles` runs roles until SIGINT / SIGTERM.
 */
export { fireEvent, fireEvents, type FireEventOptions, type EventToFire } from './engine/fire-event.js';
export {
  requestExecution,
  prepareExecutionParams,
  revealSecretParams,
  maskSecretParams,
  SECRET_PARAM_KEY,
  MASKED_PARAM,
  type RequestExecutionOptions,
  type PreparedParams,
} from './engine/request-execution.js';
export { matchRule, type MatchRuleOptions, type RuleTestSubject, type RuleTestResult } from './engine/match-rule.js';
export {
  createEventProcessorRole,
  processEventBatch,
  EVENTS_CHANNEL,
  type EventProcessorOptions,
  type EventProcessorRole,
  type BatchReport,
  type ProcessBatchOptions,
} from './engine/event-processor.js';
export { RuleCache, RULES_CHANGED_CHANNEL } from './engine/rule-cache.js';
export { runRoles, FORCED_EXIT_CODE, type Role, type RunRolesOptions, type SignalSource } from './roles.js';
/**
 * The HTTP API: `buildApp({ db, config })` gives the Fastify instance (no
 * listen; `inject()` in tests), `createApiRole` the api role that listens,
 * `ensureFirstAdmin` the first start's admin and token.
 */
export { buildApp, API_PREFIX, type BuildAppOptions, type ApiContext, type RouteModule, type ApiInstance } from './api/app.js';
export { createApiRole, type ApiRole } from './api/server.js';
export { ensureFirstAdmin, type FirstAdmin } from './api/auth/first-admin.js';
export { createMetrics, metrics, type AttuneMetrics } from './metrics.js';
export * from './repositories/api-tokens.js';
