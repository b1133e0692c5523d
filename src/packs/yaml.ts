/**
 * YAML parsing for pack metadata: the value, plus the line and column of
 * every field so that problems can point at them. StackStorm reads packs
 * with PyYAML (YAML 1.1), so this does too, with PyYAML's booleans (`yes`,
 * `on`, `True`; not `y` / `n`) and with timestamps kept as the strings they
 * were written as. Parsing is bounded (PACK_LIMITS): size, nesting depth,
 * node count and alias expansion, so a hostile file costs little.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node, type ParsedNode, type Tags } from 'yaml';
import { PACK_LIMITS } from './limits.js';
import type { Position, ProblemList } from './problems.js';

/** A path into a parsed document: map keys and sequence indexes. */
export type FieldPath = readonly (string | number)[];

/** A parsed file: its plain value and where each field was written. */
export interface YamlDocument {
  value: unknown;
  /** Position of the field at `path`, or of its nearest ancestor that exists. */
  locate(path: FieldPath): Position;
}

const PYYAML_TRUE = /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/;
const PYYAML_FALSE = /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/;
const DROPPED_TAGS = new Set(['tag:yaml.org,2002:timestamp', 'tag:yaml.org,2002:binary', 'tag:yaml.org,2002:set', 'tag:yaml.org,2002:omap', 'tag:yaml.org,2002:pairs']);

/** YAML 1.1 as PyYAML reads it: no `y`/`n` booleans, no Date / Set / Map / binary values. */
function pyyamlTags(tags: Tags): Tags {
  const kept: Tags = [];
  for (const tag of tags) {
    if (typeof tag === 'string') {
      kept.push(tag);
    } else if (DROPPED_TAGS.has(tag.tag)) {
      continue;
    } else if (tag.tag === 'tag:yaml.org,2002:bool' && 'test' in tag && tag.test instanceof RegExp) {
      kept.push({ ...tag, test: tag.test.test('true') ? PYYAML_TRUE : PYYAML_FALSE } as typeof tag);
    } else {
      kept.push(tag);
    }
  }
  return kept;
}

/** Decodes UTF-8 strictly (a BOM is dropped); null when the bytes are not UTF-8. */
export function decodeUtf8(content: Buffer): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(content);
  } catch {
    return null;
  }
}

/**
 * Parses one YAML document. Problems (syntax with line and column, duplicate
 * keys, limits) go to `problems` under `file`; the result is null when the
 * file cannot be used at all.
 */
export function parseYaml(file: string, content: Buffer | string, problems: ProblemList): YamlDocument | null {
  const size = typeof content === 'string' ? Buffer.byteLength(content) : content.length;
  if (size > PACK_LIMITS.maxMetadataBytes) {
    problems.error(file, '', `metadata file is ${size} bytes; the limit is ${PACK_LIMITS.maxMetadataBytes} bytes`);
    return null;
  }
  const text = typeof content === 'string' ? content : decodeUtf8(content);
  if (text === null) {
    problems.error(file, '', 'is not valid UTF-8 text');
    return null;
  }
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, version: '1.1', customTags: pyyamlTags, uniqueKeys: true, prettyErrors: false });
  const positionOf = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  if (document.errors.length > 0) {
    for (const error of document.errors) {
      const message = error.code === 'DUPLICATE_KEY' ? 'duplicate key: a mapping names the same key twice' : error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      problems.error(file, '', `invalid YAML: ${message}`, positionOf(error.pos[0]));
    }
    return null;
  }
  const positions = new Map<string, Position>();
  if (!indexPositions(file, document.contents as ParsedNode | null, [], positions, positionOf, problems)) return null;
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: PACK_LIMITS.maxYamlAliases });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    problems.error(file, '', `invalid YAML: ${/alias count/i.test(message) ? `aliases expand too much (more than ${PACK_LIMITS.maxYamlAliases} expansions)` : message}`);
    return null;
  }
  return {
    value,
    locate(path: FieldPath): Position {
      for (let length = path.length; length >= 0; length -= 1) {
        const found = positions.get(pathKey(path.slice(0, length)));
        if (found) return found;
      }
      return { line: 1 };
    },
  };
}

function pathKey(path: FieldPath): string {
  return JSON.stringify(path);
}

/**
 * Records the position of every field, and enforces the depth, node and alias
 * limits while walking (an iterative walk: a deep document cannot overflow the stack).
 */
function indexPositions(
  file: string,
  root: ParsedNode | null,
  rootPath: FieldPath,
  positions: Map<string, Position>,
  positionOf: (offset: number) => Position,
  problems: ProblemList,
): boolean {
  if (root === null) return true;
  positions.set(pathKey(rootPath), positionOf(root.range[0]));
  const stack: { node: Node; path: FieldPath; depth: number }[] = [{ node: root, path: rootPath, depth: 0 }];
  let nodes = 0;
  let aliases = 0;
  while (stack.length > 0) {
    const { node, path, depth } = stack.pop()!;
    nodes += 1;
    if (nodes > PACK_LIMITS.maxYamlNodes) {
      problems.error(file, '', `has more than ${PACK_LIMITS.maxYamlNodes} YAML nodes`);
      return false;
    }
    if (depth > PACK_LIMITS.maxYamlDepth) {
      problems.error(file, path.join('.'), `nests deeper than ${PACK_LIMITS.maxYamlDepth} levels`, node.range ? positionOf(node.range[0]) : { line: 0 });
      return false;
    }
    if (isAlias(node)) {
      aliases += 1;
      if (aliases > PACK_LIMITS.maxYamlAliases) {
        problems.error(file, '', `has more than ${PACK_LIMITS.maxYamlAliases} aliases`);
        return false;
      }
    } else if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : '?';
        const childPath = [...path, key];
        const keyRange = (pair.key as Node | null)?.range;
        if (keyRange) positions.set(pathKey(childPath), positionOf(keyRange[0]));
        if (pair.value) stack.push({ node: pair.value as Node, path: childPath, depth: depth + 1 });
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        const childPath = [...path, index];
        const range = (item as Node | null)?.range;
        if (range) positions.set(pathKey(childPath), positionOf(range[0]));
        if (item) stack.push({ node: item as Node, path: childPath, depth: depth + 1 });
      });
    }
  }
  return true;
}
