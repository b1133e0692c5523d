import pg from 'pg';
import { DatabaseError } from '../errors.js';
import { isConnectionError, mapPgError } from './pg-errors.js';
import type { Executor } from './pool.js';

/**
 * Executors that cannot report their connection's transaction status (a
 * wrapper that forwards `query` to a client, say) but run inside a
 * transaction opened elsewhere. A real client reports its own status and is
 * never looked up here.
 */
const markedInTransaction = new WeakSet<object>();
let savepointCounter = 0;

/** The SQLSTATE PostgreSQL gives statements in a transaction an earlier error aborted. */
const IN_FAILED_TRANSACTION = '25P02';

/**
 * Runs `fn` in a transaction and commits when it resolves, rolls back when
 * it throws.
 *
 * - Given a pool, it checks out a client for the duration and returns it
 *   afterwards, or discards it when its connection died or its transaction
 *   could not be ended cleanly (a failed ROLLBACK).
 * - Given a client that is already inside a transaction, however it got there
 *   (`withTransaction`, the caller's own `BEGIN`, the test kit), it nests with
 *   a savepoint, so the caller's transaction decides what is committed. The
 *   client's own transaction status says so (as of its last completed
 *   statement); an executor that has none counts as inside one only when
 *   `markInTransaction` said so.
 * - Given any other client, it opens a transaction on it.
 *
 * Every failure of its own statements (checkout, BEGIN, COMMIT, SAVEPOINT)
 * becomes an AttuneError through `mapPgError`; a connection lost during `fn`
 * becomes `DatabaseUnavailableError` rather than an uncaught 'error' event.
 * A COMMIT that PostgreSQL answers with a rollback, because a statement in
 * the transaction failed and `fn` caught the error without a savepoint, is a
 * `DatabaseError` with SQLSTATE 25P02: nothing was committed.
 */
export async function withTransaction<T>(db: Executor | pg.Pool | pg.PoolClient | pg.Client, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  if (db instanceof pg.Pool) return withPooledClient(db, fn);
  const client = db as pg.PoolClient;
  const watch = watchConnection(client);
  try {
    return await (isInTransaction(client) ? runInSavepoint(client, fn) : runInTransaction(client, fn));
  } finally {
    watch.stop();
  }
}

/**
 * Marks an executor that cannot report its transaction status as inside (or
 * no longer inside) a transaction opened elsewhere, so `withTransaction` on
 * it nests with a savepoint. Clients need no marking: they report their status.
 */
export function markInTransaction(executor: object, inside: boolean): void {
  if (inside) markedInTransaction.add(executor);
  else markedInTransaction.delete(executor);
}

/** True when `db` is a connection inside a transaction (or an executor marked as one). */
export function isInTransaction(db: object): boolean {
  const status = (db as { getTransactionStatus?: () => string | null }).getTransactionStatus?.();
  // 'I' idle, 'T' in a transaction, 'E' in a failed one.
  if (typeof status === 'string') return status !== 'I';
  return markedInTransaction.has(db);
}

async function withPooledClient<T>(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw mapPgError(error);
  }
  const watch = watchConnection(client);
  const outcome: Outcome = { rollbackFailed: false };
  try {
    return await runInTransaction(client, fn, outcome);
  } finally {
    watch.stop();
    // A client still inside a transaction would hand its half-done work to the next borrower.
    const status = client.getTransactionStatus?.();
    const broken = watch.lost !== undefined || outcome.rollbackFailed || (typeof status === 'string' && status !== 'I');
    client.release(broken);
  }
}

/** What the pool path needs to know after the transaction: whether its ROLLBACK failed. */
interface Outcome {
  rollbackFailed: boolean;
}

async function runInTransaction<T>(client: pg.PoolClient, fn: (tx: pg.PoolClient) => Promise<T>, outcome: Outcome = { rollbackFailed: false }): Promise<T> {
  await control(client, 'BEGIN');
  let result: T;
  try {
    result = await fn(client);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {
      outcome.rollbackFailed = true;
    });
    throw asAttuneIfConnectionLost(error);
  }
  const commit = await control(client, 'COMMIT');
  if (commit.command === 'ROLLBACK') {
    throw new DatabaseError(
      'Database error 25P02: the transaction was rolled back, not committed: a statement in it failed and its error was caught without a savepoint (use withTransaction for the statement that may fail)',
      IN_FAILED_TRANSACTION,
    );
  }
  return result;
}

async function runInSavepoint<T>(client: pg.PoolClient, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const name = `attune_sp_${++savepointCounter}`;
  await control(client, `SAVEPOINT ${name}`);
  let result: T;
  try {
    result = await fn(client);
  } catch (error) {
    // When this fails too, the enclosing transaction stays aborted and its COMMIT says so.
    await client.query(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => undefined);
    throw asAttuneIfConnectionLost(error);
  }
  await control(client, `RELEASE SAVEPOINT ${name}`);
  return result;
}

/** Runs a transaction-control statement, mapping its failure. */
async function control(client: pg.PoolClient, sql: string): Promise<pg.QueryResult> {
  try {
    return await client.query(sql);
  } catch (error) {
    throw mapPgError(error);
  }
}

/** A connection error from `fn` (say, a raw `tx.query` on a dead client) becomes DatabaseUnavailableError; anything else is `fn`'s own and passes unchanged. */
function asAttuneIfConnectionLost(error: unknown): unknown {
  return isConnectionError(error) ? mapPgError(error) : error;
}

interface ConnectionWatch {
  /** The first error the connection emitted while watched. */
  readonly lost: Error | undefined;
  stop(): void;
}

/**
 * Listens for 'error' on a client while a transaction uses it. A pooled
 * client that is checked out has no listener of its own, and an 'error'
 * event without one is thrown out of the socket handler and ends the
 * process. The failure itself reaches the caller through the next statement,
 * which the dead client refuses. A client that died keeps the listener: it
 * can emit once more as its socket closes.
 */
function watchConnection(client: object): ConnectionWatch {
  const emitter = client as Partial<Pick<pg.Client, 'on' | 'removeListener'>>;
  if (typeof emitter.on !== 'function' || typeof emitter.removeListener !== 'function') return { lost: undefined, stop: () => undefined };
  let lost: Error | undefined;
  const onError = (error: Error) => {
    lost ??= error;
  };
  emitter.on.call(client, 'error', onError);
  return {
    get lost() {
      return lost;
    },
    stop: () => {
      if (lost === undefined) emitter.removeListener!.call(client, 'error', onError);
    },
  };
}
