/**
 * The runner catalogue: every runner type an action's `runner_type` may name,
 * as data. Attune's runners have short names (`shell`, `python`, …) and accept
 * StackStorm's names as aliases, so a StackStorm pack registers unchanged.
 * StackStorm runners Attune does not have yet are known too: an action on one
 * registers disabled with `reason`, instead of failing its pack. A name that is
 * in neither list is unknown (`resolveRunnerType` returns undefined).
 *
 * Each runner's own parameters are in StackStorm's per-parameter form, with the
 * names, types, defaults, `required`, `secret` and `immutable` flags that
 * StackStorm's runner metadata gives them, so that an action overriding one
 * (`sudo: {immutable: true}`) means the same here. Descriptions are Attune's.
 * Nothing here reads files or the database.
 */

/** A JSON type name as StackStorm's parameter form uses it. */
export type RunnerParameterType = 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array';

/** One runner parameter, in StackStorm's per-parameter form. */
export interface RunnerParameter {
  readonly type: RunnerParameterType;
  readonly description: string;
  readonly required?: boolean;
  /** `null` is a real default (StackStorm's `sudo_password`): it lets an action mark the parameter immutable. */
  readonly default?: unknown;
  readonly enum?: readonly unknown[];
  /** Stored encrypted and masked wherever it is shown. */
  readonly secret?: boolean;
  /** The value is fixed by the runner; an action cannot set or override it. */
  readonly immutable?: boolean;
  /** For `array` parameters: the schema of each item. */
  readonly items?: Readonly<Record<string, unknown>>;
  readonly uniqueItems?: boolean;
  readonly minLength?: number;
  readonly maxLength?: number;
}

/** Whether an action on this runner must name a file of its pack in `entry_point`. */
export type EntryPointRule = 'required' | 'none';

/** A runner type of the catalogue. */
export interface RunnerType {
  /** The canonical name: Attune's own for supported runners, StackStorm's for the others. */
  readonly name: string;
  /** Other names that resolve to this runner (StackStorm's current and older names). */
  readonly aliases: readonly string[];
  readonly description: string;
  /** True when Attune runs actions of this type (a worker implements it). */
  readonly supported: boolean;
  /** For unsupported runners: why an action on it is registered disabled. */
  readonly reason?: string;
  readonly entryPoint: EntryPointRule;
  /** The runner's own parameters, by name. Actions may override some of their attributes. */
  readonly parameters: Readonly<Record<string, RunnerParameter>>;
}

/**
 * The attributes of a runner parameter that an action may change when it
 * declares a parameter of the same name (StackStorm's rule). Any other
 * attribute (`type`, `secret`, `position`, …) must be absent or equal to the
 * runner's.
 */
export const RUNNER_PARAMETER_OVERRIDABLE_ATTRIBUTES = ['default', 'description', 'enum', 'immutable', 'required'] as const;
export type RunnerParameterOverridableAttribute = (typeof RUNNER_PARAMETER_OVERRIDABLE_ATTRIBUTES)[number];

/** True when an action may override `attribute` of a runner parameter. */
export function isOverridableRunnerAttribute(attribute: string): attribute is RunnerParameterOverridableAttribute {
  return (RUNNER_PARAMETER_OVERRIDABLE_ATTRIBUTES as readonly string[]).includes(attribute);
}

/** The reason recorded on an action whose runner Attune does not have. */
export function unsupportedRunnerReason(name: string): string {
  return `runner ${name} is not supported yet`;
}

// Parameters shared by several runners, so each is described once.

function timeout(seconds: number): RunnerParameter {
  return { type: 'integer', default: seconds, description: 'Seconds the action may run; past them it is killed and the execution times out.' };
}

const env: RunnerParameter = { type: 'object', description: 'Extra environment variables for the process, name to value.' };
const cwd: RunnerParameter = { type: 'string', description: 'Working directory of the process.' };
const kwargOp: RunnerParameter = { type: 'string', default: '--', description: 'Prefix of named arguments ("--" gives --name=value).' };
const sudo: RunnerParameter = { type: 'boolean', default: false, description: 'Run the command through sudo.' };
const sudoPassword: RunnerParameter = {
  type: 'string',
  default: null,
  required: false,
  secret: true,
  description: 'Password for sudo, when sudo asks for one.',
};
const debug: RunnerParameter = { type: 'boolean', default: false, required: false, description: 'Run the runner in debug mode.' };

const localShellCommand: Record<string, RunnerParameter> = {
  cmd: { type: 'string', description: 'The command line to run with bash.' },
  cwd,
  env,
  kwarg_op: kwargOp,
  sudo,
  sudo_password: sudoPassword,
  timeout: timeout(60),
};

// StackStorm's script runner: the command runner's parameters but `cmd`, plus `debug`.
const localShellScript: Record<string, RunnerParameter> = Object.fromEntries([
  ['debug', debug],
  ...Object.entries(localShellCommand).filter(([name]) => name !== 'cmd'),
]);

const remoteConnection: Record<string, RunnerParameter> = {
  bastion_host: { type: 'string', required: false, description: 'Host the SSH connection goes through, with the same credentials.' },
  cwd: { ...cwd, default: '/tmp' },
  dir: { type: 'string', default: '/tmp', description: 'Folder on the remote host the script is copied to.' },
  env,
  hosts: { type: 'string', required: true, description: 'Comma-separated hosts to run on (host or host:port).' },
  kwarg_op: kwargOp,
  parallel: { type: 'boolean', default: false, immutable: true, description: 'Run on all hosts at once.' },
  passphrase: { type: 'string', required: false, secret: true, description: 'Passphrase of the private key.' },
  password: { type: 'string', required: false, secret: true, description: 'Password to log in with.' },
  port: { type: 'integer', required: false, description: 'SSH port when a host does not name one (22).' },
  private_key: { type: 'string', required: false, secret: true, description: 'Private key to log in with.' },
  sudo,
  sudo_password: sudoPassword,
  timeout: timeout(60),
  username: { type: 'string', required: false, description: 'User to log in as.' },
};

const winrmConnection: Record<string, RunnerParameter> = {
  cwd,
  env,
  host: { type: 'string', required: true, description: 'Windows host to run on.' },
  kwarg_op: { type: 'string', default: '-', description: 'Prefix put before the name of each named argument ("-" or "/").' },
  password: { type: 'string', required: true, secret: true, description: 'Password to log in with.' },
  port: { type: 'integer', default: 5986, required: false, description: 'WinRM port (5985 goes with scheme http).' },
  scheme: { type: 'string', default: 'https', required: false, description: 'Scheme of the WinRM URL (http goes with port 5985).' },
  timeout: timeout(60),
  transport: {
    type: 'string',
    default: 'ntlm',
    required: false,
    enum: ['basic', 'certificate', 'credssp', 'kerberos', 'ntlm', 'plaintext', 'ssl'],
    description: 'WinRM transport.',
  },
  username: { type: 'string', required: true, description: 'User to log in as.' },
  verify_ssl_cert: { type: 'boolean', default: true, description: 'Verify the host certificate; false skips the check.' },
};

const windowsLogin: Record<string, RunnerParameter> = {
  host: { type: 'string', required: true, description: 'Windows host to run on.' },
  password: { type: 'string', required: true, secret: true, description: 'Password to log in with.' },
  timeout: timeout(60),
  username: { type: 'string', default: 'Administrator', required: true, description: 'User to log in as.' },
};

function supported(entry: Omit<RunnerType, 'supported' | 'reason'>): RunnerType {
  return { ...entry, supported: true };
}

function unsupported(entry: Omit<RunnerType, 'supported' | 'reason'>): RunnerType {
  return { ...entry, supported: false, reason: unsupportedRunnerReason(entry.name) };
}

const CATALOGUE: RunnerType[] = [
  supported({
    name: 'shell',
    aliases: ['local-shell-cmd', 'run-local'],
    description: 'Runs a command line with bash on the worker; parameters are rendered into it and passed as environment variables.',
    entryPoint: 'none',
    parameters: localShellCommand,
  }),
  supported({
    name: 'shell-script',
    aliases: ['local-shell-script', 'run-local-script'],
    description: "Runs a script file of the pack on the worker, with the action's parameters as arguments and as JSON on stdin.",
    entryPoint: 'required',
    parameters: localShellScript,
  }),
  supported({
    name: 'python',
    aliases: ['python-script', 'run-python'],
    description: 'Runs a Python file of the pack (a plain script or a StackStorm-style Action class) with the parameters as JSON on stdin.',
    entryPoint: 'required',
    parameters: {
      debug,
      env,
      log_level: {
        type: 'string',
        default: 'DEBUG',
        enum: ['AUDIT', 'CRITICAL', 'ERROR', 'WARNING', 'INFO', 'DEBUG'],
        description: 'Lowest level of the log lines the action writes.',
      },
      timeout: timeout(600),
    },
  }),
  supported({
    name: 'node',
    aliases: [],
    description: 'Runs a JavaScript file of the pack with Node.js, with the parameters as JSON on stdin.',
    entryPoint: 'required',
    parameters: { env, timeout: timeout(600) },
  }),
  supported({
    name: 'http',
    aliases: ['http-request', 'http-runner'],
    description:
      'Makes an HTTP request from the worker. The method, body, query params, timeout and auth come from the action (core.http declares them).',
    entryPoint: 'none',
    parameters: {
      allow_redirects: { type: 'boolean', default: false, description: 'Follow redirects of POST, PUT and DELETE requests too.' },
      cookies: { type: 'object', description: 'Cookies to send, name to value.' },
      headers: { type: 'object', description: 'Request headers, name to value.' },
      http_proxy: { type: 'string', description: 'Proxy URL for http:// requests.' },
      https_proxy: { type: 'string', description: 'Proxy URL for https:// requests.' },
      password: { type: 'string', secret: true, description: 'Password for basic authentication.' },
      url: { type: 'string', required: true, description: 'URL to call.' },
      url_hosts_blacklist: { type: 'array', required: false, items: { type: 'string' }, description: 'Hosts the request may not go to.' },
      url_hosts_whitelist: { type: 'array', required: false, items: { type: 'string' }, description: 'When given, the only hosts it may go to.' },
      username: { type: 'string', description: 'User name for basic authentication.' },
      verify_ssl_cert: { type: 'boolean', default: true, description: "Verify the server's TLS certificate; false skips the check." },
    },
  }),
  supported({
    name: 'noop',
    aliases: [],
    description: 'Does nothing and succeeds.',
    entryPoint: 'none',
    parameters: {},
  }),
  supported({
    name: 'inquiry',
    aliases: ['inquirer'],
    description: 'Asks a person: creates an inquiry and pauses the execution until a valid response, or the time-out.',
    entryPoint: 'none',
    parameters: {
      schema: {
        type: 'object',
        required: true,
        // StackStorm's default, written in standard JSON Schema (its draft-3 style
        // `required: true` inside the property becomes the `required` list).
        default: {
          title: 'response_data',
          type: 'object',
          properties: { continue: { type: 'boolean', description: 'Continue?' } },
          required: ['continue'],
        },
        description: 'JSON schema a response must satisfy.',
      },
      route: { type: 'string', default: '', required: false, description: 'Free text that rules use to pick who is notified.' },
      roles: { type: 'array', default: [], required: false, description: 'Roles allowed to respond (empty: anyone).' },
      users: { type: 'array', default: [], required: false, description: 'Users allowed to respond (empty: anyone).' },
      ttl: { type: 'integer', default: 1440, required: true, description: 'Minutes to wait for a response before timing out.' },
    },
  }),
  supported({
    name: 'inject-trigger',
    aliases: [],
    // Reads the action's trigger_name (or trigger), payload and trace_tag, which core.inject_trigger declares.
    description: "Attune's own: fires an event of a trigger from inside the worker, with no script.",
    entryPoint: 'none',
    parameters: {},
  }),
  unsupported({
    name: 'orquesta',
    aliases: ['orchestra'],
    description: 'StackStorm workflow engine.',
    entryPoint: 'required',
    parameters: {
      notify: {
        type: 'array',
        default: [],
        uniqueItems: true,
        items: { type: 'string', minLength: 1, pattern: '^\\w+$' },
        description: 'Tasks to send notifications for.',
      },
    },
  }),
  unsupported({
    name: 'action-chain',
    aliases: [],
    description: 'StackStorm linear action chains.',
    entryPoint: 'required',
    parameters: {
      display_published: { type: 'boolean', default: true, description: 'Keep and show the variables published by each step.' },
      skip_notify: { type: 'array', default: [], description: 'Tasks to send no notifications for.' },
    },
  }),
  unsupported({
    name: 'mistral-v2',
    aliases: [],
    description: 'StackStorm Mistral workflows (removed from StackStorm itself).',
    entryPoint: 'required',
    parameters: {
      context: { type: 'object', default: {}, description: 'Extra workflow inputs.' },
      skip_notify: { type: 'array', default: [], description: 'Tasks to send no notifications for.' },
      task_name: { type: 'string', description: 'Task to run, for a reverse workflow.' },
      workflow: { type: 'string', description: 'Workflow to run when the entry point is a workbook of several.' },
    },
  }),
  unsupported({
    name: 'remote-shell-cmd',
    aliases: ['run-remote'],
    description: 'A command over SSH on remote hosts.',
    entryPoint: 'none',
    parameters: {
      ...remoteConnection,
      cmd: { type: 'string', description: 'The command line to run on the remote hosts.' },
      dir: { ...(remoteConnection.dir as RunnerParameter), immutable: true },
    },
  }),
  unsupported({
    name: 'remote-shell-script',
    aliases: ['run-remote-script'],
    description: 'A script of the pack copied to remote hosts and run over SSH.',
    entryPoint: 'required',
    parameters: remoteConnection,
  }),
  unsupported({
    name: 'winrm-cmd',
    aliases: [],
    description: 'A Command Prompt command over WinRM.',
    entryPoint: 'none',
    parameters: { cmd: { type: 'string', description: 'The command to run on the Windows host.' }, ...winrmConnection },
  }),
  unsupported({
    name: 'winrm-ps-cmd',
    aliases: [],
    description: 'A PowerShell command over WinRM.',
    entryPoint: 'none',
    parameters: { cmd: { type: 'string', description: 'The PowerShell command to run on the Windows host.' }, ...winrmConnection },
  }),
  unsupported({
    name: 'winrm-ps-script',
    aliases: [],
    description: 'A PowerShell script of the pack run over WinRM.',
    entryPoint: 'required',
    parameters: winrmConnection,
  }),
  unsupported({
    name: 'windows-cmd',
    aliases: [],
    description: 'A command on a Windows host (an older StackStorm runner).',
    entryPoint: 'none',
    parameters: { cmd: { type: 'string', description: 'The command to run on the Windows host.' }, ...windowsLogin },
  }),
  unsupported({
    name: 'windows-script',
    aliases: [],
    description: 'A PowerShell script on a Windows host (an older StackStorm runner).',
    entryPoint: 'required',
    parameters: {
      ...windowsLogin,
      share: { type: 'string', default: 'C$', required: true, description: 'Windows share the script is uploaded to.' },
    },
  }),
  unsupported({
    name: 'announcement',
    aliases: [],
    description: "StackStorm's announcement to stream consumers.",
    entryPoint: 'none',
    parameters: {
      experimental: { type: 'boolean', default: false, required: true, description: 'Acknowledges that the runner is experimental.' },
      route: { type: 'string', default: 'general', minLength: 1, maxLength: 255, description: 'Routing key of the announcement.' },
    },
  }),
  unsupported({
    name: 'cloudslang',
    aliases: [],
    description: 'CloudSlang flows.',
    entryPoint: 'required',
    parameters: {
      inputs: { type: 'object', default: {}, description: 'Inputs of the flow, name to value.' },
      timeout: timeout(60),
    },
  }),
];

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value as Record<string, unknown>)) deepFreeze(inner);
  }
  return value;
}

/** Every runner type Attune knows, supported first. Frozen: read, never change. */
export const RUNNER_TYPES: readonly RunnerType[] = deepFreeze(CATALOGUE);

/** The runners Attune runs. */
export const SUPPORTED_RUNNER_TYPES: readonly RunnerType[] = Object.freeze(RUNNER_TYPES.filter((runner) => runner.supported));

/** StackStorm runners Attune knows but does not run yet: their actions register disabled. */
export const UNSUPPORTED_RUNNER_TYPES: readonly RunnerType[] = Object.freeze(RUNNER_TYPES.filter((runner) => !runner.supported));

const BY_NAME: ReadonlyMap<string, RunnerType> = buildIndex(RUNNER_TYPES);

function buildIndex(runners: readonly RunnerType[]): Map<string, RunnerType> {
  const index = new Map<string, RunnerType>();
  for (const runner of runners) {
    for (const name of [runner.name, ...runner.aliases]) {
      if (index.has(name)) throw new Error(`runner name ${name} is in the catalogue twice`);
      index.set(name, runner);
    }
  }
  return index;
}

/** Every name `resolveRunnerType` accepts (canonical names and aliases). */
export const RUNNER_TYPE_NAMES: readonly string[] = Object.freeze([...BY_NAME.keys()]);

/**
 * The runner an action's `runner_type` names, by canonical name or alias
 * (exact, case-sensitive, as StackStorm matches them); undefined when the
 * name is unknown. Check `supported` before running anything.
 */
export function resolveRunnerType(name: string): RunnerType | undefined {
  return BY_NAME.get(name);
}
