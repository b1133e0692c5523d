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
/** StackStorm-style names: capitals, and dots between non-empty parts (`st2.IntervalTimer`). */
const componentName = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_-]{0,7}(\.[A-Za-z0-9_-]{1,7}){0,2}$/);

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

  it("TypeScript and the tables' CHECKs agree on every component ref (a raw INSERT is the judge)", async () => {
    const composed = fc.tuple(packName, componentName).map(([p, n]) => `${p}.${n}`);
    await fc.assert(
      fc.asyncProperty(fc.oneof(refLike, composed), async (ref) => {
        const dot = ref.indexOf('.');
        const [packRef, name] = dot < 0 ? [ref, ''] : [ref.slice(0, dot), ref.slice(dot + 1)];
        // A built-in trigger (no pack row) and a rule's trigger_ref: the CHECKs of both tables decide.
        const accepted = async (sql: string, values: unknown[]): Promise<boolean> => {
          await ctx.db.query('SAVEPOINT ref_probe');
          try {
            await ctx.db.query(sql, values);
            return true;
          } catch (error) {
            if ((error as { code?: string }).code !== '23514') throw error;
            return false;
          } finally {
            await ctx.db.query('ROLLBACK TO SAVEPOINT ref_probe');
          }
        };
        const trigger = await accepted('INSERT INTO triggers (ref, pack_ref, name) VALUES ($1, $2, $3)', [ref, packRef, name]);
        const pack = await PackRepository.create(ctx.db, { ref: 'probe', version: `1.0.${Math.floor(Math.random() * 1e9)}`, isActive: false });
        const rule = await accepted(
          "INSERT INTO rules (ref, pack_id, pack_ref, name, trigger_ref, action_ref) VALUES ('probe.r', $1, 'probe', 'r', $2, 'probe.a')",
          [pack.id, ref],
        );
        expect(trigger).toBe(isComponentRef(ref));
        expect(rule).toBe(isComponentRef(ref));
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

  it('a ref without a dot, or with an empty part, is never a component ref', () => {
    fc.assert(
      fc.property(fc.array(packName, { minLength: 1, maxLength: 4 }), fc.constantFrom('', '.', '..', 'trailing'), (parts, shape) => {
        const joined = parts.join('.');
        const ref = shape === '' ? parts[0]! : shape === 'trailing' ? `${joined}.` : `${parts[0]}${shape}.${parts.slice(1).join('.') || 'x'}`;
        expect(isComponentRef(ref)).toBe(false);
      }),
    );
  });

  it('the pack is what precedes the first dot: core.st2.IntervalTimer is pack core, name st2.IntervalTimer', () => {
    expect(splitComponentRef('core.st2.IntervalTimer')).toEqual({ packRef: 'core', name: 'st2.IntervalTimer' });
    expect(isComponentRef('linux.file_watch.line')).toBe(true);
    for (const bad of ['Core.echo', 'core', 'core.', 'core..x', 'core.x.', '.core.x']) expect(isComponentRef(bad)).toBe(false);
  });
});
