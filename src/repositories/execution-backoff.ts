/**
 * Retry back-off of the execution queue, shared by the worker's completions
 * (execution-runs.ts) and the maintenance sweeps (execution-sweeps.ts).
 */
import { is, type Rules } from './support/validate.js';

/** Retry back-off: attempt n waits `min(cap, base × 2^(n-1))` seconds before it may be claimed. */
export interface RetryBackoff {
  baseSeconds: number;
  capSeconds: number;
}

export const DEFAULT_RETRY_BACKOFF: RetryBackoff = { baseSeconds: 1, capSeconds: 300 };

/** Validation rules of a RetryBackoff. */
export const backoffRules: Rules = {
  baseSeconds: { check: is.integer(0, 86_400), required: true },
  capSeconds: { check: is.integer(0, 7 * 86_400), required: true },
};

/** SQL: seconds a retry of attempt `attempt` waits (column or parameter expressions). */
export const BACKOFF = (attempt: string, base: string, cap: string): string => `LEAST(${cap}::double precision, ${base}::double precision * power(2, ${attempt} - 1))`;
