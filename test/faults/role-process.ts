/**
 * A child process that runs one role exactly as its `attune <role>` command
 * does (runRoleCommand with the same builder: configuration from the
 * environment, one pool and one listener, JSON logs on stdout, a clean stop on
 * SIGTERM), without loading the rest of the CLI, so a fault test starts many
 * of them quickly.
 * Usage: node --import tsx test/faults/role-process.ts api|rules|worker|maintenance|timers|sensors
 */
import { createApiRole } from '../../src/api/server.js';
import { buildRulesRole } from '../../src/cli/commands/rules.js';
import { runRoleCommand, type RoleBuilder } from '../../src/cli/commands/roles.js';
import { buildSensorsRole, buildTimersRole } from '../../src/cli/commands/timers-sensors.js';
import { buildMaintenanceRole, buildWorkerRole } from '../../src/cli/commands/worker.js';

const BUILDERS: Record<string, RoleBuilder> = {
  api: (ctx) => [createApiRole({ db: ctx.pool, config: ctx.config, logger: ctx.logger })],
  rules: buildRulesRole,
  worker: buildWorkerRole,
  maintenance: buildMaintenanceRole,
  timers: buildTimersRole,
  sensors: buildSensorsRole,
};

const role = process.argv[2] ?? '';
const build = BUILDERS[role];
if (build === undefined) {
  process.stderr.write(`usage: role-process.ts ${Object.keys(BUILDERS).join('|')} (got ${JSON.stringify(role)})\n`);
  process.exit(2);
}
process.exitCode = await runRoleCommand(role, build);
