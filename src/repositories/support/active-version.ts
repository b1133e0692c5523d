/**
 * SQL that resolves a component ref through the active version of its pack.
 * Several versions of a pack may be installed, each with its own rows for
 * the same ref (migration 0016); a ref means the row of the active version.
 * Runtimes and triggers may also be built-ins (no pack row): a built-in with
 * the ref is the fallback when no active version defines it.
 */

/** Tables whose rows are pack components. */
export type ComponentTable = 'runtimes' | 'triggers' | 'actions' | 'rules' | 'sensors';

/**
 * A condition on `alias` (a row of a component table) that holds when the
 * row belongs to the active version of its pack, or is a built-in.
 */
export function inActiveVersion(alias: string): string {
  return `(${alias}.pack_id IS NULL OR EXISTS (SELECT 1 FROM packs ap WHERE ap.id = ${alias}.pack_id AND ap.is_active))`;
}

/**
 * `SELECT <columns> FROM <table> c WHERE c.ref = <refParam> …`: the row with
 * that ref in the active version of its pack, else a built-in with the ref;
 * at most one row. `refParam` is a placeholder (`$2`) holding the ref; the
 * pack ref is its text before the first dot. Served by `<table>_ref_idx`
 * (every version's rows of one ref, a handful) and the packs primary key.
 */
export function activeByRef(table: ComponentTable, refParam: string, columns = 'c.id, c.ref'): string {
  return `SELECT ${columns} FROM ${table} c
           WHERE c.ref = ${refParam}::text
             AND (c.pack_id IS NULL OR c.pack_id = (SELECT p.id FROM packs p WHERE p.ref = split_part(${refParam}::text, '.', 1) AND p.is_active))
           ORDER BY c.pack_id IS NULL LIMIT 1`;
}
