/**
 * `attune completion bash|zsh`: a completion script generated from the
 * command tree itself, so it never lags behind the commands. zsh loads the
 * bash function through bashcompinit.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { CliIo } from '../format/io.js';

const SHELLS = ['bash', 'zsh'];

/** Words that may follow a command path: its subcommands (and aliases) and options. */
function tree(command: Command, path: string[] = [], into = new Map<string, string[]>()): Map<string, string[]> {
  const words: string[] = [];
  for (const sub of command.commands) {
    if ((sub as unknown as { _hidden?: boolean })._hidden) continue;
    words.push(sub.name());
    tree(sub, [...path, sub.name()], into);
    for (const alias of sub.aliases()) tree(sub, [...path, alias], into);
  }
  for (const option of command.options) {
    if (option.long) words.push(option.long);
    if (option.short) words.push(option.short);
  }
  words.push('--help');
  into.set(path.join(' '), [...new Set(words)]);
  return into;
}

/** The bash completion script for `program`. */
export function bashScript(program: Command): string {
  const root = program.name();
  const entries = [...tree(program)].map(([path, words]) => `    '${path}') words='${words.join(' ')}' ;;`);
  const globals = program.options.filter((o) => o.required || o.optional).map((o) => o.long).filter(Boolean);
  return `# ${root} completion for bash: source <(${root} completion bash)
_${root}_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" word words="" i
  for (( i = 1; i < COMP_CWORD; i++ )); do
    word="\${COMP_WORDS[i]}"
    case "$word" in
      ${globals.length ? `${globals.join('|')}) (( i++ )); continue ;;` : ''}
      -*) continue ;;
    esac
    if [[ -n "$(_${root}_words "\${path:+$path }$word")" ]]; then path="\${path:+$path }$word"; fi
  done
  words="$(_${root}_words "$path")"
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
  [[ \${#COMPREPLY[@]} -eq 0 ]] && COMPREPLY=( $(compgen -f -- "$cur") )
  return 0
}
_${root}_words() {
  local words=""
  case "$1" in
${entries.join('\n')}
  esac
  printf '%s' "$words"
}
complete -F _${root}_complete ${root}
`;
}

/** The zsh completion script: the bash one through bashcompinit. */
export function zshScript(program: Command): string {
  return `# ${program.name()} completion for zsh: source <(${program.name()} completion zsh)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashScript(program)}`;
}

export function registerCompletionCommand(program: Command, io: CliIo): void {
  program
    .command('completion')
    .argument('<shell>', 'bash or zsh', (value: string) => {
      if (!SHELLS.includes(value)) throw new InvalidArgumentError(`expected bash or zsh`);
      return value;
    })
    .description('print a shell completion script: source <(attune completion bash)')
    .action((shell: string) => {
      io.stdout.write(shell === 'zsh' ? zshScript(program) : bashScript(program));
    });
}
