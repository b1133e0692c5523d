/**
 * Tables for a terminal, with cli-table3: columns share the terminal's
 * width (the widest give way first, text wraps inside its cell), and a
 * pipe gets the same table at a fixed 120 columns.
 */
import Table from 'cli-table3';
import { cellText, pick } from './cells.js';

/** A column: a field path of the rows and its heading. */
export interface Column {
  field: string;
  header?: string;
  /** Styles a cell's text (colour); given the raw value. */
  style?: (text: string, value: unknown) => string;
}

/** The width a table takes when stdout is not a terminal. */
export const PIPE_WIDTH = 120;
/** No column is squeezed narrower than this (plus padding). */
const MIN_COLUMN = 6;
/** Per column: two spaces of padding and one border. */
const CHROME = 3;

/** Column widths (cli-table3's, padding included) that fit `width`, shrinking the widest first. */
export function fitWidths(natural: readonly number[], width: number): number[] {
  const widths = natural.map((w) => Math.max(w, 1) + 2);
  const budget = Math.max(width - 1 - natural.length, natural.length * (MIN_COLUMN + 2));
  let total = widths.reduce((a, b) => a + b, 0);
  while (total > budget) {
    const widest = widths.indexOf(Math.max(...widths));
    if (widths[widest]! <= MIN_COLUMN + 2) break;
    widths[widest]! -= 1;
    total -= 1;
  }
  return widths;
}

function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return Math.max(0, ...text.replace(/\u001b\[[0-9;]*m/g, '').split('\n').map((line) => [...line].length));
}

/** Renders rows under `columns` in at most `width` characters per line. */
export function renderTable(rows: readonly Record<string, unknown>[], columns: readonly Column[], width: number, headStyle?: (text: string) => string): string {
  const texts = rows.map((row) => columns.map((column) => cellText(pick(row, column.field))));
  const headers = columns.map((column) => column.header ?? column.field);
  const natural = columns.map((_, i) => Math.max(visibleLength(headers[i]!), ...texts.map((cells) => visibleLength(cells[i]!))));
  const table = new Table({
    head: headers.map((h) => (headStyle ? headStyle(h) : h)),
    colWidths: fitWidths(natural, width),
    wordWrap: true,
    wrapOnWordBoundary: false,
    style: { head: [], border: [], compact: true },
    chars: CHARS,
  });
  rows.forEach((row, r) => {
    table.push(columns.map((column, c) => (column.style ? column.style(texts[r]![c]!, pick(row, column.field)) : texts[r]![c]!)));
  });
  return table.toString();
}

/** One object as two columns, field and value. */
export function renderRecord(record: Record<string, unknown>, fields: readonly Column[], width: number, keyStyle?: (text: string) => string): string {
  const keyWidth = Math.max(...fields.map((f) => visibleLength(f.header ?? f.field)));
  const valueWidth = Math.max(MIN_COLUMN, width - keyWidth - 2 * CHROME - 1);
  const table = new Table({
    colWidths: [keyWidth + 2, valueWidth + 2],
    wordWrap: true,
    wrapOnWordBoundary: false,
    style: { head: [], border: [], compact: true },
    chars: CHARS,
  });
  for (const field of fields) {
    const value = pick(record, field.field);
    const text = typeof value === 'object' && value !== null && !isShortList(value) ? JSON.stringify(value, null, 2) : cellText(value);
    const label = field.header ?? field.field;
    table.push([keyStyle ? keyStyle(label) : label, field.style ? field.style(text, value) : text]);
  }
  return table.toString();
}

function isShortList(value: object): boolean {
  return Array.isArray(value) && value.every((item) => typeof item === 'string' || typeof item === 'number');
}

/** Light borders: a rule under the heading and between columns, nothing around. */
const CHARS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '─', 'mid-mid': '┼', right: '', 'right-mid': '', middle: '│',
};
