/**
 * What every component reader gets: the pack's ref, its files and the
 * problem list. Also the shared step of parsing one metadata file.
 */
import { Fields } from './fields.js';
import type { PackFile } from './files.js';
import type { ProblemList } from './problems.js';
import { parseYaml } from './yaml.js';

export interface ReadContext {
  /** The pack's ref (or a placeholder when pack.yaml is broken, so components are still checked). */
  packRef: string;
  files: ReadonlyMap<string, PackFile>;
  problems: ProblemList;
}

/** Metadata files of one kind: `<dir>/*.yaml` and `*.yml` directly in the folder (not below it). */
export function metadataFiles(context: ReadContext, dir: string): PackFile[] {
  const pattern = new RegExp(`^${dir}/[^/]+\\.ya?ml$`);
  return [...context.files.values()].filter((file) => pattern.test(file.path));
}

/** Parses a metadata file into its fields; null (reported) when it cannot be read as a mapping. */
export function readFields(context: ReadContext, file: PackFile): Fields | null {
  const doc = parseYaml(file.path, file.content, context.problems);
  return doc === null ? null : Fields.of(file.path, doc, context.problems);
}

/** Reports the `pack` field when it disagrees with the pack being read. */
export function checkPackField(fields: Fields, context: ReadContext): void {
  const pack = fields.values.pack;
  if (pack !== undefined && pack !== null && pack !== context.packRef) {
    fields.error(['pack'], `says pack ${JSON.stringify(pack)}, but this file is in pack '${context.packRef}'`);
  }
}
