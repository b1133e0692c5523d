/**
 * Template rendering: `renderActionParameters` on a typical parameter set
 * (five parameters: two filters, a length, a literal and one parameter
 * reading another) against webhook-like payloads, against the same strings
 * built with hand-written JavaScript template literals. Pure CPU, no
 * database: a microbenchmark timed in batches (MicroBenchCase), one
 * operation being one parameter set rendered. No target: the ratio says
 * what Jinja, the sandbox, the budgets, dependency ordering and casting cost
 * over string concatenation.
 */
import { renderActionParameters, type ActionParameterSchema } from '../../src/rules/templates/index.js';
import type { MicroBenchCase } from '../harness.js';
import type { BenchContext } from '../context.js';

const RULE_PARAMS = {
  channel: '#ops',
  title: '{{ trigger.body.title | upper }}',
  url: '{{ trigger.body.url }}',
  labels: '{{ trigger.body.labels | length }}',
  message: '[{{ channel }}] {{ title }} by {{ trigger.body.user.login }}: {{ url }}',
};

const SCHEMA: ActionParameterSchema = {
  type: 'object',
  properties: {
    channel: { type: 'string' },
    title: { type: 'string' },
    url: { type: 'string' },
    labels: { type: 'integer' },
    message: { type: 'string' },
  },
};

function payloads(): Record<string, unknown>[] {
  return Array.from({ length: 8 }, (_, i) => ({
    body: {
      title: `Event ${i} dropped under load`,
      url: `https://example.test/issues/${1000 + i}`,
      labels: ['bug', 'urgent', `team-${i}`].slice(0, 1 + (i % 3)),
      user: { login: `user${i}`, id: 1000 + i },
    },
    headers: { 'X-Request-Id': `req-${i}` },
  }));
}

/** The same parameters, built by hand for exactly this rule. */
function handWritten(payload: Record<string, unknown>): Record<string, unknown> {
  const body = payload.body as { title: string; url: string; labels: string[]; user: { login: string } };
  const channel = '#ops';
  const title = body.title.toUpperCase();
  return { channel, title, url: body.url, labels: body.labels.length, message: `[${channel}] ${title} by ${body.user.login}: ${body.url}` };
}

const render = (payload: Record<string, unknown>) => renderActionParameters(RULE_PARAMS, SCHEMA, { values: { trigger: payload } }).params;

export function templateCases(ctx: BenchContext): MicroBenchCase[] {
  void ctx;
  const inputs = payloads();
  return [
    {
      kind: 'micro',
      name: 'templates.render-params-5',
      group: 'rules',
      title: 'renderActionParameters, 5 parameters (2 filters, 1 cross-reference, casting), one parameter set per op',
      baselineTitle: 'the same values built with hand-written JavaScript template literals',
      cycle: inputs.length,
      verify: async () => {
        for (const [index, payload] of inputs.entries()) {
          if (JSON.stringify(render(payload)) !== JSON.stringify(handWritten(payload))) return `payload ${index}: the rendered and the hand-built parameters differ`;
        }
        return null;
      },
      repo: (i) => (render(inputs[i % inputs.length]!).message as string).length,
      baseline: (i) => (handWritten(inputs[i % inputs.length]!).message as string).length,
    },
  ];
}
