import { describe, expect, it } from 'vitest';
import { columns, table } from '../../src/repositories/execution-model.js';
import { Table } from '../../src/repositories/support/table.js';
import type { Execution } from '../../src/repositories/execution-model.js';

describe('execution row mapping', () => {
  it('maps every column to the same field as the generic mapping of the column map', () => {
    // A distinct value per column, so a field read from the wrong column (or left out) shows.
    const row: Record<string, unknown> = {};
    let n = 0;
    for (const spec of Object.values(columns)) row[typeof spec === 'string' ? spec : spec.column] = `value of ${typeof spec === 'string' ? spec : spec.column} #${n++}`;
    const generic = new Table<Execution>({ table: 'executions', entity: 'execution', columns });
    const mapped = table.fromRow(row);
    expect(mapped).toStrictEqual(generic.fromRow(row));
    expect(Object.keys(mapped)).toEqual(Object.keys(columns));
  });
});
