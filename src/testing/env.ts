import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { loadConfig, type AttuneConfig } from '../config.js';

/**
 * The test kit's own settings, shipped in code so that a project without a
 * `.env.test` (a pack author's, or any project using the published package,
 * which carries no `.env.test`) tests with them rather than with the
 * production defaults. A project's `.env.test` overrides any of them; real
 * environment variables override both. Attune's own `.env.test` repeats them,
 * with comments, as the example to copy.
 */
export const TEST_ENV_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({
  // Base name of the run's databases on the embedded server.
  ATTUNE__DATABASE__NAME: 'attune_test',
  // A small pool per test worker.
  ATTUNE__DATABASE__MAX_CONNECTIONS: '4',
  // Every statement (text and duration, never values) is logged at debug; the
  // level below keeps that quiet unless ATTUNE__LOG__LEVEL=debug is set.
  ATTUNE__DATABASE__LOG_STATEMENTS: 'true',
  // A stuck statement fails the test instead of hanging the run.
  ATTUNE__DATABASE__STATEMENT_TIMEOUT_MS: '30000',
  ATTUNE__LOG__LEVEL: 'info',
  ATTUNE__SECURITY__ENABLE_AUTH: 'false',
  // A fixed, test-only key for secret keys. Never use it anywhere else.
  ATTUNE__SECURITY__ENCRYPTION_KEY: 'test-only-encryption-key-0123456789abcdef',
});

/** Where `resolveTestEnv` looks: the project folder and the real environment. */
export interface TestEnvSources {
  /** Folder that may hold `.env.test`. Default: the working directory. */
  cwd?: string;
  /** The real environment. Default: process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * The variables `initTestEnv` would add to the environment: the kit's
 * defaults, then the project's `.env.test`, minus every name the real
 * environment already sets (those win). Reads, never writes.
 */
export function resolveTestEnv(sources: TestEnvSources = {}): Record<string, string> {
  const env = sources.env ?? process.env;
  const file = path.resolve(sources.cwd ?? process.cwd(), '.env.test');
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  const merged: Record<string, string> = { ...TEST_ENV_DEFAULTS };
  for (const [name, value] of Object.entries(fromFile)) if (value !== undefined) merged[name] = value;
  return Object.fromEntries(Object.entries(merged).filter(([name]) => env[name] === undefined));
}

let loaded = false;

/**
 * Puts the test settings into process.env (the kit's defaults under the
 * working directory's `.env.test`), never overriding a variable that is
 * already set: real environment variables win. Sets NODE_ENV=test unless set.
 * Safe to call any number of times; only the first call reads.
 */
export function initTestEnv(): void {
  if (loaded) return;
  loaded = true;
  process.env.NODE_ENV ??= 'test';
  Object.assign(process.env, resolveTestEnv());
}

/** The configuration tests run with: the test settings under the real environment. */
export function loadTestConfig(): AttuneConfig {
  initTestEnv();
  return loadConfig({ envFiles: [] });
}
