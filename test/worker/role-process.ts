/**
 * A child process that runs one role exactly as `attune worker` / `attune
 * maintenance` do (runRoleCommand with the same builders: configuration from
 * the environment, one pool and listener, JSON logs on stdout, clean stop on
 * SIGINT/SIGTERM), without loading the rest of the CLI.
 * Usage: node --import tsx test/worker/role-process.ts worker|maintenance
 */
import { runRoleCommand } from '../../src/cli/commands/roles.js';
import { buildMaintenanceRole, buildWorkerRole } from '../../src/cli/commands/worker.js';

const role = process.argv[2];
if (role !== 'worker' && role !== 'maintenance') {
  process.stderr.write(`usage: role-process.ts worker|maintenance (got ${String(role)})\n`);
  process.exit(2);
}
process.exitCode = await runRoleCommand(role, role === 'worker' ? buildWorkerRole : buildMaintenanceRole);
