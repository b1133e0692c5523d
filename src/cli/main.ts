#!/usr/bin/env node
/**
 * The `attune` binary. Every command group lives in its own module under
 * commands/ and registers itself; the list below names them all. A group's
 * module is imported only when its command runs (or for help and
 * completion, which need them all), so `attune --version` and a client
 * command stay quick and never load the database or server code.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { addGlobalClientOptions } from './commands/client-command.js';
import { processIo, type CliIo } from './format/io.js';

/** Registers one or more commands on the program. */
type Register = (program: Command, io: CliIo) => void;

/** A command group: the top-level names it answers to and how to load its registration. */
interface Group {
  names: string[];
  load: () => Promise<Register>;
}

/** A role command (`attune rules`, …): runs roles against ATTUNE__DATABASE__URL; see commands/roles.ts. */
function roleGroup(name: string, description: string, builder: () => Promise<import('./commands/roles.js').RoleBuilder>, subcommands?: () => Promise<Register>): Group {
  return {
    names: [name],
    load: async () => {
      const [{ addRoleCommand }, addSubcommands] = await Promise.all([import('./commands/roles.js'), subcommands?.()]);
      return (program, io) => {
        const command = addRoleCommand(program, name, description, async (ctx) => (await builder())(ctx));
        addSubcommands?.(command, io);
      };
    },
  };
}

/** Every command group of `attune`, in the order help lists them. */
const GROUPS: Group[] = [
  // Running Attune: one program, the database, the single roles.
  { names: ['up'], load: async () => (await import('./commands/up.js')).addUpCommand },
  { names: ['db'], load: async () => (await import('./commands/db.js')).registerDbCommands },
  roleGroup('api', 'run the api role: the HTTP API on ATTUNE__API__HOST:ATTUNE__API__PORT (docs/api.md)', async () => {
    const { createApiRole } = await import('../api/server.js');
    return (ctx) => [createApiRole({ db: ctx.pool, config: ctx.config, logger: ctx.logger })];
  }),
  roleGroup('rules', 'run the rules role: process events into enforcements and requested executions', async () => (await import('./commands/rules.js')).buildRulesRole),
  roleGroup('timers', 'run the timers role: fire interval, cron and date timer triggers, each tick once across processes', async () => (await import('./commands/timers-sensors.js')).buildTimersRole),
  roleGroup('sensors', 'run the sensors role: run pack sensors, each once across processes, their lines becoming events', async () => (await import('./commands/timers-sensors.js')).buildSensorsRole),
  roleGroup(
    'worker',
    'run the worker role: claim requested executions and run them in their runners (attune worker list: the workers)',
    async () => (await import('./commands/worker.js')).buildWorkerRole,
    async () => (await import('./commands/workers.js')).registerWorkerCommands,
  ),
  roleGroup('maintenance', 'run the maintenance role: expired leases, deadlines, inquiry time-outs, output retention', async () => (await import('./commands/worker.js')).buildMaintenanceRole),
  // The client of the HTTP API.
  { names: ['pack', 'packs'], load: async () => (await import('./commands/pack.js')).registerPackCommands },
  { names: ['action', 'actions'], load: async () => (await import('./commands/action.js')).registerActionCommands },
  { names: ['run'], load: async () => (await import('./commands/run.js')).registerRunCommand },
  { names: ['execution', 'executions'], load: async () => (await import('./commands/execution.js')).registerExecutionCommands },
  { names: ['rule'], load: async () => (await import('./commands/rule.js')).registerRuleCommands },
  { names: ['trigger', 'triggers'], load: async () => (await import('./commands/trigger.js')).registerTriggerCommands },
  { names: ['event', 'events'], load: async () => (await import('./commands/event.js')).registerEventCommands },
  { names: ['enforcement', 'enforcements'], load: async () => (await import('./commands/enforcement.js')).registerEnforcementCommands },
  { names: ['inquiry', 'inquiries'], load: async () => (await import('./commands/inquiry.js')).registerInquiryCommands },
  { names: ['key', 'keys'], load: async () => (await import('./commands/key.js')).registerKeyCommands },
  { names: ['identity', 'identities'], load: async () => (await import('./commands/identity.js')).registerIdentityCommands },
  { names: ['token', 'tokens'], load: async () => (await import('./commands/token.js')).registerTokenCommands },
  { names: ['login', 'logout', 'whoami'], load: async () => (await import('./commands/auth.js')).registerAuthCommands },
  { names: ['completion'], load: async () => (await import('./commands/completion.js')).registerCompletionCommand },
];

/**
 * Builds the program for `argv` (the user's words, without node and the
 * script): only the group the first word names is loaded, or every group
 * when there is none (help, an unknown word, completion).
 */
export async function buildProgram(argv: readonly string[], io: CliIo = processIo()): Promise<Command> {
  const program = new Command('attune')
    .description('Attune: event-driven automation on PostgreSQL')
    .version(packageVersion(), '-V, --version')
    .showSuggestionAfterError()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .addHelpText('after', '\nExit codes: 0 success, 1 failure (or a run that did not succeed), 2 a usage error.\nClient commands find the API through --api-url, ATTUNE_API_URL or the CLI config file (docs/cli.md).');
  addGlobalClientOptions(program);
  const word = firstCommandWord(argv);
  // --version alone needs no command at all; help, completion and an unknown word need them all.
  const versionOnly = word === undefined && argv.some((arg) => arg === '--version' || arg === '-V');
  const wanted = versionOnly ? [] : word === undefined || word === 'completion' || word === 'help' ? GROUPS : GROUPS.filter((g) => g.names.includes(word));
  const registers = await Promise.all((wanted.length > 0 || versionOnly ? wanted : GROUPS).map((group) => group.load()));
  const registered = new Set<Register>();
  for (const register of registers) {
    if (registered.has(register)) continue; // login, logout and whoami share one module
    registered.add(register);
    register(program, io);
  }
  return program;
}

/** Options of the root program that take a value, so their value is not the command word. */
const VALUE_OPTIONS = new Set(['--api-url', '--profile']);

function firstCommandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (VALUE_OPTIONS.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/**
 * Runs `attune` with `argv` (without node and the script) on `io`; resolves
 * with the exit code: the command's own, 0 for help and version, 2 for a
 * usage error (an unknown command or option, a bad argument).
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let code = 0;
  const captured: CliIo = { ...io, setExitCode: (value) => (code = value) };
  const program = await buildProgram(argv, captured);
  program.exitOverride();
  for (const command of allCommands(program)) command.exitOverride();
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    const success = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code);
    return success ? 0 : 2;
  }
  return code;
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((sub) => [sub, ...allCommands(sub)]);
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Whether this module is the program being run (not imported by a test). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const io = processIo();
  let exitCode: number;
  try {
    exitCode = await runCli(process.argv.slice(2), { ...io, setExitCode: (code) => (process.exitCode = code) });
    // Role commands set process.exitCode themselves; keep the larger of the two.
    exitCode = Math.max(exitCode, Number(process.exitCode ?? 0));
  } catch (error) {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    exitCode = 1;
  }
  // Exit explicitly, with the code the command chose, once its output is out.
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(exitCode);
}

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}
