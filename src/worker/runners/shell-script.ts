/**
 * `shell-script` (StackStorm's `local-shell-script`): runs the entry point
 * from the pack with the interpreter its `#!` line names (bash when it has
 * none), so the file needs no execute bit. Arguments follow StackStorm's
 * rules (script-arguments.ts); the action's parameters also arrive as one
 * JSON object on stdin.
 */
import { open } from 'node:fs/promises';
import { DEFAULT_SAFE_PATH } from '../environment.js';
import { scriptArguments } from './script-arguments.js';
import {
  actionParameters,
  isRunnerOutcome,
  processResult,
  resolveEntryPoint,
  runPlannedProcess,
  RunRefused,
  toRunnerOutcome,
  withStackStormShellFields,
  type ProcessRunnerOptions,
} from './process-runner.js';
import { findShell, refuseSudo, workingDirectoryParameter } from './shell.js';
import type { Runner, RunnerInput, RunnerOutcome } from './types.js';

/** The interpreter and its one optional argument from a `#!` line, as the kernel reads it; undefined without one. */
export async function readShebang(file: string): Promise<string[] | undefined> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(256);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const head = buffer.subarray(0, bytesRead).toString('utf8');
    if (!head.startsWith('#!')) return undefined;
    const line = head.slice(2).split('\n')[0]!.trim();
    if (line === '') return undefined;
    const match = /^(\S+)(?:\s+(.*))?$/.exec(line)!;
    return match[2] ? [match[1]!, match[2].trim()] : [match[1]!];
  } finally {
    await handle.close();
  }
}

export class ShellScriptRunner implements Runner {
  readonly name = 'shell-script';

  constructor(private readonly options: ProcessRunnerOptions = {}) {}

  async run(input: RunnerInput): Promise<RunnerOutcome> {
    const outcome = await runPlannedProcess(input, this.options, async () => {
      refuseSudo(input.parameters);
      const script = await resolveEntryPoint(input);
      const kwargOp = typeof input.parameters.kwarg_op === 'string' ? input.parameters.kwarg_op : '--';
      const parameters = actionParameters(input);
      const args = scriptArguments(parameters, input.parameterSchema, kwargOp);
      let interpreter = await readShebang(script);
      if (interpreter === undefined) {
        const bash = await findShell(['bash', 'sh'], this.options.path ?? DEFAULT_SAFE_PATH);
        if (bash === undefined) throw new RunRefused('neither bash nor sh is on the PATH of action processes');
        interpreter = [bash];
      }
      const [command, ...interpreterArgs] = interpreter as [string, ...string[]];
      return {
        command,
        args: [...interpreterArgs, script, ...args],
        cwd: await workingDirectoryParameter(input.parameters),
        stdin: JSON.stringify(parameters),
      };
    });
    if (isRunnerOutcome(outcome)) return outcome;
    return toRunnerOutcome(input, outcome, withStackStormShellFields(processResult(outcome)));
  }
}
