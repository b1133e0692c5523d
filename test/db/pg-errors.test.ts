import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { withTransaction } from '../../src/db/transaction.js';
import { isConnectionError, mapErrors, mapPgError } from '../../src/db/pg-errors.js';
import { AlreadyExistsError, DatabaseError, DatabaseUnavailableError, InvalidReferenceError, NotFoundError, ValidationError } from '../../src/errors.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { useTransactionPerTest } from '../support/db.js';

const ctx = useTransactionPerTest();

/** Runs raw SQL in a savepoint and returns the mapped error it raised. */
async function mappedFrom(sql: string, values: unknown[] = [], entity?: string) {
  try {
    await withTransaction(ctx.db, (tx) => tx.query(sql, values));
  } catch (error) {
    return mapPgError(error, entity);
  }
  throw new Error(`expected ${sql} to fail`);
}

describe('mapPgError on real PostgreSQL errors', () => {
  it('23505 unique violation → AlreadyExistsError with field and value from the key', async () => {
    await ctx.db.query(`INSERT INTO packs (ref, version, name) VALUES ('dup', '1.0.0', 'Dup')`);
    const error = await mappedFrom(`INSERT INTO packs (ref, version, name, is_active) VALUES ('dup', '1.0.0', 'Dup', false)`, [], 'pack');
    expect(error).toBeInstanceOf(AlreadyExistsError);
    expect(error).toMatchObject({ entity: 'pack', field: 'ref, version', value: 'dup, 1.0.0' });
    expect(error.message).toBe('pack already exists with ref, version = dup, 1.0.0');
  });

  it('23503 foreign key violation → InvalidReferenceError naming the column and the referenced table', async () => {
    const error = await mappedFrom(`INSERT INTO actions (pack_id, pack_ref, name, ref, runner_type) VALUES (999999999, 'p', 'a', 'p.a', 'noop')`, [], 'action');
    expect(error).toBeInstanceOf(InvalidReferenceError);
    expect(error).toMatchObject({ field: 'pack_id', value: '999999999' });
    expect(error.message).toContain('packs');
  });

  it('23503 on delete of a still-referenced row says so', async () => {
    await ctx.db.query(`CREATE TEMP TABLE parent (id int primary key); CREATE TEMP TABLE child (p int references parent(id)); INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1)`);
    const error = await mappedFrom('DELETE FROM parent', [], 'parent');
    expect(error).toBeInstanceOf(InvalidReferenceError);
    expect(error.message).toContain('still referenced');
  });

  it('ON DELETE RESTRICT (23001 on PostgreSQL 18, 23503 before) → InvalidReferenceError too', async () => {
    await ctx.db.query(`CREATE TEMP TABLE rparent (id int primary key); CREATE TEMP TABLE rchild (p int references rparent(id) ON DELETE RESTRICT); INSERT INTO rparent VALUES (1); INSERT INTO rchild VALUES (1)`);
    const error = await mappedFrom('DELETE FROM rparent', [], 'rparent');
    expect(error).toBeInstanceOf(InvalidReferenceError);
    expect(error.message).toContain('still referenced');
  });

  it('23502 not-null violation → ValidationError naming the column', async () => {
    const error = await mappedFrom(`INSERT INTO packs (ref, version, name) VALUES ('p', '1.0.0', NULL)`, [], 'pack');
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ field: 'name' });
    expect(error.message).toContain('pack.name is required');
  });

  it('23514 check violation → ValidationError with the field recovered from the constraint name', async () => {
    const error = await mappedFrom(`INSERT INTO workers (name, port) VALUES ('w', 0)`, [], 'worker');
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ field: 'port' });
    expect(error.message).toContain('workers_port_check');
  });

  it('22P02 invalid text representation → ValidationError', async () => {
    const error = await mappedFrom('SELECT $1::bigint', ['abc']);
    expect(error).toBeInstanceOf(ValidationError);
  });

  it('an unknown SQLSTATE → DatabaseError keeping the code', async () => {
    const error = await mappedFrom('SELECT * FROM no_such_table');
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).sqlState).toBe('42P01');
  });

  it('mapErrors wraps a call and passes AttuneErrors through untouched', async () => {
    const original = new NotFoundError('pack', 'id', 1);
    await expect(mapErrors('pack', async () => Promise.reject(original))).rejects.toBe(original);
    await expectErrorType(mapErrors('pack', () => Promise.reject(Object.assign(new Error('x'), { code: '23505' }))), AlreadyExistsError);
    expect(await mapErrors('pack', async () => 42)).toBe(42);
  });
});

describe('mapPgError on connection failures', () => {
  it.each(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', '08006', '57P01', '53300'])('%s → DatabaseUnavailableError', (code) => {
    expect(mapPgError(Object.assign(new Error('boom'), { code }))).toBeInstanceOf(DatabaseUnavailableError);
  });

  it('treats 08P01 (protocol violation) as a programming error, not an outage', () => {
    const error = mapPgError(Object.assign(new Error('bind message supplies 2 parameters'), { code: '08P01' }));
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).sqlState).toBe('08P01');
  });

  it('recognises pg messages for dropped connections and checkout time-outs', () => {
    expect(mapPgError(new Error('Connection terminated unexpectedly'))).toBeInstanceOf(DatabaseUnavailableError);
    expect(mapPgError(new Error('timeout exceeded when trying to connect'))).toBeInstanceOf(DatabaseUnavailableError);
  });

  it('recognises a client whose connection died or was closed, which pg reports without a code', () => {
    for (const message of ['Client has encountered a connection error and is not queryable', 'Client was closed and is not queryable']) {
      expect(mapPgError(new Error(message))).toBeInstanceOf(DatabaseUnavailableError);
    }
  });

  it('maps a statement on a client whose backend was terminated to DatabaseUnavailableError', async () => {
    const client = new pg.Client({ connectionString: process.env.ATTUNE__DATABASE__URL });
    client.on('error', () => undefined);
    await client.connect();
    const closed = new Promise((resolve) => client.once('end', resolve));
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await ctx.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await closed;
    const error = await client.query('SELECT 1').then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(isConnectionError(error)).toBe(true);
    expect(mapPgError(error)).toBeInstanceOf(DatabaseUnavailableError);
  });

  it('is the one classifier: statement failures and plain errors are not connection errors', async () => {
    const unique = Object.assign(new Error('duplicate key'), { code: '23505' });
    const protocol = Object.assign(new Error('bind message supplies 2 parameters'), { code: '08P01' });
    for (const error of [unique, protocol, new Error('boom'), new Error('the Connection terminated'), null, undefined, 'ECONNRESET', 42]) {
      expect(isConnectionError(error)).toBe(false);
    }
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', '08006', '08001', '57P01', '57P02', '57P03', '53300']) {
      expect(isConnectionError(Object.assign(new Error('x'), { code }))).toBe(true);
    }
  });

  it('never echoes the value of a secret field', () => {
    const error = mapPgError(
      Object.assign(new Error('dup'), { code: '23505', detail: 'Key (value)=(hunter2) already exists.' }),
      'key',
      ['value'],
    );
    expect(error.value).toBeUndefined();
    expect(error.cause).toBeUndefined();
    expect(error.message).not.toContain('hunter2');
    expect(JSON.stringify(error.toJSON())).not.toContain('hunter2');
  });
});
