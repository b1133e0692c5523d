import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { fireEvent, fireEvents } from '../../src/engine/fire-event.js';
import { cleanDatabase, createTestPool } from '../../src/testing/database.js';
import { createRule, createScene } from './rule-setup.js';
import { eventually, RoleProcess } from './rules-role-process.js';

const pool = createTestPool();

function workerUrl(): string {
  const url = process.env.ATTUNE__DATABASE__URL;
  if (!url) throw new Error('the test harness sets ATTUNE__DATABASE__URL per worker');
  return url;
}

async function count(sql: string): Promise<number> {
  return (await pool.query<{ n: number }>(sql)).rows[0]!.n;
}

beforeEach(async () => {
  await cleanDatabase(pool);
});
afterAll(async () => {
  await pool.end();
});

describe('attune rules (the real command)', () => {
  it('refuses to start without ATTUNE__DATABASE__URL', { timeout: 60_000 }, async () => {
    const role = new RoleProcess(['rules'], { ATTUNE__DATABASE__URL: undefined, DATABASE_URL: undefined });
    expect(await role.exited).toBe(1);
    expect(role.stderr).toContain('a role alone needs ATTUNE__DATABASE__URL; two processes must never each start an embedded server');
  });

  it('processes events as they arrive, logs its batches without secrets, and exits 0 on SIGTERM', { timeout: 60_000 }, async () => {
    const schema = { type: 'object', properties: { password: { type: 'string', secret: true }, message: { type: 'string' } }, additionalProperties: false };
    const scene = await createScene(pool, { paramSchema: schema });
    await createRule(pool, scene, { actionParams: { message: '{{ trigger.n }}', password: '{{ trigger.pw }}' } });
    const role = new RoleProcess(['rules'], { ATTUNE__DATABASE__URL: workerUrl(), ATTUNE__RULES__POLL_INTERVAL_MS: '60000' });
    try {
      await role.waitForLog('running');
      // Woken by NOTIFY: the poll interval is a minute, so only the notification can bring these in.
      await fireEvents(pool, Array.from({ length: 20 }, (_, n) => ({ triggerRef: scene.trigger.ref, payload: { n, pw: 'hunter2-secret' } })));
      await eventually(async () => (await count('SELECT count(*)::int AS n FROM executions')) === 20);
      await fireEvent(pool, scene.trigger.ref, { n: 99, pw: 'hunter2-secret' });
      await eventually(async () => (await count('SELECT count(*)::int AS n FROM executions')) === 21);
    } finally {
      role.child.kill('SIGTERM');
    }
    expect(await role.exited).toBe(0);
    const lines = role.logLines();
    const batches = lines.filter((line) => line.msg === 'processed event batch');
    expect(batches.reduce((sum, line) => sum + Number(line.events), 0)).toBe(21);
    expect(lines.some((line) => line.msg === 'signal received: stopping' && line.signal === 'SIGTERM')).toBe(true);
    expect(lines.find((line) => line.msg === 'stopped'), JSON.stringify(lines.slice(-4))).toMatchObject({ exitCode: 0 });
    expect(role.stdout + role.stderr).not.toContain('hunter2');
    expect(await count('SELECT count(*)::int AS n FROM event_queue')).toBe(0);
  });
});
