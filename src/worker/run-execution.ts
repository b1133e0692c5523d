/**
 * One claimed execution, from its row to its completion: the action (cached
 * briefly), the pack version's files (materialised once per worker), the
 * secret parameters revealed for the runner only, the runner chosen by the
 * execution's runner type, output streamed, the process group recorded, and
 * the outcome turned into a completion (secrets scrubbed, result kept within
 * the row's limit). Knows nothing of slots, leases or batching (worker.ts).
 */
import { join } from 'node:path';
import type pg from 'pg';
import type { SecretCipher } from '../crypto/secrets.js';
import { revealSecretParams, secretNames } from '../engine/request-execution.js';
import type { Logger } from '../log.js';
import { materializePack } from '../packs/materialize.js';
import { resolvePackConfig } from '../packs/pack-config.js';
import { resolveRunnerType } from '../packs/runner-types.js';
import { ActionRepository, type Action } from '../repositories/actions.js';
import { MAX_EXECUTION_JSON_BYTES, type Execution, type ExecutionFence, type RunCompletion } from '../repositories/executions.js';
import { isConnectionLoss, retryOnConnectionLoss } from './database-retry.js';
import { isDatabaseRunner, isPaused, type DatabaseRunner } from './database-runner.js';
import { OutputWriter } from './output-writer.js';
import type { ProcessGroupRecorder } from './process-group-recorder.js';
import type { Runner, RunnerInput, RunnerOutcome, RunnerResult } from './runners/types.js';
import { scrubJson, scrubSecrets, secretTexts } from './scrub.js';
import { TtlCache } from './ttl-cache.js';

/** What every run of one worker shares. */
export interface RunEnvironment {
  pool: pg.Pool;
  logger: Logger;
  /** Runners by canonical name, database runners among them. */
  runners: ReadonlyMap<string, Runner | DatabaseRunner>;
  /** Where pack versions are materialised. */
  packsDir: string;
  /** Where run folders are made. */
  workRoot: string;
  outputCapBytes: number;
  defaultTimeoutSeconds: number;
  cipher: SecretCipher | undefined;
  apiUrl?: string;
  /** Records the process groups of started runs, batched. */
  processGroups: ProcessGroupRecorder;
  /**
   * How long a run's reads and writes are retried while the database
   * connection is lost (the worker uses its lease: later, the run is the
   * lease sweep's). Default 30 s.
   */
  databaseRetryMs?: number;
}

/** The worker's view of one run while it lasts. */
export interface RunHandle {
  /** Aborting cancels the run (kills its process group). */
  readonly abort: AbortController;
  /** True once the runner was invoked; before that a stopping worker may hand the execution back. */
  started: boolean;
  /** Set by the worker when it stops: a run not started yet is handed back instead. */
  stopping: boolean;
}

/** How a run ended, for the worker. */
export type RunEnd = { kind: 'complete'; completion: RunCompletion } | { kind: 'paused' } | { kind: 'unstarted' };

const ACTION_CACHE_MS = 5_000;
/** How long a run's database reads and writes are retried on a lost connection when the environment does not say. */
export const DEFAULT_DATABASE_RETRY_MS = 30_000;
/** Actions by id, read at most once per ACTION_CACHE_MS; the runs of a batch that find the entry stale share one read. */
const actionCache = new TtlCache<number, Action | null>({ ttlMs: ACTION_CACHE_MS, maxEntries: 10_000 });
const packFolders = new Map<string, Promise<string>>();

function actionOf(pool: pg.Pool, id: number): Promise<Action | null> {
  return actionCache.get(id, () => ActionRepository.findById(pool, id));
}

/** The folder of a pack version, materialised on first use by this process. */
function packFolder(pool: pg.Pool, packId: number, packsDir: string): Promise<string> {
  const key = `${packsDir}\u0000${packId}`;
  let folder = packFolders.get(key);
  if (folder === undefined) {
    folder = materializePack(pool, packId, packsDir).then((pack) => pack.path);
    folder.catch(() => packFolders.delete(key));
    packFolders.set(key, folder);
  }
  return folder;
}

const empty = (): RunnerResult => ({ stdout: '', stderr: '' });

function failedCompletion(execution: Execution, fence: ExecutionFence, error: string): RunEnd {
  return { kind: 'complete', completion: { id: execution.id, fence, status: 'failed', result: empty(), error } };
}

/** The result within the row's size limit: the parsed result dropped first, then the tails cut. */
export function fitResult(result: RunnerResult): RunnerResult {
  const size = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');
  if (size(result) <= MAX_EXECUTION_JSON_BYTES) return result;
  const { result: _dropped, ...rest } = result;
  const smaller: RunnerResult = { ...rest, result_truncated: true };
  if (size(smaller) <= MAX_EXECUTION_JSON_BYTES) return smaller;
  const tail = Math.floor(MAX_EXECUTION_JSON_BYTES / 8);
  return { ...smaller, stdout: smaller.stdout.slice(-tail), stderr: smaller.stderr.slice(-tail) };
}

/** Runs one execution the worker holds (running, under `fence`) and says how it ended. Never throws for what the action does. */
export async function runExecution(env: RunEnvironment, execution: Execution, fence: ExecutionFence, handle: RunHandle): Promise<RunEnd> {
  if (execution.actionId === null) return failedCompletion(execution, fence, `the action ${execution.actionRef} was deleted before the execution ran`);
  const actionId = execution.actionId;
  // A lost connection is not the action's failure: read again on a fresh one (a cancel or a lost lease stops the waiting).
  const retry = <T>(what: string, read: () => Promise<T>): Promise<T> =>
    retryOnConnectionLoss(read, { maxMs: env.databaseRetryMs ?? DEFAULT_DATABASE_RETRY_MS, what, logger: env.logger, context: { executionId: execution.id }, signal: handle.abort.signal });
  const action = await retry('reading the action', () => actionOf(env.pool, actionId));
  if (action === null) return failedCompletion(execution, fence, `the action ${execution.actionRef} was deleted before the execution ran`);
  const runnerType = execution.runnerType ?? action.runnerType;
  const catalogue = resolveRunnerType(runnerType);
  const runner = catalogue === undefined ? undefined : env.runners.get(catalogue.name);
  if (runner === undefined) return failedCompletion(execution, fence, `this worker has no ${runnerType} runner`);

  let parameters: Record<string, unknown>;
  let secrets: string[];
  let packDir: string | null = null;
  let config: Record<string, unknown> | undefined;
  try {
    const schema = action.paramSchema as Record<string, unknown>;
    parameters = revealSecretParams(execution.params, schema, env.cipher);
    secrets = secretTexts(secretNames(schema).map((name) => parameters[name]));
    if (catalogue!.entryPoint === 'required') packDir = await retry('materialising the pack', () => packFolder(env.pool, action.packId, env.packsDir));
    if (catalogue!.name === 'python') {
      config = await retry('reading the pack configuration', () => resolvePackConfig(env.pool, action.packRef, { cipher: env.cipher })).catch((error: unknown) => {
        if (isConnectionLoss(error)) throw error;
        return undefined;
      });
    }
  } catch (error) {
    // Still no database: the run was not started; the worker gives it up and the lease sweep retries it.
    if (isConnectionLoss(error)) throw error;
    return failedCompletion(execution, fence, `could not prepare the run: ${(error as Error).message}`);
  }
  if (handle.stopping) return { kind: 'unstarted' };
  handle.started = true;

  const writer = new OutputWriter(env.pool, execution.id, fence, secrets, env.logger, { retryMs: env.databaseRetryMs ?? DEFAULT_DATABASE_RETRY_MS });
  const deadline = execution.deadlineAt?.getTime() ?? Date.now() + (execution.timeoutSeconds ?? env.defaultTimeoutSeconds) * 1000;
  const input: RunnerInput = {
    executionId: execution.id,
    actionRef: action.ref,
    packRef: action.packRef,
    runnerType,
    entryPoint: action.entryPoint,
    packDir,
    parameters,
    parameterSchema: action.paramSchema as Record<string, unknown>,
    env: {},
    timeoutSeconds: Math.max(1, Math.ceil((deadline - Date.now()) / 1000)),
    outputCapBytes: env.outputCapBytes,
    signal: handle.abort.signal,
    onOutput: (stream, chunk) => writer.push(stream, chunk),
    onSpawn: (pgid) => env.processGroups.record(execution.id, fence, pgid),
    workRoot: env.workRoot,
    context: env.apiUrl === undefined ? {} : { apiUrl: env.apiUrl },
    ...(config === undefined ? {} : { config }),
  };

  let outcome: RunnerOutcome;
  try {
    const ran = isDatabaseRunner(runner) ? await runner.run(input, { pool: env.pool, fence, execution }) : await runner.run(input);
    if (isPaused(ran)) {
      await writer.flush();
      return { kind: 'paused' };
    }
    outcome = ran;
  } catch (error) {
    await writer.flush();
    throw error;
  }
  await writer.flush();
  const result = fitResult(scrubJson(outcome.result, secrets) as RunnerResult);
  const summary: Record<string, unknown> = {};
  if (typeof result.exit_code === 'number') summary.exit_code = result.exit_code;
  return {
    kind: 'complete',
    completion: {
      id: execution.id,
      fence,
      status: outcome.status,
      result,
      error: outcome.error === undefined ? null : scrubSecrets(outcome.error, secrets),
      summary,
    },
  };
}

/** The folders of a worker's data folder. */
export function dataFolders(dataDir: string): { workRoot: string; packsDir: string; environmentRoot: string } {
  return { workRoot: join(dataDir, 'work'), packsDir: join(dataDir, 'packs'), environmentRoot: join(dataDir, 'environments') };
}
