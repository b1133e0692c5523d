import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliConfigPath, resolveTarget, DEFAULT_API_URL } from '../../src/cli/client.js';
import { useCliStack, runAttune, json } from './commands/support.js';

const stack = useCliStack();

describe('where the CLI finds the API and its token', () => {
  it('--api-url wins over ATTUNE_API_URL, which wins over the profile; the default is loopback 8080', async () => {
    const file = join(stack.dir, 'target', 'config.yaml');
    await mkdir(join(stack.dir, 'target'), { recursive: true });
    await writeFile(file, 'profiles:\n  default: { api_url: "http://profile.example:1", token: from-profile }\n  other: { api_url: "http://other.example:2" }\ncurrent_profile: default\n');
    const env = { ATTUNE_CLI_CONFIG: file };
    expect(await resolveTarget({ env })).toMatchObject({ baseUrl: 'http://profile.example:1', token: 'from-profile', profile: 'default', configFile: file });
    expect((await resolveTarget({ env: { ...env, ATTUNE_API_URL: 'http://env.example:3/' } })).baseUrl).toBe('http://env.example:3');
    expect((await resolveTarget({ apiUrl: 'http://flag.example:4', env: { ...env, ATTUNE_API_URL: 'http://env.example:3' } })).baseUrl).toBe('http://flag.example:4');
    expect(await resolveTarget({ profile: 'other', env })).toMatchObject({ baseUrl: 'http://other.example:2', token: undefined, profile: 'other' });
    expect((await resolveTarget({ env: { ...env, ATTUNE_API_TOKEN: 'from-env' } })).token === 'from-env').toBe(true);
    expect((await resolveTarget({ env: { ATTUNE_CLI_CONFIG: join(stack.dir, 'absent.yaml') } })).baseUrl).toBe(DEFAULT_API_URL);
  });

  it('the config file path: ATTUNE_CLI_CONFIG, else XDG_CONFIG_HOME, else ~/.config', () => {
    expect(cliConfigPath({ ATTUNE_CLI_CONFIG: '/x/c.yaml' })).toBe('/x/c.yaml');
    expect(cliConfigPath({ XDG_CONFIG_HOME: '/xdg', HOME: '/home/u' })).toBe('/xdg/attune/config.yaml');
    expect(cliConfigPath({ HOME: '/home/u' })).toBe('/home/u/.config/attune/config.yaml');
  });

  it('refuses an unknown profile, a malformed file and a URL that is not http, naming what is wrong', async () => {
    const file = join(stack.dir, 'bad', 'config.yaml');
    await mkdir(join(stack.dir, 'bad'), { recursive: true });
    await writeFile(file, 'profiles:\n  default: { api_url: "http://a:1" }\n');
    await expect(resolveTarget({ profile: 'prod', env: { ATTUNE_CLI_CONFIG: file } })).rejects.toThrow(/no profile prod in .*config\.yaml \(profiles: default\); run attune login --profile prod/);
    await writeFile(file, 'profiles: [1, 2]\n');
    await expect(resolveTarget({ env: { ATTUNE_CLI_CONFIG: file } })).rejects.toThrow(/profiles: expected a mapping of profile names/);
    await writeFile(file, 'profiles: {default: {api_url: 1}}\n');
    await expect(resolveTarget({ env: { ATTUNE_CLI_CONFIG: file } })).rejects.toThrow(/profiles\.default\.api_url: expected a URL/);
    await expect(resolveTarget({ apiUrl: 'ftp://x', env: { ATTUNE_CLI_CONFIG: join(stack.dir, 'absent.yaml') } })).rejects.toThrow(/--api-url: 'ftp:\/\/x' must start with http/);
  });
});

describe('failures are one line that says what to do', () => {
  it('API down: names the URL and what to check, exit 1', async () => {
    const port = await closedPort();
    const run = await stack.attune(['execution', 'list'], { env: { ATTUNE_API_URL: `http://127.0.0.1:${port}` } });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(new RegExp(`^error: cannot reach the API at http://127\\.0\\.0\\.1:${port} \\(connection refused\\)`));
    expect(run.stderr).toMatch(/: is `attune up` running\? check --api-url \/ ATTUNE_API_URL .*\n$/);
    expect(run.stderr.split('\n')).toHaveLength(2);
  });

  it('an unknown host says so', async () => {
    const run = await stack.attune(['pack', 'list'], { env: { ATTUNE_API_URL: 'http://attune.invalid:8080' } });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: cannot reach the API at http:\/\/attune\.invalid:8080 \((unknown host|EAI_AGAIN)\): is `attune up` running\? check --api-url \/ ATTUNE_API_URL .*\n$/);
  });

  it('401 without a token or with a wrong one: run attune login', async () => {
    const none = await stack.attune(['pack', 'list'], { token: null });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^error: .*no token is configured; run attune login \(or set ATTUNE_API_TOKEN\)\n$/);
    const wrong = await stack.attune(['pack', 'list'], { token: 'attn_not-a-real-token' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^error: the bearer token is unknown, expired or revoked: the token of profile default is not accepted; run attune login\n$/);
    expect(wrong.stderr).not.toContain('attn_not-a-real-token');
  });

  it('403 names the role needed', async () => {
    const run = await stack.attune(['identity', 'list'], { role: 'viewer' });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('error: forbidden: this needs the admin role; viewer_cli has viewer\n');
  });

  it('validation errors name the field and why; a usage error exits 2', async () => {
    const bad = await stack.attune(['key', 'set', 'system.x', '1', '--ttl', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--ttl must be a whole number of 1 or more');
    const refused = await stack.attune(['token', 'create', 'ci', '--ttl', '5']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: .*ttl_seconds.*\n$/);
    const unknown = await stack.attune(['execution', 'lst']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'lst'");
  });

  it('a malformed CLI config file is named, with the field', async () => {
    const file = join(stack.dir, 'malformed.yaml');
    await writeFile(file, 'profiles: {default: {api_url: http://x:1, token: [1]}}\n');
    const run = await stack.attune(['whoami'], { env: { ATTUNE_CLI_CONFIG: file, ATTUNE_API_URL: undefined } });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`error: Invalid setting ${file}: profiles.default.token: expected a string\n`);
  });
});

describe('login, whoami, logout through the config file', () => {
  it('login --password-stdin writes the profile (0600 in a 0700 folder), whoami uses it, logout revokes and forgets it', async () => {
    const file = join(stack.dir, 'home', '.config', 'attune', 'config.yaml');
    const env = { ATTUNE_CLI_CONFIG: file };
    const login = await stack.attune(['login', 'operator_cli', '--password-stdin'], { token: null, env, stdin: 'correct horse battery staple\n' });
    expect(login.stderr).toMatch(/^✓ logged in to http:\/\/127\.0\.0\.1:\d+ as operator_cli \(operator\); token saved in .*config\.yaml \(profile default\), expires /);
    expect(login.code).toBe(0);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(stack.dir, 'home', '.config', 'attune'))).mode & 0o777).toBe(0o700);
    const saved = await readFile(file, 'utf8');
    expect(saved).toMatch(/current_profile: default/);
    expect(saved).toContain(`api_url: ${stack.url}`);

    // No ATTUNE_API_URL or token in the environment: both come from the profile.
    const bare = { ATTUNE_CLI_CONFIG: file, ATTUNE_API_URL: undefined };
    const me = json(await stack.attune(['whoami', '-j'], { token: null, env: bare }));
    expect(me).toMatchObject({ login: 'operator_cli', role: 'operator', profile: 'default', api_url: stack.url });
    const table = await stack.attune(['whoami'], { token: null, env: bare });
    expect(table.stdout).toMatch(/login\s+│ operator_cli/);

    const logout = await stack.attune(['logout'], { token: null, env: bare });
    expect(logout.code).toBe(0);
    expect(logout.stderr).toMatch(/logged out: profile default's token is revoked and removed from/);
    expect(await readFile(file, 'utf8')).not.toContain('token:');
    // The saved token itself no longer works.
    const token = /token: (\S+)/.exec(saved)![1]!;
    const after = await stack.attune(['whoami'], { token, env: { ATTUNE_CLI_CONFIG: file } });
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('run attune login');
  });

  it('a wrong password is refused; without a terminal and --password-stdin, login says how', async () => {
    const env = { ATTUNE_CLI_CONFIG: join(stack.dir, 'wrong.yaml') };
    const wrong = await stack.attune(['login', 'operator_cli', '--password-stdin'], { token: null, env, stdin: 'nope\n' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^error: login or password is wrong: no token is configured; run attune login/);
    const noTty = await stack.attune(['login', 'operator_cli'], { token: null, env });
    expect(noTty.code).toBe(1);
    expect(noTty.stderr).toBe('error: no terminal to ask for the password on: pipe it in with --password-stdin\n');
  });
});

describe('runAttune without an API', () => {
  it('--version and --help need no API', async () => {
    const version = await runAttune(['--version'], {});
    expect(version).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) });
    const help = await runAttune(['--help'], {});
    expect(help.code).toBe(0);
    for (const group of ['pack', 'action', 'run', 'execution', 'rule', 'trigger', 'event', 'enforcement', 'inquiry', 'key', 'identity', 'token', 'login', 'logout', 'whoami', 'worker', 'completion', 'db']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${group}\\b`, 'm'));
    }
  });
});

/** A loopback port nothing listens on (taken and released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
