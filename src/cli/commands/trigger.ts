/** `attune trigger`: list and get the trigger types of the active packs. */
import type { Command } from 'commander';
import { seg } from '../client.js';
import type { CliIo } from '../format/io.js';
import { addPagingOptions, clientAction, type PagingOptions } from './client-command.js';

export function registerTriggerCommands(program: Command, io: CliIo): void {
  const trigger = program.command('trigger').alias('triggers').description('list and inspect trigger types');
  clientAction<PagingOptions & { pack?: string }>(
    addPagingOptions(trigger.command('list').description('list trigger types').option('-p, --pack <pack>', 'only this pack')),
    io,
    async ({ client, print }, _args, o) => {
      const page = await client.list('/triggers', { limit: o.limit, cursor: o.cursor, pack: o.pack });
      await print.list(page.data, [{ field: 'ref' }, { field: 'enabled' }, { field: 'webhook_enabled', header: 'webhook' }, { field: 'description' }], { empty: 'no triggers found', nextCursor: page.next_cursor });
    },
  );
  clientAction(trigger.command('get').argument('<ref>', 'trigger ref or id').description('show a trigger type with its parameter and payload schemas'), io, async ({ client, print }, [ref]) => {
    await print.one(await client.data('GET', `/triggers/${seg(ref!)}`));
  });
}
