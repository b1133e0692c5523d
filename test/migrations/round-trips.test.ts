import fc from 'fast-check';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/transaction.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { useTransactionPerTest } from '../support/db.js';

// JSONB and TEXT[] columns give back exactly what was stored, through the
// same driver settings the repositories use. JSON goes in as JSON text (the
// driver would turn a JS array into a PostgreSQL array literal otherwise).

const ctx = useTransactionPerTest();

/** Stores `value` in a JSONB column of packs and reads it back with a separate SELECT. */
async function jsonRoundTrip(db: pg.ClientBase, value: unknown, column = 'config'): Promise<unknown> {
  const inserted = await db.query<{ id: number }>(
    `INSERT INTO packs (ref, version, name, ${column}) VALUES ($1, '1.0.0', 'json', $2::jsonb) RETURNING id`,
    [uniqueName('json'), JSON.stringify(value)],
  );
  const read = await db.query<{ value: unknown }>(`SELECT ${column} AS value FROM packs WHERE id = $1`, [inserted.rows[0]!.id]);
  return read.rows[0]!.value;
}

async function textArrayRoundTrip(db: pg.ClientBase, packId: number, value: (string | null)[]): Promise<unknown> {
  const inserted = await db.query<{ id: number }>(
    `INSERT INTO actions (pack_id, pack_ref, name, ref, runner_type, tags)
     SELECT id, ref, $2, ref || '.' || $2, 'noop', $3::text[] FROM packs WHERE id = $1 RETURNING id`,
    [packId, uniqueName('a'), value],
  );
  const read = await db.query<{ tags: unknown }>('SELECT tags FROM actions WHERE id = $1', [inserted.rows[0]!.id]);
  return read.rows[0]!.tags;
}

/** A pack to hang actions (and their tags) on. */
async function packForActions(db: pg.ClientBase): Promise<number> {
  const pack = await db.query<{ id: number }>(`INSERT INTO packs (ref, version, name) VALUES ($1, '1.0.0', 'arrays') RETURNING id`, [uniqueName('arr')]);
  return pack.rows[0]!.id;
}

/** JSON values JSONB stores exactly: no -0 (JSON.stringify writes 0) and no U+0000 (JSONB refuses it). */
function storable(value: unknown): boolean {
  if (Object.is(value, -0)) return false;
  if (typeof value === 'string') return !value.includes('\u0000');
  if (Array.isArray(value)) return value.every(storable);
  if (value !== null && typeof value === 'object') return Object.entries(value).every(([k, v]) => !k.includes('\u0000') && storable(v));
  return true;
}

describe('JSONB round trips', () => {
  it.each([
    ['an empty object', {}],
    ['an empty array', []],
    ['a nested object', { a: { b: { c: { d: [1, { e: 'deep' }] } } } }],
    ['an array of mixed values', [1, 'two', null, true, false, 3.5, { k: [] }, []]],
    ['unicode text and keys', { 'clé': 'naïve café', emoji: '🚀👩‍💻', cjk: '漢字', rtl: 'שלום', escaped: 'quote " backslash \\ newline \n tab \t' }],
    ['numbers', { zero: 0, negative: -17, fraction: 0.1, small: 5e-324, large: 1.7976931348623157e308, exp: 1e21, int: 9007199254740991 }],
    ['booleans and null', { t: true, f: false, n: null }],
    ['a top-level string', 'just a string'],
    ['a top-level number', 42],
    ['top-level null (JSON null, not SQL NULL)', null],
    ['keys that look like SQL or JSON paths', { "'; DROP TABLE packs; --": 1, '$.a[0]': 2, '{}': 3, '': 4 }],
  ])('%s comes back equal', async (_what, value) => {
    expect(await jsonRoundTrip(ctx.db, value)).toEqual(value);
  });

  it('a top-level JSON null is stored as JSON null, not SQL NULL', async () => {
    const result = await ctx.db.query<{ kind: string | null }>(
      `INSERT INTO packs (ref, version, name, meta) VALUES ($1, '1.0.0', 'n', 'null'::jsonb) RETURNING jsonb_typeof(meta) AS kind`,
      [uniqueName('n')],
    );
    expect(result.rows[0]!.kind).toBe('null');
  });

  it('normalises: object keys are de-duplicated (last wins) and reordered, whitespace and number formatting dropped', async () => {
    const result = await ctx.db.query<{ value: unknown; text: string }>(
      `SELECT v AS value, v::text AS text FROM (SELECT '{"b": 1.50, "a": 1, "a": 2, "n": 1e2}'::jsonb AS v) s`,
    );
    expect(result.rows[0]!.value).toEqual({ a: 2, b: 1.5, n: 100 });
    expect(result.rows[0]!.text).toBe('{"a": 2, "b": 1.50, "n": 100}');
  });

  it('normalises: -0 is stored as 0 (JSON.stringify(-0) is "0")', async () => {
    expect(Object.is(await jsonRoundTrip(ctx.db, { z: -0 }).then((v) => (v as { z: number }).z), 0)).toBe(true);
  });

  it('refuses U+0000 in a JSONB string rather than storing something else (22P05)', async () => {
    let code: string | undefined;
    try {
      await withTransaction(ctx.db, (tx) => jsonRoundTrip(tx, { s: 'a\u0000b' }));
    } catch (error) {
      code = (error as pg.DatabaseError).code;
    }
    expect(code).toBe('22P05');
  });

  it('refuses a lone UTF-16 surrogate (invalid Unicode) rather than storing something else', async () => {
    let code: string | undefined;
    try {
      await withTransaction(ctx.db, (tx) => jsonRoundTrip(tx, { s: 'x\ud800y' }));
    } catch (error) {
      code = (error as pg.DatabaseError).code;
    }
    expect(code).toMatch(/^22/);
  });

  it('stores integers beyond 2^53 exactly; only the JS read loses precision', async () => {
    const result = await ctx.db.query<{ text: string; value: { n: number } }>(
      `INSERT INTO packs (ref, version, name, meta) VALUES ($1, '1.0.0', 'big', '{"n": 12345678901234567890}'::jsonb)
       RETURNING meta->>'n' AS text, meta AS value`,
      [uniqueName('big')],
    );
    expect(result.rows[0]!.text).toBe('12345678901234567890');
    expect(result.rows[0]!.value.n).toBe(12345678901234567000);
  });

  it('property: any JSON value (ASCII strings) comes back equal', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue().filter(storable), async (value) => {
        // Each run in a savepoint: a failure cannot abort the runs that shrink it.
        expect(await withTransaction(ctx.db, (tx) => jsonRoundTrip(tx, value))).toEqual(value);
      }),
      { numRuns: 150 },
    );
  });

  it('property: any JSON value with full Unicode strings comes back equal (U+0000 and -0 excluded)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ stringUnit: 'grapheme', maxDepth: 4 }).filter(storable), async (value) => {
        expect(await withTransaction(ctx.db, (tx) => jsonRoundTrip(tx, value, 'meta'))).toEqual(value);
      }),
      { numRuns: 100 },
    );
  });

  it('property: JSON objects round-trip through every kind of JSONB column that holds objects', async () => {
    const columns = ['dependencies', 'node_dependencies', 'conf_schema', 'config', 'meta'];
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })).filter(storable), fc.constantFrom(...columns), async (value, column) => {
        expect(await withTransaction(ctx.db, (tx) => jsonRoundTrip(tx, value, column))).toEqual(value);
      }),
      { numRuns: 60 },
    );
  });
});

describe('TEXT[] round trips', () => {
  it.each([
    ['an empty array', []],
    ['simple words', ['a', 'b', 'c']],
    ['array-literal syntax inside elements', ['{', '}', ',', '"', '\\', 'a,b', '{x,y}', '"quoted"', 'back\\slash']],
    ['whitespace', [' ', '  lead', 'trail  ', 'tab\there', 'new\nline', '']],
    ['the string NULL and an actual null', ['NULL', 'null', null]],
    ['unicode', ['café', '🚀', '漢字', 'שלום']],
    ['duplicates, kept in order', ['b', 'a', 'b', 'a']],
  ] as [string, (string | null)[]][])('%s comes back equal', async (_what, value) => {
    const packId = await packForActions(ctx.db);
    expect(await textArrayRoundTrip(ctx.db, packId, value)).toEqual(value);
  });

  it('packs.keywords and packs.python_requirements keep pip requirement lines exactly', async () => {
    const keywords = ['aws', 'cloud', 'ec2'];
    const requirements = ['boto3>=1.26,<2', 'requests[socks]==2.31.0', 'pkg @ git+https://example.com/x.git#egg=x', "foo; python_version < '3.12'"];
    const result = await ctx.db.query(
      `INSERT INTO packs (ref, version, name, keywords, python_requirements) VALUES ($1, '1.0.0', 'p', $2, $3)
       RETURNING keywords, python_requirements`,
      [uniqueName('req'), keywords, requirements],
    );
    expect(result.rows[0]).toEqual({ keywords, python_requirements: requirements });
  });

  it('property: any array of strings (no U+0000) comes back equal', async () => {
    const packId = await packForActions(ctx.db);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\u0000'))), async (value) => {
        // Each run in a savepoint: a failure cannot abort the runs that shrink it.
        expect(await withTransaction(ctx.db, (tx) => textArrayRoundTrip(tx, packId, value))).toEqual(value);
      }),
      { numRuns: 150 },
    );
  });
});
