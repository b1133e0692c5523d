import { mapPgError } from './pg-errors.js';
import type { Executor } from './pool.js';
import {
  SCHEMA_MANIFEST,
  type ConstraintSpec,
  type DeleteRule,
  type ForeignKeySpec,
  type IndexSpec,
  type SchemaManifest,
  type TableSpec,
} from './schema-manifest.js';
import { HISTORY_TABLE } from './migrator.js';

/** Kinds of schema object verify knows about. */
export type SchemaObject =
  | 'schema'
  | 'extension'
  | 'function'
  | 'table'
  | 'column'
  | 'primary key'
  | 'foreign key'
  | 'unique constraint'
  | 'check constraint'
  | 'index'
  | 'trigger';

/** One way the live schema departs from the manifest. */
export interface SchemaDifference {
  /** `missing`: in the manifest, not in the database. `different`: in both, not alike. `extra`: in the database only. */
  kind: 'missing' | 'different' | 'extra';
  object: SchemaObject;
  name: string;
  table?: string;
  expected?: string;
  actual?: string;
  /** One line for a person: `missing index actions_ref_idx on actions`. */
  message: string;
}

/** The outcome of `verifySchema`. */
export interface SchemaVerification {
  /** True when nothing is missing or different (extras are allowed). */
  ok: boolean;
  /** Missing and different objects, in manifest order. */
  problems: SchemaDifference[];
  /** Objects in the schema that the manifest does not list. */
  extras: SchemaDifference[];
  /** What was checked, for the summary line. */
  checked: { tables: number; columns: number; foreignKeys: number; indexes: number; constraints: number; triggers: number };
}

/**
 * Compares the live catalog to the manifest and says what is missing or
 * different, and what is there but not in the manifest. Reads the catalog
 * only, so it runs inside any transaction (tests pass one that they roll
 * back).
 */
export async function verifySchema(db: Executor, manifest: SchemaManifest = SCHEMA_MANIFEST): Promise<SchemaVerification> {
  const live = await readSchema(db, manifest.schema);
  const problems: SchemaDifference[] = [];
  const extras: SchemaDifference[] = [];
  const checked = { tables: 0, columns: 0, foreignKeys: 0, indexes: 0, constraints: 0, triggers: 0 };
  const missing = (object: SchemaObject, name: string, table?: string, expected?: string) =>
    problems.push({
      kind: 'missing',
      object,
      name,
      ...(table === undefined ? {} : { table }),
      ...(expected === undefined ? {} : { expected }),
      message: `missing ${object} ${name}${table === undefined ? '' : ` on ${table}`}${expected === undefined ? '' : ` (${expected})`}`,
    });
  const different = (object: SchemaObject, name: string, table: string | undefined, expected: string, actual: string) =>
    problems.push({
      kind: 'different',
      object,
      name,
      ...(table === undefined ? {} : { table }),
      expected,
      actual,
      message: `different ${object} ${name}${table === undefined ? '' : ` on ${table}`}: expected ${expected}, found ${actual}`,
    });
  const extra = (object: SchemaObject, name: string, table?: string, actual?: string) =>
    extras.push({
      kind: 'extra',
      object,
      name,
      ...(table === undefined ? {} : { table }),
      ...(actual === undefined ? {} : { actual }),
      message: `extra ${object} ${name}${table === undefined ? '' : ` on ${table}`}${actual === undefined ? '' : ` (${actual})`}, not in the manifest`,
    });

  if (!live.schemaExists) {
    missing('schema', manifest.schema);
    return { ok: false, problems, extras, checked };
  }
  for (const name of manifest.extensions) if (!live.extensions.includes(name)) missing('extension', name);
  for (const name of manifest.functions) if (!live.functions.includes(name)) missing('function', name);
  for (const name of live.functions) if (!manifest.functions.includes(name)) extra('function', name);

  const liveTables = new Map(live.tables.map((table) => [table.name, table]));
  for (const expected of manifest.tables) {
    checked.tables += 1;
    const actual = liveTables.get(expected.name);
    if (!actual) {
      missing('table', expected.name);
      continue;
    }
    compareTable(expected, actual, { missing, different, extra }, checked);
  }
  const known = new Set<string>([...manifest.tables.map((table) => table.name), HISTORY_TABLE]);
  for (const table of live.tables) if (!known.has(table.name)) extra('table', table.name);

  return { ok: problems.length === 0, problems, extras, checked };
}

interface Reporters {
  missing(object: SchemaObject, name: string, table?: string, expected?: string): void;
  different(object: SchemaObject, name: string, table: string | undefined, expected: string, actual: string): void;
  extra(object: SchemaObject, name: string, table?: string, actual?: string): void;
}

function compareTable(expected: TableSpec, actual: TableSpec, report: Reporters, checked: SchemaVerification['checked']): void {
  const table = expected.name;
  for (const [column, type] of Object.entries(expected.columns)) {
    checked.columns += 1;
    const found = actual.columns[column];
    if (found === undefined) report.missing('column', `${table}.${column}`, undefined, type);
    else if (found !== type) report.different('column', `${table}.${column}`, undefined, type, found);
  }
  for (const [column, type] of Object.entries(actual.columns)) {
    if (!(column in expected.columns)) report.extra('column', `${table}.${column}`, undefined, type);
  }

  checked.constraints += 1;
  if (!actual.primaryKey.name) report.missing('primary key', expected.primaryKey.name, table, columnList(expected.primaryKey));
  else if (columnList(actual.primaryKey) !== columnList(expected.primaryKey)) {
    report.different('primary key', expected.primaryKey.name, table, columnList(expected.primaryKey), columnList(actual.primaryKey));
  }

  const liveKeys = new Map(actual.foreignKeys.map((fk) => [fk.columns.join(','), fk]));
  for (const fk of expected.foreignKeys) {
    checked.foreignKeys += 1;
    const found = liveKeys.get(fk.columns.join(','));
    liveKeys.delete(fk.columns.join(','));
    if (!found) report.missing('foreign key', fk.name, table, describeForeignKey(fk));
    else if (describeForeignKey(found) !== describeForeignKey(fk)) {
      report.different('foreign key', fk.name, table, describeForeignKey(fk), describeForeignKey(found));
    }
  }
  for (const fk of liveKeys.values()) report.extra('foreign key', fk.name, table, describeForeignKey(fk));

  compareNamed('unique constraint', table, expected.uniqueConstraints, actual.uniqueConstraints, columnList, report, checked);
  compareNamed(
    'check constraint',
    table,
    expected.checks.map((name) => ({ name })),
    actual.checks.map((name) => ({ name })),
    () => '',
    report,
    checked,
  );
  compareNamed('index', table, expected.indexes, actual.indexes, describeIndex, report, checked);
  compareNamed(
    'trigger',
    table,
    expected.triggers.map((name) => ({ name })),
    actual.triggers.map((name) => ({ name })),
    () => '',
    report,
    checked,
  );
}

function compareNamed<T extends { name: string }>(
  object: SchemaObject,
  table: string,
  expected: T[],
  actual: T[],
  describe: (item: T) => string,
  report: Reporters,
  checked: SchemaVerification['checked'],
): void {
  const live = new Map(actual.map((item) => [item.name, item]));
  for (const item of expected) {
    if (object === 'index') checked.indexes += 1;
    else if (object === 'trigger') checked.triggers += 1;
    else checked.constraints += 1;
    const found = live.get(item.name);
    live.delete(item.name);
    const description = describe(item) || undefined;
    if (!found) report.missing(object, item.name, table, description);
    else if (describe(found) !== describe(item)) report.different(object, item.name, table, describe(item), describe(found));
  }
  for (const item of live.values()) report.extra(object, item.name, table, describe(item) || undefined);
}

function columnList(constraint: ConstraintSpec): string {
  return constraint.columns.join(', ');
}

function describeForeignKey(fk: ForeignKeySpec): string {
  return `${fk.columns.join(', ')} → ${fk.references}.${fk.referencedColumns.join(', ')} ON DELETE ${fk.onDelete}`;
}

function describeIndex(index: IndexSpec): string {
  return `${index.unique ? 'unique ' : ''}${normalizeSpace(index.definition)}`;
}

function normalizeSpace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** What the catalog holds for one schema, in the manifest's shape. */
export interface LiveSchema extends SchemaManifest {
  schemaExists: boolean;
}

const DELETE_RULES: Record<string, DeleteRule> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };

/**
 * Reads a schema's tables, columns, constraints, indexes, triggers and
 * functions from the catalog, in the manifest's shape. Also how the manifest
 * was first written.
 */
export async function readSchema(db: Executor, schema: string): Promise<LiveSchema> {
  try {
    return await readSchemaUnmapped(db, schema);
  } catch (error) {
    throw mapPgError(error);
  }
}

async function readSchemaUnmapped(db: Executor, schema: string): Promise<LiveSchema> {
  const exists = await db.query<{ present: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS present', [schema]);
  const extensions = await db.query<{ name: string }>('SELECT extname AS name FROM pg_extension ORDER BY extname');
  const base = { schema, extensions: extensions.rows.map((row) => row.name) };
  if (!exists.rows[0]!.present) return { ...base, schemaExists: false, functions: [], tables: [] };

  const functions = await db.query<{ name: string }>(
    `SELECT DISTINCT p.proname AS name
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = $1
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
      ORDER BY 1`,
    [schema],
  );
  const columns = await db.query<{ table: string; column: string | null; type: string | null; not_null: boolean | null }>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
      ORDER BY c.relname, a.attnum`,
    [schema],
  );
  const constraints = await db.query<{
    table: string;
    name: string;
    type: 'p' | 'u' | 'f' | 'c';
    columns: string[];
    references: string | null;
    referenced_columns: string[];
    on_delete: string;
  }>(
    `SELECT rel.relname AS table, con.conname AS name, con.contype AS type,
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
            frel.relname AS references,
            ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS referenced_columns,
            con.confdeltype AS on_delete
       FROM pg_constraint con
       JOIN pg_class rel ON rel.oid = con.conrelid
       JOIN pg_namespace n ON n.oid = rel.relnamespace
       LEFT JOIN pg_class frel ON frel.oid = con.confrelid
      WHERE n.nspname = $1 AND con.contype IN ('p', 'u', 'f', 'c')
      ORDER BY rel.relname, con.conname`,
    [schema],
  );
  const indexes = await db.query<{ table: string; name: string; unique: boolean; definition: string }>(
    `SELECT t.relname AS table, i.relname AS name, ix.indisunique AS unique,
            substring(pg_get_indexdef(ix.indexrelid) FROM position(' USING ' IN pg_get_indexdef(ix.indexrelid)) + 7) AS definition
       FROM pg_index ix
       JOIN pg_class i ON i.oid = ix.indexrelid
       JOIN pg_class t ON t.oid = ix.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = $1
        AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = ix.indexrelid AND con.contype IN ('p', 'u', 'x'))
      ORDER BY t.relname, i.relname`,
    [schema],
  );
  const triggers = await db.query<{ table: string; name: string }>(
    `SELECT c.relname AS table, tg.tgname AS name
       FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND NOT tg.tgisinternal
      ORDER BY c.relname, tg.tgname`,
    [schema],
  );

  const tables = new Map<string, TableSpec>();
  const tableOf = (name: string): TableSpec => {
    let table = tables.get(name);
    if (!table) {
      table = {
        name: name as TableSpec['name'],
        columns: {},
        primaryKey: { name: '', columns: [] },
        foreignKeys: [],
        uniqueConstraints: [],
        checks: [],
        indexes: [],
        triggers: [],
      };
      tables.set(name, table);
    }
    return table;
  };
  for (const row of columns.rows) {
    const table = tableOf(row.table);
    if (row.column !== null) table.columns[row.column] = `${row.type}${row.not_null ? ' not null' : ''}`;
  }
  for (const row of constraints.rows) {
    const table = tableOf(row.table);
    if (row.type === 'p') table.primaryKey = { name: row.name, columns: row.columns };
    else if (row.type === 'u') table.uniqueConstraints.push({ name: row.name, columns: row.columns });
    else if (row.type === 'c') table.checks.push(row.name);
    else {
      table.foreignKeys.push({
        name: row.name,
        columns: row.columns,
        references: row.references ?? '?',
        referencedColumns: row.referenced_columns,
        onDelete: DELETE_RULES[row.on_delete] ?? 'NO ACTION',
      });
    }
  }
  for (const row of indexes.rows) tableOf(row.table).indexes.push({ name: row.name, unique: row.unique, definition: row.definition });
  for (const row of triggers.rows) tableOf(row.table).triggers.push(row.name);

  return { ...base, schemaExists: true, functions: functions.rows.map((row) => row.name), tables: [...tables.values()] };
}

/**
 * The TypeScript source of a manifest, as schema-manifest.ts holds it: how
 * the manifest is refreshed after a migration changes the schema
 * (`attune db verify --print-manifest` on a freshly migrated database).
 */
export function formatManifest(manifest: SchemaManifest, tableOrder?: readonly string[]): string {
  const order = tableOrder ? new Map(tableOrder.map((name, i) => [name, i])) : undefined;
  const tables = order
    ? [...manifest.tables].filter((table) => order.has(table.name)).sort((a, b) => order.get(a.name)! - order.get(b.name)!)
    : manifest.tables;
  const lines: string[] = [];
  lines.push('export const SCHEMA_MANIFEST: SchemaManifest = {');
  lines.push(`  schema: ${q(manifest.schema)},`);
  lines.push(`  extensions: ${list(manifest.extensions)},`);
  lines.push(`  functions: ${list(manifest.functions)},`);
  lines.push('  tables: [');
  for (const table of tables) {
    lines.push('    {');
    lines.push(`      name: ${q(table.name)},`);
    lines.push('      columns: {');
    for (const [column, type] of Object.entries(table.columns)) lines.push(`        ${/^[a-z_][a-z0-9_]*$/.test(column) ? column : q(column)}: ${q(type)},`);
    lines.push('      },');
    lines.push(`      primaryKey: { name: ${q(table.primaryKey.name)}, columns: ${list(table.primaryKey.columns)} },`);
    block(lines, 'foreignKeys', table.foreignKeys, (fk) =>
      `{ name: ${q(fk.name)}, columns: ${list(fk.columns)}, references: ${q(fk.references)}, referencedColumns: ${list(fk.referencedColumns)}, onDelete: ${q(fk.onDelete)} }`,
    );
    block(lines, 'uniqueConstraints', table.uniqueConstraints, (u) => `{ name: ${q(u.name)}, columns: ${list(u.columns)} }`);
    block(lines, 'checks', table.checks, q);
    block(lines, 'indexes', table.indexes, (index) => `{ name: ${q(index.name)}, unique: ${index.unique}, definition: ${q(index.definition)} }`);
    block(lines, 'triggers', table.triggers, q);
    lines.push('    },');
  }
  lines.push('  ],');
  lines.push('};');
  return lines.join('\n');
}

function block<T>(lines: string[], key: string, items: T[], render: (item: T) => string): void {
  const inline = `      ${key}: [${items.map(render).join(', ')}],`;
  if (inline.length <= 140) {
    lines.push(inline);
    return;
  }
  lines.push(`      ${key}: [`);
  for (const item of items) lines.push(`        ${render(item)},`);
  lines.push('      ],');
}

function list(items: string[]): string {
  return `[${items.map(q).join(', ')}]`;
}

function q(text: string): string {
  if (text.includes("'") && !text.includes('"')) return `"${text.replace(/\\/g, '\\\\')}"`;
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
