/**
 * `attune key`: the key-value store. list, get [--decrypt], set [--secret]
 * [--ttl], delete. Refs are `system.<name>`, `pack.<pack>.<name>`,
 * `identity.<login>.<name>` or `action.<action>.<name>`; a bare name means
 * `system.<name>`, as StackStorm's default scope.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { ValidationError } from '../../errors.js';
import { seg } from '../client.js';
import type { CliIo } from '../format/io.js';
import { addPagingOptions, clientAction, wholeNumber, type PagingOptions } from './client-command.js';

const OWNER_TYPES = ['system', 'pack', 'identity', 'action'];

/** A key ref, `system.` added to a bare name. */
export function keyRef(ref: string): string {
  const first = ref.split('.')[0]!;
  return OWNER_TYPES.includes(first) && ref.includes('.') ? ref : `system.${ref}`;
}

export function registerKeyCommands(program: Command, io: CliIo): void {
  const key = program.command('key').alias('keys').description('list, read, set and delete keys (configuration values and secrets)');

  clientAction<PagingOptions & { prefix?: string; ownerType?: string; owner?: string; secret?: boolean }>(
    addPagingOptions(
      key
        .command('list')
        .description('list keys (secret values shown as ********)')
        .option('--prefix <text>', 'names starting with this')
        .option('--owner-type <type>', `only this owner type (${OWNER_TYPES.join(', ')})`, (v) => {
          if (!OWNER_TYPES.includes(v)) throw new InvalidArgumentError(`expected one of ${OWNER_TYPES.join(', ')}`);
          return v;
        })
        .option('--owner <name>', 'only this owner (a pack, a login, an action)')
        .option('--secret', 'only secret keys'),
    ),
    io,
    async ({ client, print }, _args, o) => {
      const page = await client.list('/keys', { limit: o.limit, cursor: o.cursor, prefix: o.prefix, owner_type: o.ownerType, owner: o.owner, secret: o.secret ? true : undefined });
      await print.list(page.data, [{ field: 'ref' }, { field: 'value' }, { field: 'secret' }, { field: 'expires_at', header: 'expires' }, { field: 'description' }], { empty: 'no keys found', nextCursor: page.next_cursor });
    },
  );

  clientAction<{ decrypt?: boolean }>(
    key.command('get').argument('<ref>', 'key ref (a bare name means system.<name>)').description('show a key; a secret\'s value only with --decrypt (admin or its owner)').option('-d, --decrypt', "show a secret key's value"),
    io,
    async ({ client, print }, [ref], o) => {
      await print.one(await client.data('GET', `/keys/${seg(keyRef(ref!))}`, undefined, o.decrypt ? { decrypt: true } : undefined));
    },
  );

  clientAction<{ secret?: boolean; ttl?: number; description?: string; jsonValue?: boolean }>(
    key
      .command('set')
      .argument('<ref>', 'key ref (a bare name means system.<name>)')
      .argument('<value>', 'the value (text; --json-value reads it as JSON)')
      .description('set a key (created or replaced)')
      .option('-s, --secret', 'store it encrypted; shown as ******** except with key get --decrypt')
      .option('--ttl <seconds>', 'expire it after this many seconds', wholeNumber('--ttl'))
      .option('--description <text>', 'what the key is for')
      .option('--json-value', 'the value is JSON (a number, list, object)'),
    io,
    async ({ client, print }, [ref, value], o) => {
      let parsed: unknown = value;
      if (o.jsonValue) {
        try {
          parsed = JSON.parse(value!);
        } catch (error) {
          throw new ValidationError(`the value is not valid JSON (${(error as Error).message}); drop --json-value to store it as text`, { field: 'value' });
        }
      }
      const stored = await client.data('PUT', `/keys/${seg(keyRef(ref!))}`, {
        value: parsed,
        ...(o.secret ? { secret: true } : {}),
        ...(o.ttl === undefined ? {} : { ttl_seconds: o.ttl }),
        ...(o.description === undefined ? {} : { description: o.description }),
      });
      if (!print.human) return void (await print.machine(stored));
      print.done(`set ${String(stored.ref)}${stored.secret ? ' (secret)' : ''}${stored.expires_at ? `, expires ${String(stored.expires_at)}` : ''}`);
    },
  );

  clientAction(key.command('delete').argument('<ref>', 'key ref (a bare name means system.<name>)').description('delete a key'), io, async ({ client, print }, [ref]) => {
    await client.delete(`/keys/${seg(keyRef(ref!))}`);
    if (!print.human) return void (await print.machine({ deleted: keyRef(ref!) }));
    print.done(`deleted ${keyRef(ref!)}`);
  });
}
