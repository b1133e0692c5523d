/**
 * Child of checked-out-client.short.test.ts: checks a client out of an Attune
 * pool, has its backend terminated while it sits between queries, then uses
 * the pool again. Prints 'survived' and exits 0 when the process lived
 * through it; an unheard 'error' event would crash it first.
 * Usage: node --import tsx checked-out-client-child.ts <database url>
 */
import pg from 'pg';
import { createPool } from '../../src/db/pool.js';

const url = process.argv[2]!;
const pool = createPool({ url, maxConnections: 2, applicationName: 'attune fault-child' });
const held = await pool.connect();
const { rows } = await held.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
// The held connection's end (the server's FATAL message arrived and the socket closed) is awaited below, so the path
// under test is taken however slow the machine is. Only 'end' is listened to: the 'error' event must be heard by the pool.
const ended = new Promise<void>((resolve) => held.once('end', () => resolve()));
const admin = new pg.Client({ connectionString: url });
await admin.connect();
await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
await admin.end();
let timer: NodeJS.Timeout | undefined;
await Promise.race([
  ended,
  new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('the held connection did not end within 20 s of pg_terminate_backend')), 20_000);
  }),
]);
clearTimeout(timer);
held.release(true);
await pool.query('SELECT 1');
await pool.end();
process.stdout.write('survived\n');
