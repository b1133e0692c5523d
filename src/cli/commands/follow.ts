/**
 * Waiting for an execution: its output streamed live as the API sends it
 * (`GET /executions/{id}/output?follow=true`, Server-Sent Events, until the
 * execution is final), then the final execution read once. Against an API
 * without the follow route it polls the execution instead.
 */
import { isAttuneError, ErrorCode } from '../../errors.js';
import { type ApiClient, seg } from '../client.js';
import type { Printer } from '../format/printer.js';

/** Statuses an execution never leaves (docs/executions.md). */
export const FINAL_STATUSES = new Set(['succeeded', 'failed', 'timeout', 'canceled', 'abandoned']);
const POLL_MS = 500;

type Execution = Record<string, unknown> & { id: number; status: string };

/** One chunk of output as the follow route sends it. */
interface OutputChunk {
  stream?: string;
  data?: string;
}

/**
 * Follows execution `id` to its end. With `live`, output chunks go to
 * stdout/stderr as they arrive (table mode). Resolves with the final execution.
 */
export async function followExecution(client: ApiClient, print: Printer, id: number, live: boolean): Promise<Execution> {
  const progress = live ? null : print.progress(`waiting for execution ${id}`);
  try {
    try {
      for await (const event of client.stream(`/executions/${seg(id)}/output`, { follow: true })) {
        if (!live || event.event === 'heartbeat') continue;
        const chunk = parseChunk(event.data);
        if (chunk?.data === undefined) continue;
        (chunk.stream === 'stderr' ? print.io.stderr : print.io.stdout).write(chunk.data);
      }
    } catch (error) {
      // An API without the follow route (404/400) still answers reads: poll.
      if (!isAttuneError(error, ErrorCode.NOT_FOUND) && !isAttuneError(error, ErrorCode.VALIDATION)) throw error;
      return await poll(client, id, progress);
    }
    const execution = await client.data<Execution>('GET', `/executions/${seg(id)}`);
    // The stream ended before the final status was visible (a proxy closed it): keep waiting.
    return FINAL_STATUSES.has(execution.status) ? execution : await poll(client, id, progress);
  } finally {
    progress?.stop();
  }
}

async function poll(client: ApiClient, id: number, progress: { update(label: string): void } | null): Promise<Execution> {
  for (;;) {
    const execution = await client.data<Execution>('GET', `/executions/${seg(id)}`);
    if (FINAL_STATUSES.has(execution.status)) return execution;
    progress?.update(`execution ${id} ${execution.status}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function parseChunk(data: string): OutputChunk | null {
  try {
    const parsed = JSON.parse(data) as unknown;
    return parsed !== null && typeof parsed === 'object' ? (parsed as OutputChunk) : { data: String(parsed) };
  } catch {
    return { data };
  }
}

/** Prints the end of a run: the execution (table: status, times, result) and its exit code (0 only when it succeeded). */
export async function printOutcome(print: Printer, execution: Execution): Promise<number> {
  if (!print.human) {
    await print.machine(execution);
  } else {
    await print.one(execution, [
      { field: 'id' },
      { field: 'action_ref', header: 'action' },
      { field: 'status', style: print.status },
      { field: 'started_at', header: 'started' },
      { field: 'finished_at', header: 'finished' },
      { field: 'result' },
      ...(execution.error ? [{ field: 'error' }] : []),
    ]);
  }
  return execution.status === 'succeeded' ? 0 : 1;
}
