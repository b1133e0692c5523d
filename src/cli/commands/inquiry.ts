/**
 * `attune inquiry`: list (pending by default), get, respond. Respond asks
 * field by field from the inquiry's response schema on a terminal (a
 * yes/no for booleans, a choice for enums, hidden input for secrets,
 * checked numbers), or takes `--response JSON`.
 */
import type { Command } from 'commander';
import { ValidationError } from '../../errors.js';
import { seg } from '../client.js';
import type { CliIo } from '../format/io.js';
import { addPagingOptions, clientAction, type PagingOptions } from './client-command.js';

interface FieldSchema {
  type?: string | string[];
  description?: string;
  title?: string;
  enum?: unknown[];
  default?: unknown;
  secret?: boolean;
}

interface ResponseSchema {
  properties?: Record<string, FieldSchema>;
  required?: string[];
}

/** Asks for each field of `schema` on the terminal of `io`; returns the response object. */
export async function promptResponse(schema: ResponseSchema, io: CliIo): Promise<Record<string, unknown>> {
  const [{ default: input }, { default: confirm }, { default: select }, { default: password }] = await Promise.all([
    import('@inquirer/input'),
    import('@inquirer/confirm'),
    import('@inquirer/select'),
    import('@inquirer/password'),
  ]);
  const context = { input: io.stdin, output: io.stdout as NodeJS.WritableStream, clearPromptOnDone: false };
  const required = new Set(schema.required ?? []);
  const response: Record<string, unknown> = {};
  // The schema comes back from JSONB, whose key order is not the author's: ask the required fields first, in `required`'s order, then the rest by name.
  const properties = schema.properties ?? {};
  const names = [...(schema.required ?? []).filter((name) => name in properties), ...Object.keys(properties).filter((name) => !required.has(name)).sort()];
  for (const name of names) {
    const field = properties[name]!;
    const type = (Array.isArray(field.type) ? field.type.find((t) => t !== 'null') : field.type) ?? 'string';
    const message = `${field.title ?? name}${field.description ? ` (${field.description})` : ''}${required.has(name) ? '' : ' [optional]'}`;
    if (field.enum && field.enum.length > 0) {
      response[name] = await select({ message, choices: field.enum.map((value) => ({ name: String(value), value })), ...(field.default === undefined ? {} : { default: field.default }) }, context);
    } else if (type === 'boolean') {
      response[name] = await confirm({ message, ...(typeof field.default === 'boolean' ? { default: field.default } : {}) }, context);
    } else if (field.secret) {
      const value = await password({ message, mask: '*', validate: (v: string) => v !== '' || !required.has(name) || `${name} is required` }, context);
      if (value !== '') response[name] = value;
    } else {
      const text = await input(
        {
          message,
          ...(field.default === undefined ? {} : { default: typeof field.default === 'string' ? field.default : JSON.stringify(field.default) }),
          validate: (value: string) => {
            if (value === '') return !required.has(name) || `${name} is required`;
            try {
              convert(name, type, value);
              return true;
            } catch (error) {
              return (error as Error).message;
            }
          },
        },
        context,
      );
      if (text !== '') response[name] = convert(name, type, text);
    }
  }
  return response;
}

function convert(name: string, type: string, text: string): unknown {
  if (type === 'integer' || type === 'number') {
    const value = Number(text);
    if (!Number.isFinite(value) || (type === 'integer' && !Number.isInteger(value))) throw new ValidationError(`${name} must be ${type === 'integer' ? 'an integer' : 'a number'}`, { field: name });
    return value;
  }
  if (type === 'array' || type === 'object') {
    try {
      return JSON.parse(text);
    } catch {
      throw new ValidationError(`${name} must be JSON (${type === 'array' ? '[...]' : '{...}'})`, { field: name });
    }
  }
  return text;
}

export function registerInquiryCommands(program: Command, io: CliIo): void {
  const inquiry = program.command('inquiry').alias('inquiries').description('list, inspect and answer inquiries (executions waiting for a person)');

  clientAction<PagingOptions & { all?: boolean; execution?: string }>(
    addPagingOptions(inquiry.command('list').description('list pending inquiries, soonest time-out first').option('--all', 'every status, not only pending').option('--execution <id>', 'only for this execution')),
    io,
    async ({ client, print }, _args, o) => {
      const page = await client.list('/inquiries', {
        limit: o.limit,
        cursor: o.cursor,
        status: o.all ? ['pending', 'responded', 'timeout', 'canceled'] : undefined,
        execution_id: o.execution === undefined ? undefined : Number(o.execution),
      });
      await print.list(page.data, [{ field: 'id' }, { field: 'execution_id', header: 'execution' }, { field: 'status', style: print.status }, { field: 'prompt' }, { field: 'timeout_at', header: 'times out' }], { empty: 'no pending inquiries', nextCursor: page.next_cursor });
    },
  );

  clientAction(inquiry.command('get').argument('<id>', 'inquiry id').description('show an inquiry and its response schema'), io, async ({ client, print }, [id]) => {
    await print.one(await client.data('GET', `/inquiries/${seg(id!)}`));
  });

  clientAction<{ response?: string }>(
    inquiry
      .command('respond')
      .argument('<id>', 'inquiry id')
      .description('answer an inquiry: prompts for each field of its schema on a terminal, or takes --response')
      .option('-r, --response <json>', 'the whole response as a JSON object (no prompts)'),
    io,
    async ({ client, print }, [id], o) => {
      let response: unknown;
      if (o.response !== undefined) {
        try {
          response = JSON.parse(o.response);
        } catch (error) {
          throw new ValidationError(`--response is not valid JSON (${(error as Error).message})`, { field: '--response' });
        }
      } else {
        if (!io.stdin.isTTY) throw new ValidationError('no terminal to ask on: give the answer with --response \'{"field": value}\'', { field: '--response' });
        const found = await client.data<{ prompt: string; status: string; response_schema: ResponseSchema }>('GET', `/inquiries/${seg(id!)}`);
        if (found.status !== 'pending') throw new ValidationError(`inquiry ${id} is ${found.status}, not pending: it cannot be answered`, { field: 'status' });
        io.stdout.write(`${print.style('bold', found.prompt)}\n`);
        response = await promptResponse(found.response_schema ?? {}, io);
      }
      const answered = await client.data('POST', `/inquiries/${seg(id!)}/respond`, { response });
      if (!print.human) return void (await print.machine(answered));
      print.done(`inquiry ${id} answered`);
    },
  );
}
