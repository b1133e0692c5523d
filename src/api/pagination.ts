/**
 * Lists over HTTP: `?limit=` (default 50, at most 500), an opaque
 * `?cursor=` (the `next_cursor` of the previous page: a keyset position in
 * the list's own order, so pages neither skip nor repeat rows when others are
 * inserted meanwhile), `?count=true` for the total. The answer is
 * `{data, next_cursor}` (`total` when counted).
 */
import { ValidationError } from '../errors.js';
import type { Page, Pagination } from '../repositories/support/table.js';

export const DEFAULT_API_PAGE_SIZE = 50;
export const MAX_API_PAGE_SIZE = 500;

/** What every list query carries besides its filters. */
export interface ListParams {
  limit?: number;
  cursor?: string;
  count?: boolean;
}

/**
 * A cursor names its list, so one from another resource is refused rather
 * than read as a position: base64url of `[list, ...values]`.
 */
export function encodeCursor(list: string, values: readonly (string | null)[]): string {
  return Buffer.from(JSON.stringify([list, ...values]), 'utf8').toString('base64url');
}

/** The keyset values of a cursor for `list`; ValidationError on `cursor` when it is not one of this list's. */
export function decodeCursor(list: string, cursor: string): (string | null)[] {
  const invalid = (): never => {
    throw new ValidationError(`cursor is not a next_cursor of this list (${list}): start again without one`, { entity: list, field: 'cursor' });
  };
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return invalid();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return invalid();
  }
  if (!Array.isArray(decoded) || decoded.length < 2 || decoded[0] !== list) return invalid();
  const values = decoded.slice(1);
  if (!values.every((value) => value === null || typeof value === 'string')) return invalid();
  return values as (string | null)[];
}

/** The repository pagination for a list query. */
export function paginationOf(list: string, params: ListParams): Pagination {
  const pagination: Pagination = { limit: params.limit ?? DEFAULT_API_PAGE_SIZE, count: params.count === true };
  if (params.cursor !== undefined) pagination.after = decodeCursor(list, params.cursor);
  return pagination;
}

/** The HTTP list body of a repository page, each item mapped by `item`. */
export function listBody<E, R>(list: string, page: Page<E>, item: (entity: E) => R): { data: R[]; next_cursor: string | null; total?: number } {
  const body: { data: R[]; next_cursor: string | null; total?: number } = {
    data: page.items.map(item),
    next_cursor: page.next ? encodeCursor(list, page.next) : null,
  };
  if (page.total !== null) body.total = page.total;
  return body;
}

/**
 * Runs a repository list with the query's pagination; a malformed cursor
 * the repository refuses (a value of the wrong type for the order) is
 * reported on `cursor`, the field the client sent.
 */
export async function listPage<E>(list: string, params: ListParams, run: (pagination: Pagination) => Promise<Page<E>>): Promise<Page<E>> {
  const pagination = paginationOf(list, params);
  try {
    return await run(pagination);
  } catch (error) {
    if (params.cursor !== undefined && error instanceof ValidationError && (error.field === 'after' || error.field === undefined)) {
      throw new ValidationError(`cursor is not a next_cursor of this list (${list}): start again without one`, { entity: list, field: 'cursor', cause: error });
    }
    throw error;
  }
}
