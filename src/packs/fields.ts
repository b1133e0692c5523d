/**
 * Typed access to one metadata file's top-level fields, reporting each
 * wrong or missing field with its line. Readers of every component kind use
 * it, so messages read the same everywhere.
 */
import type { Report } from './json-schema.js';
import { isPlainObject } from './json-schema.js';
import { describeType } from './names.js';
import type { ProblemList } from './problems.js';
import type { FieldPath, YamlDocument } from './yaml.js';

export class Fields {
  readonly report: Report;

  constructor(
    readonly file: string,
    readonly doc: YamlDocument,
    readonly values: Record<string, unknown>,
    readonly problems: ProblemList,
  ) {
    this.report = (path, message, severity = 'error') => {
      const field = path.map(String).join('.');
      if (severity === 'warning') problems.warning(file, field, message, doc.locate(path));
      else problems.error(file, field, message, doc.locate(path));
    };
  }

  /** A file's root as a mapping, or null (reported) when it is something else. */
  static of(file: string, doc: YamlDocument, problems: ProblemList): Fields | null {
    if (!isPlainObject(doc.value)) {
      problems.error(file, '', `must be a mapping of fields, got ${doc.value === null ? 'an empty document' : describeType(doc.value)}`, { line: 1 });
      return null;
    }
    return new Fields(file, doc, doc.value, problems);
  }

  error(path: FieldPath, message: string): void {
    this.report(path, message);
  }

  has(key: string): boolean {
    return this.values[key] !== undefined && this.values[key] !== null;
  }

  /** A string field; null when absent (reported when required). */
  string(key: string, options: { required?: boolean; max?: number } = {}): string | null {
    const value = this.values[key];
    if (value === undefined || value === null) {
      if (options.required) this.report([key], `'${key}' is required`);
      return null;
    }
    // YAML reads `version: 1.0` and `name: 2048` as numbers; StackStorm then uses them as text.
    const text = typeof value === 'number' ? String(value) : value;
    if (typeof text !== 'string') {
      this.report([key], `must be text, got ${describeType(value)}`);
      return null;
    }
    if (options.required && text.trim() === '') {
      this.report([key], `'${key}' must not be empty`);
      return null;
    }
    if (options.max !== undefined && text.length > options.max) {
      this.report([key], `must be at most ${options.max} characters, got ${text.length}`);
      return null;
    }
    return text;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.values[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') {
      this.report([key], `must be true or false, got ${describeType(value)}`);
      return fallback;
    }
    return value;
  }

  /** A positive whole number; null when absent or wrong (reported). */
  positiveInteger(key: string): number | null {
    const value = this.values[key];
    if (value === undefined || value === null) return null;
    if (!Number.isInteger(value) || (value as number) <= 0) {
      this.report([key], `must be a whole number greater than 0, got ${describeType(value)}`);
      return null;
    }
    return value as number;
  }

  mapping(key: string): Record<string, unknown> | null {
    const value = this.values[key];
    if (value === undefined || value === null) return null;
    if (!isPlainObject(value)) {
      this.report([key], `must be a mapping, got ${describeType(value)}`);
      return null;
    }
    return value;
  }

  stringList(key: string): string[] {
    const value = this.values[key];
    if (value === undefined || value === null) return [];
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list)) {
      this.report([key], `must be a list of text, got ${describeType(value)}`);
      return [];
    }
    const out: string[] = [];
    list.forEach((item, index) => {
      if (typeof item === 'string' || typeof item === 'number') out.push(String(item));
      else this.report([key, index], `must be text, got ${describeType(item)}`);
    });
    return out;
  }

  /** StackStorm tags: a list of `{name, value}` or of plain names → `name` / `name=value`. */
  tags(key = 'tags'): string[] {
    const value = this.values[key];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.report([key], `must be a list of tags, got ${describeType(value)}`);
      return [];
    }
    const out: string[] = [];
    value.forEach((tag, index) => {
      if (typeof tag === 'string' && tag !== '') out.push(tag);
      else if (isPlainObject(tag) && typeof tag.name === 'string' && tag.name !== '') {
        out.push(tag.value === undefined || tag.value === null || tag.value === '' ? tag.name : `${tag.name}=${String(tag.value)}`);
      } else this.report([key, index], 'must be a name or {name, value}');
    });
    return out;
  }

  /**
   * Unknown top-level fields: `ignored` ones (StackStorm's, unused by Attune)
   * are warnings; anything else is an error, as StackStorm refuses it too.
   */
  checkKnown(known: ReadonlySet<string>, ignored: ReadonlySet<string>, kind: string): void {
    for (const key of Object.keys(this.values)) {
      if (known.has(key)) continue;
      if (ignored.has(key)) this.report([key], `'${key}' is ignored by Attune`, 'warning');
      else this.report([key], `unknown ${kind} field '${key}'`);
    }
  }
}
