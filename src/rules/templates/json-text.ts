/**
 * JSON text the way templates write it: Python's `json.dumps` layout
 * (`indent`, `sort_keys`, `separators`, `ensure_ascii`), so `to_json_string`
 * matches StackStorm, with a length cap checked while writing (a value that
 * shares parts of itself can be small in memory and huge as text).
 */
import { TemplateError } from './errors.js';
import type { Json } from './values.js';

export interface JsonTextOptions {
  /** Spaces per level; null writes everything on one line. */
  indent?: number | null;
  sortKeys?: boolean;
  /** [between items, between key and value]; Python's default is [', ', ': '], or [',', ': '] with an indent. */
  separators?: readonly [string, string];
  /** Escape every non-ASCII character as \uXXXX (Python's default). */
  ensureAscii?: boolean;
}

/** Largest indent accepted, so `indent=10**6` cannot multiply the output. */
export const MAX_INDENT = 16;

/** `value` as JSON text no longer than `maxLength` characters. */
export function jsonText(value: Json, options: JsonTextOptions, maxLength: number): string {
  const indent = options.indent ?? null;
  if (indent !== null && (!Number.isInteger(indent) || indent < 0 || indent > MAX_INDENT)) {
    throw new TemplateError(`indent must be a whole number from 0 to ${MAX_INDENT}`);
  }
  const [itemSeparator, keySeparator] = options.separators ?? (indent === null ? [', ', ': '] : [',', ': ']);
  const parts: string[] = [];
  let length = 0;
  const push = (text: string) => {
    length += text.length;
    if (length > maxLength) throw new TemplateError(`the JSON text exceeds ${maxLength} characters`);
    parts.push(text);
  };
  const quote = (text: string) => (options.ensureAscii ? asciiOnly(JSON.stringify(text)) : JSON.stringify(text));
  const write = (item: Json, level: number): void => {
    if (item === null || typeof item !== 'object') {
      push(typeof item === 'string' ? quote(item) : JSON.stringify(item));
      return;
    }
    const entries: [string | null, Json][] = Array.isArray(item) ? item.map((element) => [null, element]) : Object.entries(item);
    if (!Array.isArray(item) && options.sortKeys) entries.sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0));
    const [open, close] = Array.isArray(item) ? ['[', ']'] : ['{', '}'];
    if (entries.length === 0) {
      push(open + close);
      return;
    }
    const inner = indent === null ? '' : `\n${' '.repeat(indent * (level + 1))}`;
    push(open);
    entries.forEach(([key, element], index) => {
      if (index > 0) push(itemSeparator);
      push(inner);
      if (key !== null) push(quote(key) + keySeparator);
      write(element, level + 1);
    });
    push(indent === null ? close : `\n${' '.repeat(indent * level)}${close}`);
  };
  write(value, 0);
  return parts.join('');
}

/** JSON text with every non-ASCII UTF-16 unit escaped, as Python's ensure_ascii does. */
export function asciiOnly(text: string): string {
  return text.replace(/[\u0080-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
