/**
 * Attune's public test kit (`attune/testing`): a database harness on real
 * PostgreSQL, transactions that always roll back, error assertions, and
 * fixture builders for every entity.
 */
export { initTestEnv, loadTestConfig, resolveTestEnv, TEST_ENV_DEFAULTS, type TestEnvSources } from './env.js';
export {
  cleanDatabase,
  cloneDatabase,
  createTestPool,
  dropDatabase,
  dropStaleRunDatabases,
  prepareTemplate,
  runDatabasePrefix,
  startTestServer,
  type TestServer,
} from './database.js';
export { TestTransaction, withTestTransaction } from './transaction.js';
export { expectErrorContains, expectErrorType } from './assertions.js';
export { uniqueName } from './fixtures/unique.js';
export { PackFixture } from './fixtures/packs.js';
export { RuntimeFixture } from './fixtures/runtimes.js';
export { WorkerFixture } from './fixtures/workers.js';
export { TriggerFixture } from './fixtures/triggers.js';
export { ActionFixture } from './fixtures/actions.js';
export { RuleFixture } from './fixtures/rules.js';
export { EventFixture } from './fixtures/events.js';
export { EnforcementFixture } from './fixtures/enforcements.js';
export { IdentityFixture } from './fixtures/identities.js';
export { ExecutionFixture } from './fixtures/executions.js';
export { InquiryFixture } from './fixtures/inquiries.js';
export { KeyFixture } from './fixtures/keys.js';
export { NotificationFixture } from './fixtures/notifications.js';
export { SensorFixture } from './fixtures/sensors.js';
