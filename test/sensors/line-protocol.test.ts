import { describe, expect, it } from 'vitest';
import { parseSensorLine } from '../../src/sensors/event-pump.js';
import { LineSplitter } from '../../src/sensors/line-splitter.js';

function split(chunks: (string | Buffer)[], max = 16) {
  const lines: string[] = [];
  const tooLong: number[] = [];
  const splitter = new LineSplitter(max, { line: (text) => lines.push(text), tooLong: (bytes) => tooLong.push(bytes) });
  for (const chunk of chunks) splitter.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  splitter.end();
  return { lines, tooLong };
}

describe('LineSplitter', () => {
  it('hands over lines split across chunks, drops blank ones and a trailing CR, keeps a last line without a newline', () => {
    expect(split(['ab', 'c\nde\r\n\n', '  \nf'])).toEqual({ lines: ['abc', 'de', 'f'], tooLong: [] });
  });

  it('drops a line over the limit as it arrives, reports its length once, and goes on with the next', () => {
    const long = 'x'.repeat(40);
    expect(split(['ok\n', long.slice(0, 10), long.slice(10), '\nnext\n'])).toEqual({ lines: ['ok', 'next'], tooLong: [40] });
  });

  it('keeps a multi-byte character whole when a chunk boundary cuts it', () => {
    const bytes = Buffer.from('é\n');
    expect(split([bytes.subarray(0, 1), bytes.subarray(1)]).lines).toEqual(['é']);
  });
});

describe('parseSensorLine', () => {
  const allowed = ['pack.tick'];
  it.each([
    ['{"trigger": "pack.tick", "payload": {"n": 1}}', { event: { triggerRef: 'pack.tick', payload: { n: 1 }, source: 'sensor:pack.s' } }],
    ['{"trigger": "pack.tick"}', { event: { triggerRef: 'pack.tick', payload: {}, source: 'sensor:pack.s' } }],
    ['{"trigger": "pack.tick", "payload": {}, "trace_tag": "t1"}', { event: { triggerRef: 'pack.tick', payload: {}, source: 'sensor:pack.s', traceId: 't1' } }],
    ['not json', { error: 'not JSON' }],
    ['[1, 2]', { error: expect.stringContaining('not a JSON object') }],
    ['{"payload": {}}', { error: expect.stringContaining('"trigger" must be a trigger ref') }],
    ['{"trigger": "pack.other"}', { error: expect.stringContaining("not one of the sensor's trigger types") }],
    ['{"trigger": "pack.tick", "payload": [1]}', { error: '"payload" must be a JSON object' }],
    ['{"trigger": "pack.tick", "trace_id": 5}', { error: expect.stringContaining('"trace_id"') }],
  ])('%s', (line, expected) => {
    expect(parseSensorLine(line, 'sensor:pack.s', allowed)).toEqual(expected);
  });

  it('takes any trigger when the sensor declares none', () => {
    expect(parseSensorLine('{"trigger": "other.thing"}', 'sensor:pack.s', [])).toMatchObject({ event: { triggerRef: 'other.thing' } });
  });
});
