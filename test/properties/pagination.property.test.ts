import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PackRepository } from '../../src/repositories/packs.js';
import { PackFixture } from '../../src/testing/fixtures/packs.js';
import { withTestTransaction } from '../../src/testing/transaction.js';
import { useTransactionPerTest } from '../support/db.js';

const ctx = useTransactionPerTest();

describe('pagination (property-based)', () => {
  it('walking the pages returns every matching row exactly once, in order, with a steady total', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 15 }), fc.integer({ min: 0, max: 3 }), async (rows, pageSize, duplicatesPerRef) => {
        await withTestTransaction(ctx.pool, async (db) => {
          const keyword = `kw${rows}x${pageSize}`;
          const created: number[] = [];
          for (let i = 0; i < rows; i++) {
            // Several versions share a ref, so ordering must fall back to a unique column.
            const ref = `pg_${i % Math.max(1, rows - duplicatesPerRef)}`;
            const pack = await new PackFixture(ref).withVersion(`1.0.${i}`).withKeywords(keyword).inactive().create(db);
            created.push(pack.id);
          }
          const seen: number[] = [];
          for (let offset = 0; ; offset += pageSize) {
            const page = await PackRepository.list(db, { keyword, limit: pageSize, offset });
            expect(page.total).toBe(rows);
            expect(page.items.length).toBeLessThanOrEqual(pageSize);
            seen.push(...page.items.map((p) => p.id));
            if (page.items.length < pageSize) break;
          }
          expect(seen).toHaveLength(rows);
          expect(new Set(seen).size).toBe(rows);
          expect([...seen].sort((a, b) => a - b)).toEqual([...created].sort((a, b) => a - b));
        });
      }),
      { numRuns: 25 },
    );
  });
});
