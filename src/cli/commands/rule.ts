/**
 * `attune rule`: list, get, create FILE (a StackStorm rule in YAML or JSON),
 * enable, disable, delete, and test against a payload or a stored event:
 * each criterion's verdict and the parameters the action would get.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ValidationError } from '../../errors.js';
import { seg } from '../client.js';
import type { CliIo } from '../format/io.js';
import type { Printer } from '../format/printer.js';
import type { Column } from '../format/table.js';
import { addPagingOptions, clientAction, wholeNumber, type PagingOptions } from './client-command.js';

const RULE_COLUMNS: Column[] = [{ field: 'ref' }, { field: 'trigger_ref', header: 'trigger' }, { field: 'action_ref', header: 'action' }, { field: 'enabled' }, { field: 'description' }];

/** Reads a YAML or JSON file into an object, naming the file when it is neither. */
export async function readObjectFile(file: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ValidationError(`${what} file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { field: file });
  }
  const { parse } = await import('yaml');
  let value: unknown;
  try {
    value = parse(text); // YAML is a superset of JSON: one parser reads both
  } catch (error) {
    throw new ValidationError(`${what} file ${file} is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`, { field: file });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ValidationError(`${what} file ${file} must hold one object (a mapping)`, { field: file });
  return value as Record<string, unknown>;
}

interface CriterionResult {
  key: string;
  operator: string;
  pattern: unknown;
  value: unknown;
  matched: boolean;
  error?: string;
}

async function printTest(print: Printer, result: Record<string, unknown>): Promise<number> {
  const matched = result.matched === true;
  if (!print.human) {
    await print.machine(result);
    return matched ? 0 : 1;
  }
  const criteria = (result.criteria as CriterionResult[] | undefined) ?? [];
  const verdict = (ok: boolean) => (ok ? print.style('green', 'match') : print.style('red', 'no match'));
  print.write(`rule ${String(result.rule)}${result.enabled === false ? ' (disabled)' : ''}${result.event_id ? ` against event ${String(result.event_id)}` : ''}`);
  if (result.trigger_params_matched !== undefined) print.write(`  trigger parameters: ${verdict(result.trigger_params_matched === true)}`);
  if (criteria.length === 0) print.write('  criteria: none (every event of the trigger matches)');
  for (const c of criteria) {
    const detail = c.error ? `error: ${c.error}` : `${JSON.stringify(c.value)} ${c.operator} ${JSON.stringify(c.pattern)}`;
    print.write(`  ${c.matched ? print.style('green', '✓') : print.style('red', '✗')} ${c.key}: ${detail}`);
  }
  print.write(`  result: ${verdict(matched)}`);
  if (result.params !== undefined) print.write(`  ${String(result.action)} would get:\n${JSON.stringify(result.params, null, 2).replace(/^/gm, '    ')}`);
  if (result.error) print.write(`  ${print.style('red', `error: ${String(result.error)}`)}`);
  return matched ? 0 : 1;
}

export function registerRuleCommands(program: Command, io: CliIo): void {
  const rule = program.command('rule').description('list, create, enable, disable, delete and test rules');

  clientAction<PagingOptions & { pack?: string; trigger?: string; action?: string; enabled?: boolean }>(
    addPagingOptions(
      rule
        .command('list')
        .description('list rules')
        .option('-p, --pack <pack>', 'only this pack')
        .option('--trigger <ref>', 'only rules on this trigger')
        .option('--action <ref>', 'only rules running this action')
        .option('--enabled', 'only enabled rules')
        .option('--disabled', 'only disabled rules'),
    ),
    io,
    async ({ client, print }, _args, o) => {
      const disabled = (o as { disabled?: boolean }).disabled;
      const page = await client.list('/rules', { limit: o.limit, cursor: o.cursor, pack: o.pack, trigger: o.trigger, action: o.action, enabled: o.enabled ? true : disabled ? false : undefined });
      await print.list(page.data, RULE_COLUMNS, { empty: 'no rules found', nextCursor: page.next_cursor });
    },
  );

  clientAction(rule.command('get').argument('<ref>', 'rule ref or id').description('show a rule'), io, async ({ client, print }, [ref]) => {
    await print.one(await client.data('GET', `/rules/${seg(ref!)}`));
  });

  clientAction(rule.command('create').argument('<file>', 'a StackStorm rule file (YAML or JSON)').description('create a rule (in pack default) from a rule file'), io, async ({ client, print }, [file]) => {
    const created = await client.data('POST', '/rules', await readObjectFile(file!, 'rule'));
    if (!print.human) return void (await print.machine(created));
    print.done(`created rule ${String(created.ref)}`);
    await print.one(created, RULE_COLUMNS);
  });

  for (const verb of ['enable', 'disable'] as const) {
    clientAction(rule.command(verb).argument('<ref>', 'rule ref or id').description(`${verb} a rule`), io, async ({ client, print }, [ref]) => {
      const changed = await client.data('POST', `/rules/${seg(ref!)}/${verb}`);
      if (!print.human) return void (await print.machine(changed));
      print.done(`rule ${String(changed.ref)} ${verb}d`);
    });
  }

  clientAction(rule.command('delete').argument('<ref>', 'rule ref or id').description('delete a rule of pack default (others change through their pack)'), io, async ({ client, print }, [ref]) => {
    await client.delete(`/rules/${seg(ref!)}`);
    if (!print.human) return void (await print.machine({ deleted: ref }));
    print.done(`deleted rule ${ref}`);
  });

  clientAction<{ payload?: string; event?: number }>(
    rule
      .command('test')
      .argument('<ref>', 'rule ref or id')
      .description('match a rule against a payload or a stored event: each criterion\'s verdict and the rendered action parameters; nothing is written')
      .option('--payload <file>', 'a trigger payload (YAML or JSON file)')
      .option('--event <id>', 'a stored event', wholeNumber('--event'))
      .addHelpText('after', '\nExit code: 0 when the rule matches, 1 when it does not (or the test failed).'),
    io,
    async ({ client, print }, [ref], o) => {
      if ((o.payload === undefined) === (o.event === undefined)) throw new ValidationError('give --payload FILE or --event ID (one of them)', { field: '--payload' });
      const body = o.payload !== undefined ? { payload: await readObjectFile(o.payload, 'payload') } : { event_id: o.event };
      return printTest(print, await client.data('POST', `/rules/${seg(ref!)}/test`, body));
    },
  );
}
