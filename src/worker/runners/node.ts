/**
 * `node`: runs the entry point with the Node.js binary the worker runs on,
 * the action's parameters as one JSON object on stdin. The result is stdout
 * parsed, when it is one JSON document. A pack with package.json
 * dependencies gets them installed once per pack version (dependencies.ts)
 * and found through NODE_PATH (which `require` honours; ES modules resolve
 * from the file's own folder and do not read NODE_PATH).
 */
import { join } from 'node:path';
import { isAttuneError } from '../../errors.js';
import { ensureNodeModules, readNodeDependencies, type NodeModulesOptions } from '../dependencies.js';
import {
  actionParameters,
  isRunnerOutcome,
  resolveEntryPoint,
  runPlannedProcess,
  RunRefused,
  toRunnerOutcome,
  type ProcessRunnerOptions,
} from './process-runner.js';
import type { Runner, RunnerInput, RunnerOutcome } from './types.js';

export interface NodeRunnerOptions extends ProcessRunnerOptions {
  /** The node binary; default the one running the worker (`process.execPath`). */
  node?: string;
  /** Where pack node_modules are installed; default `<workRoot>/environments`. */
  environmentRoot?: string;
  install?: NodeModulesOptions;
}

export class NodeRunner implements Runner {
  readonly name = 'node';

  constructor(private readonly options: NodeRunnerOptions = {}) {}

  async run(input: RunnerInput): Promise<RunnerOutcome> {
    const outcome = await runPlannedProcess(input, this.options, async () => {
      const file = await resolveEntryPoint(input);
      const variables: Record<string, string> = {};
      const dependencies = await readNodeDependencies(input.packDir!).catch((error: unknown) => {
        throw isAttuneError(error) ? new RunRefused(error.message) : error;
      });
      if (Object.keys(dependencies).length > 0) {
        try {
          const modules = await ensureNodeModules(input.packDir!, this.options.environmentRoot ?? join(input.workRoot, 'environments'), dependencies, {
            path: this.options.path,
            ...this.options.install,
          });
          variables.NODE_PATH = modules.nodeModules;
        } catch (error) {
          if (isAttuneError(error)) throw new RunRefused(error.message);
          throw error;
        }
      }
      return {
        command: this.options.node ?? process.execPath,
        args: [file],
        stdin: JSON.stringify(actionParameters(input)),
        environment: { fixedVariables: variables },
      };
    });
    if (isRunnerOutcome(outcome)) return outcome;
    return toRunnerOutcome(input, outcome);
  }
}
