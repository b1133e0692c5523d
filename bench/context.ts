import type pg from 'pg';
import type { Executor } from '../src/db/pool.js';
import type { RecordingExecutor } from './harness.js';

/** What every case factory receives. */
export interface BenchContext {
  /** The one connection both sides run on, behind the recording wrapper. */
  exec: RecordingExecutor;
  /** `exec` as a repository executor. Baselines send their SQL through it too. */
  db: Executor;
  /** The raw client (for COPY and plan checks). */
  client: pg.PoolClient;
  quick: boolean;
}

/** The bench database's URL, from the bench connection's parameters (for pools and role processes of its own). */
export function databaseUrlOf(client: pg.PoolClient): string {
  const c = client as unknown as pg.Client;
  const auth = c.user ? `${encodeURIComponent(c.user)}${c.password ? `:${encodeURIComponent(c.password)}` : ''}@` : '';
  return `postgres://${auth}${c.host}:${c.port}/${c.database}`;
}

/** Picks element `i` of a list, cycling. */
export function cycle<T>(items: readonly T[], i: number): T {
  return items[((i % items.length) + items.length) % items.length]!;
}

/** A deterministic spread over 0..n-1 for operation i (a large prime stride). */
export function spread(i: number, n: number): number {
  return Math.abs((i * 7919) % n);
}

/** A counter for values that must be unique across variants and runs of one case (refs, names). */
export function counter(): () => number {
  let next = 0;
  return () => ++next;
}
