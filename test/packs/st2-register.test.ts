/**
 * StackStorm's own core and examples packs (../shared/st2-packs), registered
 * with stand-ins for their scripts: each registers, or is refused with the
 * precise reason written here.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PackInvalidError, formatProblem } from '../../src/packs/problems.js';
import { registerPack } from '../../src/packs/register.js';
import { ActionRepository } from '../../src/repositories/actions.js';
import { RuleRepository } from '../../src/repositories/rules.js';
import { ST2_PACKS_DIR } from '../support/st2-packs.js';
import { useTransactionPerTest } from '../support/db.js';
import { writePack } from './support.js';

const ctx = useTransactionPerTest();

/** A copy of a StackStorm pack with a stand-in for every script scripts-manifest.json names (and, optionally, more files). */
async function withStandIns(pack: 'core' | 'examples', extra: Record<string, string> = {}): Promise<string> {
  const manifest = JSON.parse(await readFile(join(ST2_PACKS_DIR, 'scripts-manifest.json'), 'utf8')) as {
    entries: { entry_point_file: string; first_line: string | null }[];
  };
  const files: Record<string, string> = { ...extra };
  for (const entry of manifest.entries) {
    const prefix = `contrib/${pack}/`;
    if (entry.entry_point_file.startsWith(prefix)) files[entry.entry_point_file.slice(prefix.length)] = `${entry.first_line ?? '# stand-in'}\n# stand-in\n`;
  }
  return writePack(files, join(ST2_PACKS_DIR, pack));
}

describe('StackStorm packs, registered', () => {
  it('core registers; actions on runners Attune lacks are registered disabled with the reason', async () => {
    const report = await registerPack(ctx.db, await withStandIns('core'));
    expect(report).toMatchObject({ pack: 'core', activated: true });
    expect(report.disabled.map((d) => d.ref).sort()).toEqual(['core.announcement', 'core.remote', 'core.remote_sudo', 'core.winrm_cmd', 'core.winrm_ps_cmd']);
    expect(await ActionRepository.getByRef(ctx.db, 'core.winrm_cmd')).toMatchObject({ enabled: false, disabledReason: 'runner winrm-cmd is not supported yet' });
    expect(await ActionRepository.getByRef(ctx.db, 'core.local')).toMatchObject({ enabled: true, runnerType: 'shell' });
  });

  it('examples is refused without its sensors\' scripts, naming each; with stand-ins it is refused for its references only, each named', async () => {
    const refused = await registerPack(ctx.db, await withStandIns('examples')).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(PackInvalidError);
    const errors = (refused as PackInvalidError).problems.filter((p) => p.severity === 'error').map(formatProblem);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((text) => text.startsWith('sensors/') && text.includes('does not exist in the pack'))).toBe(true);

    const sensorScripts = Object.fromEntries(
      errors.map((text) => /looked for (sensors\/[^)]+)\)/.exec(text)![1]!).map((path) => [path, 'class Sensor: pass\n']),
    );
    // With the sensors' scripts too, what is left is StackStorm's own references:
    // its system triggers (st2's core pack does not define them; Attune's core does)
    // and packs examples uses without listing them in dependencies.
    const withSensors = await withStandIns('examples', sensorScripts);
    await registerPack(ctx.db, join(import.meta.dirname, '../../packs/core'));
    const reasons = await registerPack(ctx.db, withSensors).then(
      () => [],
      (error: unknown) => (error as PackInvalidError).problems.filter((p) => p.severity === 'error').map(formatProblem),
    );
    expect(reasons.sort()).toEqual([
      "rules/notify_inquiry.yaml action.ref: rule 'examples.notify_inquiry' names action 'slack.post_message' of pack 'slack', which pack.yaml does not list in dependencies",
      "rules/notify_slack.yaml action.ref: rule 'examples.notify_slack' names action 'slack.post_message' of pack 'slack', which pack.yaml does not list in dependencies",
      "rules/notify_slack.yaml trigger.type: rule 'examples.notify_slack' names trigger 'core.st2.generic.notifytrigger', which is not installed (no active version of pack 'core' defines it)",
      "rules/sample_rule_file_watch.yaml trigger.type: rule 'examples.sample_rule_file_watch' names trigger 'linux.file_watch.line' of pack 'linux', which pack.yaml does not list in dependencies",
    ]);
    expect(await RuleRepository.findByRef(ctx.db, 'examples.sample_rule_with_webhook')).toBeNull();
  });
});
