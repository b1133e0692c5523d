/**
 * Found by the connection-kills scenario: a webhook whose connection was
 * terminated in the middle of its transaction got a 503, though nothing had
 * been stored and a fresh connection was at hand. The API now stores it on a
 * fresh connection when the loss came before the transaction's work was done.
 */
import { afterAll, beforeEach, expect, it } from 'vitest';
import { createPool } from '../../src/db/pool.js';
import { cleanDatabase, createTestPool } from '../../src/testing/index.js';
import { apiConfig, call, testApp } from '../api/support.js';
import { createWebhookRule } from './load.js';
import { waitUntil } from './support.js';

const APPLICATION = 'attune webhook retry test';
const pool = createTestPool();
// The app's own pool, named so the test can find (and terminate) its connection.
const appPool = createPool({ url: process.env.ATTUNE__DATABASE__URL!, maxConnections: 2, applicationName: APPLICATION });
const built = testApp(appPool, apiConfig({ security: { enableAuth: false } }));
afterAll(async () => {
  await (await built).app.close();
  await appPool.end();
  await pool.end();
});
beforeEach(() => cleanDatabase(pool));

it('a webhook whose connection is terminated mid-transaction is stored once on a fresh connection: 202, not 503', { timeout: 60_000 }, async () => {
  const { path } = await createWebhookRule(pool, 'retry');
  const { app } = await built;
  // Hold the events table so the webhook's INSERT waits, then terminate the connection it waits on.
  const locker = await pool.connect();
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE events IN EXCLUSIVE MODE');
    const reply = call(app, { method: 'POST', url: path, payload: { n: 1 } });
    const pid = await waitUntil(
      'the webhook to wait on the lock',
      async () => (await pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [APPLICATION])).rows[0]?.pid,
      30_000,
      20,
    );
    await pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await locker.query('ROLLBACK');
    const response = await reply;
    expect(response.statusCode, response.body).toBe(202);
    const events = await pool.query<{ id: number }>(`SELECT id FROM events WHERE source = 'webhook:retry'`);
    expect(events.rows.map((row) => Number(row.id))).toEqual([response.data.data.event_id]);
  } finally {
    locker.release();
  }
});
