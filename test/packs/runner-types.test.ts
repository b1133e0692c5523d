import { describe, expect, it } from 'vitest';
import {
  RUNNER_PARAMETER_OVERRIDABLE_ATTRIBUTES,
  RUNNER_TYPES,
  RUNNER_TYPE_NAMES,
  SUPPORTED_RUNNER_TYPES,
  UNSUPPORTED_RUNNER_TYPES,
  isOverridableRunnerAttribute,
  resolveRunnerType,
  unsupportedRunnerReason,
  type RunnerType,
} from '../../src/packs/runner-types.js';

function runner(name: string): RunnerType {
  const found = resolveRunnerType(name);
  if (!found) throw new Error(`expected runner ${name} in the catalogue`);
  return found;
}

describe('resolveRunnerType', () => {
  it.each([
    ['shell', 'shell'],
    ['local-shell-cmd', 'shell'],
    ['run-local', 'shell'],
    ['shell-script', 'shell-script'],
    ['local-shell-script', 'shell-script'],
    ['run-local-script', 'shell-script'],
    ['python', 'python'],
    ['python-script', 'python'],
    ['run-python', 'python'],
    ['node', 'node'],
    ['http', 'http'],
    ['http-request', 'http'],
    ['http-runner', 'http'],
    ['noop', 'noop'],
    ['inquiry', 'inquiry'],
    ['inquirer', 'inquiry'],
    ['inject-trigger', 'inject-trigger'],
  ])('resolves %s to the supported runner %s', (name, canonical) => {
    const found = runner(name);
    expect(found.name).toBe(canonical);
    expect(found.supported).toBe(true);
    expect(found.reason).toBeUndefined();
  });

  it.each([
    ['orquesta', 'orquesta'],
    ['orchestra', 'orquesta'],
    ['action-chain', 'action-chain'],
    ['mistral-v2', 'mistral-v2'],
    ['remote-shell-cmd', 'remote-shell-cmd'],
    ['run-remote', 'remote-shell-cmd'],
    ['remote-shell-script', 'remote-shell-script'],
    ['winrm-cmd', 'winrm-cmd'],
    ['winrm-ps-cmd', 'winrm-ps-cmd'],
    ['winrm-ps-script', 'winrm-ps-script'],
    ['windows-cmd', 'windows-cmd'],
    ['windows-script', 'windows-script'],
    ['announcement', 'announcement'],
    ['cloudslang', 'cloudslang'],
  ])('knows %s as the unsupported runner %s, with the reason', (name, canonical) => {
    const found = runner(name);
    expect(found.name).toBe(canonical);
    expect(found.supported).toBe(false);
    expect(found.reason).toBe(`runner ${canonical} is not supported yet`);
  });

  it.each(['', 'Shell', 'LOCAL-SHELL-CMD', 'bash', 'local-shell', 'python3', 'nodejs', ' shell', 'toString', '__proto__'])(
    'returns undefined for the unknown name %j',
    (name) => {
      expect(resolveRunnerType(name)).toBeUndefined();
    },
  );
});

describe('the catalogue', () => {
  it('splits into supported and unsupported runners with no runner in both', () => {
    expect(SUPPORTED_RUNNER_TYPES.map((r) => r.name)).toEqual([
      'shell',
      'shell-script',
      'python',
      'node',
      'http',
      'noop',
      'inquiry',
      'inject-trigger',
    ]);
    expect(UNSUPPORTED_RUNNER_TYPES.every((r) => !r.supported)).toBe(true);
    expect(SUPPORTED_RUNNER_TYPES.length + UNSUPPORTED_RUNNER_TYPES.length).toBe(RUNNER_TYPES.length);
  });

  it('gives every name and alias exactly one runner', () => {
    const names = RUNNER_TYPES.flatMap((r) => [r.name, ...r.aliases]);
    expect(new Set(names).size).toBe(names.length);
    expect([...RUNNER_TYPE_NAMES].sort()).toEqual([...names].sort());
    for (const name of RUNNER_TYPE_NAMES) expect(resolveRunnerType(name)).toBeDefined();
  });

  it('says which runners need an entry point', () => {
    const required = RUNNER_TYPES.filter((r) => r.entryPoint === 'required').map((r) => r.name);
    expect(required.sort()).toEqual(
      [
        'action-chain',
        'cloudslang',
        'mistral-v2',
        'node',
        'orquesta',
        'python',
        'remote-shell-script',
        'shell-script',
        'windows-script',
        'winrm-ps-script',
      ].sort(),
    );
    for (const r of RUNNER_TYPES) expect(['required', 'none']).toContain(r.entryPoint);
  });

  it('types every parameter with a JSON type and a description', () => {
    for (const r of RUNNER_TYPES) {
      for (const [name, parameter] of Object.entries(r.parameters)) {
        expect(['string', 'integer', 'number', 'boolean', 'object', 'array'], `${r.name}.${name}`).toContain(parameter.type);
        expect(parameter.description.length, `${r.name}.${name}`).toBeGreaterThan(0);
        if (parameter.enum && parameter.default !== undefined && parameter.default !== null) {
          expect(parameter.enum, `${r.name}.${name}`).toContain(parameter.default);
        }
      }
    }
  });

  it('cannot be changed by a caller', () => {
    const shell = runner('shell');
    expect(Object.isFrozen(RUNNER_TYPES)).toBe(true);
    expect(Object.isFrozen(shell)).toBe(true);
    expect(Object.isFrozen(shell.parameters)).toBe(true);
    expect(Object.isFrozen(shell.parameters.timeout)).toBe(true);
    expect(() => {
      (shell.parameters.timeout as { default: unknown }).default = 1;
    }).toThrow(TypeError);
    expect(runner('local-shell-cmd').parameters.timeout?.default).toBe(60);
  });
});

describe("runner parameters, as StackStorm's runner metadata defines them", () => {
  it('shell (local-shell-cmd)', () => {
    const p = runner('local-shell-cmd').parameters;
    expect(Object.keys(p).sort()).toEqual(['cmd', 'cwd', 'env', 'kwarg_op', 'sudo', 'sudo_password', 'timeout']);
    expect(p.cmd).toMatchObject({ type: 'string' });
    // StackStorm's runner leaves cmd optional; actions such as core.local make it required.
    expect(p.cmd?.required).toBeUndefined();
    expect(p.env?.type).toBe('object');
    expect(p.kwarg_op).toMatchObject({ type: 'string', default: '--' });
    expect(p.sudo).toMatchObject({ type: 'boolean', default: false });
    // A null default, present, so that an action may mark it immutable (core.echo does).
    expect(p.sudo_password).toMatchObject({ type: 'string', secret: true, required: false, default: null });
    expect(p.timeout).toMatchObject({ type: 'integer', default: 60 });
  });

  it('shell-script (local-shell-script): the same without cmd, with debug', () => {
    const p = runner('local-shell-script').parameters;
    expect(Object.keys(p).sort()).toEqual(['cwd', 'debug', 'env', 'kwarg_op', 'sudo', 'sudo_password', 'timeout']);
    expect(p.debug).toMatchObject({ type: 'boolean', default: false });
    expect(p.timeout?.default).toBe(60);
  });

  it('python (python-script)', () => {
    const p = runner('python-script').parameters;
    expect(Object.keys(p).sort()).toEqual(['debug', 'env', 'log_level', 'timeout']);
    expect(p.timeout).toMatchObject({ type: 'integer', default: 600 });
    expect(p.log_level).toMatchObject({ type: 'string', default: 'DEBUG' });
    expect(p.log_level?.enum).toEqual(['AUDIT', 'CRITICAL', 'ERROR', 'WARNING', 'INFO', 'DEBUG']);
  });

  it('node: env and timeout', () => {
    expect(Object.keys(runner('node').parameters).sort()).toEqual(['env', 'timeout']);
  });

  it('http (http-request): url required, password secret; method and body belong to the action', () => {
    const p = runner('http-request').parameters;
    expect(Object.keys(p).sort()).toEqual([
      'allow_redirects',
      'cookies',
      'headers',
      'http_proxy',
      'https_proxy',
      'password',
      'url',
      'url_hosts_blacklist',
      'url_hosts_whitelist',
      'username',
      'verify_ssl_cert',
    ]);
    expect(p.url).toMatchObject({ type: 'string', required: true });
    expect(p.password).toMatchObject({ type: 'string', secret: true });
    expect(p.allow_redirects).toMatchObject({ type: 'boolean', default: false });
    expect(p.verify_ssl_cert).toMatchObject({ type: 'boolean', default: true });
    expect(p.url_hosts_whitelist).toMatchObject({ type: 'array', items: { type: 'string' } });
    expect(p.method).toBeUndefined();
  });

  it('inquiry (inquirer): schema, route, roles, users, ttl', () => {
    const p = runner('inquirer').parameters;
    expect(Object.keys(p).sort()).toEqual(['roles', 'route', 'schema', 'ttl', 'users']);
    expect(p.schema).toMatchObject({ type: 'object', required: true });
    expect(p.schema?.default).toMatchObject({ type: 'object', required: ['continue'] });
    expect(p.ttl).toMatchObject({ type: 'integer', default: 1440, required: true });
    expect(p.route).toMatchObject({ type: 'string', default: '' });
    expect(p.users).toMatchObject({ type: 'array', default: [] });
    expect(p.roles).toMatchObject({ type: 'array', default: [] });
  });

  it('noop and inject-trigger have none', () => {
    expect(runner('noop').parameters).toEqual({});
    expect(runner('inject-trigger').parameters).toEqual({});
  });

  it('remote runners keep their immutable and secret parameters', () => {
    const command = runner('remote-shell-cmd').parameters;
    expect(command.hosts).toMatchObject({ type: 'string', required: true });
    expect(command.parallel?.immutable).toBe(true);
    expect(command.dir?.immutable).toBe(true);
    expect(command.private_key?.secret).toBe(true);
    const script = runner('remote-shell-script').parameters;
    expect(script.cmd).toBeUndefined();
    expect(script.dir?.immutable).toBeUndefined();
  });

  it('winrm runners use "-" as the keyword operator and require credentials', () => {
    for (const name of ['winrm-cmd', 'winrm-ps-cmd', 'winrm-ps-script']) {
      const p = runner(name).parameters;
      expect(p.kwarg_op?.default, name).toBe('-');
      expect(p.password, name).toMatchObject({ required: true, secret: true });
      expect(p.transport?.enum, name).toContain('ntlm');
    }
  });
});

describe('overridable runner parameter attributes', () => {
  it("are StackStorm's five", () => {
    expect([...RUNNER_PARAMETER_OVERRIDABLE_ATTRIBUTES]).toEqual(['default', 'description', 'enum', 'immutable', 'required']);
  });

  it.each([
    ['default', true],
    ['description', true],
    ['enum', true],
    ['immutable', true],
    ['required', true],
    ['type', false],
    ['secret', false],
    ['position', false],
    ['items', false],
  ])('%s: %s', (attribute, expected) => {
    expect(isOverridableRunnerAttribute(attribute)).toBe(expected);
  });
});

describe('unsupportedRunnerReason', () => {
  it('names the runner', () => {
    expect(unsupportedRunnerReason('orquesta')).toBe('runner orquesta is not supported yet');
  });
});
