import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotificationListener } from '../../src/db/listener.js';
import { createEventProcessorRole, EVENTS_CHANNEL, type EventProcessorRole } from '../../src/engine/event-processor.js';
import { fireEvent } from '../../src/engine/fire-event.js';
import { createLogger } from '../../src/log.js';
import { cleanDatabase, createTestPool } from '../../src/testing/database.js';
import { createRule, createScene, testCipher } from './rule-setup.js';
import { eventually } from './rules-role-process.js';

const pool = createTestPool();
let listener: NotificationListener;
let role: EventProcessorRole | undefined;
const lines: string[] = [];
const logger = createLogger('info', new Writable({ write(chunk, _encoding, done) { lines.push(String(chunk)); done(); } }));

async function count(sql: string): Promise<number> {
  return (await pool.query<{ n: number }>(sql)).rows[0]!.n;
}

beforeEach(async () => {
  await cleanDatabase(pool);
  lines.length = 0;
  listener = new NotificationListener({ url: process.env.ATTUNE__DATABASE__URL! });
  await listener.start();
});
afterEach(async () => {
  await role?.stop();
  role = undefined;
  await listener.close();
});
afterAll(async () => {
  await pool.end();
});

describe('the rules role in process', () => {
  it('finds events by polling when no NOTIFY arrives (the backstop)', async () => {
    const scene = await createScene(pool);
    await createRule(pool, scene);
    role = createEventProcessorRole({ pool, listener, logger, pollIntervalMs: 50, cipher: testCipher() });
    await role.start();
    // Take the LISTEN away: only the poll can find the next event.
    await listener.unlisten(EVENTS_CHANNEL);
    await fireEvent(pool, scene.trigger.ref, {});
    await eventually(async () => (await count('SELECT count(*)::int AS n FROM enforcements')) === 1);
    expect(role.totals).toMatchObject({ events: 1, enforcements: 1, executions: 1 });
  });

  it('drops its rule cache and looks for events at once when the listener reconnects', async () => {
    const scene = await createScene(pool);
    await createRule(pool, scene);
    role = createEventProcessorRole({ pool, listener, logger, pollIntervalMs: 3_600_000, cipher: testCipher() });
    await role.start();
    await fireEvent(pool, scene.trigger.ref, {});
    await eventually(async () => role!.totals.events === 1);
    // A rule created while notifications were lost (no rule-change channel listened to).
    await listener.unlisten('attune_rules_changed');
    await listener.unlisten(EVENTS_CHANNEL);
    await createRule(pool, scene);
    await fireEvent(pool, scene.trigger.ref, {});
    role.onReconnect();
    await eventually(async () => role!.totals.events === 2);
    expect(role.totals.enforcements).toBe(3);
  });

  it('stop lets the batch in hand commit and logs the totals', async () => {
    const scene = await createScene(pool);
    await createRule(pool, scene);
    role = createEventProcessorRole({ pool, listener, logger, batchSize: 5, pollIntervalMs: 3_600_000, cipher: testCipher() });
    await role.start();
    for (let i = 0; i < 20; i++) await fireEvent(pool, scene.trigger.ref, { i });
    await role.stop();
    const processed = role.totals.events;
    role = undefined;
    // Whatever it took was committed whole: every processed event has its enforcement, the rest are still queued.
    expect(await count('SELECT count(*)::int AS n FROM enforcements')).toBe(processed);
    expect(await count('SELECT count(*)::int AS n FROM event_queue')).toBe(20 - processed);
    expect(lines.join('')).toContain('stopped processing events');
  });
});
