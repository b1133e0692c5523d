/**
 * Attune as `attune up` runs it, in this process: the api (serving the web
 * UI), rules, worker and maintenance roles on this test worker's database,
 * the api on a free loopback port, authentication on, the core and examples
 * packs registered and an admin with a password.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiRole } from '../../src/api/server.js';
import { DEFAULT_WEB_DIR } from '../../src/api/web.js';
import { openRoleConnections } from '../../src/cli/commands/roles.js';
import { buildRulesRole } from '../../src/cli/commands/rules.js';
import { buildMaintenanceRole, buildWorkerRole } from '../../src/cli/commands/worker.js';
import { defaults } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { registerPack } from '../../src/packs/register.js';
import { ApiTokenRepository } from '../../src/repositories/api-tokens.js';
import type { Role } from '../../src/roles.js';
import { cleanDatabase, IdentityFixture } from '../../src/testing/index.js';
import { CORE_PACK, EXAMPLES_PACK } from '../worker/helpers.js';
import { TEST_ENCRYPTION_KEY } from '../api/support.js';

export interface Stack {
  /** `http://127.0.0.1:<port>` */
  url: string;
  login: string;
  password: string;
  /** An admin API token, for what the test does outside the browser (webhooks, checks). */
  token: string;
  /** A request to the API as that admin. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; data: any }>;
  stop(): Promise<void>;
}

/** The newest modification time of the files under `dir`. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds the web UI when it is missing or older than its sources (CI builds it before the tests). */
export function ensureWebBuilt(): void {
  const index = join(DEFAULT_WEB_DIR, 'index.html');
  const sources = fileURLToPath(new URL('../../web/', import.meta.url));
  if (existsSync(index) && statSync(index).mtimeMs >= newestMtime(sources)) return;
  // Vitest sets NODE_ENV=test, which would build React's development bundle: build what ships.
  execFileSync('npm', ['run', 'build:web'], { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
}

export async function startStack(): Promise<Stack> {
  const url = process.env.ATTUNE__DATABASE__URL;
  if (url === undefined) throw new Error('the web tests need the worker database (ATTUNE__DATABASE__URL, set by the test setup)');
  ensureWebBuilt();
  const dataDir = await mkdtemp(join(tmpdir(), 'attune-web-'));
  const config = defaults();
  config.database.url = url;
  config.security.enableAuth = true;
  config.security.encryptionKey = TEST_ENCRYPTION_KEY;
  config.api.host = '127.0.0.1';
  config.api.port = 0;
  config.api.rateLimitMax = 100_000;
  config.api.loginRateLimitMax = 10_000;
  config.worker.dataDir = dataDir;
  config.worker.slots = 4;
  config.log.level = 'warn';
  const logger = createLogger('warn');
  const { context, connections } = openRoleConnections(config, url, 'web-test', logger);
  await cleanDatabase(context.pool);
  await registerPack(context.pool, CORE_PACK);
  await registerPack(context.pool, EXAMPLES_PACK);
  const login = 'ada';
  const password = 'correct horse battery staple';
  const admin = await new IdentityFixture(login).withPassword(password).withRole('admin').create(context.pool);
  const { token } = await ApiTokenRepository.create(context.pool, { identityId: admin.id, name: 'web test' });

  const api = createApiRole({ db: context.pool, config, logger });
  const roles: Role[] = [connections, ...buildRulesRole(context), ...buildWorkerRole(context), ...buildMaintenanceRole(context), api];
  const started: Role[] = [];
  for (const role of roles) {
    await role.start();
    started.push(role);
  }
  const base = api.url()!;
  return {
    url: base,
    login,
    password,
    token,
    async api(method, path, body) {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? null : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, data: text === '' ? undefined : JSON.parse(text) };
    },
    async stop() {
      for (const role of started.reverse()) await role.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
