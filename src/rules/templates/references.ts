/**
 * The names a template reads: every identifier in a value position (not a
 * member name after a dot, a filter or test name, a keyword argument name,
 * or a name the template binds itself with `for`, `set` or `macro`). Used
 * to order parameters that refer to each other.
 */
import { parse, tokenize } from '@huggingface/jinja';
import type { Node } from './special-values.js';

/** Templates whose names were found, by text (least recently used first). */
const cache = new Map<string, ReadonlySet<string>>();
const CACHE_SIZE = 1000;

/** The free names `template` reads; empty when it does not parse (rendering reports that). */
export function referencedNames(template: string): ReadonlySet<string> {
  const cached = cache.get(template);
  if (cached !== undefined) {
    cache.delete(template);
    cache.set(template, cached);
    return cached;
  }
  const names = findNames(template);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(template, names);
  return names;
}

function findNames(template: string): Set<string> {
  const names = new Set<string>();
  const bound = new Set<string>();
  let program: Node;
  try {
    program = parse(tokenize(template, { lstrip_blocks: true, trim_blocks: true })) as unknown as Node;
  } catch {
    return names;
  }
  const bind = (node: Node | undefined) => {
    if (node === undefined) return;
    if (node.type === 'Identifier') bound.add(node.value as string);
    else if (node.type === 'TupleLiteral' || node.type === 'ArrayLiteral') for (const item of node.value as Node[]) bind(item);
  };
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
      return;
    }
    if (typeof value !== 'object' || value === null || typeof (value as Node).type !== 'string') return;
    const node = value as Node;
    switch (node.type) {
      case 'Identifier':
        names.add(node.value as string);
        return;
      case 'MemberExpression':
        walk(node.object);
        if (node.computed === true) walk(node.property);
        return;
      case 'FilterExpression':
        walk(node.operand);
        if ((node.filter as Node).type === 'CallExpression') walk((node.filter as Node).args);
        return;
      case 'FilterStatement':
        walk(node.body);
        if ((node.filter as Node).type === 'CallExpression') walk((node.filter as Node).args);
        return;
      case 'TestExpression':
        walk(node.operand);
        return;
      case 'KeywordArgumentExpression':
        walk(node.value);
        return;
      case 'For':
        bind(node.loopvar as Node);
        walk(node.iterable);
        walk(node.body);
        walk(node.defaultBlock);
        return;
      case 'Set':
        bind(node.assignee as Node);
        walk(node.value);
        walk(node.body);
        return;
      case 'Macro':
        bind(node.name as Node);
        for (const arg of node.args as Node[]) bind(arg.type === 'KeywordArgumentExpression' ? (arg.key as Node) : arg);
        walk(node.body);
        return;
      default:
        for (const [field, child] of Object.entries(node)) if (field !== 'type') walk(child);
    }
  };
  walk(program);
  for (const name of bound) names.delete(name);
  return names;
}
