import pg from 'pg';
import type { Executor } from './pool.js';

/** Clients currently inside a transaction opened by `withTransaction`. */
const openTransactions = new WeakSet<object>();
let savepointCounter = 0;

/**
 * Runs `fn` in a transaction and commits when it resolves, rolls back when
 * it throws. Given a pool, it checks out a client for the duration; given a
 * client already inside `withTransaction`, it nests with a savepoint; given
 * any other client, it opens a transaction on it.
 */
export async function withTransaction<T>(db: Executor | pg.Pool | pg.PoolClient | pg.Client, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  if (db instanceof pg.Pool) {
    const client = await db.connect();
    let broken = false;
    try {
      return await runInTransaction(client, fn);
    } catch (error) {
      broken = isConnectionError(error);
      throw error;
    } finally {
      client.release(broken);
    }
  }
  const client = db as pg.PoolClient;
  if (openTransactions.has(client)) return runInSavepoint(client, fn);
  return runInTransaction(client, fn);
}

async function runInTransaction<T>(client: pg.PoolClient, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  openTransactions.add(client);
  try {
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    openTransactions.delete(client);
  }
}

async function runInSavepoint<T>(client: pg.PoolClient, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const name = `attune_sp_${++savepointCounter}`;
  await client.query(`SAVEPOINT ${name}`);
  try {
    const result = await fn(client);
    await client.query(`RELEASE SAVEPOINT ${name}`);
    return result;
  } catch (error) {
    await client.query(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => undefined);
    throw error;
  }
}

/** Marks a client as inside a transaction opened elsewhere (the test kit does this), so nesting uses savepoints. */
export function markInTransaction(client: object, inside: boolean): void {
  if (inside) openTransactions.add(client);
  else openTransactions.delete(client);
}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string })?.code ?? '';
  return code.startsWith('08') || code === 'ECONNRESET' || code === '57P01';
}

