/**
 * Criteria evaluation: `matchCriteria` on a typical five-criterion rule
 * (equals, contains, regex, greaterthan, exists) against webhook-like
 * payloads, some matching and some not, against the same five checks
 * hand-written in plain JavaScript. Pure CPU, no database: a microbenchmark
 * timed in batches (MicroBenchCase), one operation being one evaluation.
 * No target: the ratio says what the generality (key parsing, Python
 * semantics, per-criterion reports) costs.
 */
import { matchCriteria } from '../../src/rules/criteria/index.js';
import type { MicroBenchCase } from '../harness.js';
import type { BenchContext } from '../context.js';

const CRITERIA = {
  'trigger.body.action': { type: 'equals', pattern: 'opened' },
  'trigger.body.labels': { type: 'contains', pattern: 'urgent' },
  'trigger.body.title': { type: 'regex', pattern: '^\\[(?P<area>[a-z]+)\\] ' },
  'trigger.body.priority': { type: 'greaterthan', pattern: 2 },
  "trigger.headers['X-Request-Id']": { type: 'exists' },
};

/** Eight payloads: every other one matches; the others each fail one criterion. */
function payloads(): Record<string, unknown>[] {
  const base = (i: number) => ({
    body: {
      action: 'opened',
      labels: ['bug', 'urgent', `team-${i}`],
      title: `[engine] Event ${i} dropped under load`,
      priority: 3 + (i % 3),
      user: { login: `user${i}`, id: 1000 + i },
    },
    headers: { 'X-Request-Id': `req-${i}`, 'Content-Type': 'application/json' },
  });
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < 8; i++) {
    const payload = base(i);
    if (i === 1) payload.body.action = 'closed';
    if (i === 3) payload.body.labels = ['bug'];
    if (i === 5) payload.body.title = `Event ${i} dropped`;
    if (i === 7) payload.body.priority = 1;
    out.push(payload);
  }
  return out;
}

/** The same five checks, written by hand for exactly this rule. */
function handWritten(payload: Record<string, unknown>): boolean {
  const body = payload.body as Record<string, unknown> | undefined;
  const headers = payload.headers as Record<string, unknown> | undefined;
  const labels = body?.labels;
  const title = body?.title;
  const priority = body?.priority;
  return (
    body?.action === 'opened' &&
    Array.isArray(labels) &&
    labels.includes('urgent') &&
    typeof title === 'string' &&
    /^\[(?<area>[a-z]+)\] /u.test(title) &&
    typeof priority === 'number' &&
    priority > 2 &&
    headers?.['X-Request-Id'] !== undefined &&
    headers['X-Request-Id'] !== null
  );
}

export function criteriaCases(ctx: BenchContext): MicroBenchCase[] {
  void ctx;
  const inputs = payloads();
  return [
    {
      kind: 'micro',
      name: 'criteria.match-5',
      group: 'rules',
      title: 'matchCriteria, 5 criteria (equals, contains, regex, greaterthan, exists), one evaluation per op',
      baselineTitle: 'the same 5 checks hand-written in plain JavaScript',
      cycle: inputs.length,
      verify: async () => {
        for (const [index, payload] of inputs.entries()) {
          const expected = handWritten(payload);
          if (matchCriteria(CRITERIA, payload).matched !== expected) return `payload ${index}: matchCriteria and the hand-written checks disagree`;
        }
        return null;
      },
      repo: (i) => matchCriteria(CRITERIA, inputs[i % inputs.length]!).matched,
      baseline: (i) => handWritten(inputs[i % inputs.length]!),
    },
  ];
}
