import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { defaults, envName, loadConfig, parseDatabaseUrl, redactUrl, withDatabase } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

function folder(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'attune-config-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

function load(files: Record<string, string>, env: Record<string, string> = {}) {
  return loadConfig({ cwd: folder(files), env });
}

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig layering', () => {
  it('starts from the defaults when nothing is configured', () => {
    const config = load({});
    expect(config).toEqual(defaults());
    expect(config.database).toMatchObject({ url: undefined, name: 'attune', maxConnections: 10, logStatements: false });
    expect(config.log.level).toBe('info');
    expect(config.security).toEqual({ enableAuth: true, encryptionKey: undefined, loginTokenTtlSeconds: 86_400 });
    expect(config.api).toMatchObject({ host: '127.0.0.1', port: 8080, corsOrigins: [], trustProxy: false });
  });

  it('reads the API settings: CORS origins as a comma-separated list, each a bare origin', () => {
    expect(load({}, { ATTUNE__API__CORS_ORIGINS: 'https://ui.example.com, http://localhost:5173' }).api.corsOrigins).toEqual([
      'https://ui.example.com',
      'http://localhost:5173',
    ]);
    expect(() => load({}, { ATTUNE__API__CORS_ORIGINS: 'https://ui.example.com/path' })).toThrow(/ATTUNE__API__CORS_ORIGINS.*not an origin/);
    expect(() => load({}, { ATTUNE__API__PORT: '70000' })).toThrow(/ATTUNE__API__PORT/);
    expect(load({}, { ATTUNE__API__PORT: '0' }).api.port).toBe(0);
  });

  it('applies config.yaml, then .env, then environment variables, each overriding the last', () => {
    const files = {
      'config.yaml': 'database:\n  max_connections: 20\n  name: from_yaml\nlog:\n  level: warn\n',
      '.env': 'ATTUNE__DATABASE__MAX_CONNECTIONS=30\nATTUNE__LOG__LEVEL=error\n',
    };
    const config = load(files, { ATTUNE__DATABASE__MAX_CONNECTIONS: '40' });
    expect(config.database.maxConnections).toBe(40);
    expect(config.log.level).toBe('error');
    expect(config.database.name).toBe('from_yaml');
  });

  it('reads camelCase and snake_case keys in YAML alike', () => {
    expect(load({ 'config.yaml': 'database:\n  maxConnections: 7\n' }).database.maxConnections).toBe(7);
    expect(load({ 'config.yaml': 'database:\n  log_statements: true\n' }).database.logStatements).toBe(true);
  });

  it('parses booleans, numbers and URLs from variables', () => {
    const config = load({}, {
      ATTUNE__DATABASE__URL: 'postgres://u:p@db.example:6543/attune_dev',
      ATTUNE__DATABASE__LOG_STATEMENTS: 'yes',
      ATTUNE__SECURITY__ENABLE_AUTH: 'false',
      ATTUNE__SECURITY__ENCRYPTION_KEY: 'k'.repeat(32),
    });
    expect(config.database.url).toBe('postgres://u:p@db.example:6543/attune_dev');
    expect(config.database.logStatements).toBe(true);
    expect(config.security.enableAuth).toBe(false);
    expect(config.security.encryptionKey).toHaveLength(32);
  });

  it('ignores variables that do not start with ATTUNE__ (DATABASE_URL aside)', () => {
    expect(load({}, { ATTUNE_OTHER: 'y', PGHOST: 'elsewhere', DATABASE: 'x' })).toEqual(defaults());
  });

  it('uses the file named by ATTUNE_CONFIG and fails when it is missing', () => {
    const dir = folder({ 'custom.yaml': 'log:\n  level: debug\n' });
    expect(loadConfig({ cwd: dir, env: { ATTUNE_CONFIG: 'custom.yaml' } }).log.level).toBe('debug');
    const error = configError(() => loadConfig({ cwd: dir, env: { ATTUNE_CONFIG: 'absent.yaml' } }));
    expect(error.message).toContain('absent.yaml');
  });
});

describe('invalid settings fail at start-up naming the setting', () => {
  it.each([
    [{ ATTUNE__DATABASE__MAX_CONNECTIONS: 'many' }, 'ATTUNE__DATABASE__MAX_CONNECTIONS', 'whole number'],
    [{ ATTUNE__DATABASE__MAX_CONNECTIONS: '0' }, 'ATTUNE__DATABASE__MAX_CONNECTIONS', 'between 1 and 1000'],
    [{ ATTUNE__DATABASE__LOG_STATEMENTS: 'maybe' }, 'ATTUNE__DATABASE__LOG_STATEMENTS', 'true or false'],
    [{ ATTUNE__LOG__LEVEL: 'loud' }, 'ATTUNE__LOG__LEVEL', 'one of trace'],
    [{ ATTUNE__DATABASE__URL: 'not a url' }, 'ATTUNE__DATABASE__URL', 'not a valid URL'],
    [{ ATTUNE__DATABASE__URL: 'mysql://h/db' }, 'ATTUNE__DATABASE__URL', 'postgres://'],
    [{ ATTUNE__DATABASE__URL: 'postgres://host' }, 'ATTUNE__DATABASE__URL', 'names no database'],
    [{ ATTUNE__DATABASE__NAME: 'bad-name;' }, 'ATTUNE__DATABASE__NAME', 'not a valid database name'],
    [{ ATTUNE__DATABASE__EMBEDDED_PORT: '70000' }, 'ATTUNE__DATABASE__EMBEDDED_PORT', 'between 1 and 65535'],
    [{ ATTUNE__DATABASE__URLL: 'x' }, 'ATTUNE__DATABASE__URLL', 'unknown setting'],
    [{ ATTUNE__DATBASE__URL: 'x' }, 'ATTUNE__DATBASE__URL', "unknown section 'datbase'"],
    [{ ATTUNE__DATABASE: 'x' }, 'ATTUNE__DATABASE', 'ATTUNE__SECTION__KEY'],
  ])('%j', (env, setting, text) => {
    const error = configError(() => load({}, env as Record<string, string>));
    expect(error.message).toContain(setting);
    expect(error.message).toContain(text);
    expect(error.code).toBe('ATTUNE_CONFIG');
  });

  it('refuses an encryption key shorter than 32 characters without echoing it', () => {
    const key = 'short-secret-key';
    const error = configError(() => load({}, { ATTUNE__SECURITY__ENCRYPTION_KEY: key }));
    expect(error.message).toContain('ATTUNE__SECURITY__ENCRYPTION_KEY');
    expect(error.message).toContain('at least 32 characters');
    expect(error.message).not.toContain(key);
  });

  it('names the file and key for bad YAML values, unknown sections and keys', () => {
    expect(configError(() => load({ 'config.yaml': 'database:\n  max_connections: lots\n' })).message).toContain('database.max_connections');
    expect(configError(() => load({ 'config.yaml': 'databse:\n  url: x\n' })).message).toContain("databse");
    expect(configError(() => load({ 'config.yaml': 'database:\n  nope: 1\n' })).message).toContain('database.nope');
    expect(configError(() => load({ 'config.yaml': 'database: [1, 2]\n' })).message).toContain('expected a mapping');
    expect(configError(() => load({ 'config.yaml': 'database: {\n' })).message).toContain('cannot parse YAML');
  });

  it('names a bad value that came from a .env file', () => {
    expect(configError(() => load({ '.env': 'ATTUNE__LOG__LEVEL=shouting\n' })).message).toContain('ATTUNE__LOG__LEVEL');
  });
});

describe('database URL helpers', () => {
  it('parses host, port, database and user', () => {
    expect(parseDatabaseUrl('postgresql://me@db:6000/app')).toEqual({ host: 'db', port: 6000, database: 'app', user: 'me' });
    expect(parseDatabaseUrl('postgres://db/app')).toMatchObject({ port: 5432, user: undefined });
  });

  it('points a URL at another database, keeping the rest', () => {
    expect(withDatabase('postgres://u:p@h:1/a?sslmode=disable', 'b')).toBe('postgres://u:p@h:1/b?sslmode=disable');
  });

  it('redacts passwords', () => {
    expect(redactUrl('postgres://u:secret@h/db')).toBe('postgres://u:*****@h/db');
    expect(redactUrl('postgres://u@h/db?sslmode=disable&password=secret')).toBe('postgres://u@h/db?sslmode=disable&password=*****');
    expect(redactUrl('postgres://u@h/db')).toBe('postgres://u@h/db');
    expect(redactUrl('%%%')).toBe('<unparseable url>');
  });

  it('derives environment variable names from sections and keys', () => {
    expect(envName('database', 'maxConnections')).toBe('ATTUNE__DATABASE__MAX_CONNECTIONS');
    expect(envName('security', 'encryptionKey')).toBe('ATTUNE__SECURITY__ENCRYPTION_KEY');
  });
});

describe('input limits settings', () => {
  it('default to 1 MiB of JSON, 64 levels and 10,000 characters, and are read from every layer', () => {
    expect(load({}).limits).toEqual({ jsonMaxBytes: 1_048_576, jsonMaxDepth: 64, textMaxLength: 10_000 });
    const config = load({ 'config.yaml': 'limits:\n  json_max_depth: 32\n  text_max_length: 500\n' }, { ATTUNE__LIMITS__JSON_MAX_BYTES: '65536' });
    expect(config.limits).toEqual({ jsonMaxBytes: 65_536, jsonMaxDepth: 32, textMaxLength: 500 });
  });

  it.each([
    ['ATTUNE__LIMITS__JSON_MAX_BYTES', '1023', 'between 1024 and 67108864'],
    ['ATTUNE__LIMITS__JSON_MAX_DEPTH', '0', 'between 1 and 1000'],
    ['ATTUNE__LIMITS__TEXT_MAX_LENGTH', 'lots', 'whole number'],
  ])('refuses %s=%s naming it', (name, value, text) => {
    const error = configError(() => load({}, { [name]: value }));
    expect(error.message).toContain(name);
    expect(error.message).toContain(text);
  });
});

describe('an empty variable is an error, never a silent reset', () => {
  const yamlUrl = { 'config.yaml': 'database:\n  url: postgres://app@db.internal:5432/attune\n' };

  it('an empty ATTUNE__DATABASE__URL does not erase the URL in config.yaml (and start an embedded server)', () => {
    for (const value of ['', '  ']) {
      const error = configError(() => load(yamlUrl, { ATTUNE__DATABASE__URL: value }));
      expect(error.message).toContain('ATTUNE__DATABASE__URL');
      expect(error.message).toContain('empty');
      expect(error.message).toContain('embedded PostgreSQL');
    }
    expect(configError(() => load({ ...yamlUrl, '.env': 'ATTUNE__DATABASE__URL=\n' })).message).toContain('ATTUNE__DATABASE__URL');
  });

  it('holds for every setting, not only the URL', () => {
    const error = configError(() => load({}, { ATTUNE__DATABASE__EMBEDDED_DATA_DIR: '' }));
    expect(error.message).toContain('ATTUNE__DATABASE__EMBEDDED_DATA_DIR');
    expect(error.message).toContain('empty');
  });
});

describe('DATABASE_URL is the lowest-precedence source of the URL', () => {
  const conventional = 'postgres://app@conventional.example:5432/app';

  it('is used when no Attune setting names a URL, from the environment or a .env file', () => {
    expect(load({}, { DATABASE_URL: conventional }).database.url).toBe(conventional);
    expect(load({ '.env': `DATABASE_URL=${conventional}\n` }).database.url).toBe(conventional);
  });

  it('gives way to ATTUNE__DATABASE__URL and to config.yaml, and is then not even parsed', () => {
    const attune = 'postgres://app@attune.example:5432/app';
    expect(load({}, { DATABASE_URL: conventional, ATTUNE__DATABASE__URL: attune }).database.url).toBe(attune);
    expect(load({ 'config.yaml': `database:\n  url: ${attune}\n` }, { DATABASE_URL: 'not a url' }).database.url).toBe(attune);
  });

  it('is validated like the Attune setting, and an empty one is an error naming it', () => {
    expect(configError(() => load({}, { DATABASE_URL: 'mysql://h/db' })).message).toContain('Invalid setting DATABASE_URL');
    const empty = configError(() => load({}, { DATABASE_URL: '' }));
    expect(empty.message).toContain('DATABASE_URL');
    expect(empty.message).toContain('empty');
  });
});

describe('parseDatabaseUrl names the server the driver really connects to', () => {
  /** What node-postgres itself will use for this URL: the independent expectation. */
  function driverTarget(url: string) {
    const { host, port, user, database } = (new pg.Client({ connectionString: url }) as unknown as { connectionParameters: { host: string; port: number; user: string; database: string } })
      .connectionParameters;
    return { host, port: Number(port), user, database };
  }

  it.each([
    'postgres://u@a.example:5433/db?host=b.example',
    'postgres://u@a.example/db?host=/var/run/postgresql',
    'postgres://u@a.example:5433/db?port=6543',
    'postgres://u@a.example/db?user=v',
    'postgres://u@[::1]:5433/db',
    'postgres://u@%2Fvar%2Frun%2Fpostgresql/db',
    'postgresql://u@/db?host=/tmp&port=5544',
    'postgres://u:p@db.example:6000/app?sslmode=disable',
  ])('%s', (url) => {
    expect(parseDatabaseUrl(url)).toEqual(driverTarget(url));
  });

  it('keeps a URL whose host is a parameter usable by the other URL helpers', () => {
    expect(withDatabase('postgresql://u:p@/a?host=/tmp', 'b')).toBe('postgresql://u:p@/b?host=/tmp');
    expect(redactUrl('postgresql://u:p@/a?host=/tmp')).toBe('postgresql://u:*****@/a?host=/tmp');
  });

  it('refuses a port parameter that is not a port', () => {
    expect(configError(() => parseDatabaseUrl('postgres://u@h/db?port=http')).message).toContain("port 'http'");
    expect(configError(() => parseDatabaseUrl('postgres://u@h/db?port=70000')).message).toContain('1 to 65535');
  });
});
