import { expect } from 'vitest';
import { matchCriteria, type CriterionResult, type MatchCriteriaOptions } from '../../../src/rules/criteria/index.js';

/** Stands for a field absent from the payload. */
export const MISSING = Symbol('missing');

/** One criterion `trigger.v: {type, pattern}` against a payload holding `v` (or not). */
export function check(type: string, value: unknown, pattern?: unknown, options: MatchCriteriaOptions = {}): CriterionResult {
  const payload = value === MISSING ? { other: 1 } : { v: value };
  const spec: Record<string, unknown> = { type };
  if (pattern !== undefined) spec.pattern = pattern;
  const result = matchCriteria({ 'trigger.v': spec }, payload, options);
  expect(result.criteria).toHaveLength(1);
  expect(result.matched).toBe(result.criteria[0]!.matched);
  return result.criteria[0]!;
}
