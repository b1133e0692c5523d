import { ValidationError } from '../../errors.js';
import type { Check } from './validate.js';

/**
 * Keyset pagination over a list's own ORDER BY. A page ends with the values
 * of the order's expressions for its last row (as text, so timestamps keep
 * their microseconds and reals their digits); the next page asks for the
 * rows after them. Unlike an offset, that is stable when rows are inserted
 * before the position, and an index scan starts right at it.
 */

/** One term of an ORDER BY: its expression, direction and where NULLs go. */
export interface OrderTerm {
  expression: string;
  descending: boolean;
  /** Only set when the ORDER BY says so; a term without it is assumed NOT NULL. */
  nulls: 'first' | 'last' | undefined;
}

/** Most terms an order may have (and so values a cursor may carry). */
export const MAX_KEYSET_TERMS = 8;

/**
 * Splits an ORDER BY into terms (commas inside parentheses do not split) and
 * makes it total: `id` is appended when the order does not already end with
 * it, so rows that tie on every other term still have one fixed order.
 */
export function parseOrder(orderBy: string): OrderTerm[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < orderBy.length; i += 1) {
    const c = orderBy[i];
    if (c === '(') depth += 1;
    else if (c === ')') depth -= 1;
    else if (c === ',' && depth === 0) {
      parts.push(orderBy.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(orderBy.slice(start));
  const terms = parts.map((part): OrderTerm => {
    let text = part.trim();
    let nulls: OrderTerm['nulls'];
    const nullsMatch = /\s+NULLS\s+(FIRST|LAST)$/i.exec(text);
    if (nullsMatch) {
      nulls = nullsMatch[1]!.toLowerCase() as 'first' | 'last';
      text = text.slice(0, nullsMatch.index);
    }
    let descending = false;
    const directionMatch = /\s+(ASC|DESC)$/i.exec(text);
    if (directionMatch) {
      descending = directionMatch[1]!.toUpperCase() === 'DESC';
      text = text.slice(0, directionMatch.index);
    }
    return { expression: text.trim(), descending, nulls };
  });
  const last = terms[terms.length - 1]!;
  if (last.expression !== 'id') terms.push({ expression: 'id', descending: last.descending, nulls: undefined });
  return terms;
}

/** The ORDER BY text of `terms`. */
export function orderSql(terms: readonly OrderTerm[]): string {
  return terms
    .map((t) => `${t.expression}${t.descending ? ' DESC' : ''}${t.nulls === undefined ? '' : ` NULLS ${t.nulls.toUpperCase()}`}`)
    .join(', ');
}

/** The extra SELECT items that carry each term's value as text: `(created_at)::text AS attune_key_0, …`. */
export function keySelect(terms: readonly OrderTerm[]): string {
  return terms.map((t, i) => `(${t.expression})::text AS ${keyColumn(i)}`).join(', ');
}

/** The column name of term `i` in a row selected with `keySelect`. */
export function keyColumn(i: number): string {
  return `attune_key_${i}`;
}

/**
 * The condition "comes after `after` in this order". All terms in one
 * direction and none nullable: a row comparison, `(a, b) > ($1, $2)`, which
 * an index on (a, b) serves directly. Otherwise the expanded form, where a
 * nullable term places NULL where its NULLS clause (or PostgreSQL's default:
 * NULLs are the largest values) says.
 */
export function afterCondition(terms: readonly OrderTerm[], after: readonly (string | null)[], param: (value: unknown) => string, entity: string): string {
  if (after.length !== terms.length) {
    throw new ValidationError(`${entity} cursor does not belong to this list (it has ${after.length} values, the order has ${terms.length})`, {
      entity,
      field: 'after',
    });
  }
  const simple = terms.every((t) => t.nulls === undefined && t.descending === terms[0]!.descending);
  if (simple) {
    if (after.some((value) => value === null)) throw new ValidationError(`${entity} cursor is malformed`, { entity, field: 'after' });
    const placeholders = after.map((value) => param(value));
    return `(${terms.map((t) => t.expression).join(', ')}) ${terms[0]!.descending ? '<' : '>'} (${placeholders.join(', ')})`;
  }
  const placeholders = after.map((value) => (value === null ? null : param(value)));
  const alternatives: string[] = [];
  for (let i = 0; i < terms.length; i += 1) {
    const equalBefore = terms.slice(0, i).map((t, j) => equalTo(t, placeholders[j]!));
    const beyond = beyondValue(terms[i]!, placeholders[i]!);
    if (beyond === 'false' || equalBefore.includes('false')) continue;
    alternatives.push([...equalBefore, beyond].join(' AND '));
  }
  return alternatives.length === 0 ? 'false' : `(${alternatives.map((a) => `(${a})`).join(' OR ')})`;
}

function nullsLast(term: OrderTerm): boolean {
  // PostgreSQL's default: NULLS LAST ascending, NULLS FIRST descending (NULL is the largest value).
  return term.nulls === undefined ? !term.descending : term.nulls === 'last';
}

function equalTo(term: OrderTerm, placeholder: string | null): string {
  if (placeholder === null) return term.nulls === undefined ? 'false' : `${term.expression} IS NULL`;
  return `${term.expression} = ${placeholder}`;
}

/** "this term's value comes strictly after the cursor's". */
function beyondValue(term: OrderTerm, placeholder: string | null): string {
  const operator = term.descending ? '<' : '>';
  if (placeholder === null) return nullsLast(term) || term.nulls === undefined ? 'false' : `${term.expression} IS NOT NULL`;
  if (term.nulls === undefined) return `${term.expression} ${operator} ${placeholder}`;
  return nullsLast(term) ? `(${term.expression} ${operator} ${placeholder} OR ${term.expression} IS NULL)` : `${term.expression} ${operator} ${placeholder}`;
}

/** Validates a keyset cursor: an array of at most MAX_KEYSET_TERMS strings or nulls. */
export const keysetCheck: Check = (value, field, entity) => {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    value.length > MAX_KEYSET_TERMS ||
    !value.every((item) => item === null || (typeof item === 'string' && item.length <= 1024 && !item.includes('\u0000')))
  ) {
    throw new ValidationError(`${entity}.${field} must be the cursor of a previous page`, { entity, field });
  }
};
