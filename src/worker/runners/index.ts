/**
 * The runners by name: `runnerFor(registry, runnerType)` finds the one for an
 * action's runner type, by Attune's name or StackStorm's alias. The
 * `inquiry` and `inject-trigger` runners need the database and are added
 * by the worker.
 */
import { resolveRunnerType } from '../../packs/runner-types.js';
import { HttpRunner, type HttpRunnerOptions } from './http.js';
import { NodeRunner, type NodeRunnerOptions } from './node.js';
import { NoopRunner } from './noop.js';
import type { ProcessRunnerOptions } from './process-runner.js';
import { PythonRunner, type PythonRunnerOptions } from './python.js';
import { ShellScriptRunner } from './shell-script.js';
import { ShellRunner } from './shell.js';
import type { Runner } from './types.js';

export type { Runner, RunnerInput, RunnerOutcome, RunnerResult, RunnerStatus } from './types.js';

export interface RunnerOptions {
  /** For shell and shell-script (and the defaults of the others): PATH, kill grace, tails. */
  process?: ProcessRunnerOptions;
  python?: PythonRunnerOptions;
  node?: NodeRunnerOptions;
  http?: HttpRunnerOptions;
}

/** Runners by canonical name. */
export type RunnerRegistry = ReadonlyMap<string, Runner>;

/** The runners that need no database: shell, shell-script, python, node, http, noop. */
export function createRunners(options: RunnerOptions = {}): RunnerRegistry {
  const shared = options.process ?? {};
  const runners: Runner[] = [
    new ShellRunner(shared),
    new ShellScriptRunner(shared),
    new PythonRunner({ ...shared, ...options.python }),
    new NodeRunner({ ...shared, ...options.node }),
    new HttpRunner(options.http),
    new NoopRunner(),
  ];
  return new Map(runners.map((runner) => [runner.name, runner]));
}

/** The runner for a runner type (canonical name or alias); undefined when the registry has none. */
export function runnerFor(registry: RunnerRegistry, runnerType: string): Runner | undefined {
  const canonical = resolveRunnerType(runnerType)?.name;
  return canonical === undefined ? undefined : registry.get(canonical);
}
