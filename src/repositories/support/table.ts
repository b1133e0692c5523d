import type { QueryResultRow } from 'pg';
import { NotFoundError, ValidationError } from '../../errors.js';
import { mapPgError } from '../../db/pg-errors.js';
import type { Executor } from '../../db/pool.js';
import { is, type Rules } from './validate.js';
import { afterCondition, keyColumn, keySelect, keysetCheck, orderSql, parseOrder } from './keyset.js';

/**
 * How a column's values cross the driver: `json` values are serialised with
 * JSON.stringify (the driver would turn a JS array into a PostgreSQL array),
 * `bigint` values are read back as numbers whatever the pool's type parsers.
 */
export type ColumnKind = 'plain' | 'json' | 'bigint';

export interface ColumnSpec {
  column: string;
  kind: ColumnKind;
}

/** Entity field → column, written `'pack_ref'` or `{ column: 'payload', kind: 'json' }`. */
export type ColumnMap<E> = { [K in keyof E & string]: string | ColumnSpec };

/** Pagination input shared by every `list`. */
export interface Pagination {
  /** Rows per page, 1–1000. Default 50. */
  limit?: number;
  /** Rows to skip, a safe integer. Default 0. */
  offset?: number;
  /**
   * Keyset cursor: the `next` of the previous page. The page starts after
   * that row in the list's order, whatever was inserted since; no offset
   * with it.
   */
  after?: readonly (string | null)[];
  /** Count the matching rows (`total`). Default true; false leaves `total` null and saves the count. */
  count?: boolean;
}

/** One page of a list, with the total number of matching rows. */
export interface Page<E> {
  items: E[];
  /** Null when the caller asked for no count. */
  total: number | null;
  limit: number;
  offset: number;
  /** The keyset cursor of the next page (`after`), or null on the last page. */
  next?: (string | null)[] | null;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;
/** Beyond this an offset is not a whole number JavaScript can hold exactly (PostgreSQL's bigint would also overflow past 2^63). */
export const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

/** The rules of `limit` and `offset`, part of every list's filter rules. */
export const PAGINATION_RULES: Rules = {
  limit: { check: is.integer(1, MAX_PAGE_SIZE) },
  offset: { check: is.integer(0, MAX_OFFSET) },
  after: { check: keysetCheck },
  count: { check: is.boolean },
};

/** Validates pagination; the same rules for every list. */
export function pageOf(pagination: Pagination = {}, entity = 'list'): { limit: number; offset: number } {
  const limit = pagination.limit ?? DEFAULT_PAGE_SIZE;
  const offset = pagination.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new ValidationError(`${entity}.limit must be a whole number from 1 to ${MAX_PAGE_SIZE}, got ${String(limit)}`, { entity, field: 'limit', value: limit });
  }
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new ValidationError(`${entity}.offset must be a whole number from 0 to ${MAX_OFFSET}, got ${String(offset)}`, { entity, field: 'offset', value: offset });
  }
  return { limit, offset };
}

/**
 * Collects WHERE conditions and their parameters. Placeholders are numbered
 * as values are added, so SQL stays parameterized however filters combine.
 */
export class Where {
  private readonly conditions: string[] = [];
  readonly values: unknown[] = [];

  /** Adds a parameter and returns its placeholder (`$3`). */
  param(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  /** `column = $n` when `value` is not undefined. */
  eq(column: string, value: unknown): this {
    if (value !== undefined) this.conditions.push(value === null ? `${column} IS NULL` : `${column} = ${this.param(value)}`);
    return this;
  }

  /** A condition written with `param`, e.g. `w.add(p => \`created_at >= ${p(since)}\`)`. */
  add(build: (param: (value: unknown) => string) => string): this {
    this.conditions.push(build((value) => this.param(value)));
    return this;
  }

  /** ` WHERE a AND b`, or '' when there are no conditions. */
  toSql(): string {
    return this.conditions.length === 0 ? '' : ` WHERE ${this.conditions.join(' AND ')}`;
  }
}

/**
 * The mechanics every repository shares for one table: mapping rows to
 * entities, insert, partial update, find, delete and paginated list. Each
 * repository keeps its own validation and its entity-specific SQL.
 */
export class Table<E extends { id: number }> {
  readonly table: string;
  readonly entity: string;
  /** The SELECT list, `id, pack_ref, …`, in entity field order. */
  readonly columns: string;
  private readonly specs: [keyof E & string, ColumnSpec][];
  private readonly byField: Map<string, ColumnSpec>;
  private readonly secretFields: string[];

  constructor(options: { table: string; entity: string; columns: ColumnMap<E>; secretColumns?: string[] }) {
    this.table = options.table;
    this.entity = options.entity;
    this.specs = Object.entries(options.columns).map(([field, spec]) => [
      field as keyof E & string,
      typeof spec === 'string' ? { column: spec, kind: 'plain' } : (spec as ColumnSpec),
    ]);
    this.byField = new Map(this.specs);
    this.columns = this.specs.map(([, spec]) => spec.column).join(', ');
    this.secretFields = options.secretColumns ?? [];
  }

  /** Maps a row (selected with `columns`) to the entity. */
  fromRow = (row: QueryResultRow): E => {
    const entity = {} as Record<string, unknown>;
    for (const [field, spec] of this.specs) {
      const value = row[spec.column];
      entity[field] = spec.kind === 'bigint' && value !== null && value !== undefined ? Number(value) : value;
    }
    return entity as E;
  };

  /** The column name of an entity field. */
  column(field: keyof E & string): string {
    const spec = this.byField.get(field);
    if (!spec) throw new Error(`${this.entity} has no column for field ${field}`);
    return spec.column;
  }

  /** A field's value as a query parameter. */
  toParam(field: keyof E & string, value: unknown): unknown {
    const spec = this.byField.get(field);
    return spec?.kind === 'json' && value !== null && value !== undefined ? JSON.stringify(value) : value;
  }

  /** Runs a query, mapping any driver error to an AttuneError for this entity. */
  async query<R extends QueryResultRow = QueryResultRow>(db: Executor, text: string, values: unknown[] = []) {
    try {
      return await db.query<R>(text, values);
    } catch (error) {
      throw mapPgError(error, this.entity, this.secretFields);
    }
  }

  /**
   * `query` as a named prepared statement: each connection parses and plans
   * `text` once under `name` and then only executes it. For the few hot
   * statements a worker sends per batch; one name must always carry one
   * text (the driver refuses another).
   */
  async queryPrepared<R extends QueryResultRow = QueryResultRow>(db: Executor, name: string, text: string, values: unknown[] = []) {
    try {
      return await db.query<R>({ name, text, values });
    } catch (error) {
      throw mapPgError(error, this.entity, this.secretFields);
    }
  }

  /** Inserts the given fields (undefined ones fall to column defaults) and returns the row. */
  async insert(db: Executor, values: Partial<Record<keyof E & string, unknown>>): Promise<E> {
    const fields = (Object.keys(values) as (keyof E & string)[]).filter((field) => values[field] !== undefined);
    const columns = fields.map((field) => this.column(field));
    const params = fields.map((field) => this.toParam(field, values[field]));
    const sql =
      fields.length === 0
        ? `INSERT INTO ${this.table} DEFAULT VALUES RETURNING ${this.columns}`
        : `INSERT INTO ${this.table} (${columns.join(', ')}) VALUES (${params.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING ${this.columns}`;
    const result = await this.query(db, sql, params);
    return this.fromRow(result.rows[0]!);
  }

  /**
   * Sets only the given fields (undefined means "leave alone", null clears)
   * and returns the updated row; NotFoundError when no row has `id`.
   */
  async update(db: Executor, id: number, patch: Partial<Record<keyof E & string, unknown>>): Promise<E> {
    assertId(id, this.entity);
    const fields = (Object.keys(patch) as (keyof E & string)[]).filter((field) => patch[field] !== undefined);
    if (fields.length === 0) return this.getById(db, id);
    const assignments = fields.map((field, i) => `${this.column(field)} = $${i + 2}`);
    const params = [id, ...fields.map((field) => this.toParam(field, patch[field]))];
    const result = await this.query(db, `UPDATE ${this.table} SET ${assignments.join(', ')} WHERE id = $1 RETURNING ${this.columns}`, params);
    if (result.rowCount === 0) throw new NotFoundError(this.entity, 'id', id);
    return this.fromRow(result.rows[0]!);
  }

  async findById(db: Executor, id: number): Promise<E | null> {
    assertId(id, this.entity);
    return this.findOne(db, 'id = $1', [id]);
  }

  async getById(db: Executor, id: number): Promise<E> {
    const row = await this.findById(db, id);
    if (!row) throw new NotFoundError(this.entity, 'id', id);
    return row;
  }

  /**
   * The row matching `condition` (written with $1…), or null. The condition
   * must identify at most one row (a unique key): no ORDER BY is added, so a
   * lookup is a plain index probe.
   */
  async findOne(db: Executor, condition: string, values: unknown[]): Promise<E | null> {
    const result = await this.query(db, `SELECT ${this.columns} FROM ${this.table} WHERE ${condition} LIMIT 1`, values);
    return result.rows.length === 0 ? null : this.fromRow(result.rows[0]!);
  }

  /** Every row matching `condition`, in `orderBy` order. */
  async findAll(db: Executor, condition: string, values: unknown[], orderBy = 'id'): Promise<E[]> {
    const result = await this.query(db, `SELECT ${this.columns} FROM ${this.table} WHERE ${condition} ORDER BY ${orderBy}`, values);
    return result.rows.map(this.fromRow);
  }

  /** Deletes the row; true when a row went. */
  async deleteById(db: Executor, id: number): Promise<boolean> {
    assertId(id, this.entity);
    const result = await this.query(db, `DELETE FROM ${this.table} WHERE id = $1`, [id]);
    return (result.rowCount ?? 0) > 0;
  }

  /**
   * One page of rows matching `where`, in `orderBy` order (made total by
   * appending `id` when it does not end with it, so pages never skip or
   * repeat a row), the total, and the keyset cursor of the next page. One
   * round trip; a second only when an offset page is past the end. The total
   * is an uncorrelated sub-select, evaluated once: unlike `count(*) OVER ()`
   * it does not make the server produce every matching row before LIMIT, so
   * the page itself stays an index scan that stops after `limit` rows.
   * `pagination.after` (a previous page's `next`) starts after that row
   * instead of at an offset; `count: false` skips the total.
   */
  async list(db: Executor, where: Where, pagination: Pagination | undefined, orderBy: string): Promise<Page<E>> {
    const { limit, offset } = pageOf(pagination, this.entity);
    const after = pagination?.after;
    const count = pagination?.count ?? true;
    if (after !== undefined && offset !== 0) {
      throw new ValidationError(`${this.entity} list takes a cursor or an offset, not both`, { entity: this.entity, field: 'offset' });
    }
    const terms = parseOrder(orderBy);
    const filter = where.toSql();
    const n = where.values.length;
    const values = [...where.values];
    let pageFilter = filter;
    if (after !== undefined) {
      const condition = afterCondition(terms, after, (value) => {
        values.push(value);
        return `$${values.length}`;
      }, this.entity);
      pageFilter = filter === '' ? ` WHERE ${condition}` : `${filter} AND ${condition}`;
    }
    const totalSelect = count ? `, (SELECT count(*) FROM ${this.table}${filter}) AS total_count` : '';
    const m = values.length;
    // One row more than the page: whether it exists says if there is a next page.
    const result = await this.query(
      db,
      `SELECT ${this.columns}, ${keySelect(terms)}${totalSelect}
         FROM ${this.table}${pageFilter} ORDER BY ${orderSql(terms)} LIMIT $${m + 1} OFFSET $${m + 2}`,
      [...values, limit + 1, offset],
    );
    const rows = result.rows.slice(0, limit);
    let total: number | null = null;
    if (count) {
      if (rows.length > 0) total = Number(rows[0]!.total_count);
      else if (offset === 0 && after === undefined) total = 0;
      else total = Number((await this.query(db, `SELECT count(*) AS total FROM ${this.table}${filter}`, where.values.slice(0, n))).rows[0]!.total);
    }
    const last = rows[rows.length - 1];
    const next = result.rows.length > limit && last !== undefined ? terms.map((_, i) => (last[keyColumn(i)] as string | null) ?? null) : null;
    return { items: rows.map(this.fromRow), total, limit, offset, next };
  }
}

/** Ids are positive safe integers; anything else is refused before SQL runs. */
export function assertId(id: unknown, entity: string, field = 'id'): asserts id is number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
    throw new ValidationError(`${entity}.${field} must be a positive whole-number id, got ${JSON.stringify(id)}`, { entity, field, value: id });
  }
}

/** `row`, or NotFoundError naming the field and value: the get… half of every find…/get… pair. */
export function found<E>(row: E | null, entity: string, field: string, value: unknown): E {
  if (row === null) throw new NotFoundError(entity, field, value);
  return row;
}
