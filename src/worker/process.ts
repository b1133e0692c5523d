/**
 * Runs one action process: in its own process group, with the environment
 * it is given (see environment.ts) and nothing else, its output captured
 * (output.ts), its deadline and cancellation enforced on the whole group
 * (SIGTERM, then SIGKILL after a grace). Whatever the process leaves running
 * in its group when it exits is killed too: nothing outlives its execution
 * (a process that starts a session of its own escapes, as with any
 * supervisor).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { OutputCapture, OUTPUT_DEFAULTS, type OutputStreamName } from './output.js';
import { signalGroup } from './process-group.js';
import type { RunnerStatus } from './runners/types.js';

/** Defaults of `ProcessOptions`. */
export const PROCESS_DEFAULTS = {
  /** Milliseconds between SIGTERM and SIGKILL when a run times out or is canceled. */
  killGraceMs: 5_000,
  /** Milliseconds to wait, once the process exited, for output still in the pipes. */
  drainMs: 1_000,
  /** Bytes a process may write on the result channel (fd 3). */
  resultLimitBytes: 16 * 1024 * 1024,
  ...OUTPUT_DEFAULTS,
} as const;

/** Tunables of the process wrapper; each has a default in `PROCESS_DEFAULTS`. */
export interface ProcessOptions {
  killGraceMs?: number;
  drainMs?: number;
  resultLimitBytes?: number;
  tailBytes?: number;
  flushIntervalMs?: number;
  maxChunkBytes?: number;
}

export interface ProcessSpec {
  command: string;
  args: readonly string[];
  /** argv[0] of the process; default `command`. */
  argv0?: string;
  cwd: string;
  /** The complete environment (nothing is inherited). */
  env: Record<string, string>;
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  stdin?: string;
  /** Opens fd 3 as a pipe the process may write its result to (the Python shim does). */
  resultChannel?: boolean;
  timeoutSeconds: number;
  outputCapBytes: number;
  signal: AbortSignal;
  onOutput(stream: OutputStreamName, chunk: string): void;
  onSpawn?(pgid: number): void;
  options?: ProcessOptions;
}

export interface ProcessOutcome {
  status: RunnerStatus;
  /** Exit code, or minus the signal number when a signal ended the process; undefined when it never started. */
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  /** All of stdout when it fit in the tail (for JSON parsing); undefined otherwise. */
  wholeStdout: string | undefined;
  /** What the process wrote on fd 3, when `resultChannel` was asked for. */
  resultChannel: string | undefined;
  resultChannelOverflow: boolean;
  outputTruncated: boolean;
  error: string | undefined;
  pgid: number | undefined;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Runs the process to its end and reports how it ended. Never throws for what the process does. */
export function runProcess(spec: ProcessSpec): Promise<ProcessOutcome> {
  const options = { ...PROCESS_DEFAULTS, ...definedOptions(spec.options) };
  const capture = new OutputCapture({
    capBytes: spec.outputCapBytes,
    tailBytes: options.tailBytes,
    flushIntervalMs: options.flushIntervalMs,
    maxChunkBytes: options.maxChunkBytes,
    onOutput: spec.onOutput,
  });

  if (spec.signal.aborted) {
    return Promise.resolve(outcomeWithoutProcess('canceled', 'canceled before the process started', capture));
  }

  return new Promise<ProcessOutcome>((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(spec.command, spec.args, {
        ...(spec.argv0 === undefined ? {} : { argv0: spec.argv0 }),
        cwd: spec.cwd,
        env: spec.env,
        detached: true,
        stdio: [spec.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', ...(spec.resultChannel ? (['pipe'] as const) : [])],
        windowsHide: true,
      });
    } catch (error) {
      resolve(outcomeWithoutProcess('failed', `could not start ${spec.command}: ${(error as Error).message}`, capture));
      return;
    }

    const pgid = child.pid;
    let ending: 'timeout' | 'canceled' | null = null;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let spawnError: Error | null = null;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const resultChunks: Buffer[] = [];
    let resultBytes = 0;
    let resultOverflow = false;

    const killGroup = (signal: NodeJS.Signals): void => {
      if (pgid === undefined) return;
      try {
        signalGroup(pgid, signal);
      } catch {
        // The group is gone or not ours any more; nothing left to kill.
      }
    };

    const terminate = (reason: 'timeout' | 'canceled'): void => {
      if (ending !== null || settled) return;
      ending = reason;
      killGroup('SIGTERM');
      timers.push(setTimeout(() => killGroup('SIGKILL'), options.killGraceMs));
    };

    const onAbort = (): void => terminate('canceled');
    spec.signal.addEventListener('abort', onAbort, { once: true });
    timers.push(setTimeout(() => terminate('timeout'), Math.min(MAX_TIMER_MS, Math.max(0, spec.timeoutSeconds * 1000))));

    const finish = (): void => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      spec.signal.removeEventListener('abort', onAbort);
      for (const stream of [child.stdout, child.stderr, child.stdio[3]]) (stream as Readable | null | undefined)?.destroy();
      capture.finish();
      resolve(buildOutcome());
    };

    const buildOutcome = (): ProcessOutcome => {
      const exitCode = exit === null ? undefined : exit.code ?? -(constants.signals[exit.signal!] ?? 0);
      let status: RunnerStatus;
      let error: string | undefined;
      if (spawnError !== null) {
        status = ending === 'canceled' ? 'canceled' : 'failed';
        error = `could not start ${spec.command}: ${spawnError.message}`;
      } else if (ending === 'timeout') {
        status = 'timeout';
        error = `the action did not finish within ${spec.timeoutSeconds} seconds`;
      } else if (ending === 'canceled') {
        status = 'canceled';
        error = 'the execution was canceled';
      } else if (exitCode === 0) {
        status = 'succeeded';
      } else {
        status = 'failed';
        error = exit?.signal ? `the process was killed by ${exit.signal}` : `the process exited with code ${exitCode}`;
      }
      return {
        status,
        exitCode,
        stdout: capture.tail('stdout'),
        stderr: capture.tail('stderr'),
        wholeStdout: capture.wholeStdout(),
        resultChannel: spec.resultChannel ? Buffer.concat(resultChunks).toString('utf8') : undefined,
        resultChannelOverflow: resultOverflow,
        outputTruncated: capture.truncated,
        error,
        pgid,
      };
    };

    child.stdout!.on('data', (data: Buffer) => capture.write('stdout', data));
    child.stderr!.on('data', (data: Buffer) => capture.write('stderr', data));
    const resultStream = child.stdio[3] as Readable | null | undefined;
    resultStream?.on('data', (data: Buffer) => {
      if (resultBytes + data.length > options.resultLimitBytes) {
        resultOverflow = true;
        return;
      }
      resultBytes += data.length;
      resultChunks.push(data);
    });
    for (const stream of [child.stdout, child.stderr, resultStream]) stream?.on('error', () => undefined);

    if (spec.stdin !== undefined && child.stdin) {
      // A process that never reads stdin, or exits early, must not fail the run.
      child.stdin.on('error', () => undefined);
      child.stdin.end(spec.stdin);
    }

    child.on('spawn', () => {
      if (pgid !== undefined) spec.onSpawn?.(pgid);
    });

    child.on('error', (error) => {
      // Only a failure to start reaches here: we never kill the child through its handle.
      spawnError = error;
      if (exit === null) finish();
    });

    child.on('exit', (code, signal) => {
      exit = { code, signal };
      if (ending === null) {
        // Nothing of this run may outlive it: what the process left behind goes now.
        killGroup('SIGKILL');
        timers.push(setTimeout(finish, options.drainMs));
      }
      // When timing out or canceled, the grace's SIGKILL reaches whatever is left;
      // the pipes close then, or after the drain that follows it.
      else timers.push(setTimeout(finish, options.killGraceMs + options.drainMs));
    });

    child.on('close', finish);
  });
}

function outcomeWithoutProcess(status: RunnerStatus, error: string, capture: OutputCapture): ProcessOutcome {
  capture.finish();
  return {
    status,
    exitCode: undefined,
    stdout: '',
    stderr: '',
    wholeStdout: undefined,
    resultChannel: undefined,
    resultChannelOverflow: false,
    outputTruncated: false,
    error,
    pgid: undefined,
  };
}

function definedOptions(options: ProcessOptions | undefined): ProcessOptions {
  return Object.fromEntries(Object.entries(options ?? {}).filter(([, value]) => value !== undefined));
}
