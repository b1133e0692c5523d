/**
 * Templated action parameter defaults render the same whichever path asks
 * for the run: by hand (requestExecution: API, CLI, re-run) or a rule
 * (evaluateRule). core.sleep's `cmd: 'sleep {{ seconds }}'` and core.echo's
 * `cmd: 'echo "{{ message }}"'` reach the runner rendered.
 */
import { describe, expect, it } from 'vitest';
import { evaluateRule } from '../../src/engine/evaluate-rule.js';
import { requestExecution } from '../../src/engine/request-execution.js';
import { TemplateError } from '../../src/rules/templates/index.js';
import { ValidationError } from '../../src/errors.js';
import { registerPack } from '../../src/packs/register.js';
import { ActionRepository } from '../../src/repositories/actions.js';
import type { Rule } from '../../src/repositories/rules.js';
import { CORE_PACK_DIR } from '../../src/up/database.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { ActionFixture } from '../../src/testing/fixtures/actions.js';
import { IdentityFixture } from '../../src/testing/fixtures/identities.js';
import { KeyFixture } from '../../src/testing/fixtures/keys.js';
import { PackFixture } from '../../src/testing/fixtures/packs.js';
import { useTransactionPerTest } from '../support/db.js';

const ctx = useTransactionPerTest();

async function registerCore(): Promise<void> {
  await registerPack(ctx.db, CORE_PACK_DIR, { system: true });
}

/** A rule on core's action `actionRef` with `actionParams`, evaluated against a bare event: the parameters a rule would request. */
async function ruleParams(actionRef: string, actionParams: Record<string, unknown>): Promise<Record<string, unknown>> {
  const action = await ActionRepository.getByRef(ctx.db, actionRef);
  const rule = { id: 1, ref: 'p.r', name: 'r', packRef: 'p', triggerRef: 'p.t', triggerParams: {}, criteria: {}, actionRef, actionParams, enabled: true } as unknown as Rule;
  const outcome = evaluateRule(rule, { id: 1, triggerRef: 'p.t', payload: {}, triggerParams: {}, createdAt: new Date() }, { action });
  if (outcome.kind !== 'request') throw new Error(`the rule did not request its action: ${JSON.stringify(outcome)}`);
  return outcome.params.params;
}

describe('templated parameter defaults', () => {
  it('core.sleep by hand runs `sleep <seconds>`, as a rule does', async () => {
    await registerCore();
    const byHand = await requestExecution(ctx.db, 'core.sleep', { seconds: 3 });
    expect(byHand.params.cmd).toBe('sleep 3');
    expect(byHand.params.seconds).toBe(3);
    expect((await ruleParams('core.sleep', { seconds: 3 })).cmd).toBe('sleep 3');
  });

  it('core.echo by hand runs `echo "<message>"`, as a rule does', async () => {
    await registerCore();
    const byHand = await requestExecution(ctx.db, 'core.echo', { message: 'bonjour' });
    expect(byHand.params.cmd).toBe('echo "bonjour"');
    expect((await ruleParams('core.echo', { message: 'bonjour' })).cmd).toBe('echo "bonjour"');
  });

  it('a given value is data, not a template: only the defaults render', async () => {
    await registerCore();
    const byHand = await requestExecution(ctx.db, 'core.echo', { message: '{{ 7 * 6 }}' });
    expect(byHand.params.message).toBe('{{ 7 * 6 }}');
    expect(byHand.params.cmd).toBe('echo "{{ 7 * 6 }}"');
  });

  it('an immutable templated default keeps its default: the raw text or its rendering are accepted, anything else refused', async () => {
    await registerCore();
    expect((await requestExecution(ctx.db, 'core.sleep', { seconds: 2, cmd: 'sleep {{ seconds }}' })).params.cmd).toBe('sleep 2');
    // A re-run sends the stored, rendered parameters back.
    expect((await requestExecution(ctx.db, 'core.sleep', { seconds: 2, cmd: 'sleep 2' })).params.cmd).toBe('sleep 2');
    const refused = await expectErrorType(requestExecution(ctx.db, 'core.sleep', { seconds: 2, cmd: 'rm -rf /tmp/x' }), ValidationError);
    expect(refused.field).toBe('params.cmd');
    expect(refused.message).toContain('immutable');
    // A rule that sets it is refused too (its enforcement fails).
    const action = await ActionRepository.getByRef(ctx.db, 'core.sleep');
    const rule = { id: 1, ref: 'p.r', name: 'r', packRef: 'p', triggerRef: 'p.t', triggerParams: {}, criteria: {}, actionRef: 'core.sleep', actionParams: { seconds: 1, cmd: 'reboot' } } as unknown as Rule;
    expect(evaluateRule(rule, { id: 1, triggerRef: 'p.t', payload: {}, triggerParams: {}, createdAt: new Date() }, { action }).kind).toBe('failed');
  });

  it('defaults read other defaults, the key store, the pack configuration and action_context, and are cast to their type', async () => {
    const pack = await new PackFixture().withConfig({ region: 'eu-west' }).create(ctx.db);
    const key = await new KeyFixture().withName(`greeting_${pack.id}`).withValue('hello').create(ctx.db);
    const identity = await new IdentityFixture().create(ctx.db);
    const schema = {
      type: 'object',
      properties: {
        name: { type: 'string' },
        count: { type: 'integer', default: '{{ base * 2 }}' },
        base: { type: 'integer', default: 21 },
        text: { type: 'string', default: `{{ st2kv.system.${key.name} }} {{ name }} from {{ config.region }}, {{ count }} times, asked by {{ action_context.user }}` },
      },
      additionalProperties: false,
    };
    const action = await new ActionFixture().forPack(pack).withRunnerType('noop').withParamSchema(schema).create(ctx.db);
    const execution = await requestExecution(ctx.db, action.ref, { name: 'Ada' }, { requestedBy: identity.id });
    expect(execution.params).toEqual({ name: 'Ada', base: 21, count: 42, text: `hello Ada from eu-west, 42 times, asked by ${identity.login}` });
    // A value given wins over the default, and the defaults reading it follow.
    expect((await requestExecution(ctx.db, action.ref, { name: 'Bo', base: 1 })).params).toMatchObject({ count: 2, text: expect.stringContaining('Bo from eu-west, 2 times') });
  });

  it('a default that cannot render is refused naming the parameter, and nothing is written', async () => {
    const schema = { type: 'object', properties: { text: { type: 'string', default: '{{ nosuch.name }}' } } };
    const action = await new ActionFixture().withRunnerType('noop').withParamSchema(schema).create(ctx.db);
    const error = await expectErrorType(requestExecution(ctx.db, action.ref, {}), TemplateError);
    expect(error.field).toBe('text');
    expect((await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM executions')).rows[0]!.n).toBe(0);
  });
});
