/**
 * A shell command that needs no shell. `bash -c 'systemctl restart nginx'`
 * parses the words, finds the program on PATH and replaces itself with it
 * (bash does not fork for a lone simple command): the only thing the shell
 * adds is its own start-up, which on a small machine is a quarter of the
 * cost of running `true`. When a command is plain words (no quoting,
 * expansion, redirection, assignment or operator), its first word is not a
 * bash builtin or reserved word, and the program is a file on the child's
 * PATH, Attune execs the program directly with the same argv and the same
 * environment bash would have given it (PWD, SHLVL and `_` added). Anything
 * else goes through bash. Ruby's `spawn(string)` and Perl's `system(string)`
 * take the same shortcut.
 */
import { access, constants as fsConstants, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { TtlCache } from '../ttl-cache.js';

/** A command run without a shell: the program, its arguments, argv[0] as written, and bash's variables. */
export interface DirectCommand {
  file: string;
  args: string[];
  argv0: string;
  /** PWD, SHLVL and `_`, as bash exports them to the program it execs. */
  variables: Record<string, string>;
}

/** Characters a word may hold and mean only itself to bash (no quoting, globbing, expansion or operators). */
const PLAIN_WORD = /^[A-Za-z0-9_./:@%+,=-]+$/;

/** Bash's builtins and reserved words: a command starting with one is bash's to run. */
const SHELL_WORDS = new Set([
  '.', ':', '[', 'alias', 'bg', 'bind', 'break', 'builtin', 'caller', 'cd', 'command', 'compgen', 'complete', 'compopt',
  'continue', 'declare', 'dirs', 'disown', 'echo', 'enable', 'eval', 'exec', 'exit', 'export', 'false', 'fc', 'fg',
  'getopts', 'hash', 'help', 'history', 'jobs', 'kill', 'let', 'local', 'logout', 'mapfile', 'popd', 'printf', 'pushd',
  'pwd', 'read', 'readarray', 'readonly', 'return', 'set', 'shift', 'shopt', 'source', 'suspend', 'test', 'times', 'trap',
  'true', 'type', 'typeset', 'ulimit', 'umask', 'unalias', 'unset', 'wait',
  '!', '[[', ']]', '{', '}', 'case', 'coproc', 'do', 'done', 'elif', 'else', 'esac', 'fi', 'for', 'function', 'if', 'in',
  'select', 'then', 'time', 'until', 'while',
]);

/**
 * Builtins whose program does exactly what the builtin does when given no
 * arguments: exit 0 (or 1) and print nothing. With arguments they differ
 * (`/bin/true --help` prints help), so only the bare word is run directly.
 */
const SAME_WITHOUT_ARGUMENTS = new Set(['true', 'false']);

/** Variables that change how bash starts or what it exports: with one of them set, bash runs the command. */
const SHELL_VARIABLES = new Set(['BASH_ENV', 'ENV', 'SHELLOPTS', 'BASHOPTS', 'SHLVL', 'PWD', 'OLDPWD', 'POSIXLY_CORRECT', 'CDPATH', 'GLOBIGNORE']);

/** Programs found on a PATH, remembered for 10 seconds (a lookup costs a stat per PATH folder); not finding one is not remembered. */
const foundPrograms = new TtlCache<string, string | undefined>({ ttlMs: 10_000, keep: (file) => file !== undefined });

/**
 * The direct form of `cmd`, or undefined when bash must run it. `path` is
 * the child's PATH, `cwd` its working directory, `variables` every variable
 * the child gets besides Attune's own.
 */
export async function directCommand(cmd: string, path: string, cwd: string, variables: Record<string, string>): Promise<DirectCommand | undefined> {
  const words = cmd.trim().split(/[ \t]+/);
  const [program, ...args] = words;
  if (program === undefined || program === '' || !words.every((word) => PLAIN_WORD.test(word))) return undefined;
  if (program.includes('=')) return undefined; // an assignment
  if (SHELL_WORDS.has(program) && !(SAME_WITHOUT_ARGUMENTS.has(program) && args.length === 0)) return undefined;
  if (Object.keys(variables).some((name) => SHELL_VARIABLES.has(name) || name.startsWith('BASH'))) return undefined;
  const file = await programOnPath(program, path);
  if (file === undefined) return undefined; // bash says "command not found" (127) or why it cannot run it
  return { file, args, argv0: program, variables: { PWD: cwd, SHLVL: '0', _: file } };
}

/**
 * The program bash would run for `word`: the word itself when it holds a
 * slash, else the first regular executable file in PATH's folders. Undefined
 * when there is none, or when PATH has an empty or relative entry (which bash
 * resolves against the working directory: left to bash).
 */
function programOnPath(word: string, path: string): Promise<string | undefined> {
  return foundPrograms.get(`${word}\u0000${path}`, () => lookUp(word, path));
}

async function lookUp(word: string, path: string): Promise<string | undefined> {
  if (word.includes('/')) return isAbsolute(word) && (await isExecutableFile(word)) ? word : undefined;
  const folders = path.split(delimiter);
  if (folders.some((folder) => !isAbsolute(folder))) return undefined;
  for (const folder of folders) {
    const candidate = join(folder, word);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutableFile(file: string): Promise<boolean> {
  const info = await stat(file).catch(() => null);
  if (info === null || !info.isFile()) return false;
  return access(file, fsConstants.X_OK).then(() => true, () => false);
}
