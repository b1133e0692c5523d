import { describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/pool.js';
import { withTransaction } from '../../src/db/transaction.js';
import { IllegalStateChangeError, InvalidReferenceError, NotFoundError, ValidationError } from '../../src/errors.js';
import { IdentityRepository } from '../../src/repositories/identities.js';
import { INQUIRY_STATUSES, InquiryRepository, MAX_INQUIRY_RESPONSE_BYTES } from '../../src/repositories/inquiries.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { ExecutionFixture } from '../../src/testing/fixtures/executions.js';
import { IdentityFixture } from '../../src/testing/fixtures/identities.js';
import { InquiryFixture } from '../../src/testing/fixtures/inquiries.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { useTransactionPerTest } from '../support/db.js';
import { analyze, checkValues, indexesUsed } from '../support/sql.js';

const ctx = useTransactionPerTest();

const inOneHour = (): Date => new Date(Date.now() + 3600_000);
const aMinuteAgo = (): Date => new Date(Date.now() - 60_000);

/**
 * Seeds the volume the plan test needs inside the test's transaction, then
 * ANALYZEs: 300 paused executions with ten inquiries each (3,000). Almost all
 * are answered, timed out or canceled, interleaved; about ten are pending,
 * half of them past their deadline.
 */
async function seedInquiries(db: Executor): Promise<void> {
  const prefix = uniqueName('plan');
  await db.query(
    `WITH e AS (
       INSERT INTO executions (action_ref, status) SELECT $1 || '_' || g || '.ask', 'paused' FROM generate_series(1, 300) AS g
       RETURNING id
     ),
     numbered AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM e)
     INSERT INTO inquiries (execution_id, prompt, status, response, timeout_at, responded_at, created_at)
     SELECT numbered.id, 'Approve?', x.status, CASE WHEN x.status = 'responded' THEN '{"ok": true}'::jsonb END,
            now() + make_interval(mins => CASE WHEN (g / 300) % 2 = 0 THEN 60 ELSE -g END),
            CASE WHEN x.status = 'responded' THEN now() - make_interval(mins => g) END,
            now() - make_interval(mins => g + 5)
       FROM generate_series(0, 2999) AS g
       JOIN numbered ON numbered.k = g % 300
       CROSS JOIN LATERAL (
         SELECT CASE WHEN g % 300 = 7 THEN 'pending' ELSE (ARRAY['responded', 'responded', 'timeout', 'canceled'])[1 + g % 4] END AS status
       ) AS x`,
    [prefix],
  );
  await analyze(db, 'executions', 'inquiries');
}

describe('inquiry statuses', () => {
  it('INQUIRY_STATUSES equals the CHECK in the migration, in order', async () => {
    expect(await checkValues(ctx.db, 'inquiries_status_check')).toEqual([...INQUIRY_STATUSES]);
  });
});

describe('InquiryRepository.create', () => {
  it('stores every field; a new inquiry is pending with no response', async () => {
    const execution = await new ExecutionFixture().withStatus('paused').create(ctx.db);
    const identity = await new IdentityFixture().create(ctx.db);
    const timeoutAt = inOneHour();
    const inquiry = await InquiryRepository.create(ctx.db, {
      executionId: execution.id,
      prompt: 'Deploy to production?',
      responseSchema: { type: 'object', properties: { approve: { type: 'boolean' } } },
      assignedTo: identity.id,
      timeoutAt,
    });
    expect(inquiry).toMatchObject({
      executionId: execution.id,
      prompt: 'Deploy to production?',
      responseSchema: { type: 'object', properties: { approve: { type: 'boolean' } } },
      assignedTo: identity.id,
      status: 'pending',
      response: null,
      respondedBy: null,
      timeoutAt,
      respondedAt: null,
    });
    expect(await InquiryRepository.getById(ctx.db, inquiry.id)).toEqual(inquiry);
  });

  it('defaults: empty schema, unassigned, no deadline', async () => {
    const execution = await new ExecutionFixture().create(ctx.db);
    const inquiry = await InquiryRepository.create(ctx.db, { executionId: execution.id, prompt: 'Continue?' });
    expect(inquiry).toMatchObject({ responseSchema: {}, assignedTo: null, timeoutAt: null });
  });

  it('a missing execution or identity is InvalidReferenceError', async () => {
    await expectErrorType(withTransaction(ctx.db, (tx) => InquiryRepository.create(tx, { executionId: 999_999_999, prompt: 'x' })), InvalidReferenceError);
    const execution = await new ExecutionFixture().create(ctx.db);
    await expectErrorType(
      withTransaction(ctx.db, (tx) => InquiryRepository.create(tx, { executionId: execution.id, prompt: 'x', assignedTo: 999_999_999 })),
      InvalidReferenceError,
    );
  });

  it.each<[object, string]>([
    [{ prompt: 'x' }, 'no execution'],
    [{ executionId: 1 }, 'no prompt'],
    [{ executionId: 1, prompt: '' }, 'an empty prompt'],
    [{ executionId: 1, prompt: 'x', timeoutAt: 'tomorrow' }, 'a timeout that is not a Date'],
    [{ executionId: 1, prompt: 'x', responseSchema: 'object' }, 'a schema that is not an object'],
    [{ executionId: 1, prompt: 'x', status: 'responded' }, 'a status'],
  ])('refuses %j (%s) before any SQL', async (input) => {
    await expectErrorType(InquiryRepository.create(ctx.db, input as never), ValidationError);
  });
});

describe('InquiryRepository.respond', () => {
  it('records the response, who gave it and when, exactly once', async () => {
    const identity = await new IdentityFixture().create(ctx.db);
    const inquiry = await new InquiryFixture().assignedTo(identity).timingOutAt(inOneHour()).create(ctx.db);
    const responded = await InquiryRepository.respond(ctx.db, inquiry.id, { response: { approved: true, note: 'ok' }, respondedBy: identity.id });
    expect(responded).toMatchObject({ status: 'responded', response: { approved: true, note: 'ok' }, respondedBy: identity.id });
    expect(responded.respondedAt).toBeInstanceOf(Date);

    const second = await expectErrorType(
      InquiryRepository.respond(ctx.db, inquiry.id, { response: { approved: false }, respondedBy: identity.id }),
      IllegalStateChangeError,
    );
    expect(second).toMatchObject({ code: 'ATTUNE_ILLEGAL_STATE_CHANGE', entity: 'inquiry', from: 'responded', to: 'responded', value: inquiry.id });
    expect((await InquiryRepository.getById(ctx.db, inquiry.id)).response).toEqual({ approved: true, note: 'ok' });
  });

  it('a response after the deadline is refused, whether or not the sweep ran', async () => {
    const unswept = await new InquiryFixture().timingOutAt(aMinuteAgo()).create(ctx.db);
    const error = await expectErrorType(InquiryRepository.respond(ctx.db, unswept.id, { response: { approved: true } }), IllegalStateChangeError);
    expect(error).toMatchObject({ from: 'timeout', to: 'responded' });
    expect(error.message).toContain('timed out at');
    expect((await InquiryRepository.getById(ctx.db, unswept.id)).status).toBe('pending');

    const swept = await new InquiryFixture().timingOutAt(aMinuteAgo()).create(ctx.db);
    await InquiryRepository.timeOutExpired(ctx.db);
    const after = await expectErrorType(InquiryRepository.respond(ctx.db, swept.id, { response: { approved: true } }), IllegalStateChangeError);
    expect(after).toMatchObject({ from: 'timeout', to: 'responded' });
  });

  it('a canceled inquiry cannot be answered; NotFoundError for a missing id', async () => {
    const inquiry = await new InquiryFixture().create(ctx.db);
    await InquiryRepository.cancel(ctx.db, inquiry.id);
    const error = await expectErrorType(InquiryRepository.respond(ctx.db, inquiry.id, { response: {} }), IllegalStateChangeError);
    expect(error).toMatchObject({ from: 'canceled', to: 'responded' });
    await expectErrorType(InquiryRepository.respond(ctx.db, 999_999_999, { response: {} }), NotFoundError);
  });

  it('the response must be a JSON object within the size cap, checked before SQL', async () => {
    const inquiry = await new InquiryFixture().create(ctx.db);
    for (const response of [['yes'], 'yes', 42, null, undefined]) {
      const error = await expectErrorType(InquiryRepository.respond(ctx.db, inquiry.id, { response } as never), ValidationError);
      expect(error.field).toBe('response');
    }
    await expectErrorType(InquiryRepository.respond(ctx.db, inquiry.id, { response: { big: 'x'.repeat(MAX_INQUIRY_RESPONSE_BYTES) } }), ValidationError);
    await expectErrorType(InquiryRepository.respond(ctx.db, inquiry.id, { response: {}, extra: 1 } as never), ValidationError);
    expect((await InquiryRepository.getById(ctx.db, inquiry.id)).status).toBe('pending');
  });

  it('a responder that does not exist is InvalidReferenceError and leaves the inquiry pending', async () => {
    const inquiry = await new InquiryFixture().create(ctx.db);
    await expectErrorType(
      withTransaction(ctx.db, (tx) => InquiryRepository.respond(tx, inquiry.id, { response: {}, respondedBy: 999_999_999 })),
      InvalidReferenceError,
    );
    expect((await InquiryRepository.getById(ctx.db, inquiry.id)).status).toBe('pending');
  });
});

describe('InquiryRepository.timeOutExpired and cancel', () => {
  it('times out exactly the pending inquiries whose deadline passed, and returns them', async () => {
    const expired = await new InquiryFixture().timingOutAt(aMinuteAgo()).create(ctx.db);
    const later = await new InquiryFixture().timingOutAt(inOneHour()).create(ctx.db);
    const forever = await new InquiryFixture().timingOutAt(null).create(ctx.db);
    const answered = await new InquiryFixture().timingOutAt(inOneHour()).create(ctx.db);
    await InquiryRepository.respond(ctx.db, answered.id, { response: { approved: true } });
    await ctx.db.query("UPDATE inquiries SET timeout_at = now() - interval '1 hour' WHERE id = $1", [answered.id]);

    const timedOut = await InquiryRepository.timeOutExpired(ctx.db);
    expect(timedOut.map((i) => i.id)).toEqual([expired.id]);
    expect(timedOut[0]).toMatchObject({ status: 'timeout', response: null, respondedAt: null });
    expect((await InquiryRepository.getById(ctx.db, later.id)).status).toBe('pending');
    expect((await InquiryRepository.getById(ctx.db, forever.id)).status).toBe('pending');
    expect((await InquiryRepository.getById(ctx.db, answered.id)).status).toBe('responded');
    expect(await InquiryRepository.timeOutExpired(ctx.db)).toEqual([]);
  });

  it('takes an explicit now', async () => {
    const later = await new InquiryFixture().timingOutAt(inOneHour()).create(ctx.db);
    expect(await InquiryRepository.timeOutExpired(ctx.db, new Date())).toEqual([]);
    const timedOut = await InquiryRepository.timeOutExpired(ctx.db, new Date(Date.now() + 2 * 3600_000));
    expect(timedOut.map((i) => i.id)).toEqual([later.id]);
    await expectErrorType(InquiryRepository.timeOutExpired(ctx.db, 'now' as never), ValidationError);
  });

  it('the sweep is served by inquiries_status_timeout_at_idx', async () => {
    await seedInquiries(ctx.db);
    const plan = await indexesUsed(ctx.db, (db) => InquiryRepository.timeOutExpired(db));
    expect(plan.indexes).toContain('inquiries_status_timeout_at_idx');
    expect(plan.seqScans).toEqual([]);
  });

  it('cancel moves a pending inquiry (even one past its deadline) to canceled, and only a pending one', async () => {
    const pending = await new InquiryFixture().create(ctx.db);
    expect((await InquiryRepository.cancel(ctx.db, pending.id)).status).toBe('canceled');
    const again = await expectErrorType(InquiryRepository.cancel(ctx.db, pending.id), IllegalStateChangeError);
    expect(again).toMatchObject({ from: 'canceled', to: 'canceled' });

    const overdue = await new InquiryFixture().timingOutAt(aMinuteAgo()).create(ctx.db);
    expect((await InquiryRepository.cancel(ctx.db, overdue.id)).status).toBe('canceled');

    const answered = await new InquiryFixture().create(ctx.db);
    await InquiryRepository.respond(ctx.db, answered.id, { response: { approved: false } });
    const error = await expectErrorType(InquiryRepository.cancel(ctx.db, answered.id), IllegalStateChangeError);
    expect(error).toMatchObject({ from: 'responded', to: 'canceled' });
    await expectErrorType(InquiryRepository.cancel(ctx.db, 999_999_999), NotFoundError);
  });
});

describe('InquiryRepository.list and listPending', () => {
  it('listPending returns pending inquiries, nearest deadline first and none last, optionally for one identity', async () => {
    const alice = await new IdentityFixture().create(ctx.db);
    const bob = await new IdentityFixture().create(ctx.db);
    const soon = await new InquiryFixture().assignedTo(alice).timingOutAt(new Date(Date.now() + 60_000)).create(ctx.db);
    const never = await new InquiryFixture().assignedTo(alice).timingOutAt(null).create(ctx.db);
    const late = await new InquiryFixture().assignedTo(bob).timingOutAt(inOneHour()).create(ctx.db);
    const done = await new InquiryFixture().assignedTo(alice).create(ctx.db);
    await InquiryRepository.cancel(ctx.db, done.id);

    const all = await InquiryRepository.listPending(ctx.db);
    expect(all.items.map((i) => i.id)).toEqual([soon.id, late.id, never.id]);
    expect(all.total).toBe(3);
    expect((await InquiryRepository.listPending(ctx.db, { assignedTo: alice.id })).items.map((i) => i.id)).toEqual([soon.id, never.id]);
    expect((await InquiryRepository.listPending(ctx.db, { limit: 1, offset: 1 })).items.map((i) => i.id)).toEqual([late.id]);
    await expectErrorType(InquiryRepository.listPending(ctx.db, { assignedTo: 0 }), ValidationError);
  });

  it('list filters by status (one or several), execution and assignee, newest first', async () => {
    const identity = await new IdentityFixture().create(ctx.db);
    const execution = await new ExecutionFixture().withStatus('paused').create(ctx.db);
    const first = await new InquiryFixture().forExecution(execution).create(ctx.db);
    const second = await new InquiryFixture().forExecution(execution).assignedTo(identity).create(ctx.db);
    const elsewhere = await new InquiryFixture().create(ctx.db);
    await InquiryRepository.cancel(ctx.db, first.id);

    const ids = async (filter: Parameters<typeof InquiryRepository.list>[1]) => (await InquiryRepository.list(ctx.db, filter)).items.map((i) => i.id);
    expect(await ids({ executionId: execution.id })).toEqual([second.id, first.id]);
    expect(await ids({ assignedTo: identity.id })).toEqual([second.id]);
    expect(await ids({ status: 'canceled' })).toEqual([first.id]);
    expect(await ids({ status: ['pending', 'canceled'], executionId: execution.id })).toEqual([second.id, first.id]);
    expect(await ids({ status: 'pending' })).toEqual([elsewhere.id, second.id]);
    await expectErrorType(InquiryRepository.list(ctx.db, { status: 'open' as never }), ValidationError);
    await expectErrorType(InquiryRepository.list(ctx.db, { executionId: -5 }), ValidationError);
  });
});

describe('InquiryRepository.update and delete', () => {
  it('reassigns and moves the deadline; the question, status and response are fixed', async () => {
    const identity = await new IdentityFixture().create(ctx.db);
    const inquiry = await new InquiryFixture().create(ctx.db);
    const deadline = inOneHour();
    const updated = await InquiryRepository.update(ctx.db, inquiry.id, { assignedTo: identity.id, timeoutAt: deadline });
    expect(updated).toMatchObject({ assignedTo: identity.id, timeoutAt: deadline, prompt: inquiry.prompt, status: 'pending' });
    expect((await InquiryRepository.update(ctx.db, inquiry.id, { assignedTo: null })).assignedTo).toBeNull();
    await expectErrorType(InquiryRepository.update(ctx.db, inquiry.id, { prompt: 'changed' } as never), ValidationError);
    await expectErrorType(InquiryRepository.update(ctx.db, inquiry.id, { status: 'responded' } as never), ValidationError);
    await expectErrorType(InquiryRepository.update(ctx.db, inquiry.id, { response: {} } as never), ValidationError);
    await expectErrorType(InquiryRepository.update(ctx.db, 999_999_999, { assignedTo: null }), NotFoundError);
  });

  it('a deadline that passed is final: it cannot be moved, before or after the sweep, so a late answer stays refused', async () => {
    const identity = await new IdentityFixture().create(ctx.db);
    const swept = await new InquiryFixture().timingOutAt(aMinuteAgo()).create(ctx.db);
    expect((await InquiryRepository.timeOutExpired(ctx.db)).map((i) => i.id)).toEqual([swept.id]);
    const unswept = await new InquiryFixture().timingOutAt(aMinuteAgo()).create(ctx.db);
    const before = { unswept: await InquiryRepository.getById(ctx.db, unswept.id), swept: await InquiryRepository.getById(ctx.db, swept.id) };
    expect(before.unswept.status).toBe('pending');

    for (const patch of [{ timeoutAt: inOneHour() }, { timeoutAt: null }, { assignedTo: identity.id }]) {
      const late = await expectErrorType(InquiryRepository.update(ctx.db, unswept.id, patch), IllegalStateChangeError);
      expect(late).toMatchObject({ entity: 'inquiry', from: 'timeout', value: unswept.id });
      expect(late.message).toContain('timed out at');
      const final = await expectErrorType(InquiryRepository.update(ctx.db, swept.id, patch), IllegalStateChangeError);
      expect(final).toMatchObject({ entity: 'inquiry', from: 'timeout', value: swept.id });
    }
    expect(await InquiryRepository.getById(ctx.db, unswept.id)).toEqual(before.unswept);
    expect(await InquiryRepository.getById(ctx.db, swept.id)).toEqual(before.swept);
    await expectErrorType(InquiryRepository.respond(ctx.db, unswept.id, { response: { approved: true } }), IllegalStateChangeError);
    await expectErrorType(InquiryRepository.respond(ctx.db, swept.id, { response: { approved: true } }), IllegalStateChangeError);
  });

  it('the deadline is judged by the database clock, in the same statement as the update', async () => {
    const inquiry = await new InquiryFixture().timingOutAt(inOneHour()).create(ctx.db);
    // Past by the database's clock only: a JavaScript-side check would still see an hour left.
    await ctx.db.query("UPDATE inquiries SET timeout_at = clock_timestamp() - interval '1 second' WHERE id = $1", [inquiry.id]);
    await expectErrorType(InquiryRepository.update(ctx.db, inquiry.id, { timeoutAt: inOneHour() }), IllegalStateChangeError);
    expect((await InquiryRepository.getById(ctx.db, inquiry.id)).timeoutAt!.getTime()).toBeLessThan(Date.now());
  });

  it('answered and canceled inquiries cannot be reassigned or given a deadline', async () => {
    const identity = await new IdentityFixture().create(ctx.db);
    const answered = await new InquiryFixture().create(ctx.db);
    await InquiryRepository.respond(ctx.db, answered.id, { response: { approved: true } });
    const canceled = await new InquiryFixture().create(ctx.db);
    await InquiryRepository.cancel(ctx.db, canceled.id);
    for (const [inquiry, status] of [[answered, 'responded'], [canceled, 'canceled']] as const) {
      const before = await InquiryRepository.getById(ctx.db, inquiry.id);
      const error = await expectErrorType(InquiryRepository.update(ctx.db, inquiry.id, { assignedTo: identity.id, timeoutAt: inOneHour() }), IllegalStateChangeError);
      expect(error).toMatchObject({ from: status, value: inquiry.id });
      expect(error.message).toContain('only a pending inquiry before its deadline');
      expect(await InquiryRepository.getById(ctx.db, inquiry.id)).toEqual(before);
    }
  });

  it('delete returns whether a row went; deleting an identity clears assignee and responder', async () => {
    const identity = await new IdentityFixture().create(ctx.db);
    const inquiry = await new InquiryFixture().assignedTo(identity).create(ctx.db);
    await InquiryRepository.respond(ctx.db, inquiry.id, { response: { approved: true }, respondedBy: identity.id });
    await IdentityRepository.delete(ctx.db, identity.id);
    expect(await InquiryRepository.getById(ctx.db, inquiry.id)).toMatchObject({ assignedTo: null, respondedBy: null, status: 'responded' });
    expect(await InquiryRepository.delete(ctx.db, inquiry.id)).toBe(true);
    expect(await InquiryRepository.delete(ctx.db, inquiry.id)).toBe(false);
  });

  it('the fixture creates a paused execution when none is given', async () => {
    const inquiry = await new InquiryFixture().create(ctx.db);
    const result = await ctx.db.query<{ status: string }>('SELECT status FROM executions WHERE id = $1', [inquiry.executionId]);
    expect(result.rows[0]!.status).toBe('paused');
  });
});
