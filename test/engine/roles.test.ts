import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { FORCED_EXIT_CODE, runRoles, type Role } from '../../src/roles.js';

function quietLogger(lines: string[] = []) {
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
  return createLogger('info', sink);
}

function recordingRole(name: string, events: string[], behaviour: { failStart?: boolean; failStop?: boolean } = {}): Role {
  return {
    name,
    async start() {
      events.push(`start ${name}`);
      if (behaviour.failStart) throw new Error(`${name} cannot start`);
    },
    async stop() {
      events.push(`stop ${name}`);
      if (behaviour.failStop) throw new Error(`${name} cannot stop`);
    },
  };
}

/** Resolves once every role has started (the runner logs 'running'). */
function whenRunning(lines: string[]): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (lines.some((line) => line.includes('"running;')) ? resolve() : setImmediate(check));
    check();
  });
}

describe('runRoles', () => {
  it('starts roles in order and stops them in reverse on SIGTERM, exit code 0', async () => {
    const events: string[] = [];
    const lines: string[] = [];
    const signals = new EventEmitter();
    const run = runRoles([recordingRole('a', events), recordingRole('b', events)], { logger: quietLogger(lines), signals });
    await whenRunning(lines);
    expect(events).toEqual(['start a', 'start b']);
    signals.emit('SIGTERM', 'SIGTERM');
    expect(await run).toBe(0);
    expect(events).toEqual(['start a', 'start b', 'stop b', 'stop a']);
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    expect(signals.listenerCount('SIGINT')).toBe(0);
    expect(lines.join('')).toContain('signal received: stopping');
  });

  it('stops on SIGINT as well', async () => {
    const events: string[] = [];
    const lines: string[] = [];
    const signals = new EventEmitter();
    const run = runRoles([recordingRole('a', events)], { logger: quietLogger(lines), signals });
    await whenRunning(lines);
    signals.emit('SIGINT', 'SIGINT');
    expect(await run).toBe(0);
    expect(events).toEqual(['start a', 'stop a']);
  });

  it('exits at once on a second signal while stopping', async () => {
    const lines: string[] = [];
    const signals = new EventEmitter();
    const exits: number[] = [];
    let releaseStop!: () => void;
    let stopCalled!: () => void;
    const stopping = new Promise<void>((resolve) => (stopCalled = resolve));
    const slow: Role = {
      name: 'slow',
      start: async () => {},
      stop: () => {
        stopCalled();
        return new Promise<void>((resolve) => (releaseStop = resolve));
      },
    };
    const run = runRoles([slow], { logger: quietLogger(lines), signals, exit: (code) => exits.push(code) });
    await whenRunning(lines);
    signals.emit('SIGTERM', 'SIGTERM');
    await stopping;
    expect(exits).toEqual([]);
    signals.emit('SIGTERM', 'SIGTERM');
    expect(exits).toEqual([FORCED_EXIT_CODE]);
    releaseStop();
    await run;
  });

  it('a role that fails to start stops the ones already started and exits 1', async () => {
    const events: string[] = [];
    const lines: string[] = [];
    const code = await runRoles(
      [recordingRole('a', events), recordingRole('b', events, { failStart: true }), recordingRole('c', events)],
      { logger: quietLogger(lines), signals: new EventEmitter() },
    );
    expect(code).toBe(1);
    expect(events).toEqual(['start a', 'start b', 'stop a']);
    expect(lines.join('')).toContain('b cannot start');
  });

  it('a role that fails to stop does not keep the others running; exit 1', async () => {
    const events: string[] = [];
    const controller = new AbortController();
    const lines: string[] = [];
    const run = runRoles([recordingRole('a', events), recordingRole('b', events, { failStop: true })], {
      logger: quietLogger(lines),
      signals: new EventEmitter(),
      abort: controller.signal,
    });
    await whenRunning(lines);
    controller.abort();
    expect(await run).toBe(1);
    expect(events).toEqual(['start a', 'start b', 'stop b', 'stop a']);
  });
});
