import { styleText } from 'node:util';

/** The styles the CLI uses; a subset of `util.inspect.colors`. */
export type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan' | 'gray';

/** A stream the CLI writes to: process.stdout / process.stderr, or a test double. */
export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
  hasColors?: (count?: number) => boolean;
}

/**
 * Whether text written to `stream` should be coloured. `FORCE_COLOR` wins
 * (`0` or `false` turns colour off), then a non-empty `NO_COLOR` turns it
 * off, otherwise colour needs a terminal that says it has colours.
 */
export function colorEnabled(stream: OutputStream, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !['0', 'false'].includes(force.trim().toLowerCase());
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (!stream.isTTY) return false;
  return typeof stream.hasColors === 'function' ? stream.hasColors() : true;
}

/**
 * How commands talk to a person: results on stdout, failures on stderr,
 * coloured only when the stream supports it. Commands take one of these so
 * tests can capture what they print.
 */
export interface Output {
  /** A plain line on stdout. */
  line(text?: string): void;
  /** Something that was done or is fine: a green check. */
  ok(text: string): void;
  /** Something worth noticing but not a failure: yellow. */
  warn(text: string): void;
  /** Something wrong: a red cross, on stdout (it is part of the command's report). */
  problem(text: string): void;
  /** A failure of the command itself: one red line on stderr. */
  error(text: string): void;
  /** Styles `text` when colour is on for stdout. */
  style(style: Style | Style[], text: string): string;
}

/** Options for `createOutput`. */
export interface OutputOptions {
  stdout?: OutputStream;
  stderr?: OutputStream;
  /** Force colour on or off; default: decided per stream by `colorEnabled`. */
  color?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** The Output for a real process (or any pair of streams). */
export function createOutput(options: OutputOptions = {}): Output {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const env = options.env ?? process.env;
  const outColor = options.color ?? colorEnabled(stdout, env);
  const errColor = options.color ?? colorEnabled(stderr, env);
  const paint = (on: boolean) => (style: Style | Style[], text: string) => (on ? styleText(style, text, { validateStream: false }) : text);
  const out = paint(outColor);
  const err = paint(errColor);
  return {
    line: (text = '') => stdout.write(`${text}\n`),
    ok: (text) => stdout.write(`${out('green', '✓')} ${text}\n`),
    warn: (text) => stdout.write(`${out('yellow', '!')} ${out('yellow', text)}\n`),
    problem: (text) => stdout.write(`${out('red', '✗')} ${text}\n`),
    error: (text) => stderr.write(`${err(['red', 'bold'], 'error:')} ${text}\n`),
    style: out,
  };
}

/** An Output that keeps what it is given, without colour; for tests. */
export interface CapturedOutput extends Output {
  /** Lines written to stdout. */
  readonly lines: string[];
  /** Lines written to stderr. */
  readonly errors: string[];
  /** stdout joined with newlines. */
  text(): string;
}

/** Captures a command's output in memory. */
export function captureOutput(): CapturedOutput {
  const lines: string[] = [];
  const errors: string[] = [];
  const collect = (into: string[]): OutputStream => ({ write: (text: string) => into.push(...text.replace(/\n$/, '').split('\n')) });
  const output = createOutput({ stdout: collect(lines), stderr: collect(errors), color: false });
  return { ...output, lines, errors, text: () => lines.join('\n') };
}
