/** `attune token`: API tokens for scripts and CI: create (shown once), list, revoke. */
import type { Command } from 'commander';
import { seg } from '../client.js';
import type { CliIo } from '../format/io.js';
import { addPagingOptions, clientAction, wholeNumber, type PagingOptions } from './client-command.js';

export function registerTokenCommands(program: Command, io: CliIo): void {
  const token = program.command('token').alias('tokens').description('create, list and revoke API tokens');

  clientAction<{ ttl?: number; login?: string }>(
    token
      .command('create')
      .argument('<name>', 'what the token is for (ci, backup-script)')
      .description('create an API token; it is shown this once')
      .option('--ttl <seconds>', 'expire it after this many seconds (60 or more); default: never', wholeNumber('--ttl'))
      .option('--login <login>', "another identity's token (admin)"),
    io,
    async ({ client, print }, [name], o) => {
      const created = await client.data('POST', '/tokens', { name, ...(o.ttl === undefined ? {} : { ttl_seconds: o.ttl }), ...(o.login ? { login: o.login } : {}) });
      if (!print.human) return void (await print.machine(created));
      print.write(String(created.token));
      print.note(`token ${String(created.id)} (${name}) created${created.expires_at ? `, expires ${String(created.expires_at)}` : ', never expires'}: it is shown only this once`);
    },
    { keep: ['token'] },
  );

  clientAction<PagingOptions & { login?: string; all?: boolean; inactive?: boolean }>(
    addPagingOptions(
      token.command('list').description('list your tokens (never the tokens themselves)').option('--login <login>', "another identity's (admin)").option('--all', "everyone's (admin)").option('--inactive', 'also revoked and expired ones'),
    ),
    io,
    async ({ client, print }, _args, o) => {
      const page = await client.list('/tokens', { limit: o.limit, cursor: o.cursor, login: o.login, all: o.all ? true : undefined, include_inactive: o.inactive ? true : undefined });
      await print.list(
        page.data,
        [{ field: 'id' }, { field: 'name' }, { field: 'kind' }, { field: 'identity_id', header: 'identity' }, { field: 'expires_at', header: 'expires' }, { field: 'revoked_at', header: 'revoked' }, { field: 'last_used_at', header: 'last used' }],
        { empty: 'no tokens', nextCursor: page.next_cursor },
      );
    },
  );

  clientAction(token.command('revoke').argument('<id>', 'token id (from token list)').description('revoke a token'), io, async ({ client, print }, [id]) => {
    const revoked = await client.data('DELETE', `/tokens/${seg(wholeNumber('<id>')(id!))}`);
    if (!print.human) return void (await print.machine(revoked));
    print.done(`revoked token ${String(revoked.id)} (${String(revoked.name)})`);
  });
}
