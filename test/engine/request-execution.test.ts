import { describe, expect, it } from 'vitest';
import { ConfigError, DecryptionError, InvalidReferenceError, ValidationError } from '../../src/errors.js';
import { maskSecretParams, prepareExecutionParams, requestExecution, revealSecretParams, SECRET_PARAM_KEY, type RequestedAction } from '../../src/engine/request-execution.js';
import { SecretCipher } from '../../src/crypto/secrets.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { ActionFixture } from '../../src/testing/fixtures/actions.js';
import { IdentityFixture } from '../../src/testing/fixtures/identities.js';
import { useTransactionPerTest } from '../support/db.js';
import { MESSAGE_SCHEMA, testCipher } from './rule-setup.js';

const ctx = useTransactionPerTest();
const cipher = testCipher();

const SECRET_SCHEMA = {
  type: 'object',
  properties: { token: { type: 'string', secret: true }, host: { type: 'string', default: 'localhost' } },
  additionalProperties: false,
};

async function countExecutions(): Promise<number> {
  return (await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM executions')).rows[0]!.n;
}

describe('requestExecution', () => {
  it('writes a requested execution with the defaults applied, through the active version of the pack', async () => {
    const action = await new ActionFixture().withRunnerType('noop').withParamSchema(MESSAGE_SCHEMA).withTimeout(30).create(ctx.db);
    const identity = await new IdentityFixture().create(ctx.db);
    const execution = await requestExecution(ctx.db, action.ref, { message: 'hi' }, { requestedBy: identity.id, traceId: 't-1', maxAttempts: 3 });
    expect(execution).toMatchObject({
      actionId: action.id,
      actionRef: action.ref,
      status: 'requested',
      params: { message: 'hi', count: 1 },
      requestedBy: identity.id,
      traceId: 't-1',
      maxAttempts: 3,
      timeoutSeconds: 30,
    });
  });

  it('refuses parameters that break the schema, naming the parameter, and writes nothing', async () => {
    const action = await new ActionFixture().withRunnerType('noop').withParamSchema(MESSAGE_SCHEMA).create(ctx.db);
    const wrongType = await expectErrorType(requestExecution(ctx.db, action.ref, { message: 'hi', count: 'two' }), ValidationError);
    expect(wrongType.message).toContain('params.count must be integer');
    expect(wrongType.field).toBe('params.count');
    const unknown = await expectErrorType(requestExecution(ctx.db, action.ref, { message: 'hi', colour: 'red' }), ValidationError);
    expect(unknown.message).toContain("unknown property 'colour'");
    const missing = await expectErrorType(requestExecution(ctx.db, action.ref, {}), ValidationError);
    expect(missing.field).toBe('params.message');
    expect(await countExecutions()).toBe(0);
  });

  it('accepts unknown parameters when the schema allows them', async () => {
    const action = await new ActionFixture().withRunnerType('noop').withParamSchema({ type: 'object', properties: {}, additionalProperties: true }).create(ctx.db);
    expect((await requestExecution(ctx.db, action.ref, { anything: [1] })).params).toEqual({ anything: [1] });
  });

  it('keeps an immutable parameter at its default and refuses another value', async () => {
    const schema = { type: 'object', properties: { cmd: { type: 'string', immutable: true, default: 'uptime' } }, additionalProperties: false };
    const action = await new ActionFixture().withRunnerType('noop').withParamSchema(schema).create(ctx.db);
    expect((await requestExecution(ctx.db, action.ref, {})).params).toEqual({ cmd: 'uptime' });
    expect((await requestExecution(ctx.db, action.ref, { cmd: 'uptime' })).params).toEqual({ cmd: 'uptime' });
    const error = await expectErrorType(requestExecution(ctx.db, action.ref, { cmd: 'rm -rf /' }), ValidationError);
    expect(error.message).toContain("parameter 'cmd'");
    expect(error.message).toContain('immutable');
  });

  it('refuses a disabled action with its reason, and an unknown one', async () => {
    const action = await new ActionFixture().withRunnerType('orquesta').with({ enabled: false, disabledReason: 'runner orquesta is not supported yet' }).create(ctx.db);
    const error = await expectErrorType(requestExecution(ctx.db, action.ref, {}), ValidationError);
    expect(error.message).toBe(`action '${action.ref}' is disabled: runner orquesta is not supported yet`);
    await expectErrorType(requestExecution(ctx.db, 'nosuch.action', {}), InvalidReferenceError);
    expect(await countExecutions()).toBe(0);
  });

  it('stores secret parameters encrypted; reveal gives them back, mask hides them', async () => {
    const action = await new ActionFixture().withRunnerType('noop').withParamSchema(SECRET_SCHEMA).create(ctx.db);
    const execution = await requestExecution(ctx.db, action.ref, { token: 'hunter2' }, { cipher });
    expect(JSON.stringify(execution.params)).not.toContain('hunter2');
    expect(execution.params.token).toEqual({ [SECRET_PARAM_KEY]: expect.stringMatching(/^v1:/) });
    expect(execution.params.host).toBe('localhost');
    expect(revealSecretParams(execution.params, SECRET_SCHEMA, cipher)).toEqual({ token: 'hunter2', host: 'localhost' });
    expect(maskSecretParams(execution.params, SECRET_SCHEMA)).toEqual({ token: '********', host: 'localhost' });
    const otherKey = new SecretCipher('another-key-of-at-least-thirty-two-characters');
    await expectErrorType(async () => revealSecretParams(execution.params, SECRET_SCHEMA, otherKey), DecryptionError);
    await expectErrorType(async () => revealSecretParams(execution.params, SECRET_SCHEMA, undefined), DecryptionError);
  });

  it('refuses a secret parameter when no encryption key is configured, writing nothing', async () => {
    const action = await new ActionFixture().withRunnerType('noop').withParamSchema(SECRET_SCHEMA).create(ctx.db);
    const error = await expectErrorType(requestExecution(ctx.db, action.ref, { token: 'hunter2' }), ConfigError);
    expect(error.message).toContain('ATTUNE__SECURITY__ENCRYPTION_KEY');
    expect(error.message).not.toContain('hunter2');
    expect(await countExecutions()).toBe(0);
    // Without the secret given there is nothing to encrypt.
    expect((await requestExecution(ctx.db, action.ref, {})).params).toEqual({ host: 'localhost' });
  });
});

describe('prepareExecutionParams (its schema planned once per version of the action)', () => {
  const actionWith = (paramSchema: Record<string, unknown>, updatedAt: Date, id = 9_000_001): RequestedAction => ({
    id,
    ref: 'plan.act',
    enabled: true,
    disabledReason: null,
    paramSchema,
    updatedAt,
  });

  it('plans an edited action again: a parameter made secret and immutable after the edit is encrypted and kept', () => {
    const before = actionWith({ type: 'object', properties: { token: { type: 'string' }, mode: { type: 'string', default: 'a' } } }, new Date(1_000));
    expect(prepareExecutionParams(before, { token: 't', mode: 'b' }, cipher).params).toEqual({ token: 't', mode: 'b' });
    const after = actionWith(
      { type: 'object', properties: { token: { type: 'string', secret: true }, mode: { type: 'string', default: 'a', immutable: true } } },
      new Date(2_000),
    );
    const prepared = prepareExecutionParams(after, { token: 't' }, cipher);
    expect(prepared.masked).toEqual({ token: '********', mode: 'a' });
    expect(prepared.params.token).toHaveProperty(SECRET_PARAM_KEY);
    expect(() => prepareExecutionParams(after, { token: 't', mode: 'b' }, cipher)).toThrow(/'mode' of action 'plan.act' is immutable/);
  });

  it('does not serve the plan of another schema under the same id and updated_at (an action built by hand)', () => {
    const at = new Date(3_000);
    const open = actionWith({ type: 'object', properties: { n: { type: 'integer' } } }, at, 9_000_002);
    expect(prepareExecutionParams(open, { n: 1, extra: true }, cipher).params).toEqual({ n: 1, extra: true });
    const closed = actionWith({ type: 'object', properties: { n: { type: 'integer' } }, additionalProperties: false }, at, 9_000_002);
    expect(() => prepareExecutionParams(closed, { n: 1, extra: true }, cipher)).toThrow(/unknown property 'extra'/);
  });

  it('never changes the parameters given, also when the schema fills defaults in below the top level', () => {
    const action = actionWith(
      {
        type: 'object',
        properties: { options: { type: 'object', properties: { retries: { type: 'integer', default: 3 } } }, level: { type: 'string', default: 'info' } },
      },
      new Date(4_000),
      9_000_003,
    );
    const given = { options: {} };
    const prepared = prepareExecutionParams(action, given, cipher);
    expect(prepared.params).toEqual({ options: { retries: 3 }, level: 'info' });
    expect(given).toEqual({ options: {} });
  });
});
