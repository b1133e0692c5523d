/** `attune action`: list, get (with its parameters), execute. */
import type { Command } from 'commander';
import { seg } from '../client.js';
import type { CliIo } from '../format/io.js';
import type { Column } from '../format/table.js';
import { addPagingOptions, clientAction, type PagingOptions } from './client-command.js';
import { defineRun } from './run.js';

const ACTION_COLUMNS: Column[] = [{ field: 'ref' }, { field: 'runner_type', header: 'runner' }, { field: 'enabled' }, { field: 'description' }];

export function registerActionCommands(program: Command, io: CliIo): void {
  const action = program.command('action').description('list, inspect and execute actions');

  clientAction<PagingOptions & { pack?: string; runner?: string; tag?: string; search?: string }>(
    addPagingOptions(
      action.command('list').description('list actions of the active packs').option('-p, --pack <pack>', 'only this pack').option('--runner <type>', 'only this runner type').option('--tag <tag>', 'only actions with this tag').option('--search <text>', 'matching this text'),
    ),
    io,
    async ({ client, print }, _args, o) => {
      const page = await client.list('/actions', { limit: o.limit, cursor: o.cursor, pack: o.pack, runner_type: o.runner, tag: o.tag, search: o.search });
      await print.list(page.data, ACTION_COLUMNS, { empty: 'no actions found', nextCursor: page.next_cursor });
    },
  );

  clientAction(action.command('get').argument('<ref>', 'action ref or id').description('show an action and its parameters'), io, async ({ client, print }, [ref]) => {
    const found = await client.data('GET', `/actions/${seg(ref!)}`);
    if (!print.human) return void (await print.machine(found));
    // The parameters read better as their own table than as the schema's JSON.
    const { param_schema: _schema, ...shown } = found;
    await print.one(shown);
    const schema = found.param_schema as { properties?: Record<string, { type?: unknown; description?: string; default?: unknown; secret?: boolean }>; required?: string[] } | undefined;
    const params = Object.entries(schema?.properties ?? {}).map(([name, p]) => ({
      name,
      type: Array.isArray(p.type) ? p.type.join('|') : p.type,
      required: schema?.required?.includes(name) ?? false,
      default: p.secret ? (p.default === undefined ? undefined : '********') : p.default,
      description: p.description,
    }));
    if (params.length > 0) {
      print.write('');
      await print.list(params, [{ field: 'name', header: 'parameter' }, { field: 'type' }, { field: 'required' }, { field: 'default' }, { field: 'description' }]);
    }
  });

  defineRun(action.command('execute').description('run an action (same as attune run)'), io);
}
