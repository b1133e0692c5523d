/**
 * Syntax checks for Jinja templates (rule action parameters, criteria
 * patterns, action parameter defaults), so that a template that cannot parse
 * refuses the rule at registration with a position, not when it fires. The
 * parser is @huggingface/jinja's, which the engine renders with; its errors
 * carry no position, so each tag is checked on its own (and blocks are
 * matched here) to say where the problem is.
 */
import { parse, tokenize } from '@huggingface/jinja';

/** Where a template fails to parse, and why. */
export interface TemplateSyntaxError {
  message: string;
  /** 0-based offset of the offending tag in the text. */
  offset: number;
  /** 1-based line and column of that offset. */
  line: number;
  column: number;
}

/** True when `text` holds template syntax (`{{`, `{%` or `{#`), i.e. would be rendered. */
export function containsTemplate(text: string): boolean {
  return text.includes('{{') || text.includes('{%') || text.includes('{#');
}

interface Tag {
  kind: '{{' | '{%' | '{#';
  start: number;
  /** Offset just past the closing delimiter. */
  end: number;
  inner: string;
}

const CLOSERS = { '{{': '}}', '{%': '%}', '{#': '#}' } as const;
/** Block statements and the tag that ends each. */
const BLOCKS: Record<string, string> = { if: 'endif', for: 'endfor', macro: 'endmacro', call: 'endcall', filter: 'endfilter', set: 'endset' };
const ENDS = new Set(Object.values(BLOCKS));

/** The parse error in `text` with its position, or null when it parses. */
export function checkTemplateSyntax(text: string): TemplateSyntaxError | null {
  const at = (offset: number, message: string): TemplateSyntaxError => ({ message, offset, ...lineAndColumn(text, offset) });
  const scanned = scanTags(text);
  if ('unclosed' in scanned) return at(scanned.unclosed.start, `'${scanned.unclosed.kind}' is never closed with '${CLOSERS[scanned.unclosed.kind]}'`);
  const open: { keyword: string; tag: Tag }[] = [];
  for (const tag of scanned.tags) {
    if (tag.kind === '{#') continue;
    if (tag.kind === '{{') {
      const problem = parseProblem(`{{${tag.inner}}}`);
      if (problem !== null) return at(tag.start, `in expression ${shorten(text.slice(tag.start, tag.end))}: ${problem}`);
      continue;
    }
    const body = tag.inner.replace(/^[-+]/, '').replace(/[-+]$/, '').trim();
    const keyword = /^[A-Za-z_]\w*/.exec(body)?.[0] ?? '';
    const top = open[open.length - 1];
    let probe: string;
    if (keyword in BLOCKS && !(keyword === 'set' && /^set\s+[^=]*=/.test(body))) {
      open.push({ keyword, tag });
      probe = `{% ${body} %}{% ${BLOCKS[keyword]} %}`;
    } else if (ENDS.has(keyword)) {
      if (top === undefined || BLOCKS[top.keyword] !== keyword) {
        return at(tag.start, top === undefined ? `'${keyword}' has no opening block` : `'${keyword}' closes '${top.keyword}' (opened at line ${lineAndColumn(text, top.tag.start).line}); expected '${BLOCKS[top.keyword]}'`);
      }
      open.pop();
      continue;
    } else if (keyword === 'elif' || keyword === 'else') {
      if (top === undefined || !(top.keyword === 'if' || (keyword === 'else' && top.keyword === 'for'))) return at(tag.start, `'${keyword}' outside an 'if'${keyword === 'else' ? " or 'for'" : ''} block`);
      probe = keyword === 'else' ? '' : `{% if true %}{% ${body} %}{% endif %}`;
    } else if (keyword === 'break' || keyword === 'continue') {
      probe = `{% for _ in [] %}{% ${body} %}{% endfor %}`;
    } else if (keyword === 'set') {
      probe = `{% ${body} %}`;
    } else {
      return at(tag.start, `unknown statement '${keyword || body}'`);
    }
    const problem = probe === '' ? null : parseProblem(probe);
    if (problem !== null) return at(tag.start, `in statement ${shorten(text.slice(tag.start, tag.end))}: ${problem}`);
  }
  const unclosed = open[open.length - 1];
  if (unclosed !== undefined) return at(unclosed.tag.start, `'${unclosed.keyword}' is never closed with '${BLOCKS[unclosed.keyword]}'`);
  const problem = parseProblem(text);
  return problem === null ? null : at(0, problem);
}

function parseProblem(template: string): string | null {
  try {
    parse(tokenize(template));
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Finds every tag, honouring quoted strings inside `{{ }}` and `{% %}` (a `}}` in a string does not close). */
function scanTags(text: string): { tags: Tag[] } | { unclosed: Tag } {
  const tags: Tag[] = [];
  let index = 0;
  for (;;) {
    const start = text.indexOf('{', index);
    if (start < 0 || start + 1 >= text.length) return { tags };
    const kind = text.slice(start, start + 2);
    if (kind !== '{{' && kind !== '{%' && kind !== '{#') {
      index = start + 1;
      continue;
    }
    const closer = CLOSERS[kind];
    let cursor = start + 2;
    let quote: string | null = null;
    let end = -1;
    while (cursor < text.length) {
      const char = text[cursor]!;
      if (quote !== null) {
        if (char === '\\') cursor += 1;
        else if (char === quote) quote = null;
      } else if (kind !== '{#' && (char === '"' || char === "'")) {
        quote = char;
      } else if (text.startsWith(closer, cursor)) {
        end = cursor + 2;
        break;
      }
      cursor += 1;
    }
    const tag: Tag = { kind, start, end, inner: end < 0 ? '' : text.slice(start + 2, end - 2) };
    if (end < 0) return { unclosed: tag };
    tags.push(tag);
    index = end;
  }
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

function shorten(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}
