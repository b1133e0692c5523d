/**
 * `attune up`: the CLI config file, the data folder's lock, --roles, and the
 * program itself as a user runs it (embedded PostgreSQL in a throwaway data
 * folder; a configured server for the subset of roles).
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRoles, reachableUrl, UP_ROLES } from '../../src/cli/commands/up.js';
import { cliConfigPath, readCliConfig, writeCliProfile } from '../../src/cli/config-file.js';
import { withDatabase } from '../../src/config.js';
import { dropDatabase } from '../../src/db/admin.js';
import { runningEmbeddedServer } from '../../src/db/embedded.js';
import { createPool } from '../../src/db/pool.js';
import { ErrorCode } from '../../src/errors.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { encryptionKeyPath, ensureEncryptionKey } from '../../src/up/encryption-key.js';
import { acquireUpLock, lockHolder, readLock, upLockPath } from '../../src/up/lock.js';
import { coalescedSignals, SIGNAL_ECHO_MS } from '../../src/up/signals.js';
import type { SignalSource } from '../../src/roles.js';
import { api, AttuneProcess, isolatedEnv, scratchFolder, startUp } from '../e2e/support.js';

const scratch = scratchFolder('up-test');
afterAll(() => scratch.remove());

describe('the CLI config file', () => {
  it('is found through ATTUNE_CLI_CONFIG, then XDG_CONFIG_HOME, then ~/.config', () => {
    expect(cliConfigPath({ ATTUNE_CLI_CONFIG: '/x/attune.yaml', HOME: '/home/ada' })).toBe('/x/attune.yaml');
    expect(cliConfigPath({ XDG_CONFIG_HOME: '/xdg', HOME: '/home/ada' })).toBe('/xdg/attune/config.yaml');
    expect(cliConfigPath({ HOME: '/home/ada' })).toBe('/home/ada/.config/attune/config.yaml');
  });

  it('is written 0600 in a 0700 folder, keeping the other profiles, and read back', () => {
    const file = path.join(scratch.dir, 'cfg-a', 'attune', 'config.yaml');
    writeCliProfile(file, 'default', { api_url: 'http://127.0.0.1:8080', token: 'attn_first' });
    writeCliProfile(file, 'prod', { api_url: 'https://attune.example.com', token: 'attn_second' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(readCliConfig(file)).toEqual({
      current_profile: 'default',
      profiles: {
        default: { api_url: 'http://127.0.0.1:8080', token: 'attn_first' },
        prod: { api_url: 'https://attune.example.com', token: 'attn_second' },
      },
    });
    expect(readFileSync(file, 'utf8')).toMatch(/^current_profile: default\nprofiles:\n {2}default:\n {4}api_url: http:\/\/127\.0\.0\.1:8080\n/);
  });

  it('refuses a malformed file naming the field, never echoing a token', () => {
    const file = path.join(scratch.dir, 'cfg-b.yaml');
    writeFileSync(file, 'profiles:\n  default:\n    token: attn_secret_value\n');
    let message = '';
    try {
      readCliConfig(file);
    } catch (error) {
      message = (error as Error).message;
      expect((error as { code?: string }).code).toBe(ErrorCode.CONFIG);
    }
    expect(message).toContain('profiles.default.api_url');
    expect(message.includes('attn_secret_value')).toBe(false);
    expect(readCliConfig(path.join(scratch.dir, 'absent.yaml'))).toBeUndefined();
  });
});

describe('the data folder lock', () => {
  it('refuses while a live process holds it, naming it; takes over one whose process is gone', async () => {
    const dataDir = path.join(scratch.dir, 'lock-a');
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      const first = acquireUpLock(dataDir, holder.pid!);
      first.lock.update({ postgresPort: 5555, apiUrl: 'http://127.0.0.1:9999' });
      expect(lockHolder(dataDir)?.pid).toBe(holder.pid);
      let refusal: Error | undefined;
      try {
        acquireUpLock(dataDir);
      } catch (error) {
        refusal = error as Error;
      }
      expect(refusal?.message).toContain(`already running on ${dataDir} (pid ${holder.pid}, API http://127.0.0.1:9999, PostgreSQL port 5555`);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
    expect(lockHolder(dataDir)).toBeUndefined();
    const second = acquireUpLock(dataDir);
    expect(second.stale?.pid).toBe(holder.pid);
    expect(second.stale?.postgresPort).toBe(5555);
    expect(readLock(upLockPath(dataDir))?.pid).toBe(process.pid);
    second.lock.release();
    expect(existsSync(upLockPath(dataDir))).toBe(false);
  });

  it('creates the folder the data folder and its lock go in when it is missing (a fresh checkout has no .attune)', () => {
    const dataDir = path.join(scratch.dir, 'fresh-checkout', '.attune', 'postgres');
    const taken = acquireUpLock(dataDir);
    expect(readLock(upLockPath(dataDir))?.pid).toBe(process.pid);
    expect(existsSync(dataDir)).toBe(false); // initdb still finds no folder, or an empty one
    taken.lock.release();
  });

  it('does not take a reused pid for the holder: the process start time must match', () => {
    const dataDir = path.join(scratch.dir, 'lock-b');
    // This test's parent is alive, but it did not start when the lock says.
    writeFileSync(upLockPath(dataDir), JSON.stringify({ pid: process.ppid, processStart: '1', dataDir, startedAt: '2020-01-01T00:00:00Z' }));
    expect(lockHolder(dataDir)).toBeUndefined();
    const taken = acquireUpLock(dataDir);
    expect(taken.stale?.pid).toBe(process.ppid);
    taken.lock.release();
  });
});

describe('the encryption key file of the embedded installation', () => {
  it('lies beside the data folder: .attune/encryption.key by default', () => {
    expect(encryptionKeyPath('.attune/postgres')).toBe(path.resolve('.attune', 'encryption.key'));
    expect(encryptionKeyPath('/srv/attune/pg/')).toBe('/srv/attune/encryption.key');
  });

  it('is generated once, 0600 whatever the umask, into a folder made when missing; read back after', () => {
    const file = path.join(scratch.dir, 'key-a', '.attune', 'encryption.key');
    const previous = process.umask(0o000);
    let first;
    try {
      first = ensureEncryptionKey(file);
    } finally {
      process.umask(previous);
    }
    expect(first.created).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(readFileSync(file, 'utf8') === `${first.key}\n`).toBe(true);
    const second = ensureEncryptionKey(file);
    expect(second.created).toBe(false);
    expect(second.key === first.key).toBe(true);
    expect(second.looseMode).toBe(false);
    // Nothing but the key is left in the folder (the temporary file is gone).
    expect(readdirSync(path.dirname(file))).toEqual(['encryption.key']);
  });

  it('a file without a usable key is refused naming the setting and the file, never echoing what it holds', () => {
    const file = path.join(scratch.dir, 'key-b.key');
    writeFileSync(file, 'short-key-text-77\n', { mode: 0o600 });
    let error: (Error & { code?: string; field?: string }) | undefined;
    try {
      ensureEncryptionKey(file);
    } catch (caught) {
      error = caught as Error & { code?: string; field?: string };
    }
    expect(error?.code).toBe(ErrorCode.CONFIG);
    expect(error?.field).toBe('ATTUNE__SECURITY__ENCRYPTION_KEY');
    expect(error?.message).toContain(`the key file ${file} holds no usable key`);
    expect(error?.message.includes('short-key-text-77')).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('short-key-text-77\n');
  });
});

describe('signals under npm start', () => {
  it('counts the copies of one Ctrl-C (npm and tsx pass it on) once, and a later one again', () => {
    const source = new EventEmitter();
    let clock = 1000;
    const signals = coalescedSignals(source as unknown as SignalSource, SIGNAL_ECHO_MS, () => clock);
    const heard: string[] = [];
    const handler = (signal: NodeJS.Signals) => heard.push(signal);
    signals.on('SIGINT', handler);
    signals.on('SIGTERM', handler);
    source.emit('SIGINT', 'SIGINT'); // the terminal's
    clock += 3;
    source.emit('SIGINT', 'SIGINT'); // npm's copy
    clock += 30;
    source.emit('SIGINT', 'SIGINT'); // tsx's relay
    expect(heard).toEqual(['SIGINT']);
    clock += SIGNAL_ECHO_MS * 4;
    source.emit('SIGINT', 'SIGINT'); // a person's second Ctrl-C
    source.emit('SIGTERM', 'SIGTERM');
    expect(heard).toEqual(['SIGINT', 'SIGINT', 'SIGTERM']);
    signals.off('SIGINT', handler);
    signals.off('SIGTERM', handler);
    expect(source.listenerCount('SIGINT') + source.listenerCount('SIGTERM')).toBe(0);
  });
});

describe('--roles', () => {
  it('takes known roles in start order and names unknown ones', () => {
    expect(parseRoles('worker, api,rules')).toEqual(['rules', 'worker', 'api']);
    expect(parseRoles(UP_ROLES.join(','))).toEqual([...UP_ROLES]);
    expect(() => parseRoles('api,web')).toThrow('unknown role web; known: rules, worker, maintenance, timers, sensors, api');
    expect(() => parseRoles(',')).toThrow('expected one or more');
  });

  it('a subset refuses the embedded server', { timeout: 60_000 }, async () => {
    const up = new AttuneProcess(['up', '--roles', 'api,worker'], await isolatedEnv(path.join(scratch.dir, 'subset')));
    expect(await up.exited).toBe(1);
    expect(up.stderr).toContain('--roles with some of the roles needs ATTUNE__DATABASE__URL');
    expect(existsSync(path.join(scratch.dir, 'subset', 'postgres'))).toBe(false);
  });

  it('a listen URL on every address is reached through loopback', () => {
    expect(reachableUrl('http://0.0.0.0:8080')).toBe('http://127.0.0.1:8080');
    expect(reachableUrl('http://[::]:8080')).toBe('http://[::1]:8080');
    expect(reachableUrl('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
  });
});

describe('attune up on the embedded server', () => {
  const home = path.join(scratch.dir, 'embedded');
  mkdirSync(home, { recursive: true });
  // One installation for both tests: the second starts where the first stopped.
  let env: Record<string, string | undefined>;
  const SECRET = 'up-secret-value-5e2a9c';
  beforeAll(async () => {
    // No key configured, as for a new user: attune up makes its own.
    env = await isolatedEnv(home, { ATTUNE__SECURITY__ENCRYPTION_KEY: undefined });
  });

  it('first start: creates the database, the admin and the CLI profile; a second up is told where the first runs; SIGTERM stops all', { timeout: 120_000 }, async () => {
    const dataDir = env.ATTUNE__DATABASE__EMBEDDED_DATA_DIR!;
    const { up, apiUrl } = await startUp(env);
    try {
      expect(apiUrl).toBe(`http://127.0.0.1:${env.ATTUNE__API__PORT}`);
      expect(up.stderr).toContain(`Created and started the embedded PostgreSQL in ${dataDir}`);
      expect(up.stderr).toMatch(/Registered the core pack/);
      const password = up.stderr.match(/Password (\S+)/)?.[1];
      expect(password).toBeDefined();

      // The token in the CLI config file works, and so does the password, shown once.
      const cliFile = env.ATTUNE_CLI_CONFIG!;
      expect(statSync(cliFile).mode & 0o777).toBe(0o600);
      const profile = readCliConfig(cliFile)!.profiles.default!;
      expect(profile.api_url).toBe(apiUrl);
      expect((await api(apiUrl, 'GET', '/api/v1/auth/whoami', { token: profile.token! })).body.data.login).toBe('admin');
      const login = await api(apiUrl, 'POST', '/api/v1/auth/login', { body: { login: 'admin', password } });
      expect(login.status).toBe(201);
      expect((await api(apiUrl, 'GET', '/readyz')).status).toBe(200);
      expect((await api(apiUrl, 'GET', '/api/v1/actions/core.local', { token: profile.token! })).status).toBe(200);
      expect(up.stdout.includes(password!)).toBe(false);
      expect(up.stdout.includes(profile.token!)).toBe(false);

      // The encryption key: made beside the data folder, 0600, said where, never shown; a secret key round-trips.
      const keyFile = path.join(path.dirname(dataDir), 'encryption.key');
      expect(up.stderr).toContain(`Created the encryption key for secrets in ${keyFile} (mode 0600)`);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      const key = readFileSync(keyFile, 'utf8').trim();
      expect(key.length).toBe(43);
      const auth = { token: profile.token! };
      const set = await api(apiUrl, 'PUT', '/api/v1/keys/system.up_test_secret', { ...auth, body: { value: SECRET, secret: true } });
      expect(set.status, set.text).toBe(201);
      expect(set.text.includes(SECRET)).toBe(false);
      const read = await api(apiUrl, 'GET', '/api/v1/keys/system.up_test_secret?decrypt=true', auth);
      expect(read.status).toBe(200);
      expect(read.body.data.value === SECRET).toBe(true);
      expect(up.stdout.includes(key) || up.stderr.includes(key)).toBe(false);

      const lock = readLock(upLockPath(dataDir))!;
      expect(lock).toMatchObject({ pid: up.child.pid, apiUrl, postgresPort: Number(env.ATTUNE__DATABASE__EMBEDDED_PORT) });

      const second = new AttuneProcess(['up'], env);
      expect(await second.exited).toBe(1);
      expect(second.stderr).toContain(`Attune is already running on ${dataDir} (pid ${up.child.pid}, API ${apiUrl}, PostgreSQL port ${env.ATTUNE__DATABASE__EMBEDDED_PORT}`);
    } finally {
      expect(await up.stop('SIGTERM')).toBe(0);
    }
    expect(up.stderr).toContain('Attune stopped');
    expect(runningEmbeddedServer(dataDir)).toBeUndefined();
    expect(existsSync(upLockPath(dataDir))).toBe(false);
    const stops = up.logLines().filter((line) => line.msg === 'role stopped').map((line) => line.role);
    expect(stops).toEqual(['announce', 'api', 'sensors', 'timers', 'maintenance', 'worker', 'rules', 'connections']);
  });

  it('after a kill -9: stops the PostgreSQL the killed up left running, starts again, and finds the CLI configured', { timeout: 120_000 }, async () => {
    const dataDir = env.ATTUNE__DATABASE__EMBEDDED_DATA_DIR!;
    const killed = await startUp(env);
    killed.up.child.kill('SIGKILL');
    await killed.up.exited;
    const leftover = runningEmbeddedServer(dataDir);
    expect(leftover).toBeDefined();

    const { up, apiUrl } = await startUp(env, [], { group: true });
    try {
      expect(up.stderr).toContain(`An attune up (pid ${killed.up.child.pid}) was killed here; stopped the embedded PostgreSQL it left running (pid ${leftover!.pid})`);
      expect(up.stderr).not.toContain('Password');
      expect(up.stderr).toContain(`The CLI is configured in ${env.ATTUNE_CLI_CONFIG} (profile default)`);
      expect((await api(apiUrl, 'GET', '/readyz')).status).toBe(200);

      // The key file of the first start is used again: the secret stored then still decrypts.
      const keyFile = path.join(path.dirname(dataDir), 'encryption.key');
      const key = readFileSync(keyFile, 'utf8').trim();
      expect(up.stderr).not.toContain('Created the encryption key');
      expect(up.logLines().some((line) => line.msg === 'encryption key read from its file' && line.file === keyFile)).toBe(true);
      const token = readCliConfig(env.ATTUNE_CLI_CONFIG!)!.profiles.default!.token!;
      const read = await api(apiUrl, 'GET', '/api/v1/keys/system.up_test_secret?decrypt=true', { token });
      expect(read.status, read.text).toBe(200);
      expect(read.body.data.value === SECRET).toBe(true);
      for (const output of [up.stdout, up.stderr, killed.up.stdout, killed.up.stderr]) expect(output.includes(key)).toBe(false);
    } finally {
      // Ctrl-C in a terminal: SIGINT to the whole process group. The embedded server, in a group of its
      // own, is not in it: it stays up until every role has stopped, so no role loses its connection.
      expect(await up.stop('SIGINT', { group: true })).toBe(0);
    }
    expect(runningEmbeddedServer(dataDir)).toBeUndefined();
    const lines = up.logLines();
    const stoppedAt = (match: (line: Record<string, unknown>) => boolean) => lines.findIndex(match);
    expect(stoppedAt((line) => line.msg === 'role stopped' && line.role === 'connections')).toBeLessThan(stoppedAt((line) => line.msg === 'embedded PostgreSQL stopped'));
    // Nothing lost its connection while the roles stopped (pg's pool may still be closing sockets after that).
    const rolesDone = stoppedAt((line) => line.msg === 'stopped');
    expect(rolesDone).toBeGreaterThan(0);
    expect(lines.slice(0, rolesDone).filter((line) => Number(line.level) >= 40)).toEqual([]);
  });
});

describe('attune up on a configured server', () => {
  const serverUrl = process.env.ATTUNE__DATABASE__URL!;
  const database = uniqueName('up').replace(/[^a-z0-9_]/g, '_');
  afterAll(async () => {
    const admin = createPool({ url: withDatabase(serverUrl, 'postgres'), maxConnections: 1 });
    await dropDatabase(admin, database, { force: true }).finally(() => admin.end());
  });

  it('creates and migrates a missing database, runs only the roles named, and starts no embedded server', { timeout: 120_000 }, async () => {
    const env = await isolatedEnv(path.join(scratch.dir, 'external'), {
      ATTUNE__DATABASE__URL: withDatabase(serverUrl, database),
      ATTUNE__SECURITY__ENABLE_AUTH: 'false',
      ATTUNE__SECURITY__ENCRYPTION_KEY: undefined,
    });
    const { up, apiUrl } = await startUp(env, ['--roles', 'api,rules']);
    try {
      expect(up.stderr).not.toContain('embedded PostgreSQL');
      expect(up.stderr).toContain('Authentication is off');
      expect((await api(apiUrl, 'GET', '/readyz')).status).toBe(200);
      // No key on a shared server: none is made up; Attune runs without secrets, says so, and refuses one naming the setting.
      expect(up.stderr).toContain('No encryption key: ATTUNE__SECURITY__ENCRYPTION_KEY is not set, so Attune runs without secrets');
      expect(existsSync(encryptionKeyPath(env.ATTUNE__DATABASE__EMBEDDED_DATA_DIR!))).toBe(false);
      const refused = await api(apiUrl, 'PUT', '/api/v1/keys/system.up_no_key', { body: { value: 'never-stored-3f1b', secret: true } });
      expect(refused.status).toBe(422);
      expect(refused.body.error.message).toContain('ATTUNE__SECURITY__ENCRYPTION_KEY');
      expect((await api(apiUrl, 'PUT', '/api/v1/keys/system.up_plain', { body: { value: 'plain' } })).status).toBe(201);
      const running = up.logLines().find((line) => line.msg === 'running; SIGINT or SIGTERM stops');
      expect(running?.roles).toEqual(['connections', 'rules', 'api', 'announce']);
    } finally {
      expect(await up.stop()).toBe(0);
    }
    expect(existsSync(env.ATTUNE__DATABASE__EMBEDDED_DATA_DIR!)).toBe(false);
    expect(existsSync(env.ATTUNE_CLI_CONFIG!)).toBe(false);
  });
});
