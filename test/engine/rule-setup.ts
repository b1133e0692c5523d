/* Builds what the engine tests need: a pack, a trigger, an action and rules on them. */
import { SecretCipher } from '../../src/crypto/secrets.js';
import type { Executor } from '../../src/db/pool.js';
import type { Action } from '../../src/repositories/actions.js';
import type { JsonObject, Pack } from '../../src/repositories/packs.js';
import type { Rule } from '../../src/repositories/rules.js';
import type { Trigger } from '../../src/repositories/triggers.js';
import { loadTestConfig } from '../../src/testing/env.js';
import { ActionFixture } from '../../src/testing/fixtures/actions.js';
import { PackFixture } from '../../src/testing/fixtures/packs.js';
import { RuleFixture } from '../../src/testing/fixtures/rules.js';
import { TriggerFixture } from '../../src/testing/fixtures/triggers.js';

/** The test kit's encryption key as a cipher. */
export function testCipher(): SecretCipher {
  const cipher = SecretCipher.fromConfig(loadTestConfig().security);
  if (!cipher) throw new Error('the test kit configures an encryption key');
  return cipher;
}

/** A two-parameter action schema: `message` (required string) and `count` (integer, default 1). */
export const MESSAGE_SCHEMA: JsonObject = {
  type: 'object',
  properties: { message: { type: 'string' }, count: { type: 'integer', default: 1 } },
  required: ['message'],
  additionalProperties: false,
};

export interface Scene {
  pack: Pack;
  trigger: Trigger;
  action: Action;
}

/** A pack with one trigger and one action. */
export async function createScene(
  db: Executor,
  options: { payloadSchema?: JsonObject; paramSchema?: JsonObject; config?: JsonObject; actionDisabled?: boolean } = {},
): Promise<Scene> {
  const pack = await new PackFixture().withConfig(options.config ?? {}).create(db);
  let trigger = new TriggerFixture().forPack(pack);
  if (options.payloadSchema) trigger = trigger.withPayloadSchema(options.payloadSchema);
  let action = new ActionFixture().forPack(pack).withRunnerType('noop').withParamSchema(options.paramSchema ?? MESSAGE_SCHEMA);
  if (options.actionDisabled) action = action.disabled();
  return { pack, trigger: await trigger.create(db), action: await action.create(db) };
}

/** A rule of the scene's pack on its trigger and action. */
export function createRule(
  db: Executor,
  scene: Scene,
  options: { criteria?: JsonObject; actionParams?: JsonObject; triggerParams?: JsonObject; enabled?: boolean } = {},
): Promise<Rule> {
  let rule = new RuleFixture()
    .forPack(scene.pack)
    .forTrigger(scene.trigger)
    .forAction(scene.action)
    .withCriteria(options.criteria ?? {})
    .withActionParams(options.actionParams ?? { message: 'hello' })
    .withTriggerParams(options.triggerParams ?? {});
  if (options.enabled === false) rule = rule.disabled();
  return rule.create(db);
}
