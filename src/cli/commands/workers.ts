/** `attune worker list`: the workers the API knows, with their heartbeats. */
import type { Command } from 'commander';
import type { CliIo } from '../format/io.js';
import { addPagingOptions, clientAction, type PagingOptions } from './client-command.js';

/**
 * Adds `list` under the existing `worker` command (which runs the worker
 * role when given no subcommand).
 */
export function registerWorkerCommands(workerCommand: Command, io: CliIo): void {
  clientAction<PagingOptions & { live?: boolean }>(
    addPagingOptions(workerCommand.command('list').description('list workers (--live: those with a recent heartbeat)').option('--live', 'only workers with a recent heartbeat')),
    io,
    async ({ client, print }, _args, o) => {
      const page = await client.list('/workers', { limit: o.limit, cursor: o.cursor, live: o.live ? true : undefined });
      await print.list(
        page.data,
        [{ field: 'id' }, { field: 'name' }, { field: 'worker_type', header: 'type' }, { field: 'host' }, { field: 'status', style: print.status }, { field: 'last_heartbeat', header: 'heartbeat' }],
        { empty: 'no workers registered', nextCursor: page.next_cursor },
      );
    },
  );
}
