import { InvalidReferenceError, ValidationError } from '../../errors.js';
import type { Executor } from '../../db/pool.js';
import type { Table } from './table.js';

/** How a component names its pack: `packId` (that exact version) or `packRef` (its active version). */
export interface PackReference {
  packId?: number;
  packRef?: string;
}

/** Options for `insertPackComponent`. */
export interface PackComponentInsert<E> {
  /** Validated input: the pack reference, the component's name, and its other fields. */
  input: PackReference & { name: string };
  /** PostgreSQL type of each other field that may be sent (`{ description: 'text' }`). */
  paramTypes: Partial<Record<keyof E & string, string>>;
  /**
   * Built-ins (runtimes, triggers) may name a pack that is not installed:
   * a packRef with no active version then stores pack_id null. Otherwise such
   * a packRef is an InvalidReferenceError.
   */
  allowBuiltIn: boolean;
}

/**
 * Inserts a pack component (runtime, trigger, action) in one statement,
 * resolving its pack in the same INSERT … SELECT: pack_id and pack_ref come
 * from the pack row, and the ref is `<pack_ref>.<name>`. A packId that does
 * not exist, or does not match a packRef given with it, is an
 * InvalidReferenceError, as is a packRef with no active version unless
 * built-ins are allowed.
 */
export async function insertPackComponent<E extends { id: number }>(db: Executor, table: Table<E>, options: PackComponentInsert<E>): Promise<E> {
  const { input, paramTypes, allowBuiltIn } = options;
  const entity = table.entity;
  if (input.packRef === undefined && input.packId === undefined) {
    throw new ValidationError(`${entity}.packRef or ${entity}.packId is required`, { entity, field: 'packRef' });
  }
  const params: unknown[] = [];
  const p = (value: unknown, type: string): string => {
    params.push(value);
    return `$${params.length}::${type}`;
  };
  let from: string;
  let packRef = 'p.ref';
  if (input.packId !== undefined) {
    from = `packs p WHERE p.id = ${p(input.packId, 'bigint')}`;
    if (input.packRef !== undefined) from += ` AND p.ref = ${p(input.packRef, 'text')}`;
  } else if (allowBuiltIn) {
    // The active version when there is one; otherwise a built-in with no pack row.
    from = `(SELECT ${p(input.packRef, 'text')} AS ref) s LEFT JOIN packs p ON p.ref = s.ref AND p.is_active`;
    packRef = 's.ref';
  } else {
    from = `packs p WHERE p.ref = ${p(input.packRef, 'text')} AND p.is_active`;
  }
  const name = p(input.name, 'text');
  const columns = ['pack_id', 'pack_ref', 'name', 'ref'];
  const values = ['p.id', packRef, name, `${packRef} || '.' || ${name}`];
  for (const [field, type] of Object.entries(paramTypes) as [keyof E & string, string][]) {
    const value = (input as unknown as Record<string, unknown>)[field];
    if (value === undefined) continue;
    columns.push(table.column(field));
    values.push(p(table.toParam(field, value), type));
  }
  const result = await table.query(
    db,
    `INSERT INTO ${table.table} (${columns.join(', ')}) SELECT ${values.join(', ')} FROM ${from} RETURNING ${table.columns}`,
    params,
  );
  if (result.rows.length > 0) return table.fromRow(result.rows[0]!);
  if (input.packId === undefined) {
    throw new InvalidReferenceError(`${entity}.packRef '${input.packRef}' has no active pack version`, {
      entity,
      field: 'packRef',
      value: input.packRef,
    });
  }
  const described = input.packRef === undefined ? `${input.packId}` : `${input.packId} with ref '${input.packRef}'`;
  throw new InvalidReferenceError(`${entity}.packId: no pack ${described}`, { entity, field: 'packId', value: input.packId });
}
