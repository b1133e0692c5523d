import { defaults, INPUT_LIMIT_RANGES, type AttuneConfig } from './config.js';
import { ValidationError } from './errors.js';

/**
 * Ceilings on what one input may hold, checked before any SQL runs so an
 * oversized or malformed value is a ValidationError naming its field instead
 * of a driver or PostgreSQL failure (54000, 22021, a RangeError).
 */
export type InputLimits = AttuneConfig['limits'];

/** The built-in limits; `configureLimits` replaces them for the process. */
export const DEFAULT_INPUT_LIMITS: Readonly<InputLimits> = Object.freeze(defaults().limits);

let current: Readonly<InputLimits> = DEFAULT_INPUT_LIMITS;

/**
 * Sets the limits every repository checks, for the whole process: call it
 * once at start-up with `config.limits` (`openDatabaseTarget` does). Settings
 * left out keep their current value. A value outside its range is refused
 * with a ValidationError naming it, and nothing changes.
 */
export function configureLimits(limits: Partial<InputLimits>): void {
  const next = { ...current };
  for (const [key, value] of Object.entries(limits ?? {}) as [keyof InputLimits, unknown][]) {
    const range = INPUT_LIMIT_RANGES[key];
    if (!range) throw new ValidationError(`limits has no setting '${String(key)}'; known: ${Object.keys(INPUT_LIMIT_RANGES).join(', ')}`, { entity: 'limits', field: key });
    if (value === undefined) continue;
    const [min, max] = range;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new ValidationError(`limits.${key} must be a whole number from ${min} to ${max}, got ${String(value)}`, { entity: 'limits', field: key, value });
    }
    next[key] = value;
  }
  current = Object.freeze(next);
}

/** The limits in force now. */
export function inputLimits(): Readonly<InputLimits> {
  return current;
}

