/**
 * `attune login`, `logout` and `whoami`. Login trades a password for a
 * token and keeps it in the CLI config file's profile (mode 0600); logout
 * revokes that token and forgets it.
 */
import type { Command } from 'commander';
import { ValidationError, isAttuneError, ErrorCode } from '../../errors.js';
import { ApiClient, seg } from '../client.js';
import { readCliConfig, writeCliProfile } from '../config-file.js';
import type { CliIo } from '../format/io.js';
import { clientAction } from './client-command.js';

async function readStdin(io: CliIo): Promise<string> {
  let text = '';
  for await (const chunk of io.stdin) text += chunk.toString();
  return text.replace(/\r?\n$/, '');
}

export function registerAuthCommands(program: Command, io: CliIo): void {
  clientAction<{ passwordStdin?: boolean }>(
    program
      .command('login')
      .argument('[login]', 'your login (asked on a terminal when left out)')
      .description('log in with a password; the token is saved in the CLI config file\'s profile (--profile, default: default)')
      .option('--password-stdin', 'read the password from stdin (for scripts; nothing is asked)'),
    io,
    async ({ client, print, globals }, [givenLogin], o) => {
      const interactive = io.stdin.isTTY === true && !o.passwordStdin;
      let login = givenLogin;
      let password: string;
      if (interactive) {
        const [{ default: input }, { default: passwordPrompt }] = await Promise.all([import('@inquirer/input'), import('@inquirer/password')]);
        const context = { input: io.stdin, output: io.stdout as NodeJS.WritableStream };
        login ??= await input({ message: 'login', validate: (v: string) => v !== '' || 'login is required' }, context);
        password = await passwordPrompt({ message: 'password', mask: '*' }, context);
      } else {
        if (!o.passwordStdin) throw new ValidationError('no terminal to ask for the password on: pipe it in with --password-stdin', { field: '--password-stdin' });
        if (login === undefined) throw new ValidationError('give the login: attune login <login> --password-stdin', { field: 'login' });
        password = await readStdin(io);
      }
      // The login route is public: no stale token goes with it.
      const anonymous = new ApiClient({ ...client.target, token: undefined });
      const session = await anonymous.data<{ token: string; token_id: number; expires_at: string | null; identity: { login: string; role: string } }>('POST', '/auth/login', { login, password });
      const file = client.target.configFile;
      const profileName = globals.profile ?? io.env.ATTUNE_PROFILE ?? client.target.profile;
      writeCliProfile(file, profileName, { api_url: client.target.baseUrl, token: session.token });
      const summary = { login: session.identity.login, role: session.identity.role, api_url: client.target.baseUrl, profile: profileName, config_file: file, expires_at: session.expires_at };
      if (!print.human) return void (await print.machine(summary));
      print.done(`logged in to ${client.target.baseUrl} as ${session.identity.login} (${session.identity.role}); token saved in ${file} (profile ${profileName})${session.expires_at ? `, expires ${session.expires_at}` : ''}`);
    },
  );

  clientAction(
    program.command('logout').description("revoke the profile's token and remove it from the CLI config file"),
    io,
    async ({ client, print, globals }) => {
      const file = client.target.configFile;
      const profileName = globals.profile ?? io.env.ATTUNE_PROFILE ?? client.target.profile;
      const profile = readCliConfig(file)?.profiles[profileName];
      if (profile?.token === undefined) {
        print.note(`profile ${profileName} in ${file} holds no token: nothing to do`);
        return 0;
      }
      const own = new ApiClient({ ...client.target, token: profile.token });
      try {
        const me = await own.data<{ token_id: number | null }>('GET', '/auth/whoami');
        if (me.token_id !== null) await own.data('DELETE', `/tokens/${seg(me.token_id)}`);
      } catch (error) {
        // A token the API no longer accepts is as good as revoked; anything else is reported but the token is still forgotten.
        if (!isAttuneError(error, ErrorCode.UNAUTHENTICATED)) print.warn(`the token could not be revoked (${(error as Error).message}); it is removed from ${file} anyway`);
      }
      writeCliProfile(file, profileName, { api_url: profile.api_url });
      if (!print.human) return void (await print.machine({ profile: profileName, config_file: file, logged_out: true }));
      print.done(`logged out: profile ${profileName}'s token is revoked and removed from ${file}`);
    },
  );

  clientAction(program.command('whoami').description('who the API takes you for: login, role, and where'), io, async ({ client, print }) => {
    const me = await client.data<{ login: string; role: string; token_id: number | null }>('GET', '/auth/whoami');
    const shown = { login: me.login, role: me.role, token_id: me.token_id, api_url: client.target.baseUrl, profile: client.target.profile };
    await print.one(shown);
  });
}
