/**
 * `python` (StackStorm's `python-script`): runs the entry point through
 * Attune's shim (runtime/python/attune_action_runner.py), which calls a
 * StackStorm `Action` subclass's `run(**parameters)` or runs a plain script
 * with the parameters as JSON on stdin. The shim reports the outcome on file
 * descriptor 3, apart from stdout. A pack with Python requirements runs with
 * the python of its own virtual environment (dependencies.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAttuneError } from '../../errors.js';
import { ensurePythonEnvironment, readRequirements, type PythonEnvironmentOptions } from '../dependencies.js';
import type { ProcessOutcome } from '../process.js';
import {
  actionParameters,
  isRunnerOutcome,
  processResult,
  resolveEntryPoint,
  runPlannedProcess,
  RunRefused,
  toRunnerOutcome,
  type ProcessRunnerOptions,
} from './process-runner.js';
import type { Runner, RunnerInput, RunnerOutcome, RunnerResult } from './types.js';

/** Where the shim and the st2common stand-in live (shipped in the package's `runtime/` folder). */
export const PYTHON_RUNTIME_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'runtime', 'python');

export interface PythonRunnerOptions extends ProcessRunnerOptions {
  /** The interpreter for packs without requirements: a name looked up on the action PATH, or a path. Default `python3`. */
  python?: string;
  /** Where pack virtual environments are made; default `<workRoot>/environments`. */
  environmentRoot?: string;
  /** How requirements are installed (index URL, offline, timeouts). */
  install?: PythonEnvironmentOptions;
}

interface ShimOutcome {
  mode: 'action' | 'script';
  status?: boolean | null;
  result?: unknown;
}

export class PythonRunner implements Runner {
  readonly name = 'python';

  constructor(private readonly options: PythonRunnerOptions = {}) {}

  async run(input: RunnerInput): Promise<RunnerOutcome> {
    const outcome = await runPlannedProcess(input, this.options, async (directory) => {
      const file = await resolveEntryPoint(input);
      const python = await this.interpreter(input);
      const args = [join(PYTHON_RUNTIME_DIR, 'attune_action_runner.py'), '--file', file, '--pack', input.packRef, '--pack-dir', input.packDir!];
      if (input.config !== undefined) {
        const configFile = join(directory.control, 'config.json');
        await mkdir(directory.control, { mode: 0o700 });
        await writeFile(configFile, JSON.stringify(input.config), { mode: 0o600 });
        args.push('--config-file', configFile);
      }
      if (typeof input.parameters.log_level === 'string') args.push('--log-level', input.parameters.log_level);
      return {
        command: python,
        args,
        stdin: JSON.stringify(actionParameters(input)),
        resultChannel: true,
        environment: {
          // StackStorm refuses a PYTHONPATH from the action too: the shim needs its own.
          fixedVariables: { PYTHONPATH: PYTHON_RUNTIME_DIR, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
        },
      };
    });
    if (isRunnerOutcome(outcome)) return outcome;
    return this.outcome(input, outcome);
  }

  private async interpreter(input: RunnerInput): Promise<string> {
    const requirements = await readRequirements(input.packDir!);
    if (requirements.length === 0) return this.options.python ?? 'python3';
    try {
      const environment = await ensurePythonEnvironment(input.packDir!, this.options.environmentRoot ?? join(input.workRoot, 'environments'), requirements, {
        python: this.options.python,
        path: this.options.path,
        ...this.options.install,
      });
      return environment.python;
    } catch (error) {
      if (isAttuneError(error)) throw new RunRefused(error.message);
      throw error;
    }
  }

  private outcome(input: RunnerInput, outcome: ProcessOutcome): RunnerOutcome {
    const shim = parseShimOutcome(outcome.resultChannel);
    if (shim === undefined || shim.mode === 'script') {
      const runnerOutcome = toRunnerOutcome(input, outcome);
      if (runnerOutcome.status === 'failed' && shim === undefined && outcome.exitCode !== undefined) {
        runnerOutcome.error = lastLine(outcome.stderr) ?? runnerOutcome.error;
      }
      return runnerOutcome;
    }
    // A StackStorm Action: what run() returned is the result, and (False, result) fails the run.
    const result: RunnerResult = { ...processResult(outcome), result: shim.result ?? null };
    const runnerOutcome = toRunnerOutcome(input, outcome, result);
    if (runnerOutcome.status === 'succeeded' && shim.status === false) {
      runnerOutcome.status = 'failed';
      runnerOutcome.error = 'the action returned a failed status';
    }
    if (outcome.resultChannelOverflow) {
      runnerOutcome.status = 'failed';
      runnerOutcome.error = 'the action returned a result larger than the result channel allows';
    }
    return runnerOutcome;
  }
}

function parseShimOutcome(text: string | undefined): ShimOutcome | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    const value = JSON.parse(text) as ShimOutcome;
    return value && (value.mode === 'action' || value.mode === 'script') ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The last non-empty line: for a traceback, the exception and its message. */
function lastLine(text: string): string | undefined {
  const lines = text.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  return lines.at(-1);
}

