/**
 * `shell` (StackStorm's `local-shell-cmd`): runs the `cmd` parameter with
 * `bash -c` (`sh -c` where the PATH has no bash) in a fresh working
 * directory. Templates in `cmd` were rendered before the run. The action's
 * own parameters are also exported as environment variables, named as
 * declared, so a command can read values without quoting them into its text.
 * A command of plain words naming a program is exec'd as bash would exec it,
 * without bash's start-up (direct-command.ts).
 */
import { access, constants as fsConstants, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { DEFAULT_SAFE_PATH, environmentValue, isValidVariableName } from '../environment.js';
import { directCommand } from './direct-command.js';
import { TtlCache } from '../ttl-cache.js';
import {
  actionParameters,
  declaredVariables,
  isRunnerOutcome,
  processResult,
  runPlannedProcess,
  RunRefused,
  toRunnerOutcome,
  withStackStormShellFields,
  type ProcessRunnerOptions,
} from './process-runner.js';
import type { Runner, RunnerInput, RunnerOutcome } from './types.js';

/** Names a parameter is never exported under: they would change how the shell or the loader behaves. */
const UNEXPORTABLE = new Set(['PATH', 'HOME', 'LANG', 'IFS', 'ENV', 'BASH_ENV', 'SHELLOPTS', 'BASHOPTS', 'PS4', 'PYTHONPATH', 'NODE_OPTIONS', 'NODE_PATH']);

/** The action's own parameters as environment variables (names as declared; null values and odd names left out). */
export function parameterVariables(parameters: Record<string, unknown>): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const [name, value] of Object.entries(parameters)) {
    if (!isValidVariableName(name) || UNEXPORTABLE.has(name) || name.startsWith('LD_')) continue;
    const text = environmentValue(value);
    if (text !== undefined) variables[name] = text;
  }
  return variables;
}

/** Refuses `sudo: true`: Attune runs actions as the worker's user only. */
export function refuseSudo(parameters: Record<string, unknown>): void {
  if (parameters.sudo === true) throw new RunRefused('sudo is not supported: the action runs as the worker\'s user (set sudo to false)');
}

/** The `cwd` parameter, checked: an absolute path to an existing folder. Undefined when not given. */
export async function workingDirectoryParameter(parameters: Record<string, unknown>): Promise<string | undefined> {
  const cwd = parameters.cwd;
  if (cwd === undefined || cwd === null || cwd === '') return undefined;
  if (typeof cwd !== 'string' || !isAbsolute(cwd)) throw new RunRefused('cwd must be an absolute path');
  const info = await stat(cwd).catch(() => null);
  if (info === null || !info.isDirectory()) throw new RunRefused(`cwd ${cwd} is not an existing folder`);
  return cwd;
}

/** Found shells, remembered for a minute per (names, path) (a lookup costs an access() per PATH folder); not finding one is not remembered. */
const foundShells = new TtlCache<string, string | undefined>({ ttlMs: 60_000, keep: (shell) => shell !== undefined });

/** `findExecutable`, remembered for a minute per (names, path); a lookup that found nothing is not remembered. */
export function findShell(names: readonly string[], path: string): Promise<string | undefined> {
  return foundShells.get(`${names.join('\u0000')}\u0001${path}`, () => findExecutable(names, path));
}

/** The first of `names` found executable on `path`, as an absolute path. */
export async function findExecutable(names: readonly string[], path: string): Promise<string | undefined> {
  for (const name of names) {
    for (const folder of path.split(delimiter)) {
      if (folder === '') continue;
      const candidate = join(folder, name);
      if (await access(candidate, fsConstants.X_OK).then(() => true, () => false)) return candidate;
    }
  }
  return undefined;
}

export class ShellRunner implements Runner {
  readonly name = 'shell';

  constructor(private readonly options: ProcessRunnerOptions = {}) {}

  async run(input: RunnerInput): Promise<RunnerOutcome> {
    const outcome = await runPlannedProcess(input, this.options, async (directory) => {
      const cmd = input.parameters.cmd;
      if (typeof cmd !== 'string' || cmd.trim() === '') throw new RunRefused('cmd must be a non-empty string');
      refuseSudo(input.parameters);
      const cwd = (await workingDirectoryParameter(input.parameters)) ?? directory.work;
      const runnerVariables = parameterVariables(actionParameters(input));
      const declared = declaredVariables(input);
      // The child's PATH: the action's own when it declares one (as the environment will hold).
      const childPath = declared.PATH ?? this.options.path ?? DEFAULT_SAFE_PATH;
      const direct = await directCommand(cmd, childPath, cwd, { ...runnerVariables, ...declared });
      if (direct !== undefined) {
        return {
          command: direct.file,
          args: direct.args,
          argv0: direct.argv0,
          cwd,
          environment: { runnerVariables, declared, fixedVariables: direct.variables },
        };
      }
      const shell = await findShell(['bash', 'sh'], this.options.path ?? DEFAULT_SAFE_PATH);
      if (shell === undefined) throw new RunRefused('neither bash nor sh is on the PATH of action processes');
      return { command: shell, args: ['-c', cmd], cwd, environment: { runnerVariables, declared } };
    });
    if (isRunnerOutcome(outcome)) return outcome;
    return toRunnerOutcome(input, outcome, withStackStormShellFields(processResult(outcome)));
  }
}
