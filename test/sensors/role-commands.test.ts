/** `attune timers` and `attune sensors` as an operator runs them: refused without a server, logging, a clean stop on SIGTERM. */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { registerPack } from '../../src/packs/register.js';
import { RuleRepository } from '../../src/repositories/rules.js';
import { cleanDatabase, createTestPool, PackFixture } from '../../src/testing/index.js';
import { eventually, RoleProcess } from '../engine/rules-role-process.js';
import { writePack } from '../packs/support.js';
import { registerCore } from './support.js';

const pool = createTestPool();
const url = process.env.ATTUNE__DATABASE__URL!;

beforeEach(async () => {
  await cleanDatabase(pool);
  await registerCore(pool);
});
afterAll(() => pool.end());

/** True while `pid` is a live process (not a zombie). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function events(triggerRef: string) {
  return (await pool.query<{ payload: Record<string, any> }>('SELECT payload FROM events WHERE trigger_ref = $1 ORDER BY id', [triggerRef])).rows;
}

describe.each(['timers', 'sensors'])('attune %s', (command) => {
  it('refuses to start without ATTUNE__DATABASE__URL', { timeout: 60_000 }, async () => {
    const role = new RoleProcess([command], { ATTUNE__DATABASE__URL: undefined, DATABASE_URL: undefined });
    expect(await role.exited).toBe(1);
    expect(role.stderr).toContain('a role alone needs ATTUNE__DATABASE__URL');
  });
});

describe('attune timers', () => {
  it('fires a timer rule, logs its schedule, and exits 0 on SIGTERM', { timeout: 60_000 }, async () => {
    const pack = await new PackFixture().create(pool);
    await RuleRepository.create(pool, { packRef: pack.ref, name: 'every_second', triggerRef: 'core.st2.IntervalTimer', triggerParams: { unit: 'seconds', delta: 1 }, actionRef: 'core.noop' });
    const role = new RoleProcess(['timers'], { ATTUNE__DATABASE__URL: url });
    try {
      await role.waitForLog('running');
      await eventually(async () => (await events('core.st2.IntervalTimer')).length >= 2);
    } finally {
      role.child.kill('SIGTERM');
    }
    expect(await role.exited).toBe(0);
    const lines = role.logLines();
    expect(lines.some((line) => line.msg === 'schedule created' && line.role === 'timers')).toBe(true);
    expect(lines.some((line) => line.msg === 'signal received: stopping' && line.signal === 'SIGTERM')).toBe(true);
    expect(lines.some((line) => line.msg === 'timers stopped')).toBe(true);
  });
});

describe('attune sensors', () => {
  it('runs a pack sensor, and on SIGTERM stops its process group and exits 0', { timeout: 60_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'attune-sensors-cli-'));
    try {
      const dir = await writePack({
        'pack.yaml': 'ref: clisensor\nname: CLI sensor\nversion: 1.0.0\n',
        'sensors/beat.yaml': 'name: beat\nrunner: node\nentry_point: beat.js\ntrigger_types:\n  - name: beat\n',
        // The sensor starts a child of its own: stopping must take the whole group.
        'sensors/beat.js': [
          "const { spawn } = require('node:child_process');",
          "const helper = spawn('sleep', ['300'], { stdio: 'ignore' });",
          "setInterval(() => process.stdout.write(JSON.stringify({ trigger: 'clisensor.beat', payload: { pid: process.pid, helper: helper.pid } }) + '\\n'), 100);",
          '',
        ].join('\n'),
      });
      await registerPack(pool, dir);
      const role = new RoleProcess(['sensors'], { ATTUNE__DATABASE__URL: url, ATTUNE__SENSORS__DATA_DIR: dataDir });
      try {
        await role.waitForLog('running');
        await eventually(async () => (await events('clisensor.beat')).length >= 2);
      } finally {
        role.child.kill('SIGTERM');
      }
      expect(await role.exited).toBe(0);
      const { pid, helper } = (await events('clisensor.beat'))[0]!.payload as { pid: number; helper: number };
      // Gone (a zombie waiting for its new parent to reap it counts as gone).
      await eventually(async () => !running(pid) && !running(helper));
      const lines = role.logLines();
      expect(lines.some((line) => line.msg === 'this process runs the sensor' && line.sensor === 'clisensor.beat')).toBe(true);
      expect(lines.some((line) => line.msg === 'signal received: stopping' && line.signal === 'SIGTERM')).toBe(true);
      expect(lines.some((line) => line.msg === 'sensors stopped')).toBe(true);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
