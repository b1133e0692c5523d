/**
 * What a client command prints and how: a table sized to the terminal, or
 * the API's own objects as JSON or YAML (stable: exactly the snake_case
 * fields the API returns; a list is the array of its items). Colour only
 * on a terminal, never with NO_COLOR. Messages and progress go to stderr so
 * stdout stays parseable.
 */
import { styleText } from 'node:util';
import { colorEnabled, type Style } from '../output.js';
import type { CliIo } from './io.js';
import { maskSecrets } from './mask.js';
import type { OutputMode } from './mode.js';
import { Progress } from './progress.js';
import { PIPE_WIDTH, renderRecord, renderTable, type Column } from './table.js';

/** Colour of an execution, enforcement or inquiry status. */
const STATUS_STYLES: Record<string, Style> = {
  succeeded: 'green', processed: 'green', responded: 'green', online: 'green', true: 'green',
  failed: 'red', timeout: 'red', abandoned: 'red', offline: 'red', false: 'gray',
  running: 'cyan', scheduled: 'cyan', requested: 'cyan', canceling: 'yellow', canceled: 'yellow', paused: 'yellow', pending: 'yellow', disabled: 'gray',
};

/** Prints a command's results in the chosen mode. */
export class Printer {
  readonly color: boolean;
  readonly errorColor: boolean;

  constructor(
    readonly io: CliIo,
    readonly mode: OutputMode,
    /** Fields shown as they are even when their names look secret (a token just created). */
    private readonly keep: ReadonlySet<string> = new Set(),
  ) {
    this.color = colorEnabled(io.stdout, io.env);
    this.errorColor = colorEnabled(io.stderr, io.env);
  }

  /** Whether people are reading (table mode). */
  get human(): boolean {
    return this.mode === 'table';
  }

  /** The width tables fit: the terminal's, or PIPE_WIDTH on a pipe. */
  get width(): number {
    return this.io.stdout.isTTY && this.io.stdout.columns ? this.io.stdout.columns : PIPE_WIDTH;
  }

  style(style: Style | Style[], text: string): string {
    return this.color ? styleText(style, text, { validateStream: false }) : text;
  }

  /** A status word in its colour. */
  status = (text: string): string => {
    const style = STATUS_STYLES[text];
    return style ? this.style(style, text) : text;
  };

  /** A list: a table of `columns`, or the items as JSON/YAML. `empty` is said on stderr when there are none. */
  async list(items: readonly Record<string, unknown>[], columns: readonly Column[], options: { empty?: string; nextCursor?: string | null } = {}): Promise<void> {
    if (!this.human) return this.machine(items);
    if (items.length === 0) {
      this.note(options.empty ?? 'nothing found');
      return;
    }
    this.write(renderTable(maskSecrets(items, this.keep), columns, this.width, (h) => this.style('bold', h)));
    if (options.nextCursor) this.note(`more: add --cursor ${options.nextCursor}`);
  }

  /** One object: a two-column table of `fields` (every field when none are given), or the object as JSON/YAML. */
  async one(record: Record<string, unknown>, fields?: readonly Column[]): Promise<void> {
    if (!this.human) return this.machine(record);
    const shown = fields ?? Object.keys(record).map((field) => ({ field }));
    this.write(renderRecord(maskSecrets(record, this.keep), shown, this.width, (k) => this.style('bold', k)));
  }

  /** Any value as JSON or YAML (in table mode: JSON, indented). */
  async machine(value: unknown): Promise<void> {
    const shown = maskSecrets(value, this.keep);
    if (this.mode === 'yaml') {
      const { stringify } = await import('yaml');
      this.io.stdout.write(stringify(shown));
      return;
    }
    this.write(JSON.stringify(shown, null, 2));
  }

  /** A line on stdout (results people read). */
  write(text: string): void {
    this.io.stdout.write(`${text}\n`);
  }

  /** Something done, for people: a green check on stderr in table mode, nothing in JSON/YAML. */
  done(text: string): void {
    if (this.human) this.io.stderr.write(`${this.errorColor ? styleText('green', '✓', { validateStream: false }) : '✓'} ${text}\n`);
  }

  /** A remark on stderr (never mixed with machine output). */
  note(text: string): void {
    this.io.stderr.write(`${this.errorColor ? styleText('dim', text, { validateStream: false }) : text}\n`);
  }

  /** A warning on stderr. */
  warn(text: string): void {
    this.io.stderr.write(`${this.errorColor ? styleText('yellow', `! ${text}`, { validateStream: false }) : `! ${text}`}\n`);
  }

  /** A progress line on stderr while `work` runs, when stderr is a terminal; nothing otherwise. */
  progress(label: string): Progress {
    return new Progress(this.io.stderr, label, this.errorColor);
  }
}
