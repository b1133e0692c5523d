/** `attune enforcement`: list and get what rules decided about events. */
import type { Command } from 'commander';
import { seg } from '../client.js';
import type { CliIo } from '../format/io.js';
import { addPagingOptions, clientAction, wholeNumber, type PagingOptions } from './client-command.js';
import { parseSince } from './execution.js';

export function registerEnforcementCommands(program: Command, io: CliIo): void {
  const enforcement = program.command('enforcement').alias('enforcements').description('list and inspect enforcements (a rule matching an event)');
  clientAction<PagingOptions & { rule?: string; event?: number; status?: string; since?: string }>(
    addPagingOptions(
      enforcement
        .command('list')
        .description('list enforcements, newest first')
        .option('--rule <ref>', 'only this rule')
        .option('--event <id>', 'only for this event', wholeNumber('--event'))
        .option('-s, --status <status>', 'only this status (processed, failed, disabled)')
        .option('--since <time>', 'only since this time or age (30m, 2h, 7d)', (v) => parseSince(v)),
    ),
    io,
    async ({ client, print }, _args, o) => {
      const page = await client.list('/enforcements', { limit: o.limit, cursor: o.cursor, rule: o.rule, event_id: o.event, status: o.status, since: o.since });
      await print.list(
        page.data,
        [{ field: 'id' }, { field: 'rule_ref', header: 'rule' }, { field: 'event_id', header: 'event' }, { field: 'status', style: print.status }, { field: 'created_at', header: 'created' }, { field: 'error' }],
        { empty: 'no enforcements found', nextCursor: page.next_cursor },
      );
    },
  );
  clientAction(enforcement.command('get').argument('<id>', 'enforcement id').description('show an enforcement: criteria, resolved parameters, error'), io, async ({ client, print }, [id]) => {
    await print.one(await client.data('GET', `/enforcements/${seg(id!)}`));
  });
}
