/**
 * The contract between the worker and its runners. A runner is given an
 * action, its materialised pack folder and its already-decrypted parameters,
 * runs it, and reports what happened; it knows nothing of the database (the
 * worker records output, results and the process group).
 */

/** Final status a runner reports; the worker turns it into the execution's. */
export type RunnerStatus = 'succeeded' | 'failed' | 'timeout' | 'canceled';

/** Everything a runner needs to run one execution. */
export interface RunnerInput {
  executionId: number;
  actionRef: string;
  packRef: string;
  /** Attune's runner name (`shell`, `python`, ...) or one of its aliases. */
  runnerType: string;
  /** As the action wrote it, relative to the pack's `actions/` folder; null or '' when the runner needs none. */
  entryPoint: string | null;
  /** The materialised pack folder (holds `actions/`, `lib/`, `requirements.txt`, ...); null for runners without files. */
  packDir: string | null;
  /** Decrypted, defaults applied, templates rendered: action and runner parameters together. */
  parameters: Record<string, unknown>;
  /** The action's parameter schema (draft-07 with `position` and `secret` annotations), for argument order and secret flags. */
  parameterSchema: Record<string, unknown>;
  /** Extra environment variables declared by the action's `env` parameter. */
  env: Record<string, string>;
  /** Seconds the run may take; past them the process group is killed and the status is `timeout`. */
  timeoutSeconds: number;
  /** Bytes of stdout and stderr together delivered through `onOutput`; past them a marker, and nothing more. */
  outputCapBytes: number;
  /** Aborting it cancels the run: the process group is killed and the status is `canceled`. */
  signal: AbortSignal;
  /** Output as it comes, coalesced: a few calls per second at most, or when a chunk reaches its size limit. */
  onOutput(stream: 'stdout' | 'stderr', chunk: string): void;
  /** Called once the process exists, with its process group id, so the worker can record it for recovery. */
  onSpawn?(pgid: number): void;
  /** Where fresh working directories are made (one per run, removed afterwards). */
  workRoot: string;
  /** What the action may use to call back into Attune. */
  context: { apiUrl?: string; token?: string };
  /** The pack's configuration (decrypted), for Python `Action` classes' `self.config`. */
  config?: Record<string, unknown>;
  /** `json` when the action declares `output_format: json`: stdout must then be one JSON document. */
  outputFormat?: 'text' | 'json';
}

/** The result object stored on the execution. */
export interface RunnerResult {
  /** The process's exit code; negative for a signal (-9: killed), as StackStorm reports it. */
  exit_code?: number;
  /** The last bytes of stdout (see the process options), one trailing newline removed. */
  stdout: string;
  /** The last bytes of stderr, one trailing newline removed. */
  stderr: string;
  /** Parsed output: stdout as JSON when it is one JSON document, or what a Python `Action.run()` returned. */
  result?: unknown;
  [key: string]: unknown;
}

/** What a runner reports when the run is over. */
export interface RunnerOutcome {
  status: RunnerStatus;
  result: RunnerResult;
  /** Why the run failed, timed out or was canceled, for people. Never holds a secret. */
  error?: string;
  /** The process group the run used, when it started a process. */
  pgid?: number;
}

/** One runner type. `run` never throws for anything the action does: it reports an outcome. */
export interface Runner {
  /** Attune's canonical runner name (`shell`, `shell-script`, ...). */
  readonly name: string;
  run(input: RunnerInput): Promise<RunnerOutcome>;
}
