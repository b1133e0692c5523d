/**
 * A second process for test/sensors/sensors-role.test.ts: runs a sensors
 * role against ATTUNE__DATABASE__URL with the settings in argv[2] (JSON),
 * prints "ready" once it started, and runs until it is killed. Run with
 * `node --import tsx`.
 */
import { NotificationListener } from '../../src/db/listener.js';
import { createPool } from '../../src/db/pool.js';
import { createLogger } from '../../src/log.js';
import { createSensorsRole } from '../../src/sensors/sensors-role.js';

const url = process.env.ATTUNE__DATABASE__URL;
const settings = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
if (url === undefined) throw new Error('usage: sensors-role-child <settings JSON> with ATTUNE__DATABASE__URL set');
const pool = createPool({ url, maxConnections: 2 });
const listener = new NotificationListener({ url, healthCheckMs: 0 });
await listener.start();
const role = createSensorsRole({ db: pool, url, listener, logger: createLogger('silent'), settings });
await role.start();
process.stdout.write('ready\n');
setInterval(() => undefined, 60_000);
