import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/transaction.js';
import { ValidationError } from '../../src/errors.js';
import { DEFAULT_INPUT_LIMITS } from '../../src/limits.js';
import { assertJsonWithinLimits, assertStorableText } from '../../src/repositories/support/input-limits.js';
import { useTransactionPerTest } from '../support/db.js';

const ctx = useTransactionPerTest();
const place = { entity: 'test', field: 'value' };

/**
 * Any UTF-16 code unit sequence: mostly whole code points (astral pairs
 * included), sometimes NUL or a single surrogate half, which may happen to
 * land next to another half and form a valid pair.
 */
const anyUnit = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.constant('\u0000') },
  { weight: 2, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)) },
);
const anyText = fc.string({ unit: anyUnit, maxLength: 12 });
const anyJson = fc.jsonValue({ maxDepth: 6, stringUnit: anyUnit });

/** Nesting of arrays and objects, counted independently of the walker: a scalar is 0, `{}` is 1. */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

function accepts(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch (error) {
    if (error instanceof ValidationError) return false;
    throw error;
  }
}

describe('input limits (property-based)', () => {
  it('the size counted while walking is exactly the bytes of JSON.stringify', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6, stringUnit: 'grapheme' }), (value) => {
        expect(assertJsonWithinLimits(value, place)).toBe(Buffer.byteLength(JSON.stringify(value), 'utf8'));
      }),
      { numRuns: 300 },
    );
  });

  it('a value is refused for depth exactly when it nests deeper than the limit', () => {
    const deep = fc.integer({ min: 0, max: DEFAULT_INPUT_LIMITS.jsonMaxDepth + 3 }).chain((levels) =>
      fc.constantFrom<'array' | 'object'>('array', 'object').map((kind) => {
        let value: unknown = 'leaf';
        for (let i = 0; i < levels; i++) value = kind === 'array' ? [value] : { k: value };
        return value;
      }),
    );
    fc.assert(
      fc.property(deep, (value) => {
        expect(accepts(() => assertJsonWithinLimits(value, place))).toBe(depthOf(value) <= DEFAULT_INPUT_LIMITS.jsonMaxDepth);
      }),
    );
  });

  it('text is accepted exactly when PostgreSQL stores it unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(anyText, async (text) => {
        const stored = await withTransaction(ctx.db, (tx) => tx.query<{ t: string }>('SELECT $1::text AS t', [text])).then(
          (result) => result.rows[0]!.t === text,
          () => false,
        );
        expect(accepts(() => assertStorableText(text, place))).toBe(stored);
      }),
      { numRuns: 200 },
    );
  });

  it('JSON is accepted exactly when JSONB stores it unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(anyJson, async (value) => {
        const text = JSON.stringify(value);
        const stored = await withTransaction(ctx.db, (tx) => tx.query<{ j: unknown }>('SELECT $1::jsonb AS j', [text])).then(
          // Deep equality, not text: JSONB reorders keys.
          (result) => isDeepStrictEqual(result.rows[0]!.j, JSON.parse(text)),
          () => false,
        );
        expect(accepts(() => assertJsonWithinLimits(value, place))).toBe(stored);
      }),
      { numRuns: 200 },
    );
  });
});
