/**
 * Shell-style wildcards with the meaning of Python's `fnmatch.fnmatch` on
 * POSIX (StackStorm's `matchwildcard`): the whole string must match, case
 * sensitively; `*` is any run of characters (newlines included), `?` one
 * character, `[abc]` / `[a-z]` a set, `[!abc]` its complement. There is no
 * escape character: a backslash is an ordinary character, and a `[` with no
 * closing `]` is a literal `[`. A set whose ranges are all reversed (`[z-a]`)
 * matches nothing, as in Python 3.9 and later.
 */

const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 500;

/** The RegExp a wildcard pattern stands for, anchored at both ends. */
export function wildcardToRegExp(pattern: string): RegExp {
  let regex = cache.get(pattern);
  if (regex === undefined) {
    regex = new RegExp(`^(?:${translate([...pattern])})$`, 'u');
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(pattern, regex);
  }
  return regex;
}

/** fnmatch(text, pattern) on POSIX. */
export function matchWildcard(text: string, pattern: string): boolean {
  return wildcardToRegExp(pattern).test(text);
}

function literal(char: string): string {
  return `\\u{${char.codePointAt(0)!.toString(16)}}`;
}

function translate(chars: string[]): string {
  let out = '';
  let i = 0;
  while (i < chars.length) {
    const char = chars[i++]!;
    if (char === '*') {
      while (chars[i] === '*') i++;
      out += '[\\s\\S]*';
    } else if (char === '?') {
      out += '[\\s\\S]';
    } else if (char === '[') {
      const set = readSet(chars, i);
      if (set === null) out += '\\[';
      else {
        out += set.regex;
        i = set.next;
      }
    } else {
      out += literal(char);
    }
  }
  return out;
}

/** The set starting after `[` at `start`, or null when no `]` closes it (then `[` is literal). */
function readSet(chars: string[], start: number): { regex: string; next: number } | null {
  let j = start;
  if (chars[j] === '!') j++;
  if (chars[j] === ']') j++; // a `]` first in the set is a member
  while (j < chars.length && chars[j] !== ']') j++;
  if (j >= chars.length) return null;
  let body = chars.slice(start, j);
  const negated = body[0] === '!';
  if (negated) body = body.slice(1);
  const members: string[] = [];
  for (let k = 0; k < body.length; k++) {
    const low = body[k]!;
    if (body[k + 1] === '-' && k + 2 < body.length) {
      const high = body[k + 2]!;
      // Python drops a reversed range rather than failing.
      if (low.codePointAt(0)! <= high.codePointAt(0)!) members.push(`${literal(low)}-${literal(high)}`);
      k += 2;
    } else {
      members.push(literal(low));
    }
  }
  let regex: string;
  if (members.length === 0) regex = negated ? '[\\s\\S]' : '(?!)';
  else regex = `[${negated ? '^' : ''}${members.join('')}]`;
  return { regex, next: j + 1 };
}
