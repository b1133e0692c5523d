/** The shape of Attune's own template filters (StackStorm's), which work on plain JSON data. */
import type { Json } from './values.js';

/** What a filter may use besides its input: the render's size cap. */
export interface FilterEnvironment {
  /** Characters a produced string may hold. */
  readonly maxOutput: number;
}

/** One filter: its parameter names (for keyword arguments, in order) and its function. */
export interface FilterDefinition {
  readonly params: readonly string[];
  /** Arguments the caller must give (the rest default inside `apply`). */
  readonly required?: number;
  apply(input: Json, args: (Json | undefined)[], env: FilterEnvironment): Json;
}

/** Text of a value as StackStorm's filters see a non-string input (`str(value)`), in JSON spelling. */
export function textOf(value: Json): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The argument at `index` as a string, or a TypeError-like message naming the filter. */
export function stringArg(filter: string, name: string, value: Json | undefined): string {
  if (typeof value !== 'string') throw new Error(`${filter}: ${name} must be a string`);
  return value;
}

/** An optional boolean argument (absent: false). */
export function booleanArg(filter: string, name: string, value: Json | undefined): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw new Error(`${filter}: ${name} must be true or false`);
  return value;
}
