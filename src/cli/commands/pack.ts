/**
 * `attune pack`: register a pack directory (read and validated here first,
 * every problem reported with its file and line, then sent as a bundle of
 * its files), list, get, activate a version, remove.
 */
import type { Command } from 'commander';
import { seg } from '../client.js';
import type { CliIo } from '../format/io.js';
import type { Column } from '../format/table.js';
import { addPagingOptions, clientAction, formatProblem, type PagingOptions } from './client-command.js';

const PACK_COLUMNS: Column[] = [
  { field: 'ref' },
  { field: 'version' },
  { field: 'name' },
  { field: 'is_active', header: 'active' },
  { field: 'description' },
];

export function registerPackCommands(program: Command, io: CliIo): void {
  const pack = program.command('pack').description('register, list, inspect, activate and remove packs');

  clientAction<{ dryRun?: boolean }>(
    pack.command('register').argument('<dir>', 'the pack directory (holding pack.yaml)').description('read and validate a pack directory, then register it through the API and make it active').option('--dry-run', 'only read and validate the directory; send nothing'),
    io,
    async ({ client, print }, [dir], options) => {
      const { readPack } = await import('../../packs/read-pack.js');
      const progress = print.progress(`reading ${dir}`);
      let result: Awaited<ReturnType<typeof readPack>>;
      try {
        result = await readPack(dir!);
      } catch (error) {
        progress.stop();
        const problems = (error as { problems?: unknown[] }).problems;
        if (!Array.isArray(problems)) throw error;
        const errors = problems.filter((p) => (p as { severity?: string }).severity !== 'warning').length;
        io.stderr.write(`error: ${dir} is not a valid pack: ${errors} error${errors === 1 ? '' : 's'}, nothing was sent\n`);
        for (const problem of problems) io.stderr.write(`  ${formatProblem(problem)}\n`);
        return 1;
      }
      for (const warning of result.problems) print.warn(formatProblem(warning));
      const files = result.pack.files;
      const bytes = files.reduce((sum, file) => sum + file.size, 0);
      if (options.dryRun) {
        progress.stop();
        print.done(`${result.pack.ref} ${result.pack.version} is valid: ${files.length} files, ${describeBytes(bytes)}; nothing sent (--dry-run)`);
        await print.one({ ref: result.pack.ref, version: result.pack.version, files: files.length, bytes, actions: result.pack.actions.length, triggers: result.pack.triggers.length, sensors: result.pack.sensors.length, rules: result.pack.rules.length });
        return 0;
      }
      progress.update(`uploading ${result.pack.ref} ${result.pack.version}: ${files.length} files, ${describeBytes(bytes)}`);
      let report: Record<string, unknown>;
      try {
        report = await client.data('POST', '/packs', {
          files: files.map((file) => ({ path: file.path, content_base64: file.content.toString('base64'), ...(file.executable ? { executable: true } : {}) })),
        });
      } finally {
        progress.stop();
      }
      if (!print.human) return void (await print.machine(report));
      const count = (name: string) => (Array.isArray(report[name]) ? (report[name] as unknown[]).length : 0);
      print.done(`registered ${String(report.pack)} ${String(report.version)}${report.activated ? ' (active)' : ''}`);
      await print.one({
        pack: report.pack,
        version: report.version,
        previous_version: report.previous_version,
        created: count('created'),
        updated: count('updated'),
        removed: count('removed'),
        unchanged: count('unchanged'),
        disabled: (report.disabled as { ref: string; reason: string }[] | undefined)?.map((d) => `${d.ref}: ${d.reason}`) ?? [],
      });
      return 0;
    },
  );

  clientAction<PagingOptions & { search?: string; all?: boolean }>(
    addPagingOptions(pack.command('list').description('list packs (the active version of each; --all for every version)').option('--search <text>', 'packs matching this text').option('--all', 'every installed version, not only the active ones')),
    io,
    async ({ client, print }, _args, options) => {
      const page = await client.list('/packs', { limit: options.limit, cursor: options.cursor, search: options.search, active: options.all ? undefined : true });
      await print.list(page.data, PACK_COLUMNS, { empty: 'no packs registered: attune pack register DIR', nextCursor: page.next_cursor });
    },
  );

  clientAction(pack.command('get').argument('<ref>', 'pack ref').description('show a pack (its active version) and every installed version'), io, async ({ client, print }, [ref]) => {
    await print.one(await client.data('GET', `/packs/${seg(ref!)}`));
  });

  clientAction(
    pack.command('activate').argument('<ref>', 'pack ref').argument('<version>', 'an installed version').description('make an installed version of a pack the active one'),
    io,
    async ({ client, print }, [ref, version]) => {
      const report = await client.data('POST', `/packs/${seg(ref!)}/activate`, { version });
      if (!print.human) return void (await print.machine(report));
      print.done(`${ref} ${version} is active${report.previous_version ? ` (was ${String(report.previous_version)})` : ''}`);
    },
  );

  clientAction<{ force?: boolean }>(
    pack.command('remove').alias('uninstall').argument('<ref>', 'pack ref').description('uninstall every version of a pack, its components and its configuration').option('--force', 'even when active packs depend on it'),
    io,
    async ({ client, print }, [ref], options) => {
      const report = await client.data('DELETE', `/packs/${seg(ref!)}`, undefined, options.force ? { force: true } : undefined);
      if (!print.human) return void (await print.machine(report));
      print.done(`removed pack ${ref}`);
    },
  );
}

function describeBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
