/**
 * Timers and sensors under process loss. Two `attune timers` processes fire
 * interval schedules (1, 2 and 3 seconds) while one of them, chosen at
 * random, is SIGKILLed at random moments and restarted: every tick on each
 * schedule's grid from its first to its last is fired exactly once (none
 * lost, none twice). Meanwhile two `attune sensors` processes share one
 * sensor that emits an event carrying its pid every 100 ms: the process
 * holding it is SIGKILLed again and again, the other takes the sensor over,
 * and the events, in the order they were written, come from one sensor
 * process at a time (never two holders at once).
 */
import { rmSync } from 'node:fs';
import type pg from 'pg';
import { registerPack } from '../../../src/packs/register.js';
import { RuleRepository } from '../../../src/repositories/rules.js';
import { TIMER_TRIGGER_REFS } from '../../../src/sensors/timers.js';
import { cleanDatabase, PackFixture } from '../../../src/testing/index.js';
import { writePack } from '../../packs/support.js';
import { CORE_PACK, FaultHarness, randomBetween, reportFigures, sleep, waitUntil } from '../support.js';

export interface TimersSensorsOptions {
  /** Kills of a timers process, at least. */
  timerKills: number;
  /** Takeovers of the sensor after its holder was killed. */
  sensorTakeovers: number;
  timeoutMs: number;
}

const SENSOR_PACK = 'faultsensor';
const SENSOR_TRIGGER = `${SENSOR_PACK}.beat`;
/** Writes one event with its own pid every 100 ms for as long as it runs. */
const BEAT_SENSOR = `
const trigger = process.env.ATTUNE_PACK_REF + '.beat';
setInterval(() => process.stdout.write(JSON.stringify({ trigger, payload: { pid: process.pid } }) + '\\n'), 100);
`;
const PERIODS_SECONDS = [1, 2, 3];

async function registerBeatSensor(pool: pg.Pool): Promise<void> {
  const dir = await writePack({
    'pack.yaml': `ref: ${SENSOR_PACK}\nname: Fault sensor\nversion: 1.0.0\n`,
    'sensors/beat.yaml': [
      'name: beat',
      'runner: node',
      'entry_point: beat.js',
      'trigger_types:',
      '  - name: beat',
      '    payload_schema: {type: object, properties: {pid: {type: integer}}}',
      '',
    ].join('\n'),
    'sensors/beat.js': BEAT_SENSOR,
  });
  try {
    await registerPack(pool, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The pids of the beat events, in the order they were written. */
async function beatPids(pool: pg.Pool): Promise<number[]> {
  const { rows } = await pool.query<{ pid: number }>(`SELECT (payload->>'pid')::int AS pid FROM events WHERE trigger_ref = $1 ORDER BY id`, [SENSOR_TRIGGER]);
  return rows.map((row) => row.pid);
}

/** Per schedule: ticks fired, ticks fired twice, ticks missing between its first and last, and the last tick. */
async function auditTicks(pool: pg.Pool) {
  const { rows } = await pool.query<{ source: string; period_ms: number; at: string[] }>(
    `SELECT e.source, ((e.trigger_params->>'delta')::int * 1000) AS period_ms,
            array_agg(e.payload->'schedule'->>'scheduled_at' ORDER BY e.payload->'schedule'->>'scheduled_at') AS at
       FROM events e WHERE e.trigger_ref = $1 GROUP BY e.source, e.trigger_params->>'delta'`,
    [TIMER_TRIGGER_REFS.interval],
  );
  return rows.map((row) => {
    const times = row.at.map((at) => Date.parse(at));
    const distinct = new Set(times).size;
    let missing = 0;
    let offGrid = 0;
    for (let i = 1; i < times.length; i++) {
      const gap = times[i]! - times[i - 1]!;
      if (gap === 0) continue;
      if (gap % row.period_ms !== 0) offGrid += 1;
      else missing += gap / row.period_ms - 1;
    }
    return { source: row.source, periodMs: row.period_ms, fired: times.length, twice: times.length - distinct, missing, offGrid, last: times.at(-1)! };
  });
}

/** SIGKILLs the process group of sensor process `pid` (a killed role's sensor dies at its next write anyway; this makes sure). */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

export async function runTimersSensors(pool: pg.Pool, options: TimersSensorsOptions) {
  await cleanDatabase(pool);
  await registerPack(pool, CORE_PACK);
  await registerBeatSensor(pool);
  const pack = await new PackFixture().create(pool);
  for (const delta of PERIODS_SECONDS) {
    await RuleRepository.create(pool, { packRef: pack.ref, name: `every_${delta}s`, triggerRef: TIMER_TRIGGER_REFS.interval, triggerParams: { unit: 'seconds', delta }, actionRef: 'core.noop' });
  }
  const harness = new FaultHarness({});
  const deadline = Date.now() + options.timeoutMs;
  const sensorPids = new Set<number>();
  try {
    harness.sampleMemory();
    for (const name of ['timers-1', 'timers-2']) harness.start(name, 'timers');
    for (const name of ['sensors-1', 'sensors-2']) harness.start(name, 'sensors');
    await Promise.all(['timers-1', 'timers-2', 'sensors-1', 'sensors-2'].map((name) => harness.get(name).waitForLog('running')));

    const timers = (async () => {
      let kills = 0;
      while (kills < options.timerKills && Date.now() < deadline) {
        await sleep(randomBetween(500, 2000));
        const victim = Math.random() < 0.5 ? 'timers-1' : 'timers-2';
        const restarted = await harness.killAndRestart(victim);
        kills += 1;
        // Both run again before the next kill, so a tick is never left without a process.
        if (kills < options.timerKills) await restarted.waitForLog('running', Math.max(1000, deadline - Date.now()));
      }
      // Every schedule goes on ticking after the last kill: a tick due after it is fired.
      const lastKillAt = Date.now();
      await waitUntil(
        'every schedule to fire a tick due after the last kill',
        async () => (await auditTicks(pool)).filter((row) => row.last > lastKillAt).length === PERIODS_SECONDS.length,
        Math.max(1000, deadline - Date.now()),
        200,
      );
      return kills;
    })();

    const sensors = (async () => {
      const takeoverMs: number[] = [];
      const holderOf = async (exclude: ReadonlySet<number>) =>
        waitUntil('a sensor process to emit', async () => (await beatPids(pool)).find((pid) => !exclude.has(pid)), Math.max(1000, deadline - Date.now()), 50);
      sensorPids.add(await holderOf(sensorPids));
      for (let round = 0; round < options.sensorTakeovers; round++) {
        const holder = ['sensors-1', 'sensors-2'].find((name) => harness.get(name).logLines().some((line) => line.msg === 'this process runs the sensor'));
        if (holder === undefined) throw new Error('no sensors process says it runs the sensor');
        await sleep(randomBetween(200, 800));
        const killedAt = performance.now();
        const restarted = await harness.killAndRestart(holder);
        for (const pid of sensorPids) killGroup(pid);
        sensorPids.add(await holderOf(sensorPids));
        takeoverMs.push(Math.round(performance.now() - killedAt));
        // The restarted process is the standby for the next kill.
        if (round + 1 < options.sensorTakeovers) await restarted.waitForLog('running', Math.max(1000, deadline - Date.now()));
      }
      await sleep(500);
      return takeoverMs;
    })();

    const [timerKills, takeoverMs] = await Promise.all([timers, sensors]);
    const ticks = await auditTicks(pool);
    const pids = await beatPids(pool);
    // Each sensor process's events form one unbroken run: a holder was never interleaved with another.
    let runs = 0;
    for (let i = 0; i < pids.length; i++) if (i === 0 || pids[i] !== pids[i - 1]) runs += 1;
    const holders = new Set(pids).size;
    const figures = {
      timerKills,
      sensorKills: takeoverMs.length,
      restarts: harness.restarts,
      schedules: ticks.length,
      ticksFired: ticks.reduce((sum, row) => sum + row.fired, 0),
      ticksLost: ticks.reduce((sum, row) => sum + row.missing + row.offGrid, 0),
      ticksTwice: ticks.reduce((sum, row) => sum + row.twice, 0),
      sensorEvents: pids.length,
      sensorHolders: holders,
      holderRuns: runs,
      takeoverMs,
      lost: ticks.reduce((sum, row) => sum + row.missing + row.offGrid, 0),
      duplicated: ticks.reduce((sum, row) => sum + row.twice, 0) + (runs - holders),
      peakRssMb: harness.peakRssMb(),
    };
    reportFigures('timers-sensors', figures);
    return { figures, ticks };
  } finally {
    await harness.close();
    for (const pid of sensorPids) killGroup(pid);
  }
}
