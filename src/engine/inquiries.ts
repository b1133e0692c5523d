/**
 * `respondToInquiry`: answers an inquiry. The response is validated against
 * the inquiry's JSON schema (ajv) before anything is written; then, in one
 * transaction, the inquiry takes the answer (exactly once: a concurrent or
 * later answer gets IllegalStateChangeError saying it was answered), its
 * paused execution succeeds with the response as its result, and the
 * `core.inquiry_responded` and finish events fire.
 */
import type { Executor } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';
import { ValidationError } from '../errors.js';
import { ExecutionRepository, type Execution } from '../repositories/executions.js';
import { IdentityRepository } from '../repositories/identities.js';
import { InquiryRepository, type Inquiry } from '../repositories/inquiries.js';
import type { JsonObject } from '../repositories/packs.js';
import { assertId } from '../repositories/support/table.js';
import { fireExecutionsFinished, fireInquiryResponded } from './internal-triggers.js';
import { compiledSchema, describeSchemaErrors, firstErrorField } from './json-schema-validator.js';

export interface RespondOptions {
  /** The identity answering. */
  respondedBy?: number | null;
}

export interface RespondResult {
  inquiry: Inquiry;
  /** The execution that waited on it, now succeeded (null when it was no longer paused: canceled meanwhile). */
  execution: Execution | null;
}

/**
 * Records `response` as the answer to inquiry `inquiryId`. ValidationError
 * (field `response…`) when it breaks the schema, NotFoundError for a missing
 * inquiry, IllegalStateChangeError when it was answered, timed out or
 * canceled already. Nothing is written on any error.
 */
export async function respondToInquiry(db: Executor, inquiryId: number, response: JsonObject, options: RespondOptions = {}): Promise<RespondResult> {
  assertId(inquiryId, 'inquiry');
  if (response === null || typeof response !== 'object' || Array.isArray(response)) {
    throw new ValidationError('inquiry.response must be a JSON object', { entity: 'inquiry', field: 'response' });
  }
  const inquiry = await InquiryRepository.getById(db, inquiryId);
  const validate = compiledSchema(`inquiry:${inquiry.id}`, { ...inquiry.responseSchema, type: 'object' });
  const candidate = structuredClone(response);
  if (!validate(candidate)) {
    throw new ValidationError(`the response does not satisfy inquiry ${inquiry.id}'s schema: ${describeSchemaErrors(validate.errors, 'response')}`, {
      entity: 'inquiry',
      field: firstErrorField(validate.errors, 'response'),
    });
  }
  return withTransaction(db, async (tx) => {
    // One statement that only matches a pending inquiry: of two concurrent answers, one wins.
    const answered = await InquiryRepository.respond(tx, inquiryId, {
      response: candidate,
      ...(options.respondedBy !== undefined ? { respondedBy: options.respondedBy } : {}),
    });
    const execution = await ExecutionRepository.endPaused(tx, answered.executionId, 'succeeded', { result: candidate, error: null });
    const login = answered.respondedBy === null ? null : ((await IdentityRepository.findById(tx, answered.respondedBy))?.login ?? null);
    await fireInquiryResponded(tx, answered, login, execution?.traceId ?? null);
    if (execution !== null) await fireExecutionsFinished(tx, [execution]);
    return { inquiry: answered, execution };
  });
}
