/** `attune identity` (admin): list, get, create, update, deactivate. */
import { InvalidArgumentError, type Command } from 'commander';
import { seg } from '../client.js';
import type { CliIo } from '../format/io.js';
import type { Column } from '../format/table.js';
import { addPagingOptions, clientAction, type PagingOptions } from './client-command.js';

const ROLES = ['admin', 'operator', 'viewer'];
const COLUMNS: Column[] = [{ field: 'login' }, { field: 'role' }, { field: 'is_active', header: 'active' }, { field: 'has_password', header: 'password' }, { field: 'display_name', header: 'name' }, { field: 'email' }];

function role(value: string): string {
  if (!ROLES.includes(value)) throw new InvalidArgumentError(`expected one of ${ROLES.join(', ')}`);
  return value;
}

interface IdentityOptions {
  role?: string;
  name?: string;
  email?: string;
  passwordStdin?: boolean;
  active?: boolean;
}

/** Reads a password from stdin (one line), so it never sits in the shell's history or the process list. */
async function readPasswordFromStdin(io: CliIo): Promise<string> {
  let text = '';
  for await (const chunk of io.stdin) text += chunk.toString();
  return text.replace(/\r?\n$/, '');
}

export function registerIdentityCommands(program: Command, io: CliIo): void {
  const identity = program.command('identity').alias('identities').description('manage identities (admin)');

  clientAction<PagingOptions & { search?: string; inactive?: boolean }>(
    addPagingOptions(identity.command('list').description('list identities').option('--search <text>', 'logins, names or emails matching this')),
    io,
    async ({ client, print }, _args, o) => {
      const page = await client.list('/identities', { limit: o.limit, cursor: o.cursor, search: o.search });
      await print.list(page.data, COLUMNS, { empty: 'no identities', nextCursor: page.next_cursor });
    },
  );

  clientAction(identity.command('get').argument('<login>', 'login').description('show an identity'), io, async ({ client, print }, [login]) => {
    await print.one(await client.data('GET', `/identities/${seg(login!)}`));
  });

  const fields = (command: Command) =>
    command
      .option('--role <role>', `role: ${ROLES.join(', ')}`, role)
      .option('--name <text>', 'display name')
      .option('--email <address>', 'email address')
      .option('--password-stdin', 'read a password from stdin (without one the identity uses API tokens only)');

  clientAction<IdentityOptions>(fields(identity.command('create').argument('<login>', 'login').description('create an identity')), io, async ({ client, print }, [login], o) => {
    const created = await client.data('POST', '/identities', {
      login,
      ...(o.role ? { role: o.role } : {}),
      ...(o.name ? { display_name: o.name } : {}),
      ...(o.email ? { email: o.email } : {}),
      ...(o.passwordStdin ? { password: await readPasswordFromStdin(io) } : {}),
    });
    if (!print.human) return void (await print.machine(created));
    print.done(`created identity ${String(created.login)} (${String(created.role)})`);
  });

  clientAction<IdentityOptions>(
    fields(identity.command('update').argument('<login>', 'login').description('change an identity (role, name, email, password, activity)'))
      .option('--active', 'reactivate it')
      .option('--no-password', 'remove its password (API tokens only)'),
    io,
    async ({ client, print }, [login], o) => {
      const removePassword = (o as { password?: boolean }).password === false;
      const body = {
        ...(o.role ? { role: o.role } : {}),
        ...(o.name !== undefined ? { display_name: o.name } : {}),
        ...(o.email !== undefined ? { email: o.email } : {}),
        ...(o.active ? { is_active: true } : {}),
        ...(o.passwordStdin ? { password: await readPasswordFromStdin(io) } : removePassword ? { password: null } : {}),
      };
      const updated = await client.data('PATCH', `/identities/${seg(login!)}`, body);
      if (!print.human) return void (await print.machine(updated));
      print.done(`updated identity ${String(updated.login)}`);
    },
  );

  clientAction(identity.command('deactivate').argument('<login>', 'login').description('deactivate an identity: no more logins, every token revoked'), io, async ({ client, print }, [login]) => {
    const updated = await client.data('POST', `/identities/${seg(login!)}/deactivate`);
    if (!print.human) return void (await print.machine(updated));
    print.done(`deactivated identity ${String(updated.login)}; its tokens are revoked`);
  });
}
