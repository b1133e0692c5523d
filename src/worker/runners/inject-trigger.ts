/**
 * `inject-trigger` (core.inject_trigger): fires an event of a trigger from
 * inside the worker, as a sensor or webhook would, through `fireEvent`. The
 * trigger is `trigger_name`, else `trigger` (StackStorm's older name); the
 * payload is `payload`; `trace_tag` becomes the event's trace id (else the
 * execution's). The result is the event's id and trigger.
 */
import { fireEvent } from '../../engine/fire-event.js';
import { isAttuneError } from '../../errors.js';
import type { JsonObject } from '../../repositories/packs.js';
import type { DatabaseRunContext, DatabaseRunner } from '../database-runner.js';
import type { RunnerInput, RunnerOutcome } from './types.js';

export class InjectTriggerRunner implements DatabaseRunner {
  readonly name = 'inject-trigger';
  readonly needsDatabase = true;

  async run(input: RunnerInput, context: DatabaseRunContext): Promise<RunnerOutcome> {
    const empty = { stdout: '', stderr: '' };
    if (input.signal.aborted) return { status: 'canceled', result: empty, error: 'the execution was canceled' };
    const parameters = input.parameters;
    const trigger = parameters.trigger_name ?? parameters.trigger;
    if (typeof trigger !== 'string' || trigger === '') return { status: 'failed', result: empty, error: 'trigger_name (or trigger) must name a trigger' };
    const payload = parameters.payload ?? {};
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return { status: 'failed', result: empty, error: 'payload must be an object' };
    const traceTag = parameters.trace_tag;
    try {
      const event = await fireEvent(context.pool, trigger, payload as JsonObject, {
        source: `execution:${input.executionId}`,
        traceId: typeof traceTag === 'string' && traceTag !== '' ? traceTag.slice(0, 255) : context.execution.traceId,
      });
      return { status: 'succeeded', result: { ...empty, result: { event_id: event.id, trigger: trigger } } };
    } catch (error) {
      if (!isAttuneError(error) || error.code === 'ATTUNE_DATABASE_UNAVAILABLE') throw error;
      return { status: 'failed', result: empty, error: `could not fire ${trigger}: ${error.message}` };
    }
  }
}
