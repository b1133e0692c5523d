/**
 * What every client command shares: the global options (`--api-url`,
 * `--profile`, `--debug`), the output options, building the API client and
 * the printer, and turning a failure into one line on stderr with exit 1
 * (a pack's problems each on their own line, with file and line).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { isAttuneError } from '../../errors.js';
import type { ApiClient, ApiError } from '../client.js';
import type { CliIo } from '../format/io.js';
import { addOutputOptions, outputMode, type OutputOptions } from '../format/mode.js';
import { Printer } from '../format/printer.js';

/** The options of the root program every client command sees. */
export interface GlobalOptions {
  apiUrl?: string;
  profile?: string;
  debug?: boolean;
}

/** What a client command's body gets. */
export interface ClientContext {
  client: ApiClient;
  print: Printer;
  io: CliIo;
  globals: GlobalOptions;
}

/** Adds the root program's options the client commands use. */
export function addGlobalClientOptions(program: Command): Command {
  return program
    .option('--api-url <url>', 'the Attune API (default: ATTUNE_API_URL, then the profile, then http://127.0.0.1:8080)')
    .option('--profile <name>', 'profile of the CLI config file to use (default: its current_profile, else default)')
    .option('--debug', 'show more on failures (request ids, stacks)');
}

/** Options for `clientAction`. */
export interface ClientActionOptions {
  /** No output options (the command prints no data). */
  noOutput?: boolean;
  /** Fields never masked for this command (the token `token create` exists to show). */
  keep?: readonly string[];
}

/**
 * Declares a client command's action: positional arguments then options as
 * commander passes them. `run` returns the exit code (0 when it returns
 * nothing). Adds the output options unless `noOutput`.
 */
export function clientAction<O extends object>(
  command: Command,
  io: CliIo,
  run: (ctx: ClientContext, args: string[], options: O & OutputOptions) => Promise<number | void>,
  settings: ClientActionOptions = {},
): Command {
  if (!settings.noOutput) addOutputOptions(command);
  return command.action(async (...received: unknown[]) => {
    const self = received[received.length - 1] as Command;
    const options = received[received.length - 2] as O & OutputOptions;
    const args = received.slice(0, -2).flatMap((arg) => (Array.isArray(arg) ? arg.map(String) : arg === undefined ? [] : [String(arg)]));
    const globals = self.optsWithGlobals<GlobalOptions>();
    const print = new Printer(io, outputMode(options), new Set(settings.keep ?? []));
    try {
      // Loaded here, not at the top: `attune --version` and help never need the client.
      const { createClient } = await import('../client.js');
      const client = await createClient({ apiUrl: globals.apiUrl, profile: globals.profile, env: io.env });
      io.setExitCode((await run({ client, print, io, globals }, args, options)) ?? 0);
    } catch (error) {
      io.setExitCode(1);
      reportFailure(io, print, error, globals.debug === true);
    }
  });
}

/** One line for a failure; a pack's problems each on a line of their own. */
export function reportFailure(io: CliIo, print: Printer, error: unknown, debug: boolean): void {
  const label = print.errorColor ? '\u001b[31m\u001b[1merror:\u001b[22m\u001b[39m' : 'error:';
  const message = isAttuneError(error) ? error.message : error instanceof Error ? `${error.message || error.name} (run with --debug for details)` : String(error);
  io.stderr.write(`${label} ${message.replace(/\s*\n\s*/g, ' ').trim()}\n`);
  const fromApi = isApiError(error);
  if (fromApi) {
    for (const problem of error.problems) io.stderr.write(`  ${formatProblem(problem)}\n`);
    if (debug && error.requestId) io.stderr.write(`  request id: ${error.requestId}\n`);
  }
  if (debug && error instanceof Error && error.stack && !fromApi) io.stderr.write(`${error.stack}\n`);
}

/** An ApiError (by shape: the client module is loaded lazily). */
function isApiError(error: unknown): error is ApiError {
  return isAttuneError(error) && Array.isArray((error as Partial<ApiError>).problems) && typeof (error as Partial<ApiError>).status === 'number';
}

/** `file:line: severity: message (field)` for a pack problem as the API or readPack gives it. */
export function formatProblem(problem: unknown): string {
  if (problem === null || typeof problem !== 'object') return String(problem);
  const p = problem as { file?: string; line?: number; column?: number; severity?: string; message?: string; field?: string };
  const where = [p.file || '(pack)', p.line ? String(p.line) : undefined, p.column ? String(p.column) : undefined].filter(Boolean).join(':');
  return `${where}: ${p.severity ?? 'error'}: ${p.message ?? ''}${p.field ? ` (${p.field})` : ''}`;
}

/** Parses a whole number argument or option, naming it when it is not one. */
export function wholeNumber(name: string): (text: string) => number {
  return (text: string) => {
    if (!/^\d+$/.test(text) || Number(text) < 1) throw new InvalidArgumentError(`${name} must be a whole number of 1 or more, got '${text}'`);
    return Number(text);
  };
}

/** Adds `--limit` and `--cursor` to a list command. */
export function addPagingOptions(command: Command, defaultLimit = 50): Command {
  return command
    .option('-n, --limit <count>', `how many to show (1-500, default ${defaultLimit})`, wholeNumber('--limit'), defaultLimit)
    .option('--cursor <cursor>', 'continue a list from where the previous page ended (the next_cursor it printed)');
}

/** Options every list command has. */
export interface PagingOptions {
  limit?: number;
  cursor?: string;
}
