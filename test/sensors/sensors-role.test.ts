/**
 * The sensors role with real sensor processes (a Node script) against a real
 * PostgreSQL: lines become events, bad lines are logged and skipped, a
 * crashing sensor restarts with a growing back-off, a flood is throttled
 * with bounded memory, and a sensor runs once across processes, moving to
 * another when its holder is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NotificationListener } from '../../src/db/listener.js';
import { registerPack } from '../../src/packs/register.js';
import { SensorRepository } from '../../src/repositories/sensors.js';
import { createSensorsRole, type SensorsRole } from '../../src/sensors/sensors-role.js';
import type { SensorsSettings } from '../../src/sensors/sensor-runner.js';
import { cleanDatabase, createTestPool } from '../../src/testing/index.js';
import { loadTestConfig } from '../../src/testing/env.js';
import { writePack } from '../packs/support.js';
import { memoryLogger, startListener, waitFor, type LogLine } from './support.js';

const PACK = 'sensortest';
const SENSOR = `${PACK}.emitter`;
const TRIGGER = `${PACK}.tick`;

/** The sensor: what it does comes from its parameters' `mode`. */
const EMITTER = `
const params = JSON.parse(process.env.ATTUNE_SENSOR_PARAMETERS || '{}');
const trigger = process.env.ATTUNE_PACK_REF + '.tick';
const out = (value) => process.stdout.write((typeof value === 'string' ? value : JSON.stringify(value)) + '\\n');
const stay = () => setInterval(() => undefined, 60000);
switch (params.mode) {
  case 'lines':
    out({ trigger, payload: { n: 1 } });
    out('this is not JSON');
    out({ trigger: 'not a ref', payload: {} });
    out({ trigger, payload: { n: 2 }, trace_id: 'trace-2' });
    out({ trigger, payload: { n: 'three' } });
    out({ trigger: 'core.st2.webhook', payload: {} });
    out({ trigger, payload: { n: 3, env: Object.keys(process.env).sort() } });
    process.stderr.write('a line on stderr\\n');
    stay();
    break;
  case 'crash':
    out({ trigger, payload: { n: process.pid } });
    setTimeout(() => process.exit(3), 20);
    break;
  case 'flood':
    for (let i = 0; i < params.count; i++) {
      if (i === 10) out('x'.repeat(params.longLine));
      out({ trigger, payload: { n: i } });
    }
    stay();
    break;
  case 'hold':
    setInterval(() => out({ trigger, payload: { n: process.pid } }), 100);
    break;
}
`;

const pool = createTestPool({ maxConnections: 4 });
const url = loadTestConfig().database.url!;
let dataDir: string;
let sensorId: number;

beforeEach(async () => {
  await cleanDatabase(pool);
  dataDir = await mkdtemp(join(tmpdir(), 'attune-sensors-'));
  const dir = await writePack({
    'pack.yaml': `ref: ${PACK}\nname: Sensor test\nversion: 1.0.0\n`,
    'sensors/emitter.yaml': [
      'name: emitter',
      'runner: node',
      'entry_point: emitter.js',
      'trigger_types:',
      '  - name: tick',
      '    payload_schema: {type: object, properties: {n: {type: integer}}}',
      '',
    ].join('\n'),
    'sensors/emitter.js': EMITTER,
  });
  await registerPack(pool, dir);
  sensorId = (await SensorRepository.getByRef(pool, SENSOR)).id;
});

const roles: SensorsRole[] = [];
const listeners: NotificationListener[] = [];
const pools = [createTestPool({ maxConnections: 2 }), createTestPool({ maxConnections: 2 })];
afterEach(async () => {
  await Promise.all(roles.splice(0).map((role) => role.stop()));
  await Promise.all(listeners.splice(0).map((listener) => listener.close()));
  await rm(dataDir, { recursive: true, force: true });
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await pool.end();
});

const FAST: Partial<SensorsSettings> = { reconcileIntervalMs: 200, restartBackoffMs: 50, restartBackoffMaxMs: 400, stopGraceMs: 2_000 };

async function startRole(index: number, settings: Partial<SensorsSettings> = {}): Promise<{ role: SensorsRole; lines: LogLine[] }> {
  const listener = await startListener();
  listeners.push(listener);
  const { logger, lines } = memoryLogger();
  const role = createSensorsRole({ db: pools[index]!, url, listener, logger, settings: { dataDir, ...FAST, ...settings } });
  await role.start();
  roles.push(role);
  return { role, lines };
}

async function setMode(parameters: Record<string, unknown>): Promise<void> {
  await SensorRepository.update(pool, sensorId, { parameters });
}

async function events() {
  const result = await pool.query<{ payload: Record<string, any>; source: string; trace_id: string }>(
    'SELECT payload, source, trace_id FROM events WHERE trigger_ref = $1 ORDER BY id',
    [TRIGGER],
  );
  return result.rows;
}

const count = async () => (await events()).length;

describe('the sensors role', () => {
  it('turns each line into an event; a malformed line is logged with the sensor name and skipped', async () => {
    await setMode({ mode: 'lines' });
    const { role, lines } = await startRole(0);
    await waitFor('three events', async () => (await count()) >= 3);
    await waitFor('the refused event to be logged', () => lines.some((line) => line.msg === 'sensor event refused; skipped'));
    const fired = await events();
    expect(fired.map((event) => event.payload.n)).toEqual([1, 2, 3]);
    expect(fired.every((event) => event.source === `sensor:${SENSOR}`)).toBe(true);
    expect(fired[1]!.trace_id).toBe('trace-2');
    const malformed = lines.filter((line) => line.msg === 'malformed sensor line skipped');
    expect(malformed.map((line) => [line.sensor, line.reason])).toEqual([
      [SENSOR, 'not JSON'],
      [SENSOR, expect.stringContaining('trigger ref')],
      [SENSOR, expect.stringContaining("not one of the sensor's trigger types")],
    ]);
    const refused = lines.filter((line) => line.msg === 'sensor event refused; skipped');
    expect(refused.map((line) => line.sensor)).toEqual([SENSOR]);
    expect(String(refused[0]!.reason)).toContain('payload');
    await waitFor('stderr to be logged', () => lines.some((line) => line.msg === 'sensor stderr' && line.stderr === 'a line on stderr'));
    // A clean environment: none of the role's own variables (database URL, encryption key).
    const env = fired[2]!.payload.env as string[];
    expect(env.filter((name) => name.startsWith('ATTUNE__') || name === 'DATABASE_URL')).toEqual([]);
    expect(env).toEqual(expect.arrayContaining(['ATTUNE_SENSOR_REF', 'ATTUNE_PACK_REF', 'HOME', 'PATH']));
    expect(role.runner(SENSOR)!.stats).toMatchObject({ starts: 1, malformedLines: 3, refusedEvents: 1 });
  });

  it('restarts a crashing sensor with a back-off that grows up to its cap', async () => {
    await setMode({ mode: 'crash' });
    const { role, lines } = await startRole(0);
    await waitFor('five starts', () => (role.runner(SENSOR)?.stats.starts ?? 0) >= 5);
    const delays = lines.filter((line) => line.msg === 'restarting sensor after a back-off').map((line) => line.delayMs as number);
    expect(delays.length).toBeGreaterThanOrEqual(4);
    expect(delays[1]!).toBeGreaterThan(delays[0]!);
    expect(delays[2]!).toBeGreaterThan(delays[1]!);
    expect(Math.max(...delays)).toBeLessThanOrEqual(400);
    expect(lines.filter((line) => line.msg === 'sensor exited').map((line) => (line.exit as { code: number }).code).slice(0, 3)).toEqual([3, 3, 3]);
    await waitFor('an event from each start', async () => new Set((await events()).map((e) => e.payload.n)).size >= 4);
  });

  it('throttles a flood: its stdout is paused, memory stays bounded, no event is lost, an over-long line is skipped', async () => {
    const total = 3_000;
    await setMode({ mode: 'flood', count: total, longLine: 4096 });
    const { role, lines } = await startRole(0, { maxQueuedEvents: 50, batchSize: 25, maxEventsPerSecond: 5_000, maxLineBytes: 1024 });
    await waitFor('every event of the flood', async () => (await count()) === total, 60_000);
    const stats = role.runner(SENSOR)!.stats;
    expect(stats.pauses).toBeGreaterThan(0);
    expect(stats.longLines).toBe(1);
    // At most the queue's limit plus the lines of one chunk read before the pause took effect.
    expect(stats.highWater).toBeLessThan(50 + 2_000);
    expect(lines.filter((line) => line.msg === 'sensor line too long; skipped').map((line) => line.sensor)).toEqual([SENSOR]);
    expect((await events()).map((event) => event.payload.n)).toEqual(Array.from({ length: total }, (_, i) => i));
  }, 90_000);

  it('runs a sensor once across two roles with their own pools and lock connections', async () => {
    await setMode({ mode: 'hold' });
    const [one, two] = await Promise.all([startRole(0), startRole(1)]);
    await waitFor('a few events', async () => (await count()) >= 5);
    one.role.requestReconcile();
    two.role.requestReconcile();
    await waitFor('more events', async () => (await count()) >= 10);
    expect([one.role.running(), two.role.running()].sort()).toEqual([[], [SENSOR]]);
    expect(new Set((await events()).map((event) => event.payload.n)).size).toBe(1);
  });

  it('a sensor whose holder is killed is taken over by the other role', { timeout: 60_000 }, async () => {
    await setMode({ mode: 'hold' });
    const child = startChild({ dataDir, ...FAST });
    let orphan: number | undefined;
    try {
      await waitFor('the child to start', () => child.ready, 30_000);
      await waitFor('events from the child', async () => (await count()) >= 3, 30_000);
      orphan = (await events())[0]!.payload.n as number;
      const { role } = await startRole(0);
      role.requestReconcile();
      await waitFor('more events from the child', async () => (await count()) >= 6);
      expect(role.running()).toEqual([]);

      child.process.kill('SIGKILL');
      await waitFor('the takeover', () => role.running().includes(SENSOR) || undefined, 30_000);
      await waitFor('events from the new holder', async () => (await events()).some((event) => event.payload.n !== orphan));
      expect(role.runner(SENSOR)!.stats.starts).toBe(1);
    } finally {
      child.process.kill('SIGKILL');
      // The killed role's sensor loses its stdout and dies at its next write; make sure.
      if (orphan !== undefined) {
        try {
          process.kill(-orphan, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    }
  });
});

function startChild(settings: Partial<SensorsSettings>): { process: ChildProcess; ready: boolean } {
  const script = join(import.meta.dirname, 'sensors-role-child.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(settings)], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const state = { process: child, ready: false };
  child.stdout!.on('data', (chunk: Buffer) => {
    if (chunk.toString().includes('ready')) state.ready = true;
  });
  child.stderr!.on('data', () => undefined);
  return state;
}
