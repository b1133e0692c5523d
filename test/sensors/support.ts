/** Helpers for the timers and sensors tests: a logger that keeps its lines, waiting for a condition, the core pack. */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type pg from 'pg';
import { pino, type Logger } from 'pino';
import { NotificationListener } from '../../src/db/listener.js';
import { registerPack } from '../../src/packs/register.js';
import { loadTestConfig } from '../../src/testing/env.js';

export const CORE_PACK_DIR = join(import.meta.dirname, '..', '..', 'packs', 'core');

/** One parsed log line. */
export type LogLine = Record<string, unknown> & { msg: string; level: number };

/** A logger at debug whose lines are kept in `lines`, never printed. */
export function memoryLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as LogLine);
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, destination), lines };
}

/**
 * Waits until `check` returns a value other than undefined / false, polling;
 * fails with `what` after `timeoutMs` (generous: it bounds a hang, it is not
 * a speed assertion).
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Registers Attune's core pack (the timer triggers and their payload schemas, core.noop). */
export async function registerCore(db: pg.Pool): Promise<void> {
  await registerPack(db, CORE_PACK_DIR);
}

/** A started listener on the test database; close it after. */
export async function startListener(): Promise<NotificationListener> {
  const url = loadTestConfig().database.url!;
  const listener = new NotificationListener({ url, healthCheckMs: 0 });
  await listener.start();
  return listener;
}
