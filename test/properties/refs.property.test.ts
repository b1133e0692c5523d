import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { assertComponentRef, assertPackRef, isComponentRef, isPackRef, splitComponentRef } from '../../src/refs.js';
import { useTransactionPerTest } from '../support/db.js';

const ctx = useTransactionPerTest();

const refAlphabet = fc.constantFrom(...'abcxyz019_-.A Z/é'.split(''));
const refLike = fc.string({ unit: refAlphabet, maxLength: 20 });
const packName = fc.stringMatching(/^[a-z][a-z0-9_-]{0,15}$/);
const componentName = fc.stringMatching(/^[a-z0-9_][a-z0-9_-]{0,15}$/);

describe('ref validation (property-based)', () => {
  it('TypeScript and the database CHECK agree on every pack ref', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(refLike, packName, fc.string({ maxLength: 70 })), async (ref) => {
        const { rows } = await ctx.db.query<{ ok: boolean }>(
          `SELECT ($1 ~ '^[a-z][a-z0-9_-]*$' AND char_length($1) <= 64) AS ok`,
          [ref],
        );
        expect(isPackRef(ref)).toBe(rows[0]!.ok);
      }),
      { numRuns: 200 },
    );
  });

  it('TypeScript and the database CHECK agree on every component ref', async () => {
    const composed = fc.tuple(packName, componentName).map(([p, n]) => `${p}.${n}`);
    await fc.assert(
      fc.asyncProperty(fc.oneof(refLike, composed), async (ref) => {
        const { rows } = await ctx.db.query<{ ok: boolean }>(
          `SELECT ($1 ~ '^[a-z][a-z0-9_-]*\\.[a-z0-9_][a-z0-9_-]*$' AND char_length($1) <= 255) AS ok`,
          [ref],
        );
        expect(isComponentRef(ref)).toBe(rows[0]!.ok);
      }),
      { numRuns: 200 },
    );
  });

  it('every valid pack ref is accepted by the table, every invalid one refused before SQL', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(packName, refLike), async (ref) => {
        if (isPackRef(ref)) {
          const pack = await PackRepository.create(ctx.db, { ref, version: `1.0.${Math.floor(Math.random() * 1e9)}`, isActive: false });
          expect(pack.ref).toBe(ref);
        } else {
          await expect(PackRepository.create(ctx.db, { ref })).rejects.toBeInstanceOf(ValidationError);
          expect(() => assertPackRef(ref)).toThrow(ValidationError);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('a component ref splits into a pack ref and a name that compose back to it', () => {
    fc.assert(
      fc.property(packName, componentName, (pack, name) => {
        const ref = `${pack}.${name}`;
        assertComponentRef(ref, 'action');
        expect(splitComponentRef(ref)).toEqual({ packRef: pack, name });
        expect(isPackRef(pack)).toBe(true);
      }),
    );
  });

  it('a ref with zero or several dots is never a component ref', () => {
    fc.assert(
      fc.property(fc.array(packName, { minLength: 1, maxLength: 4 }).filter((parts) => parts.length !== 2), (parts) => {
        expect(isComponentRef(parts.join('.'))).toBe(false);
      }),
    );
  });
});
