/** Shared by the runner tests: a RunnerInput with sensible defaults, output collected, folders from os.tmpdir(). */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { RunnerInput } from '../../src/worker/runners/types.js';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const CORE_PACK = join(REPO_ROOT, 'packs', 'core');
export const EXAMPLES_PACK = join(REPO_ROOT, 'packs', 'examples');

/** Small grace and drain so kill paths finish quickly in tests. */
export const FAST_PROCESS = { killGraceMs: 300, drainMs: 300, flushIntervalMs: 50 };

/** A temporary folder made before the file's tests and removed after them: read `.path` inside tests. */
export function useTempRoot(prefix: string): { path: string } {
  const state = { path: '' };
  beforeAll(async () => {
    state.path = await mkdtemp(join(tmpdir(), `attune-${prefix}-`));
  });
  afterAll(async () => {
    if (state.path !== '') await rm(state.path, { recursive: true, force: true });
  });
  return state;
}

export interface CollectedInput extends RunnerInput {
  output: { stdout: string; stderr: string; calls: number };
  pgids: number[];
  controller: AbortController;
}

let nextExecutionId = 1;

export function runnerInput(workRoot: string, overrides: Partial<RunnerInput> = {}): CollectedInput {
  const controller = new AbortController();
  const output = { stdout: '', stderr: '', calls: 0 };
  const pgids: number[] = [];
  return {
    executionId: nextExecutionId++,
    actionRef: 'tests.action',
    packRef: 'tests',
    runnerType: 'shell',
    entryPoint: null,
    packDir: null,
    parameters: {},
    parameterSchema: { type: 'object', properties: {} },
    env: {},
    timeoutSeconds: 60,
    outputCapBytes: 10 * 1024 * 1024,
    signal: controller.signal,
    onOutput(stream, chunk) {
      output[stream] += chunk;
      output.calls += 1;
    },
    onSpawn(pgid) {
      pgids.push(pgid);
    },
    workRoot,
    context: {},
    ...overrides,
    output,
    pgids,
    controller,
  };
}

/** True while `pid` runs (a zombie counts as gone: it runs nothing). */
export async function processRunning(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (stat === null) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** Resolves once `path` exists with content (for a process to get going before it is canceled). */
export async function waitForFile(path: string): Promise<string> {
  for (;;) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text.trim() !== '') return text.trim();
    await new Promise((resolveWait) => setTimeout(resolveWait, 20));
  }
}
