import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { buildApp, type BuildAppOptions } from '../../src/api/app.js';
import { defaults, type AttuneConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { ApiTokenRepository } from '../../src/repositories/api-tokens.js';
import type { Identity, IdentityRole } from '../../src/repositories/identities.js';
import { IdentityFixture } from '../../src/testing/index.js';

/** The test kit's encryption key (TEST_ENV_DEFAULTS), so secrets can be set and read. */
export const TEST_ENCRYPTION_KEY = process.env.ATTUNE__SECURITY__ENCRYPTION_KEY ?? 'test-only-encryption-key-0123456789abcdef';

/** Defaults with auth on and limits out of the way, then `overrides` section by section. */
export function apiConfig(overrides: { [S in keyof AttuneConfig]?: Partial<AttuneConfig[S]> } = {}): AttuneConfig {
  const config = defaults();
  config.security.enableAuth = true;
  config.security.encryptionKey = TEST_ENCRYPTION_KEY;
  config.api.rateLimitMax = 100_000;
  config.api.loginRateLimitMax = 10_000;
  config.log.level = 'debug';
  for (const [section, values] of Object.entries(overrides)) Object.assign((config as unknown as Record<string, object>)[section]!, values);
  return config;
}

/** Every log line the app wrote, as text, for assertions and secret greps. */
export class LogCapture {
  readonly lines: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      this.lines.push(chunk.toString('utf8'));
      done();
    },
  });
  get text(): string {
    return this.lines.join('');
  }
}

/**
 * An executor that forwards to whatever `current()` returns when called:
 * one app per file, each test's requests inside that test's transaction.
 */
export function forwardingExecutor(current: () => pg.PoolClient): pg.PoolClient {
  return new Proxy({} as pg.PoolClient, {
    get(_target, property) {
      const client = current() as unknown as Record<PropertyKey, unknown>;
      const value = client[property];
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(client) : value;
    },
  });
}

/** Builds an app on `db` with captured logs. */
export async function testApp(db: pg.PoolClient | pg.Pool, config: AttuneConfig = apiConfig(), options: Partial<BuildAppOptions> = {}) {
  const logs = new LogCapture();
  const app = await buildApp({ db, config, logger: createLogger('debug', logs.stream), ...options });
  await app.ready();
  return { app, logs };
}

/** One app per file, on the current test's transaction (`ctx.db`). */
export function useTestApp(ctx: { readonly db: pg.PoolClient }, config?: AttuneConfig, options?: Partial<BuildAppOptions>) {
  const holder: { app?: FastifyInstance; logs?: LogCapture } = {};
  beforeAll(async () => {
    const built = await testApp(forwardingExecutor(() => ctx.db), config, options);
    holder.app = built.app;
    holder.logs = built.logs;
  });
  afterAll(async () => {
    await holder.app?.close();
  });
  return {
    get app(): FastifyInstance {
      return holder.app!;
    },
    get logs(): LogCapture {
      return holder.logs!;
    },
  };
}

/** An identity with `role` and a token for it. */
export async function signedIn(db: pg.PoolClient, role: IdentityRole, fixture: IdentityFixture = new IdentityFixture()): Promise<{ identity: Identity; token: string; auth: { authorization: string } }> {
  const identity = await fixture.withRole(role).create(db);
  const { token } = await ApiTokenRepository.create(db, { identityId: identity.id, name: `test ${role}` });
  return { identity, token, auth: { authorization: `Bearer ${token}` } };
}

/** `app.inject` with JSON parsed. */
export async function call(app: FastifyInstance, options: InjectOptions): Promise<LightMyRequestResponse & { body: string; data: any }> {
  const response = await app.inject(options);
  let data: unknown;
  try {
    data = response.body === '' ? undefined : JSON.parse(response.body);
  } catch {
    data = undefined;
  }
  return Object.assign(response, { data });
}
