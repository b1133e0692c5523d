/**
 * `attune execution`: list (filters: status, action, rule, since), get,
 * tail (follow the output live to the end), output (what was written;
 * --follow as tail), cancel, re-run, children.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { isAttuneError, ErrorCode } from '../../errors.js';
import { seg, type ApiClient } from '../client.js';
import type { CliIo } from '../format/io.js';
import type { Printer } from '../format/printer.js';
import type { Column } from '../format/table.js';
import { parseParamsJson, typeParameters, type ParamSchema } from './action-parameters.js';
import { addPagingOptions, clientAction, wholeNumber, type PagingOptions } from './client-command.js';
import { followExecution, printOutcome } from './follow.js';

const STATUSES = ['requested', 'scheduled', 'running', 'paused', 'succeeded', 'failed', 'timeout', 'canceling', 'canceled', 'abandoned'];

type Row = Record<string, unknown>;

function columns(print: Printer): Column[] {
  return [
    { field: 'id' },
    { field: 'action_ref', header: 'action' },
    { field: 'status', style: print.status },
    { field: 'created_at', header: 'started' },
    { field: 'finished_at', header: 'finished' },
    { field: 'enforcement_id', header: 'enforcement' },
  ];
}

/** `--since`: an ISO time, or an age such as 30s, 15m, 2h, 7d. */
export function parseSince(text: string, now: Date = new Date()): string {
  const age = /^(\d+)\s*([smhd])$/.exec(text.trim());
  if (age) {
    const seconds = Number(age[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[age[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now.getTime() - seconds * 1000).toISOString();
  }
  const time = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(time.getTime())) throw new InvalidArgumentError(`expected a time (2025-01-31T08:00:00Z) or an age (30m, 2h, 7d), got '${text}'`);
  return time.toISOString();
}

function parseStatus(value: string, previous: string[] = []): string[] {
  const statuses = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const status of statuses) if (!STATUSES.includes(status)) throw new InvalidArgumentError(`expected one of ${STATUSES.join(', ')}, got '${status}'`);
  return [...previous, ...statuses];
}

interface ListOptions extends PagingOptions {
  status?: string[];
  action?: string;
  rule?: string;
  since?: string;
  parent?: number;
}

export function registerExecutionCommands(program: Command, io: CliIo): void {
  const execution = program.command('execution').alias('executions').description('list, inspect, follow, cancel and re-run executions');

  clientAction<ListOptions>(
    addPagingOptions(
      execution
        .command('list')
        .description('list executions, newest first')
        .option('-s, --status <status>', `only these statuses (repeat or comma-separate: ${STATUSES.join(', ')})`, parseStatus)
        .option('--action <ref>', 'only executions of this action')
        .option('--rule <ref>', 'only executions requested by this rule')
        .option('--since <time>', 'only those created since this time or age (2025-01-31T08:00:00Z, 30m, 2h, 7d)', (v) => parseSince(v))
        .option('--parent <id>', 'only children of this workflow execution', wholeNumber('--parent')),
    ),
    io,
    async ({ client, print }, _args, o) => {
      const page = await client.list<Row>('/executions', { limit: o.limit, cursor: o.cursor, status: o.status, action: o.action, rule: o.rule, since: o.since, parent_id: o.parent });
      await print.list(page.data, columns(print), { empty: 'no executions found', nextCursor: page.next_cursor });
    },
  );

  clientAction(execution.command('get').argument('<id>', 'execution id').description('show one execution: parameters, status, result'), io, async ({ client, print }, [id]) => {
    const found = await client.data('GET', `/executions/${seg(id!)}`);
    await print.one(found);
  });

  const tail = async ({ client, print }: { client: ApiClient; print: Printer }, id: string): Promise<number> => printOutcome(print, await followExecution(client, print, Number(id), print.human));
  clientAction(
    execution.command('tail').argument('<id>', 'execution id').description('stream an execution\'s output live until it ends, then its result (exit 1 unless it succeeded)'),
    io,
    async (ctx, [id]) => tail(ctx, String(wholeNumber('<id>')(id!))),
  );

  clientAction<{ follow?: boolean }>(
    execution.command('output').argument('<id>', 'execution id').description('print what an execution wrote (stdout and stderr)').option('-f, --follow', 'keep streaming until it ends (as tail)'),
    io,
    async (ctx, [id], o) => {
      const number = wholeNumber('<id>')(id!);
      if (o.follow) return tail(ctx, String(number));
      return printOutput(ctx.client, ctx.print, number);
    },
  );

  clientAction(execution.command('cancel').argument('<id>', 'execution id').description('cancel an execution (and its children)'), io, async ({ client, print }, [id]) => {
    const canceled = await client.data('POST', `/executions/${seg(id!)}/cancel`);
    if (!print.human) return void (await print.machine(canceled));
    print.done(`execution ${id} ${String(canceled.status)}`);
  });

  clientAction<{ paramsJson?: string; async?: boolean }>(
    execution
      .command('re-run')
      .alias('rerun')
      .argument('<id>', 'execution id')
      .argument('[params...]', 'parameters to change, as name=value')
      .description('run an execution again with the same parameters (secrets re-used, never shown), some changed')
      .option('--params-json <json>', 'parameters to change as one JSON object')
      .option('-a, --async', 'print the new execution at once instead of waiting for it'),
    io,
    async ({ client, print }, [id, ...pairs], o) => {
      const original = await client.data<{ action_ref: string }>('GET', `/executions/${seg(id!)}`);
      let parameters: Record<string, unknown> = parseParamsJson(o.paramsJson);
      if (pairs.length > 0) {
        const action = await client.data<{ param_schema: ParamSchema }>('GET', `/actions/${seg(original.action_ref)}`);
        parameters = typeParameters(original.action_ref, action.param_schema ?? {}, pairs, parameters);
      }
      const created = await client.data<Row & { id: number; status: string }>('POST', `/executions/${seg(id!)}/re-run`, Object.keys(parameters).length ? { parameters } : {});
      if (o.async) {
        if (!print.human) await print.machine(created);
        else print.write(String(created.id));
        return 0;
      }
      if (print.human) print.note(`execution ${created.id} re-runs ${id}`);
      return printOutcome(print, await followExecution(client, print, created.id, print.human));
    },
  );

  clientAction(execution.command('children').argument('<id>', 'execution id').description('the direct children of a workflow execution'), io, async ({ client, print }, [id]) => {
    const { data } = await client.get<{ data: Row[] }>(`/executions/${seg(id!)}/children`);
    await print.list(data, columns(print), { empty: `execution ${id} has no children` });
  });
}

/** What an execution wrote: the output route's chunks, or the result's stdout and stderr where there is no such route. */
async function printOutput(client: ApiClient, print: Printer, id: number): Promise<number> {
  let chunks: Row[] = [];
  try {
    let cursor: string | undefined;
    do {
      const page = await client.list<Row>(`/executions/${seg(id)}/output`, { limit: 500, cursor });
      chunks = chunks.concat(page.data);
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
  } catch (error) {
    if (!isAttuneError(error, ErrorCode.NOT_FOUND) && !isAttuneError(error, ErrorCode.VALIDATION)) throw error;
    const execution = await client.data<{ result?: { stdout?: unknown; stderr?: unknown } | null }>('GET', `/executions/${seg(id)}`);
    chunks = [
      { stream: 'stdout', data: typeof execution.result?.stdout === 'string' ? execution.result.stdout : '' },
      { stream: 'stderr', data: typeof execution.result?.stderr === 'string' ? execution.result.stderr : '' },
    ].filter((c) => c.data !== '');
  }
  if (!print.human) {
    await print.machine(chunks);
    return 0;
  }
  for (const chunk of chunks) (chunk.stream === 'stderr' ? print.io.stderr : print.io.stdout).write(String(chunk.data ?? ''));
  return 0;
}
