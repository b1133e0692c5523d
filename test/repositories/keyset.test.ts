import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { ExecutionRepository } from '../../src/repositories/executions.js';
import { InquiryRepository } from '../../src/repositories/inquiries.js';
import { KeyRepository } from '../../src/repositories/keys.js';
import { afterCondition, parseOrder } from '../../src/repositories/support/keyset.js';
import { ExecutionFixture, InquiryFixture, KeyFixture, expectErrorType } from '../../src/testing/index.js';
import { useTransactionPerTest } from '../support/db.js';

const ctx = useTransactionPerTest();

describe('keyset pagination (Table.list after / next)', () => {
  it('walks a list page by page without skipping or repeating, even when rows are inserted before the position', async () => {
    const created = [];
    for (let i = 0; i < 7; i += 1) {
      const execution = await new ExecutionFixture().create(ctx.db);
      // Same created_at for several rows: the id breaks the tie.
      await ctx.db.query(`UPDATE executions SET created_at = '2000-01-01'::timestamptz + $2 * interval '1 microsecond' WHERE id = $1`, [execution.id, Math.floor(i / 2)]);
      created.push(execution.id);
    }
    const first = await ExecutionRepository.list(ctx.db, { limit: 3, count: false });
    expect(first.total).toBeNull();
    expect(first.next).not.toBeNull();
    // Newer rows arriving between pages do not shift the next page, as an offset would.
    await new ExecutionFixture().create(ctx.db);
    await new ExecutionFixture().create(ctx.db);
    const seen = [...first.items.map((e) => e.id)];
    let next = first.next;
    while (next) {
      const page = await ExecutionRepository.list(ctx.db, { limit: 3, after: next, count: false });
      seen.push(...page.items.map((e) => e.id));
      next = page.next;
    }
    expect(seen).toEqual([...created].reverse());
  });

  it('pages an order with a nullable term (pending inquiries: timeout_at NULLS LAST)', async () => {
    const ids: number[] = [];
    for (const timeout of [null, new Date(Date.now() + 3_600_000), null, new Date(Date.now() + 7_200_000), null]) {
      ids.push((await new InquiryFixture().with({ timeoutAt: timeout }).create(ctx.db)).id);
    }
    const all = (await InquiryRepository.listPending(ctx.db, { limit: 100 })).items.map((i) => i.id);
    const paged: number[] = [];
    let after: (string | null)[] | undefined;
    do {
      const page = await InquiryRepository.listPending(ctx.db, { limit: 2, ...(after ? { after } : {}) });
      paged.push(...page.items.map((i) => i.id));
      after = page.next ?? undefined;
    } while (after);
    expect(paged).toEqual(all);
    expect(new Set(paged)).toEqual(new Set(ids));
  });

  it('counts only when asked, and refuses a cursor with an offset or of the wrong shape', async () => {
    await new KeyFixture().create(ctx.db);
    expect((await KeyRepository.list(ctx.db, {})).total).toBe(1);
    expect((await KeyRepository.list(ctx.db, { count: false })).total).toBeNull();
    const page = await KeyRepository.list(ctx.db, { limit: 1 });
    expect(page.next).toBeNull();
    expect((await expectErrorType(KeyRepository.list(ctx.db, { after: ['a', '1'], offset: 1 }), ValidationError)).field).toBe('offset');
    expect((await expectErrorType(KeyRepository.list(ctx.db, { after: ['a'] }), ValidationError)).field).toBe('after');
    expect((await expectErrorType(KeyRepository.list(ctx.db, { after: [] as string[] }), ValidationError)).field).toBe('after');
  });

  it('makes every order total with id and writes the expanded condition for mixed directions and NULLS clauses', () => {
    expect(parseOrder('ref').map((t) => t.expression)).toEqual(['ref', 'id']);
    expect(parseOrder('created_at DESC, id DESC')).toEqual([
      { expression: 'created_at', descending: true, nulls: undefined },
      { expression: 'id', descending: true, nulls: undefined },
    ]);
    expect(parseOrder("ts_rank(v, to_tsquery('simple', $1)) DESC, ref, id").map((t) => t.expression)).toEqual([
      "ts_rank(v, to_tsquery('simple', $1))",
      'ref',
      'id',
    ]);
    let n = 0;
    const param = () => `$${(n += 1)}`;
    expect(afterCondition(parseOrder('created_at DESC, id DESC'), ['t', '1'], param, 'x')).toBe('(created_at, id) < ($1, $2)');
    n = 0;
    expect(afterCondition(parseOrder('timeout_at NULLS LAST, id'), [null, '5'], param, 'x')).toBe('((timeout_at IS NULL AND id > $1))');
  });
});
