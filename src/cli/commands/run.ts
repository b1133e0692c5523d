/**
 * `attune run <action> [key=value …]` (and `attune action execute`): the
 * parameters typed by the action's schema, the execution requested, then
 * its output streamed live until it ends, with the result; exit 0 only
 * when it succeeded. `--async` prints the execution and returns at once.
 */
import type { Command } from 'commander';
import { seg } from '../client.js';
import type { CliIo } from '../format/io.js';
import { parseParamsJson, typeParameters, type ParamSchema } from './action-parameters.js';
import { clientAction, type ClientContext } from './client-command.js';
import { followExecution, printOutcome } from './follow.js';

/** Options of a run. */
export interface RunOptions {
  paramsJson?: string;
  async?: boolean;
  trace?: string;
}

/** Adds the run options and action to `command` (its arguments: `<action> [params...]`). */
export function defineRun(command: Command, io: CliIo): Command {
  command
    .argument('<action>', 'action ref, e.g. core.local')
    .argument('[params...]', 'parameters as name=value, typed by the action\'s schema (cmd=date count=3 flag=true list=a,b obj=\'{"k":1}\')')
    .option('--params-json <json>', 'parameters as one JSON object (name=value arguments override its fields)')
    .option('-a, --async', 'print the execution at once instead of waiting for it')
    .addHelpText('after', '\nExit code: 0 when the execution succeeded, 1 when it failed, timed out, was canceled or abandoned (or could not be requested).');
  return clientAction<RunOptions>(command, io, async (ctx, [action, ...pairs], options) => runAction(ctx, action!, pairs, options));
}

/** Requests `actionRef` with typed parameters and follows it unless async. */
export async function runAction({ client, print }: ClientContext, actionRef: string, pairs: readonly string[], options: RunOptions): Promise<number> {
  const action = await client.data<{ ref: string; param_schema: ParamSchema }>('GET', `/actions/${seg(actionRef)}`);
  const parameters = typeParameters(action.ref, action.param_schema ?? {}, pairs, parseParamsJson(options.paramsJson));
  const execution = await client.data<Record<string, unknown> & { id: number; status: string }>('POST', '/executions', { action: action.ref, parameters });
  if (options.async) {
    if (!print.human) await print.machine(execution);
    else {
      print.write(String(execution.id));
      print.note(`execution ${execution.id} ${execution.status}: follow it with attune execution tail ${execution.id}`);
    }
    return 0;
  }
  if (print.human) print.note(`execution ${execution.id} (${action.ref}) ${execution.status}; Ctrl-C stops waiting, not the execution`);
  return printOutcome(print, await followExecution(client, print, execution.id, print.human));
}

export function registerRunCommand(program: Command, io: CliIo): void {
  defineRun(program.command('run').description('run an action and stream its output until it ends (st2 run)'), io);
}
