/**
 * What the process runners (shell, shell-script, python, node) share: the
 * run directory, the clean environment, the entry point inside the pack, the
 * runner's own parameters, and turning a process outcome into a runner outcome.
 */
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { resolveRunnerType } from '../../packs/runner-types.js';
import { buildChildEnvironment, declaredEnvironment, type ChildEnvironmentInput } from '../environment.js';
import { parseJsonDocument } from '../output.js';
import { runProcess, type ProcessOptions, type ProcessOutcome, type ProcessSpec } from '../process.js';
import { withRunDirectory, type RunDirectory } from '../run-directory.js';
import type { RunnerInput, RunnerOutcome, RunnerResult } from './types.js';

/** Options every process runner takes; the worker fills them from its configuration. */
export interface ProcessRunnerOptions {
  /** PATH of action processes unless the action declares one; default `/usr/local/bin:/usr/bin:/bin`. */
  path?: string;
  /** Kill grace, output tails and coalescing; see `PROCESS_DEFAULTS`. */
  process?: ProcessOptions;
}

/** A run that cannot start (bad parameters, missing entry point): a failed outcome with a clear error. */
export class RunRefused extends Error {}

/** A failed outcome without a process. */
export function refusedOutcome(error: string): RunnerOutcome {
  return { status: 'failed', result: { stdout: '', stderr: '' }, error };
}

/** The names of the runner's own parameters (`cwd`, `env`, `timeout`, ...), which are not the action's. */
export function runnerParameterNames(runnerType: string): Set<string> {
  return new Set(Object.keys(resolveRunnerType(runnerType)?.parameters ?? {}));
}

/** The action's own parameters: everything that is not a runner parameter. */
export function actionParameters(input: RunnerInput): Record<string, unknown> {
  const runnerNames = runnerParameterNames(input.runnerType);
  return Object.fromEntries(Object.entries(input.parameters).filter(([name]) => !runnerNames.has(name)));
}

/** The run's timeout: the execution's, shortened by the runner's `timeout` parameter when that is smaller. */
export function effectiveTimeoutSeconds(input: RunnerInput): number {
  const parameter = input.parameters.timeout;
  if (typeof parameter === 'number' && Number.isFinite(parameter) && parameter > 0) return Math.min(input.timeoutSeconds, parameter);
  return input.timeoutSeconds;
}

/** The action's declared environment: the `env` parameter and `input.env`, the latter winning. */
export function declaredVariables(input: RunnerInput): Record<string, string> {
  return { ...declaredEnvironment(input.parameters.env), ...input.env };
}

/**
 * The entry point's absolute path inside the pack's `actions/` folder.
 * Refuses a missing pack folder, a missing file, and a path (or symlink)
 * that leads outside the pack.
 */
export async function resolveEntryPoint(input: RunnerInput): Promise<string> {
  if (!input.packDir) throw new RunRefused(`action ${input.actionRef} has no pack folder to run its entry point from`);
  if (!input.entryPoint) throw new RunRefused(`action ${input.actionRef} has no entry_point`);
  if (isAbsolute(input.entryPoint)) throw new RunRefused(`entry_point ${input.entryPoint} must be relative to the pack's actions folder`);
  const packRoot = await realpath(input.packDir).catch(() => {
    throw new RunRefused(`the pack folder of ${input.actionRef} does not exist`);
  });
  const candidate = join(packRoot, 'actions', input.entryPoint);
  const resolved = await realpath(candidate).catch(() => {
    throw new RunRefused(`entry_point ${input.entryPoint} of ${input.actionRef} does not exist in the pack`);
  });
  const inside = relative(packRoot, resolved);
  if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) {
    throw new RunRefused(`entry_point ${input.entryPoint} of ${input.actionRef} leads outside the pack`);
  }
  if (!(await stat(resolved)).isFile()) throw new RunRefused(`entry_point ${input.entryPoint} of ${input.actionRef} is not a file`);
  return resolved;
}

/** What a runner decides for one run, given its fresh directory. */
export interface ProcessPlan {
  command: string;
  args: string[];
  /** argv[0] when it is not `command` (a program run as the word a command named it by). */
  argv0?: string;
  /** Default: the run's `work` folder. */
  cwd?: string;
  stdin?: string;
  resultChannel?: boolean;
  environment?: Pick<ChildEnvironmentInput, 'runnerVariables' | 'fixedVariables' | 'declared'>;
}

/**
 * Runs a process runner's plan in a fresh run directory and returns the
 * process outcome (the directory is gone by then). A `RunRefused` thrown by
 * `plan` becomes a failed outcome.
 */
export async function runPlannedProcess(
  input: RunnerInput,
  options: ProcessRunnerOptions,
  plan: (directory: RunDirectory) => Promise<ProcessPlan>,
): Promise<ProcessOutcome | RunnerOutcome> {
  try {
    return await withRunDirectory(input.workRoot, input.executionId, async (directory) => {
      const planned = await plan(directory);
      const env = buildChildEnvironment({
        executionId: input.executionId,
        actionRef: input.actionRef,
        packRef: input.packRef,
        home: directory.home,
        declared: planned.environment?.declared ?? declaredVariables(input),
        runnerVariables: planned.environment?.runnerVariables,
        fixedVariables: planned.environment?.fixedVariables,
        apiUrl: input.context.apiUrl,
        token: input.context.token,
        path: options.path,
      });
      const spec: ProcessSpec = {
        command: planned.command,
        args: planned.args,
        argv0: planned.argv0,
        cwd: planned.cwd ?? directory.work,
        env,
        stdin: planned.stdin,
        resultChannel: planned.resultChannel,
        timeoutSeconds: effectiveTimeoutSeconds(input),
        outputCapBytes: input.outputCapBytes,
        signal: input.signal,
        onOutput: input.onOutput,
        onSpawn: input.onSpawn,
        options: options.process,
      };
      return runProcess(spec);
    });
  } catch (error) {
    if (error instanceof RunRefused) return refusedOutcome(error.message);
    throw error;
  }
}

/** True when `value` is a runner outcome (the plan was refused) rather than a process outcome. */
export function isRunnerOutcome(value: ProcessOutcome | RunnerOutcome): value is RunnerOutcome {
  return 'result' in value;
}

/** The result every process runner reports: exit code, tails, and stdout parsed when it is one JSON document. */
export function processResult(outcome: ProcessOutcome): RunnerResult {
  const result: RunnerResult = { stdout: outcome.stdout, stderr: outcome.stderr };
  if (outcome.exitCode !== undefined) result.exit_code = outcome.exitCode;
  const parsed = parseJsonDocument(outcome.wholeStdout);
  if (parsed !== undefined) result.result = parsed.value;
  return result;
}

/**
 * A process outcome as a runner outcome. With `output_format: json`, a run
 * that succeeded but printed something other than one JSON document fails.
 */
export function toRunnerOutcome(input: RunnerInput, outcome: ProcessOutcome, result: RunnerResult = processResult(outcome)): RunnerOutcome {
  const runnerOutcome: RunnerOutcome = { status: outcome.status, result };
  if (outcome.error !== undefined) runnerOutcome.error = outcome.error;
  if (outcome.pgid !== undefined) runnerOutcome.pgid = outcome.pgid;
  if (input.outputFormat === 'json' && outcome.status === 'succeeded' && !('result' in result)) {
    runnerOutcome.status = 'failed';
    runnerOutcome.error =
      outcome.wholeStdout === undefined
        ? 'output_format is json but stdout is larger than the part kept for the result'
        : 'output_format is json but stdout is not one JSON document';
  }
  return runnerOutcome;
}

/** StackStorm's local runner fields beside Attune's, so its rules and workflows read them unchanged. */
export function withStackStormShellFields(result: RunnerResult): RunnerResult {
  const succeeded = result.exit_code === 0;
  return { ...result, return_code: result.exit_code, succeeded, failed: !succeeded };
}
