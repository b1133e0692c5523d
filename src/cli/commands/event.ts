/** `attune event`: list, get, and fire an event of a trigger by hand. */
import type { Command } from 'commander';
import { ValidationError } from '../../errors.js';
import { seg } from '../client.js';
import type { CliIo } from '../format/io.js';
import { addPagingOptions, clientAction, type PagingOptions } from './client-command.js';
import { parseSince } from './execution.js';
import { readObjectFile } from './rule.js';

export function registerEventCommands(program: Command, io: CliIo): void {
  const event = program.command('event').alias('events').description('list, inspect and fire events');
  clientAction<PagingOptions & { trigger?: string; since?: string }>(
    addPagingOptions(
      event.command('list').description('list events, newest first').option('-t, --trigger <ref>', 'only this trigger').option('--since <time>', 'only since this time or age (30m, 2h, 7d)', (v) => parseSince(v)),
    ),
    io,
    async ({ client, print }, _args, o) => {
      const page = await client.list('/events', { limit: o.limit, cursor: o.cursor, trigger: o.trigger, since: o.since });
      await print.list(page.data, [{ field: 'id' }, { field: 'trigger_ref', header: 'trigger' }, { field: 'source' }, { field: 'created_at', header: 'created' }, { field: 'payload' }], { empty: 'no events found', nextCursor: page.next_cursor });
    },
  );
  clientAction(event.command('get').argument('<id>', 'event id').description('show an event and its payload'), io, async ({ client, print }, [id]) => {
    await print.one(await client.data('GET', `/events/${seg(id!)}`));
  });
  clientAction<{ payload?: string; payloadFile?: string; traceId?: string }>(
    event
      .command('fire')
      .argument('<trigger>', 'trigger ref, e.g. core.st2.webhook')
      .description('fire an event of a trigger; the rules on it run as for a real one')
      .option('--payload <json>', 'the payload as a JSON object')
      .option('--payload-file <file>', 'the payload from a YAML or JSON file')
      .option('--trace-id <id>', 'a trace id to follow the event by'),
    io,
    async ({ client, print }, [trigger], o) => {
      if (o.payload !== undefined && o.payloadFile !== undefined) throw new ValidationError('give --payload or --payload-file, not both', { field: '--payload' });
      let payload: unknown = {};
      if (o.payloadFile !== undefined) payload = await readObjectFile(o.payloadFile, 'payload');
      else if (o.payload !== undefined) {
        try {
          payload = JSON.parse(o.payload);
        } catch (error) {
          throw new ValidationError(`--payload is not valid JSON (${(error as Error).message})`, { field: '--payload' });
        }
      }
      const fired = await client.data('POST', '/events', { trigger, payload, ...(o.traceId ? { trace_id: o.traceId } : {}) });
      if (!print.human) return void (await print.machine(fired));
      print.done(`fired event ${String(fired.id)} of ${trigger}`);
    },
  );
}
