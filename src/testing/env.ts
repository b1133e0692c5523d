import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { loadConfig, type AttuneConfig } from '../config.js';

let loaded = false;

/** The project's own `.env.test`, used when the working directory has none. */
const PACKAGE_ENV_TEST = fileURLToPath(new URL('../../.env.test', import.meta.url));

/**
 * Loads `.env.test` (from the working directory, else Attune's own) into
 * process.env without overriding variables that are already set: real
 * environment variables win. Safe to call any number of times.
 */
export function initTestEnv(): void {
  if (loaded) return;
  loaded = true;
  process.env.NODE_ENV ??= 'test';
  const local = path.resolve(process.cwd(), '.env.test');
  const file = existsSync(local) ? local : existsSync(PACKAGE_ENV_TEST) ? PACKAGE_ENV_TEST : undefined;
  if (!file) return;
  for (const [name, value] of Object.entries(parseEnv(readFileSync(file, 'utf8')))) {
    if (process.env[name] === undefined) process.env[name] = value;
  }
}

/** The configuration tests run with: `.env.test` under the real environment. */
export function loadTestConfig(): AttuneConfig {
  initTestEnv();
  return loadConfig({ envFiles: [] });
}
