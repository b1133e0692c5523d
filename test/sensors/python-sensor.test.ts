/** A StackStorm-style Python sensor class run through Attune's shim (runtime/python/attune_sensor_runner.py). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { NotificationListener } from '../../src/db/listener.js';
import { registerPack } from '../../src/packs/register.js';
import { createSensorsRole, type SensorsRole } from '../../src/sensors/sensors-role.js';
import { cleanDatabase, createTestPool } from '../../src/testing/index.js';
import { loadTestConfig } from '../../src/testing/env.js';
import { writePack } from '../packs/support.js';
import { memoryLogger, startListener, waitFor } from './support.js';

const SENSOR_PY = `
from st2reactor.sensor.base import PollingSensor


class CountingSensor(PollingSensor):
    def setup(self):
        self.count = 0
        self.logger = self.sensor_service.get_logger(__name__)
        try:
            self.sensor_service.get_value('state')
            self.unsupported = None
        except NotImplementedError as error:
            self.unsupported = str(error)

    def poll(self):
        self.count += 1
        print('a print() goes to stderr, not into the event stream')
        self.logger.info('polled %d', self.count)
        self.sensor_service.dispatch(trigger='tick', payload={'n': self.count, 'greeting': self.config.get('greeting'), 'unsupported': self.unsupported}, trace_tag='t-%d' % self.count)

    def cleanup(self):
        pass

    def add_trigger(self, trigger):
        pass

    def update_trigger(self, trigger):
        pass

    def remove_trigger(self, trigger):
        pass
`;

const pool = createTestPool();
let role: SensorsRole | undefined;
let listener: NotificationListener | undefined;
let dataDir: string | undefined;
afterAll(async () => {
  await role?.stop();
  await listener?.close();
  await pool.end();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it('runs a PollingSensor class: setup, poll every poll_interval, dispatch as events, prints kept out of the stream, the datastore refused by name', async () => {
  await cleanDatabase(pool);
  const dir = await writePack({
    'pack.yaml': 'ref: pysensor\nname: Python sensor\nversion: 1.0.0\n',
    'config.schema.yaml': 'greeting: {type: string, default: hello}\n',
    'sensors/counting.yaml': 'class_name: CountingSensor\nentry_point: counting.py\npoll_interval: 1\ntrigger_types:\n  - name: tick\n',
    'sensors/counting.py': SENSOR_PY,
  });
  await registerPack(pool, dir);
  dataDir = await mkdtemp(join(tmpdir(), 'attune-pysensor-'));
  listener = await startListener();
  const { logger, lines } = memoryLogger();
  role = createSensorsRole({ db: pool, url: loadTestConfig().database.url!, listener, logger, settings: { dataDir, reconcileIntervalMs: 200, stopGraceMs: 2_000 } });
  await role.start();
  const events = async () =>
    (await pool.query<{ payload: Record<string, unknown>; trace_id: string }>("SELECT payload, trace_id FROM events WHERE trigger_ref = 'pysensor.tick' ORDER BY id")).rows;
  await waitFor('two polls', async () => (await events()).length >= 2, 30_000);
  const [first, second] = await events();
  expect(first!.payload).toMatchObject({ n: 1, greeting: 'hello' });
  expect(second!.payload).toMatchObject({ n: 2 });
  expect(first!.trace_id).toBe('t-1');
  expect(String(first!.payload.unsupported)).toContain('sensor_service.get_value is not available in Attune');
  expect(role.runner('pysensor.CountingSensor')!.stats.malformedLines).toBe(0);
  expect(lines.some((line) => line.msg === 'sensor stderr' && String(line.stderr).includes('a print() goes to stderr'))).toBe(true);
  expect(lines.some((line) => line.msg === 'sensor stderr' && String(line.stderr).includes('polled 1'))).toBe(true);
});
