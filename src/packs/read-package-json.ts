/** package.json: the npm dependencies of the pack's Node actions and sensors. */
import { isPlainObject } from './json-schema.js';
import { PACK_LIMITS } from './limits.js';
import type { ProblemList } from './problems.js';
import { decodeUtf8 } from './yaml.js';

const NPM_NAME = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;

/** `dependencies` of package.json (name → range); devDependencies are not installed and so not read. */
export function readPackageJson(file: string, content: Buffer, problems: ProblemList): Record<string, string> {
  if (content.length > PACK_LIMITS.maxMetadataBytes) {
    problems.error(file, '', `metadata file is ${content.length} bytes; the limit is ${PACK_LIMITS.maxMetadataBytes} bytes`);
    return {};
  }
  const text = decodeUtf8(content);
  if (text === null) {
    problems.error(file, '', 'is not valid UTF-8 text');
    return {};
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const offset = Number(/position (\d+)/.exec(message)?.[1] ?? NaN);
    const before = Number.isNaN(offset) ? '' : text.slice(0, offset);
    problems.error(file, '', `invalid JSON: ${message}`, Number.isNaN(offset) ? { line: 0 } : { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') });
    return {};
  }
  if (!isPlainObject(value)) {
    problems.error(file, '', 'must be a JSON object');
    return {};
  }
  const dependencies = value.dependencies ?? {};
  if (!isPlainObject(dependencies)) {
    problems.error(file, 'dependencies', 'must be an object of package name → version range');
    return {};
  }
  const out: Record<string, string> = {};
  for (const [name, range] of Object.entries(dependencies)) {
    if (!NPM_NAME.test(name) || name.length > 214) problems.error(file, `dependencies.${name}`, `${JSON.stringify(name)} is not an npm package name`);
    else if (typeof range !== 'string' || range.trim() === '') problems.error(file, `dependencies.${name}`, 'must be a version range');
    else out[name] = range;
  }
  return out;
}
