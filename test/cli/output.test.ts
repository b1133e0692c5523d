import { describe, expect, it } from 'vitest';
import { captureOutput, colorEnabled, createOutput, type OutputStream } from '../../src/cli/output.js';

const ESC = '\u001b[';

function stream(tty: boolean, colors = true): OutputStream & { written: string[] } {
  const written: string[] = [];
  return { written, isTTY: tty, hasColors: () => colors, write: (text: string) => written.push(text) };
}

describe('colorEnabled', () => {
  it.each<[string, boolean, boolean, NodeJS.ProcessEnv, boolean]>([
    ['a colour terminal', true, true, {}, true],
    ['a pipe or file', false, true, {}, false],
    ['a terminal without colours', true, false, {}, false],
    ['NO_COLOR on a terminal', true, true, { NO_COLOR: '1' }, false],
    ['an empty NO_COLOR', true, true, { NO_COLOR: '' }, true],
    ['FORCE_COLOR on a pipe', false, true, { FORCE_COLOR: '1' }, true],
    ['FORCE_COLOR over NO_COLOR', false, true, { FORCE_COLOR: '1', NO_COLOR: '1' }, true],
    ['FORCE_COLOR=0 on a terminal', true, true, { FORCE_COLOR: '0' }, false],
    ['FORCE_COLOR=false on a terminal', true, true, { FORCE_COLOR: 'false' }, false],
  ])('%s', (_, tty, colors, env, expected) => {
    expect(colorEnabled(stream(tty, colors), env)).toBe(expected);
  });
});

describe('createOutput', () => {
  it('colours a terminal: results on stdout, failures on stderr', () => {
    const stdout = stream(true);
    const stderr = stream(true);
    const out = createOutput({ stdout, stderr, env: {} });
    out.ok('done');
    out.problem('missing index x on y');
    out.error('Cannot connect');
    expect(stdout.written.join('')).toContain(`${ESC}32m✓${ESC}39m done\n`);
    expect(stdout.written.join('')).toContain('missing index x on y\n');
    expect(stderr.written.join('')).toContain('error:');
    expect(stderr.written.join('')).toContain(ESC);
    expect(stderr.written.join('')).toMatch(/Cannot connect\n$/);
  });

  it('writes plain text to a pipe, and when NO_COLOR is set', () => {
    for (const [tty, env] of [[false, {}], [true, { NO_COLOR: '1' }]] as const) {
      const stdout = stream(tty);
      const stderr = stream(tty);
      const out = createOutput({ stdout, stderr, env });
      out.ok('done');
      out.warn('careful');
      out.error('broken');
      expect(out.style('bold', 'x')).toBe('x');
      expect(stdout.written.join('')).toBe('✓ done\n! careful\n');
      expect(stderr.written.join('')).toBe('error: broken\n');
    }
  });

  it('decides stdout and stderr separately', () => {
    const stdout = stream(false);
    const stderr = stream(true);
    const out = createOutput({ stdout, stderr, env: {} });
    out.ok('piped');
    out.error('to the terminal');
    expect(stdout.written.join('')).not.toContain(ESC);
    expect(stderr.written.join('')).toContain(ESC);
  });

  it('captureOutput keeps lines without colour', () => {
    const out = captureOutput();
    out.line('a');
    out.ok('b');
    out.error('c');
    expect(out.lines).toEqual(['a', '✓ b']);
    expect(out.errors).toEqual(['error: c']);
    expect(out.text()).toBe('a\n✓ b');
  });
});
