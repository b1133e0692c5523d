import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { parse as parseYaml } from 'yaml';
import type { AttuneConfig } from './config-types.js';
import { parseDatabaseUrl } from './database-url.js';
import { ConfigError } from './errors.js';

export type { AttuneConfig } from './config-types.js';
export { parseDatabaseUrl, withDatabase, redactUrl, type DatabaseUrlParts } from './database-url.js';

/** Log levels pino accepts, quietest last. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

type Section = keyof AttuneConfig;
type Parser = (raw: unknown, setting: string) => unknown;

/** Where a value came from, for messages. */
type Source = 'default' | 'config file' | '.env file' | 'environment';

const string: Parser = (raw, setting) => {
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  if (typeof raw !== 'string') throw new ConfigError(setting, 'expected a string');
  return raw;
};
const optionalString: Parser = (raw, setting) => {
  if (raw === null || raw === undefined || raw === '') return undefined;
  return string(raw, setting);
};
const integer =
  (min: number, max: number): Parser =>
  (raw, setting) => {
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
    if (!Number.isInteger(value)) throw new ConfigError(setting, `expected a whole number, got '${String(raw)}'`);
    if (value < min || value > max) throw new ConfigError(setting, `must be between ${min} and ${max}, got ${value}`);
    return value;
  };
const boolean: Parser = (raw, setting) => {
  if (typeof raw === 'boolean') return raw;
  const text = String(raw).trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(text)) return true;
  if (['false', '0', 'no', 'off'].includes(text)) return false;
  throw new ConfigError(setting, `expected true or false, got '${String(raw)}'`);
};
const oneOf =
  <T extends string>(values: readonly T[]): Parser =>
  (raw, setting) => {
    const text = String(raw).trim().toLowerCase();
    if (!(values as readonly string[]).includes(text)) {
      throw new ConfigError(setting, `expected one of ${values.join(', ')}, got '${String(raw)}'`);
    }
    return text;
  };
const databaseUrl: Parser = (raw, setting) => {
  const text = optionalString(raw, setting) as string | undefined;
  if (text === undefined) return undefined;
  parseDatabaseUrl(text, setting);
  return text;
};
const encryptionKey: Parser = (raw, setting) => {
  const text = optionalString(raw, setting) as string | undefined;
  if (text === undefined) return undefined;
  if (text.length < 32) throw new ConfigError(setting, `must be at least 32 characters (got ${text.length})`);
  return text;
};
/** Comma-separated origins (a YAML list too) for CORS; `*` allows any. */
const originList: Parser = (raw, setting) => {
  const items = Array.isArray(raw) ? raw.map(String) : String(raw ?? '').split(',');
  const origins = items.map((item) => item.trim()).filter((item) => item !== '');
  for (const origin of origins) {
    if (origin === '*') continue;
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.origin !== origin) {
      throw new ConfigError(setting, `'${origin}' is not an origin such as https://ui.example.com (scheme, host and port only) or *`);
    }
  }
  return origins;
};
const databaseName: Parser = (raw, setting) => {
  const text = string(raw, setting) as string;
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(text)) {
    throw new ConfigError(setting, `'${text}' is not a valid database name (letters, digits, underscores; at most 63)`);
  }
  return text;
};

/** The runner types a worker can take, by Attune's names. */
export const WORKER_RUNNERS = ['shell', 'shell-script', 'python', 'node', 'http', 'noop', 'inquiry', 'inject-trigger'] as const;

/** A comma-separated list of runner names (a YAML list too), each one Attune runs. */
const runnerList: Parser = (raw, setting) => {
  const items = Array.isArray(raw) ? raw.map((item) => String(item)) : String(raw).split(',');
  const names = [...new Set(items.map((item) => item.trim()).filter((item) => item !== ''))];
  if (names.length === 0) throw new ConfigError(setting, `expected one or more of ${WORKER_RUNNERS.join(', ')}`);
  const unknown = names.filter((name) => !(WORKER_RUNNERS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new ConfigError(setting, `unknown runner ${unknown.join(', ')}; known: ${WORKER_RUNNERS.join(', ')}`);
  return names;
};

/** Allowed range of each input limit; JSONB cannot hold a value above 255 MiB at all. */
export const INPUT_LIMIT_RANGES: Readonly<Record<keyof AttuneConfig['limits'], readonly [number, number]>> = {
  jsonMaxBytes: [1024, 64 * 1024 * 1024],
  jsonMaxDepth: [1, 1000],
  textMaxLength: [1, 16 * 1024 * 1024],
};

/** Every setting: its parser and its default, section by section. */
const SCHEMA: { [S in Section]: { [K in keyof AttuneConfig[S]]: { parse: Parser; default: AttuneConfig[S][K] } } } = {
  database: {
    url: { parse: databaseUrl, default: undefined },
    name: { parse: databaseName, default: 'attune' },
    maxConnections: { parse: integer(1, 1000), default: 10 },
    logStatements: { parse: boolean, default: false },
    connectTimeoutMs: { parse: integer(100, 600_000), default: 5000 },
    statementTimeoutMs: { parse: integer(0, 86_400_000), default: 0 },
    embeddedDataDir: { parse: string, default: '.attune/postgres' },
    embeddedPort: { parse: integer(1, 65535), default: 54329 },
    embeddedUser: { parse: string, default: 'postgres' },
  },
  log: { level: { parse: oneOf(LOG_LEVELS), default: 'info' } },
  limits: {
    jsonMaxBytes: { parse: integer(...INPUT_LIMIT_RANGES.jsonMaxBytes), default: 1024 * 1024 },
    jsonMaxDepth: { parse: integer(...INPUT_LIMIT_RANGES.jsonMaxDepth), default: 64 },
    textMaxLength: { parse: integer(...INPUT_LIMIT_RANGES.textMaxLength), default: 10_000 },
  },
  rules: {
    batchSize: { parse: integer(1, 10_000), default: 100 },
    pollIntervalMs: { parse: integer(10, 3_600_000), default: 1000 },
  },
  security: {
    enableAuth: { parse: boolean, default: true },
    encryptionKey: { parse: encryptionKey, default: undefined },
    loginTokenTtlSeconds: { parse: integer(60, 365 * 86_400), default: 86_400 },
  },
  api: {
    host: { parse: string, default: '127.0.0.1' },
    port: { parse: integer(0, 65535), default: 8080 },
    bodyLimitBytes: { parse: integer(1024, 256 * 1024 * 1024), default: 1024 * 1024 },
    packBodyLimitBytes: { parse: integer(1024, 1024 * 1024 * 1024), default: 64 * 1024 * 1024 },
    rateLimitMax: { parse: integer(0, 1_000_000), default: 600 },
    rateLimitWindowSeconds: { parse: integer(1, 86_400), default: 60 },
    loginRateLimitMax: { parse: integer(1, 10_000), default: 10 },
    corsOrigins: { parse: originList, default: [] },
    trustProxy: { parse: boolean, default: false },
  },
  worker: {
    slots: { parse: integer(1, 10_000), default: Math.max(1, availableParallelism()) * 4 },
    leaseSeconds: { parse: integer(3, 86_400), default: 60 },
    runners: { parse: runnerList, default: [...WORKER_RUNNERS] },
    graceSeconds: { parse: integer(0, 86_400), default: 30 },
    pollIntervalMs: { parse: integer(10, 3_600_000), default: 2000 },
    heartbeatSeconds: { parse: integer(1, 3600), default: 10 },
    dataDir: { parse: string, default: '.attune/data' },
    name: { parse: optionalString, default: undefined },
  },
  execution: {
    defaultTimeoutSeconds: { parse: integer(1, 2_147_483), default: 600 },
    outputCapBytes: { parse: integer(0, 1024 * 1024 * 1024), default: 10 * 1024 * 1024 },
    retryBackoffBaseSeconds: { parse: integer(0, 86_400), default: 1 },
    retryBackoffCapSeconds: { parse: integer(0, 7 * 86_400), default: 300 },
    deadlineGraceSeconds: { parse: integer(0, 86_400), default: 30 },
    outputRetentionDays: { parse: integer(1, 36_500), default: 30 },
    sweepIntervalMs: { parse: integer(100, 3_600_000), default: 5000 },
  },
  timers: {
    batchSize: { parse: integer(1, 10_000), default: 500 },
    pollIntervalMs: { parse: integer(50, 600_000), default: 5_000 },
    syncIntervalMs: { parse: integer(100, 3_600_000), default: 30_000 },
    misfireGraceSeconds: { parse: integer(1, 86_400), default: 30 },
    catchUpMax: { parse: integer(0, 10_000), default: 100 },
  },
  sensors: {
    dataDir: { parse: string, default: '.attune/data' },
    python: { parse: string, default: 'python3' },
    batchSize: { parse: integer(1, 10_000), default: 100 },
    maxQueuedEvents: { parse: integer(1, 1_000_000), default: 1_000 },
    maxEventsPerSecond: { parse: integer(1, 1_000_000), default: 100 },
    maxLineBytes: { parse: integer(1024, 64 * 1024 * 1024), default: 1024 * 1024 },
    restartBackoffMs: { parse: integer(10, 3_600_000), default: 1_000 },
    restartBackoffMaxMs: { parse: integer(10, 86_400_000), default: 60_000 },
    stopGraceMs: { parse: integer(0, 600_000), default: 5_000 },
    reconcileIntervalMs: { parse: integer(50, 3_600_000), default: 10_000 },
  },
};

/** Options for `loadConfig`; every one has a sensible default. */
export interface LoadConfigOptions {
  /** Directory that holds config.yaml and .env files. Default: the working directory. */
  cwd?: string;
  /** Environment to read. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Path of the YAML file; default `ATTUNE_CONFIG` or `<cwd>/config.yaml` (optional when defaulted). */
  configFile?: string;
  /** .env files to read, later ones overriding earlier ones. Default: ['.env']. */
  envFiles?: string[];
}

/**
 * Loads the configuration: defaults < config.yaml < .env files <
 * `ATTUNE__SECTION__KEY` variables. Throws ConfigError naming the setting
 * when a value is invalid or a name is unknown.
 */
export function loadConfig(options: LoadConfigOptions = {}): AttuneConfig {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const config = defaults();

  const configFile = options.configFile ?? env.ATTUNE_CONFIG;
  const yamlPath = path.resolve(cwd, configFile ?? 'config.yaml');
  if (existsSync(yamlPath)) applyYaml(config, yamlPath);
  else if (configFile !== undefined) throw new ConfigError('ATTUNE_CONFIG', `config file ${yamlPath} does not exist`);

  // DATABASE_URL, the common convention, from the same layers; it is only a fallback.
  let fallbackUrl: string | undefined;
  for (const file of options.envFiles ?? ['.env']) {
    const envPath = path.resolve(cwd, file);
    if (!existsSync(envPath)) continue;
    const variables = parseEnv(readFileSync(envPath, 'utf8'));
    applyVariables(config, variables, '.env file');
    fallbackUrl = variables[FALLBACK_URL_VARIABLE] ?? fallbackUrl;
  }
  applyVariables(config, env, 'environment');
  fallbackUrl = env[FALLBACK_URL_VARIABLE] ?? fallbackUrl;
  if (config.database.url === undefined && fallbackUrl !== undefined) {
    if (fallbackUrl.trim() === '') {
      throw new ConfigError(FALLBACK_URL_VARIABLE, 'is set but empty: unset it to start an embedded PostgreSQL, or set a postgres:// URL');
    }
    config.database.url = databaseUrl(fallbackUrl, FALLBACK_URL_VARIABLE) as string;
  }
  return config;
}

/**
 * The conventional variable, read only when no Attune layer sets
 * `database.url`: the lowest precedence of every source of the URL.
 */
export const FALLBACK_URL_VARIABLE = 'DATABASE_URL';

/** A fresh copy of the defaults. */
export function defaults(): AttuneConfig {
  const config = {} as Record<string, Record<string, unknown>>;
  for (const [section, settings] of Object.entries(SCHEMA)) {
    config[section] = {};
    for (const [key, spec] of Object.entries(settings as Record<string, { default: unknown }>)) config[section]![key] = spec.default;
  }
  return config as unknown as AttuneConfig;
}

/** `ATTUNE__DATABASE__MAX_CONNECTIONS` for section `database`, key `maxConnections`. */
export function envName(section: string, key: string): string {
  return `ATTUNE__${section.toUpperCase()}__${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

function applyYaml(config: AttuneConfig, file: string): void {
  let document: unknown;
  try {
    document = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(file, `cannot parse YAML: ${(error as Error).message}`);
  }
  if (document === null || document === undefined) return;
  if (typeof document !== 'object' || Array.isArray(document)) throw new ConfigError(file, 'expected a mapping of sections');
  for (const [section, values] of Object.entries(document)) {
    if (!(section in SCHEMA)) throw new ConfigError(`${section} (in ${file})`, `unknown section; known: ${Object.keys(SCHEMA).join(', ')}`);
    if (values === null) continue;
    if (typeof values !== 'object' || Array.isArray(values)) throw new ConfigError(`${section} (in ${file})`, 'expected a mapping');
    for (const [rawKey, raw] of Object.entries(values as Record<string, unknown>)) {
      const key = snakeToCamel(rawKey);
      setValue(config, section as Section, key, raw, `${section}.${rawKey} (in ${file})`, 'config file');
    }
  }
}

function applyVariables(config: AttuneConfig, variables: Record<string, string | undefined>, source: Source): void {
  for (const [name, raw] of Object.entries(variables)) {
    if (!name.startsWith('ATTUNE__') || raw === undefined) continue;
    // An empty value would silently erase a lower layer (a URL in config.yaml, say); unsetting is explicit.
    if (raw.trim() === '') {
      throw new ConfigError(name, `is set but empty: unset it (or delete the line) to use the value from config.yaml or the default${
        name === envName('database', 'url') ? '; with no URL anywhere Attune starts an embedded PostgreSQL' : ''
      }`);
    }
    const parts = name.slice('ATTUNE__'.length).split('__');
    if (parts.length !== 2) throw new ConfigError(name, 'expected ATTUNE__SECTION__KEY');
    const section = parts[0]!.toLowerCase();
    if (!(section in SCHEMA)) throw new ConfigError(name, `unknown section '${section}'; known: ${Object.keys(SCHEMA).join(', ')}`);
    setValue(config, section as Section, snakeToCamel(parts[1]!.toLowerCase()), raw, name, source);
  }
}

function setValue(config: AttuneConfig, section: Section, key: string, raw: unknown, setting: string, _source: Source): void {
  const specs = SCHEMA[section] as Record<string, { parse: Parser }>;
  const spec = specs[key];
  if (!spec) {
    const known = Object.keys(specs).map((k) => envName(section, k));
    throw new ConfigError(setting, `unknown setting; known in ${section}: ${known.join(', ')}`);
  }
  (config[section] as Record<string, unknown>)[key] = spec.parse(raw, setting);
}

function snakeToCamel(text: string): string {
  return text.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
