import { describe, expect, it } from 'vitest';
import { ExecutionFixture, InquiryFixture, WorkerFixture } from '../../src/testing/index.js';
import { useTransactionPerTest } from '../support/db.js';
import { call, signedIn, useTestApp } from './support.js';

const ctx = useTransactionPerTest();
const api = useTestApp(ctx);

describe('GET /api/v1/stats/dashboard', () => {
  it('counts the window’s executions per status, the queue, live workers, failures and pending inquiries', async () => {
    const { auth } = await signedIn(ctx.db, 'viewer');
    for (const status of ['requested', 'requested', 'succeeded', 'failed'] as const) await new ExecutionFixture().withStatus(status).create(ctx.db);
    const old = await new ExecutionFixture().withStatus('failed').create(ctx.db);
    await ctx.db.query(`UPDATE executions SET created_at = now() - interval '2 hours' WHERE id = $1`, [old.id]);
    await new InquiryFixture().create(ctx.db);
    await ctx.db.query(`UPDATE workers SET last_heartbeat = now() - interval '1 hour'`);
    const live = await new WorkerFixture().withStatus('active').create(ctx.db);
    await ctx.db.query(`UPDATE workers SET last_heartbeat = now() WHERE id = $1`, [live.id]);

    const response = await call(api.app, { method: 'GET', url: '/api/v1/stats/dashboard', headers: auth });
    expect(response.statusCode, response.body).toBe(200);
    const data = response.data.data;
    // The inquiry fixture's execution is paused, in the window too; the two-hour-old failure is not.
    expect(data.executions_by_status).toEqual({ requested: 2, succeeded: 1, failed: 1, paused: 1 });
    expect(data.window_seconds).toBe(3600);
    expect(data.queue_depth).toBe(2);
    expect(data.pending_inquiries).toBe(1);
    expect(data.next_inquiries).toHaveLength(1);
    expect(data.live_workers.map((w: { id: number }) => w.id)).toEqual([live.id]);
    // Recent failures are not limited to the window: the old one is listed after the new one.
    expect(data.recent_failures.map((e: { status: string }) => e.status)).toEqual(['failed', 'failed']);
    expect(data.recent_failures[1].id).toBe(old.id);
  });

  it('takes another window and refuses one out of range, naming the field', async () => {
    const { auth } = await signedIn(ctx.db, 'viewer');
    const old = await new ExecutionFixture().withStatus('succeeded').create(ctx.db);
    await ctx.db.query(`UPDATE executions SET created_at = now() - interval '2 hours' WHERE id = $1`, [old.id]);
    const day = await call(api.app, { method: 'GET', url: '/api/v1/stats/dashboard?window_seconds=86400&failures=0', headers: auth });
    expect(day.data.data.executions_by_status).toEqual({ succeeded: 1 });
    expect(day.data.data.recent_failures).toEqual([]);
    const bad = await call(api.app, { method: 'GET', url: '/api/v1/stats/dashboard?window_seconds=5', headers: auth });
    expect(bad.statusCode).toBe(400);
    expect(bad.data.error.field).toContain('window_seconds');
  });
});
