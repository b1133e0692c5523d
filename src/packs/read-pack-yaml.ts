/**
 * pack.yaml: the pack's identity (ref, version) and description. Fields
 * Attune does not use itself (python_versions, stackstorm_version,
 * contributors, ...) are kept in `meta`, not refused: StackStorm accepts
 * any extra field here too.
 */
import { Fields } from './fields.js';
import { isPlainObject } from './json-schema.js';
import { isPackRef, PACK_REF_MAX_LENGTH, PACK_REF_PATTERN } from './names.js';
import type { ProblemList } from './problems.js';
import { parseYaml } from './yaml.js';

/** Semantic versioning 2.0.0, as the packs table CHECKs it. */
export const SEMVER_PATTERN = /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

export interface PackHeader {
  ref: string;
  name: string;
  version: string;
  description: string | null;
  author: string | null;
  email: string | null;
  keywords: string[];
  dependencies: Record<string, string>;
  meta: Record<string, unknown>;
}

const USED = new Set(['ref', 'name', 'version', 'description', 'author', 'email', 'keywords', 'dependencies']);

/** Reads pack.yaml; null (with problems) when the pack's identity cannot be established. */
export function readPackYaml(content: Buffer, problems: ProblemList): PackHeader | null {
  const file = 'pack.yaml';
  const doc = parseYaml(file, content, problems);
  const fields = doc === null ? null : Fields.of(file, doc, problems);
  if (fields === null) return null;
  const name = fields.string('name', { required: true, max: 255 });
  const explicitRef = fields.string('ref');
  const ref = explicitRef ?? name;
  let refOk = ref !== null;
  if (ref !== null && !isPackRef(ref)) {
    refOk = false;
    const rule = `a pack ref is lowercase letters, digits, '_' and '-', starting with a letter (${PACK_REF_PATTERN.source}, at most ${PACK_REF_MAX_LENGTH} characters)`;
    if (explicitRef !== null) fields.error(['ref'], `${JSON.stringify(ref)} is not a valid pack ref: ${rule}`);
    else fields.error(['name'], `the pack has no 'ref', and its name ${JSON.stringify(ref)} is not a valid pack ref: ${rule}; add a 'ref' field`);
  }
  const version = readVersion(fields);
  const header: PackHeader = {
    ref: ref ?? '',
    name: name ?? ref ?? '',
    version: version ?? '',
    description: fields.string('description'),
    author: fields.string('author', { max: 255 }),
    email: fields.string('email', { max: 320 }),
    keywords: fields.stringList('keywords'),
    dependencies: readDependencies(fields),
    meta: Object.fromEntries(Object.entries(fields.values).filter(([key]) => !USED.has(key))),
  };
  return refOk && version !== null ? header : null;
}

function readVersion(fields: Fields): string | null {
  const raw = fields.string('version', { required: true, max: 64 });
  if (raw === null) return null;
  if (SEMVER_PATTERN.test(raw)) return raw;
  // StackStorm normalises a two-part version (`0.2`) to semver.
  if (/^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/.test(raw)) {
    fields.report(['version'], `${JSON.stringify(raw)} is read as ${raw}.0 (a version has three parts)`, 'warning');
    return `${raw}.0`;
  }
  fields.error(['version'], `must be a semantic version such as 1.2.0, got ${JSON.stringify(raw)}`);
  return null;
}

/**
 * StackStorm lists dependencies as pack names, optionally `name=version`;
 * Attune also takes a mapping of pack ref → version range. A git URL is
 * refused: Attune resolves dependencies among installed packs, by ref.
 */
function readDependencies(fields: Fields): Record<string, string> {
  const value = fields.values.dependencies;
  const out: Record<string, string> = {};
  if (value === undefined || value === null) return out;
  const add = (ref: string, range: string, path: (string | number)[]): void => {
    if (!isPackRef(ref)) fields.error(path, `names ${JSON.stringify(ref)}, which is not a pack ref; dependencies are named by pack ref`);
    else if (range.trim() === '') fields.error(path, `gives no version range for '${ref}'`);
    else out[ref] = range.trim();
  };
  if (isPlainObject(value)) {
    for (const [ref, range] of Object.entries(value)) add(ref, typeof range === 'string' || typeof range === 'number' ? String(range) : '', ['dependencies', ref]);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => {
      if (typeof item !== 'string') return fields.error(['dependencies', index], 'must be a pack ref, optionally with =version');
      const [ref = '', version] = item.split('=', 2);
      add(ref.trim(), version ?? '*', ['dependencies', index]);
    });
  } else {
    fields.error(['dependencies'], 'must be a list of pack refs or a mapping of pack ref to version range');
  }
  return out;
}
