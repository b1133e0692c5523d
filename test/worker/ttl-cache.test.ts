/**
 * TtlCache, the worker's cache of lookups (actions, programs and shells on a
 * PATH): one lookup shared by concurrent callers, kept for the TTL, failures
 * and refused values forgotten, the oldest entry dropped past the bound.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TtlCache } from '../../src/worker/ttl-cache.js';

afterEach(() => vi.useRealTimers());

/** A lookup that counts its calls and answers `value` (or fails with it when it is an Error). */
function counted<V>(value: V | Error): { lookUp: () => Promise<V>; calls: () => number } {
  let calls = 0;
  return {
    lookUp: () => {
      calls += 1;
      return value instanceof Error ? Promise.reject(value) : Promise.resolve(value);
    },
    calls: () => calls,
  };
}

describe('TtlCache', () => {
  it('shares one lookup between concurrent callers and keeps it for the TTL', async () => {
    vi.useFakeTimers();
    const cache = new TtlCache<number, string>({ ttlMs: 1000 });
    const one = counted('a');
    expect(await Promise.all([cache.get(1, one.lookUp), cache.get(1, one.lookUp), cache.get(1, one.lookUp)])).toEqual(['a', 'a', 'a']);
    expect(one.calls()).toBe(1);
    vi.advanceTimersByTime(999);
    expect(await cache.get(1, one.lookUp)).toBe('a');
    expect(one.calls()).toBe(1);
    vi.advanceTimersByTime(1);
    await cache.get(1, one.lookUp);
    expect(one.calls()).toBe(2);
  });

  it('forgets a failed lookup and a value `keep` refuses, at once', async () => {
    const cache = new TtlCache<string, string | undefined>({ ttlMs: 60_000, keep: (value) => value !== undefined });
    const failing = counted<string | undefined>(new Error('no disk'));
    await expect(cache.get('x', failing.lookUp)).rejects.toThrow('no disk');
    const missing = counted<string | undefined>(undefined);
    expect(await cache.get('x', missing.lookUp)).toBeUndefined();
    await Promise.resolve();
    const found = counted<string | undefined>('/usr/bin/x');
    expect(await cache.get('x', found.lookUp)).toBe('/usr/bin/x');
    expect(await cache.get('x', found.lookUp)).toBe('/usr/bin/x');
    expect([failing.calls(), missing.calls(), found.calls()]).toEqual([1, 1, 1]);
  });

  it('drops the entry looked up longest ago past maxEntries', async () => {
    const cache = new TtlCache<number, number>({ ttlMs: 60_000, maxEntries: 2 });
    const lookUps = [1, 2, 3].map((n) => counted(n));
    for (const [index, lookUp] of lookUps.entries()) await cache.get(index, lookUp.lookUp);
    // 0 was dropped when 2 came in; 1 and 2 are still there.
    await cache.get(1, lookUps[1]!.lookUp);
    await cache.get(2, lookUps[2]!.lookUp);
    expect(lookUps.map((lookUp) => lookUp.calls())).toEqual([1, 1, 1]);
    // 0 looked up again drops 1, the entry looked up longest ago.
    await cache.get(0, lookUps[0]!.lookUp);
    await cache.get(2, lookUps[2]!.lookUp);
    await cache.get(1, lookUps[1]!.lookUp);
    expect(lookUps.map((lookUp) => lookUp.calls())).toEqual([2, 2, 1]);
  });
});
