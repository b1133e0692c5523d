/**
 * `inquiry` (StackStorm's `inquirer`, core.ask): asks a person. In one
 * transaction it moves the execution from running to paused (fenced by the
 * worker's attempt), creates the inquiry bound to it (its response schema,
 * ttl in minutes → timeout_at, users, roles, route) and fires the inquiry
 * events. The execution then waits outside any worker slot and lease;
 * `respondToInquiry` or the maintenance role's time-out ends it.
 */
import { withTransaction } from '../../db/transaction.js';
import { isAttuneError } from '../../errors.js';
import { compiledSchema } from '../../engine/json-schema-validator.js';
import { fireInquiryCreated } from '../../engine/internal-triggers.js';
import { ExecutionRepository } from '../../repositories/executions.js';
import { InquiryRepository } from '../../repositories/inquiries.js';
import type { JsonObject } from '../../repositories/packs.js';
import type { DatabaseRunContext, DatabaseRunner, PausedOutcome } from '../database-runner.js';
import type { RunnerInput, RunnerOutcome } from './types.js';

/** StackStorm's default response schema: a required boolean `continue`. */
export const DEFAULT_INQUIRY_SCHEMA: JsonObject = {
  title: 'response_data',
  type: 'object',
  properties: { continue: { type: 'boolean', description: 'Continue?' } },
  required: ['continue'],
};

/** StackStorm's default ttl: a day, in minutes. */
export const DEFAULT_INQUIRY_TTL_MINUTES = 1440;

function failed(error: string): RunnerOutcome {
  return { status: 'failed', result: { stdout: '', stderr: '' }, error };
}

function stringList(value: unknown, name: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw new TypeError(`${name} must be an array of strings`);
  return value as string[];
}

export class InquiryRunner implements DatabaseRunner {
  readonly name = 'inquiry';
  readonly needsDatabase = true;

  async run(input: RunnerInput, context: DatabaseRunContext): Promise<RunnerOutcome | PausedOutcome> {
    if (input.signal.aborted) return { status: 'canceled', result: { stdout: '', stderr: '' }, error: 'the execution was canceled' };
    const parameters = input.parameters;
    const schema = (parameters.schema ?? DEFAULT_INQUIRY_SCHEMA) as JsonObject;
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return failed('schema must be a JSON schema object');
    try {
      compiledSchema(`inquiry-schema:${JSON.stringify(schema)}`, schema);
    } catch (error) {
      return failed(`schema is not a valid JSON schema: ${(error as Error).message}`);
    }
    const ttl = parameters.ttl ?? DEFAULT_INQUIRY_TTL_MINUTES;
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0) return failed('ttl must be a whole number of minutes (0: no time-out)');
    const route = parameters.route ?? '';
    if (typeof route !== 'string') return failed('route must be a string');
    let users: string[];
    let roles: string[];
    try {
      users = stringList(parameters.users, 'users');
      roles = stringList(parameters.roles, 'roles');
    } catch (error) {
      return failed((error as Error).message);
    }
    const description = typeof schema.description === 'string' && schema.description !== '' ? schema.description : undefined;
    const prompt = description ?? `Execution ${input.executionId} (${input.actionRef}) waits for a response`;
    try {
      const inquiry = await withTransaction(context.pool, async (tx) => {
        await ExecutionRepository.pause(tx, input.executionId, context.fence);
        const created = await InquiryRepository.create(tx, {
          executionId: input.executionId,
          prompt: prompt.slice(0, 10_000),
          responseSchema: schema,
          timeoutAt: ttl === 0 ? null : new Date(Date.now() + ttl * 60_000),
          route,
          users,
          roles,
        });
        await fireInquiryCreated(tx, created, context.execution.traceId);
        return created;
      });
      return { status: 'paused', reason: `inquiry ${inquiry.id}` };
    } catch (error) {
      if (isAttuneError(error, 'ATTUNE_LEASE_LOST')) throw error;
      return failed(`could not create the inquiry: ${(error as Error).message}`);
    }
  }
}
