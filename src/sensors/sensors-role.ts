/**
 * The `sensors` role: runs the enabled sensors of active packs, each in
 * exactly one process across every sensors role sharing the database. A
 * sensor runs where its advisory lock is held (sensor-locks.ts); each role
 * looks, when sensors or packs change and on an interval, for sensors that
 * should run and that nobody holds, and takes them: that is also how a
 * sensor moves to another process when its holder dies.
 */
import type { SecretCipher } from '../crypto/secrets.js';
import type { NotificationListener } from '../db/listener.js';
import type { Executor } from '../db/pool.js';
import { mapErrors } from '../db/pg-errors.js';
import type { Logger } from '../log.js';
import type { Role } from '../roles.js';
import { SensorRepository, type Sensor } from '../repositories/sensors.js';
import { SensorLocks } from './sensor-locks.js';
import { SensorRunner, SENSORS_DEFAULTS, type SensorsSettings } from './sensor-runner.js';
import { RULES_CHANGED_CHANNEL } from './timers-role.js';
import { Wakeup } from './wake.js';

/** Sensor changes are announced here (migration 0021); pack activation on attune_rules_changed. */
export const SENSORS_CHANGED_CHANNEL = 'attune_sensors_changed';

export interface SensorsRoleOptions {
  db: Executor;
  /** The database URL, for the lock connection. */
  url: string;
  listener: NotificationListener;
  logger: Logger;
  settings?: Partial<SensorsSettings>;
  cipher?: SecretCipher | undefined;
}

export interface SensorsRole extends Role {
  /** Refs of the sensors this process runs. */
  running(): string[];
  /** The runner of a sensor this process runs. */
  runner(ref: string): SensorRunner | undefined;
  /** Looks for sensors to start or stop before the next interval. */
  requestReconcile(): void;
}

/** Enabled sensors of active pack versions, by ref. */
async function wantedSensors(db: Executor): Promise<Sensor[]> {
  const ids = await mapErrors('sensor', () =>
    db.query<{ id: string }>('SELECT s.id FROM sensors s JOIN packs p ON p.id = s.pack_id AND p.is_active WHERE s.enabled ORDER BY s.ref'),
  );
  const sensors: Sensor[] = [];
  for (const row of ids.rows) {
    const sensor = await SensorRepository.findById(db, Number(row.id));
    if (sensor !== null) sensors.push(sensor);
  }
  return sensors;
}

/** What identifies a sensor's definition: a new version or an edit restarts it. */
function versionOf(sensor: Sensor): string {
  return `${sensor.id}:${sensor.updatedAt.getTime()}`;
}

export function createSensorsRole(options: SensorsRoleOptions): SensorsRole {
  const settings: SensorsSettings = { ...SENSORS_DEFAULTS, ...options.settings };
  const logger = options.logger.child({ role: 'sensors' });
  const runners = new Map<string, { runner: SensorRunner; version: string }>();
  const wakeup = new Wakeup();
  let stopping = false;
  let loop: Promise<void> | undefined;
  const unlisteners: Array<() => Promise<void>> = [];

  const stopRunner = async (ref: string, reason: string): Promise<void> => {
    const entry = runners.get(ref);
    if (!entry) return;
    runners.delete(ref);
    logger.info({ sensor: ref, reason }, 'stopping sensor');
    await entry.runner.stop();
  };

  const locks = new SensorLocks({
    url: options.url,
    applicationName: 'attune sensors locks',
    onLost: (error) => {
      // Our locks are gone: someone else may start these sensors now, so they stop at once.
      logger.error({ err: error.message, sensors: [...runners.keys()] }, 'sensor lock connection lost; stopping its sensors');
      for (const ref of [...runners.keys()]) void stopRunner(ref, 'lock lost');
      wakeup.wake();
    },
  });

  async function reconcile(): Promise<void> {
    await locks.connect();
    const wanted = await wantedSensors(options.db);
    const byRef = new Map(wanted.map((sensor) => [sensor.ref, sensor]));
    for (const [ref, entry] of [...runners]) {
      const sensor = byRef.get(ref);
      if (sensor !== undefined && versionOf(sensor) === entry.version) continue;
      await stopRunner(ref, sensor === undefined ? 'disabled, removed or its pack version is no longer active' : 'changed');
      // A changed sensor keeps its lock and starts again below.
      if (sensor === undefined) await locks.unlock(ref);
    }
    for (const sensor of wanted) {
      if (stopping) return;
      if (runners.has(sensor.ref)) continue;
      if (!(await locks.tryLock(sensor.ref))) continue;
      const runner = new SensorRunner(sensor, { db: options.db, logger, settings, cipher: options.cipher });
      runners.set(sensor.ref, { runner, version: versionOf(sensor) });
      logger.info({ sensor: sensor.ref, runner: sensor.runnerType, entryPoint: sensor.entryPoint }, 'this process runs the sensor');
      runner.start();
    }
  }

  async function run(): Promise<void> {
    while (!stopping) {
      try {
        await reconcile();
      } catch (error) {
        logger.error({ err: (error as Error).message }, 'sensors reconcile failed; retrying');
      }
      if (!stopping) await wakeup.sleep(settings.reconcileIntervalMs);
    }
  }

  return {
    name: 'sensors',
    running: () => [...runners.keys()].sort(),
    runner: (ref) => runners.get(ref)?.runner,
    requestReconcile: () => wakeup.wake(),
    async start() {
      for (const channel of [SENSORS_CHANGED_CHANNEL, RULES_CHANGED_CHANNEL]) unlisteners.push(await options.listener.listen(channel, () => wakeup.wake()));
      await locks.connect();
      logger.info({ dataDir: settings.dataDir, maxEventsPerSecond: settings.maxEventsPerSecond }, 'sensors started');
      loop = run();
    },
    async stop() {
      stopping = true;
      wakeup.wake();
      await loop;
      await Promise.all([...runners.keys()].map((ref) => stopRunner(ref, 'stopping')));
      await locks.close();
      for (const unlisten of unlisteners.splice(0)) await unlisten();
      logger.info('sensors stopped');
    },
  };
}
