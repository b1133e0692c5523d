/** The output modes of client commands: a table for people, JSON or YAML for scripts. */
import { InvalidArgumentError, Option, type Command } from 'commander';

export const OUTPUT_MODES = ['table', 'json', 'yaml'] as const;
export type OutputMode = (typeof OUTPUT_MODES)[number];

/** The options every client command takes for its output. */
export interface OutputOptions {
  output?: OutputMode;
  json?: boolean;
  yaml?: boolean;
}

/** Adds `-o, --output table|json|yaml`, `-j, --json` and `-y, --yaml` to a command. */
export function addOutputOptions(command: Command): Command {
  return command
    .addOption(
      new Option('-o, --output <format>', 'output format: table (default), json or yaml').argParser((value) => {
        if (!(OUTPUT_MODES as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${OUTPUT_MODES.join(', ')}`);
        return value;
      }),
    )
    .option('-j, --json', 'output JSON (same as -o json)')
    .option('-y, --yaml', 'output YAML (same as -o yaml)');
}

/** The mode the options ask for; `-j` and `-y` win over `-o`, table by default. */
export function outputMode(options: OutputOptions): OutputMode {
  if (options.json) return 'json';
  if (options.yaml) return 'yaml';
  return options.output ?? 'table';
}
