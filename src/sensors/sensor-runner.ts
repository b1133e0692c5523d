/**
 * Runs one pack sensor for as long as this process holds it: materialises
 * its pack version, starts it in its own process group with a clean
 * environment (never this process's, which holds the database URL and the
 * encryption key), turns its stdout lines into events through an EventPump,
 * logs its stderr, and restarts it with a capped exponential back-off when
 * it exits. Stopping it kills its whole group: SIGTERM, then SIGKILL after
 * the grace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { defaults } from '../config.js';
import type { AttuneConfig } from '../config-types.js';
import type { SecretCipher } from '../crypto/secrets.js';
import { backoffDelay } from '../db/listener.js';
import type { Executor } from '../db/pool.js';
import type { Logger } from '../log.js';
import { materializePack } from '../packs/materialize.js';
import { resolvePackConfig } from '../packs/pack-config.js';
import type { Sensor } from '../repositories/sensors.js';
import { ensurePythonEnvironment, readRequirements } from '../worker/dependencies.js';
import { DEFAULT_LANG, DEFAULT_SAFE_PATH } from '../worker/environment.js';
import { signalGroup } from '../worker/process-group.js';
import { PYTHON_RUNTIME_DIR } from '../worker/runners/python.js';
import { EventPump, parseSensorLine } from './event-pump.js';
import { LineSplitter } from './line-splitter.js';
import { Wakeup } from './wake.js';

/**
 * The sensors role's settings: the `sensors` section of the configuration
 * (src/config-types.ts documents each), plus `healthyRunMs`: a sensor that
 * ran at least this long before exiting was healthy, and its next restart
 * starts again from the first delay.
 */
export type SensorsSettings = AttuneConfig['sensors'] & { healthyRunMs: number };

/** The configuration's defaults for the section, and a minute for `healthyRunMs`. */
export const SENSORS_DEFAULTS: SensorsSettings = { ...defaults().sensors, healthyRunMs: 60_000 };

export interface SensorRunnerOptions {
  db: Executor;
  logger: Logger;
  settings: SensorsSettings;
  /** Decrypts the pack's secret configuration for the sensor. */
  cipher?: SecretCipher | undefined;
}

/** What the runner has seen, for logs and tests. */
export interface SensorRunnerStats {
  starts: number;
  restarts: number;
  malformedLines: number;
  longLines: number;
  refusedEvents: number;
  firedEvents: number;
  pauses: number;
  /** Most events held in memory at once. */
  highWater: number;
  /** Process group of the current run. */
  pgid: number | undefined;
}

/** How a run is started. */
interface LaunchPlan {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/** Stderr lines logged per second per sensor; the rest are counted. */
const STDERR_LINES_PER_SECOND = 20;
/** After a sensor exits, how long its pipes may still deliver lines. */
const DRAIN_MS = 1_000;

export class SensorRunner {
  readonly stats: SensorRunnerStats = { starts: 0, restarts: 0, malformedLines: 0, longLines: 0, refusedEvents: 0, firedEvents: 0, pauses: 0, highWater: 0, pgid: undefined };
  readonly #options: SensorRunnerOptions;
  readonly #logger: Logger;
  readonly #wakeup = new Wakeup();
  #stopping = false;
  #loop: Promise<void> | undefined;
  #child: ChildProcess | undefined;

  constructor(
    readonly sensor: Sensor,
    options: SensorRunnerOptions,
  ) {
    this.#options = options;
    this.#logger = options.logger.child({ sensor: sensor.ref });
  }

  /** Starts the sensor and keeps it running until `stop`. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops the sensor's process group and waits for the last events to be written. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wakeup.wake();
    this.#terminate();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { settings } = this.#options;
    let attempt = 0;
    while (!this.#stopping) {
      const startedAt = Date.now();
      try {
        const plan = await this.#prepare();
        if (this.#stopping) break;
        const exit = await this.#runOnce(plan);
        if (this.#stopping) break;
        this.#logger.warn({ exit }, 'sensor exited');
      } catch (error) {
        if (this.#stopping) break;
        this.#logger.error({ err: (error as Error).message }, 'sensor could not start');
      }
      // A sensor that ran for a while before exiting starts again from the first delay.
      if (Date.now() - startedAt >= settings.healthyRunMs) attempt = 0;
      const delay = backoffDelay(attempt++, { initialMs: settings.restartBackoffMs, maxMs: settings.restartBackoffMaxMs, jitter: 0.1 });
      this.stats.restarts++;
      this.#logger.info({ delayMs: delay, restarts: this.stats.restarts }, 'restarting sensor after a back-off');
      await this.#wakeup.sleep(delay);
    }
  }

  /** The pack version on disk, a fresh home folder, the configuration file, and the command. */
  async #prepare(): Promise<LaunchPlan> {
    const { sensor } = this;
    const { settings, db } = this.#options;
    const pack = await materializePack(db, sensor.packId, resolve(settings.dataDir, 'packs'));
    const sensorsDir = join(pack.path, 'sensors');
    const entry = resolve(sensorsDir, sensor.entryPoint);
    const inside = relative(sensorsDir, entry);
    if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) {
      throw new Error(`entry point ${JSON.stringify(sensor.entryPoint)} leaves the pack's sensors folder`);
    }
    const home = resolve(settings.dataDir, 'sensors', sensor.ref);
    await rm(home, { recursive: true, force: true });
    await mkdir(home, { recursive: true, mode: 0o700 });
    const env: Record<string, string> = {
      PATH: DEFAULT_SAFE_PATH,
      HOME: home,
      LANG: DEFAULT_LANG,
      ATTUNE_SENSOR_REF: sensor.ref,
      ATTUNE_PACK_REF: sensor.packRef,
      ATTUNE_SENSOR_PARAMETERS: JSON.stringify(sensor.parameters),
      ST2_ACTION_PACK_NAME: sensor.packRef,
    };
    const config = await resolvePackConfig(db, sensor.packRef, { cipher: this.#options.cipher });
    const configFile = join(home, 'config.json');
    await writeFile(configFile, JSON.stringify(config), { mode: 0o600 });
    env.ATTUNE_SENSOR_CONFIG_FILE = configFile;

    if (sensor.runnerType === 'node') return { command: process.execPath, args: [entry], cwd: home, env };
    const requirements = await readRequirements(pack.path);
    const python =
      requirements.length === 0
        ? settings.python
        : (await ensurePythonEnvironment(pack.path, resolve(settings.dataDir, 'environments'), requirements, { python: settings.python })).python;
    const args = [join(PYTHON_RUNTIME_DIR, 'attune_sensor_runner.py'), '--file', entry, '--pack', sensor.packRef, '--pack-dir', pack.path, '--config-file', configFile];
    if (sensor.className !== null) args.push('--class', sensor.className);
    if (sensor.pollInterval !== null) args.push('--poll-interval', String(sensor.pollInterval));
    return {
      command: python,
      args,
      cwd: home,
      env: { ...env, PYTHONPATH: PYTHON_RUNTIME_DIR, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
    };
  }

  /** One run: resolves with how the process ended once its output is drained and its events written. */
  #runOnce(plan: LaunchPlan): Promise<{ code: number | null; signal: NodeJS.Signals | null } | { error: string }> {
    const { settings, db } = this.#options;
    const { sensor } = this;
    return new Promise((resolveRun) => {
      const child = spawn(plan.command, plan.args, { cwd: plan.cwd, env: plan.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      this.#child = child;
      this.stats.starts++;
      this.stats.pgid = child.pid;
      const pump = new EventPump({
        db,
        batchSize: settings.batchSize,
        maxQueued: settings.maxQueuedEvents,
        maxPerSecond: settings.maxEventsPerSecond,
        onRefused: (error, event) => {
          this.stats.refusedEvents++;
          this.#logger.warn({ trigger: event.triggerRef, reason: error.message }, 'sensor event refused; skipped');
        },
        onDatabaseError: (error) => this.#logger.error({ err: error.message }, 'cannot write sensor events; retrying'),
        onPause: () => {
          this.stats.pauses++;
          this.#logger.warn({ queued: settings.maxQueuedEvents, maxEventsPerSecond: settings.maxEventsPerSecond }, 'sensor writes faster than its events can be stored: throttled');
          child.stdout?.pause();
        },
        onResume: () => child.stdout?.resume(),
      });
      const source = `sensor:${sensor.ref}`;
      const stdout = new LineSplitter(settings.maxLineBytes, {
        line: (text) => {
          const parsed = parseSensorLine(text, source, sensor.triggerTypes);
          if ('event' in parsed) pump.push(parsed.event);
          else {
            this.stats.malformedLines++;
            this.#logger.warn({ reason: parsed.error, line: text.slice(0, 200) }, 'malformed sensor line skipped');
          }
        },
        tooLong: (bytes) => {
          this.stats.longLines++;
          this.#logger.warn({ bytes, maxLineBytes: settings.maxLineBytes }, 'sensor line too long; skipped');
        },
      });
      let window = 0;
      let logged = 0;
      let dropped = 0;
      const stderr = new LineSplitter(16 * 1024, {
        line: (text) => {
          const second = Math.floor(Date.now() / 1000);
          if (second !== window) {
            if (dropped > 0) this.#logger.info({ dropped }, 'sensor stderr lines not logged (too many)');
            window = second;
            logged = 0;
            dropped = 0;
          }
          if (logged++ < STDERR_LINES_PER_SECOND) this.#logger.info({ stderr: text }, 'sensor stderr');
          else dropped++;
        },
        tooLong: () => undefined,
      });
      child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.stdout!.on('error', () => undefined);
      child.stderr!.on('error', () => undefined);
      this.#logger.info({ pid: child.pid, command: plan.command }, 'sensor started');

      let settled = false;
      let drainTimer: NodeJS.Timeout | undefined;
      const finish = (outcome: { code: number | null; signal: NodeJS.Signals | null } | { error: string }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(drainTimer);
        stdout.end();
        child.stdout?.destroy();
        child.stderr?.destroy();
        this.#child = undefined;
        void pump.close(settings.stopGraceMs).then(() => {
          this.stats.firedEvents += pump.stats.fired;
          this.stats.highWater = Math.max(this.stats.highWater, pump.stats.highWater);
          resolveRun(outcome);
        });
      };
      child.on('error', (error) => finish({ error: `could not start ${plan.command}: ${error.message}` }));
      child.on('exit', (code, signal) => {
        // Whatever the sensor left running in its group goes with it.
        if (child.pid !== undefined) {
          try {
            signalGroup(child.pid, 'SIGKILL');
          } catch {
            // The group is already gone.
          }
        }
        child.stdout?.resume();
        drainTimer = setTimeout(() => finish({ code, signal }), this.#stopping ? 0 : DRAIN_MS);
        child.once('close', () => finish({ code, signal }));
      });
    });
  }

  /** SIGTERM to the sensor's group, SIGKILL after the grace. */
  #terminate(): void {
    const pid = this.#child?.pid;
    if (pid === undefined) return;
    const signal = (name: NodeJS.Signals): void => {
      try {
        signalGroup(pid, name);
      } catch {
        // Gone already.
      }
    };
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), this.#options.settings.stopGraceMs);
    timer.unref();
    this.#child?.once('exit', () => clearTimeout(timer));
  }
}
