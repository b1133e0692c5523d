/**
 * Python regular expressions (StackStorm's `regex`, `iregex` and `matchregex`
 * criteria, and its regex filters) translated to JavaScript ones with the
 * same meaning. Python's `re` differs from JavaScript in many small ways:
 * `(?P<name>…)` and `(?P=name)`, `\A` and `\Z`, `$` also matching before a
 * final newline, `.` stopping only at `\n`, Unicode-aware `\d`, `\w` and `\b`,
 * `{,n}`, escapes of any punctuation, a leading `]` in a class. Those are
 * translated. What has no JavaScript equivalent (scoped flags `(?i:…)`,
 * possessive quantifiers, atomic groups, conditionals, verbose mode, `\N{…}`)
 * is refused with a message naming the construct and its position, so a rule
 * is refused at registration rather than silently matching differently.
 */

/** Flags the caller sets, as Python's `re.compile(pattern, flags)` would. */
export interface PythonRegexOptions {
  ignoreCase?: boolean;
  /** `re.DOTALL`: `.` matches `\n` too (StackStorm's `matchregex`). */
  dotAll?: boolean;
  multiline?: boolean;
}

export type PythonRegexTranslation =
  | { ok: true; source: string; flags: string }
  | { ok: false; message: string; /** 0-based index into the pattern. */ position: number };

const UNICODE_WORD = '\\p{L}\\p{N}_';
const ASCII_WORD = 'A-Za-z0-9_';
/** Characters that must stay escaped in a JavaScript `u` pattern (outside a class). */
const JS_SYNTAX = new Set([...'^$\\.*+?()[]{}|/']);
const SIMPLE_ESCAPES: Record<string, string> = { a: '\\x07', f: '\\f', n: '\\n', r: '\\r', t: '\\t', v: '\\v' };

class Refusal extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

/** Translates a Python pattern; `ok: false` with the reason when it cannot be translated faithfully. */
export function translatePythonRegex(pattern: string, options: PythonRegexOptions = {}): PythonRegexTranslation {
  try {
    const { source, flags } = new Translator(pattern, options).run();
    new RegExp(source, flags); // prove it compiles; a failure here is a pattern error in both languages
    return { ok: true, source, flags };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, message: error.message, position: error.position };
    return { ok: false, message: `invalid regular expression: ${(error as Error).message}`, position: 0 };
  }
}

/** The translated RegExp; throws with the reason when the pattern cannot be translated. */
export function compilePythonRegex(pattern: string, options: PythonRegexOptions = {}): RegExp {
  const translated = translatePythonRegex(pattern, options);
  if (!translated.ok) throw new Error(`${translated.message} (at position ${translated.position})`);
  return new RegExp(translated.source, translated.flags);
}

class Translator {
  private index = 0;
  private out = '';
  private ignoreCase: boolean;
  private dotAll: boolean;
  private multiline: boolean;
  private ascii = false;

  constructor(
    private readonly pattern: string,
    options: PythonRegexOptions,
  ) {
    this.ignoreCase = options.ignoreCase ?? false;
    this.dotAll = options.dotAll ?? false;
    this.multiline = options.multiline ?? false;
  }

  run(): { source: string; flags: string } {
    this.leadingFlags();
    while (this.index < this.pattern.length) this.atom();
    return { source: this.out, flags: `u${this.ignoreCase ? 'i' : ''}` };
  }

  private get word(): string {
    return this.ascii ? ASCII_WORD : UNICODE_WORD;
  }

  /** Global inline flags, allowed only at the very start (as Python 3.11 requires). */
  private leadingFlags(): void {
    for (;;) {
      const match = /^\(\?([a-zA-Z]+)\)/.exec(this.pattern.slice(this.index));
      if (!match) return;
      for (const flag of match[1]!) {
        if (flag === 'i') this.ignoreCase = true;
        else if (flag === 's') this.dotAll = true;
        else if (flag === 'm') this.multiline = true;
        else if (flag === 'a') this.ascii = true;
        else if (flag === 'u') continue;
        else if (flag === 'x') throw new Refusal('verbose mode (?x) is not supported; write the pattern without comments and free spacing', this.index);
        else throw new Refusal(`inline flag '${flag}' is not supported`, this.index);
      }
      this.index += match[0].length;
    }
  }

  private atom(): void {
    const char = this.pattern[this.index]!;
    const start = this.index;
    if (char === '\\') return this.escape(false);
    if (char === '[') return this.characterClass();
    if (char === '(') return this.group();
    if (char === '.') {
      this.index += 1;
      this.out += this.dotAll ? '[\\s\\S]' : '[^\\n]';
      return;
    }
    if (char === '^') {
      this.index += 1;
      this.out += this.multiline ? '(?:(?<![\\s\\S])|(?<=\\n))' : '(?<![\\s\\S])';
      return;
    }
    if (char === '$') {
      this.index += 1;
      this.out += this.multiline ? '(?=\\n|(?![\\s\\S]))' : '(?=\\n?(?![\\s\\S]))';
      return;
    }
    if (char === '*' || char === '+' || char === '?') {
      this.index += 1;
      this.out += char;
      this.quantifierSuffix(start);
      return;
    }
    if (char === '{') return this.brace();
    this.index += 1;
    // A lone `}` or `]` is a literal in Python and a syntax error in JavaScript's `u` mode.
    this.out += char === '/' || char === '}' || char === ']' ? `\\${char}` : char;
  }

  /** After a quantifier: lazy `?` is fine, possessive `+` is refused. */
  private quantifierSuffix(start: number): void {
    const next = this.pattern[this.index];
    if (next === '?') {
      this.out += '?';
      this.index += 1;
    } else if (next === '+') {
      throw new Refusal('possessive quantifiers (*+, ++, ?+, {n}+) are not supported', start);
    }
  }

  /** `{m,n}` is a quantifier (with `{,n}` meaning `{0,n}`); any other `{` is a literal, as in Python. */
  private brace(): void {
    const start = this.index;
    const match = /^\{(\d*)(,?)(\d*)\}/.exec(this.pattern.slice(this.index));
    if (!match || (match[1] === '' && match[3] === '') || (match[1] === '' && match[2] === '')) {
      this.index += 1;
      this.out += '\\{';
      return;
    }
    this.index += match[0].length;
    this.out += `{${match[1] === '' ? '0' : match[1]}${match[2]}${match[3]}}`;
    this.quantifierSuffix(start);
  }

  private group(): void {
    const start = this.index;
    const rest = this.pattern.slice(this.index);
    let match: RegExpExecArray | null;
    if ((match = /^\(\?P<([^>]*)>/.exec(rest))) {
      this.out += `(?<${match[1]}>`;
    } else if ((match = /^\(\?P=([^)]*)\)/.exec(rest))) {
      this.out += `\\k<${match[1]}>`;
    } else if ((match = /^\(\?#[^)]*\)/.exec(rest))) {
      // A comment: nothing to emit.
    } else if ((match = /^\(\?(?:[:=!]|<=|<!)/.exec(rest))) {
      this.out += match[0];
    } else if (/^\(\?>/.test(rest)) {
      throw new Refusal('atomic groups (?>…) are not supported', start);
    } else if (/^\(\?\(/.test(rest)) {
      throw new Refusal('conditional groups (?(id)yes|no) are not supported', start);
    } else if (/^\(\?[a-zA-Z-]+:/.test(rest)) {
      throw new Refusal('scoped inline flags (?flags:…) are not supported; put global flags at the start of the pattern', start);
    } else if (/^\(\?[a-zA-Z]+\)/.test(rest)) {
      throw new Refusal('inline flags are allowed only at the start of the pattern', start);
    } else if (rest.startsWith('(?')) {
      throw new Refusal(`unknown group syntax ${JSON.stringify(rest.slice(0, 4))}`, start);
    } else {
      match = /^\(/.exec(rest)!;
      this.out += '(';
    }
    this.index += match[0].length;
  }

  private characterClass(): void {
    const start = this.index;
    this.index += 1;
    this.out += '[';
    if (this.pattern[this.index] === '^') {
      this.out += '^';
      this.index += 1;
    }
    // A `]` right after `[` or `[^` is a literal in Python, an empty class in JavaScript.
    if (this.pattern[this.index] === ']') {
      this.out += '\\]';
      this.index += 1;
    }
    while (this.index < this.pattern.length) {
      const char = this.pattern[this.index]!;
      if (char === ']') {
        this.index += 1;
        this.out += ']';
        return;
      }
      if (char === '\\') {
        this.escape(true);
        continue;
      }
      this.index += 1;
      this.out += char === '[' ? '\\[' : char;
    }
    throw new Refusal('unterminated character class', start);
  }

  private escape(inClass: boolean): void {
    const start = this.index;
    const next = this.pattern[this.index + 1];
    if (next === undefined) throw new Refusal('the pattern ends with a lone backslash', start);
    this.index += 2;
    switch (next) {
      case 'A':
        if (inClass) throw new Refusal('\\A is not allowed in a character class', start);
        this.out += '(?<![\\s\\S])';
        return;
      case 'Z':
        if (inClass) throw new Refusal('\\Z is not allowed in a character class', start);
        this.out += '(?![\\s\\S])';
        return;
      case 'b':
        this.out += inClass ? '\\x08' : this.ascii ? '\\b' : `(?:(?<=[${UNICODE_WORD}])(?![${UNICODE_WORD}])|(?<![${UNICODE_WORD}])(?=[${UNICODE_WORD}]))`;
        return;
      case 'B':
        if (inClass) throw new Refusal('\\B is not allowed in a character class', start);
        this.out += this.ascii ? '\\B' : `(?:(?<=[${UNICODE_WORD}])(?=[${UNICODE_WORD}])|(?<![${UNICODE_WORD}])(?![${UNICODE_WORD}]))`;
        return;
      case 'd':
        this.out += this.ascii ? (inClass ? '0-9' : '[0-9]') : '\\p{Nd}';
        return;
      case 'D':
        this.out += this.ascii ? (inClass ? this.refuseNegatedInClass(start, next) : '[^0-9]') : '\\P{Nd}';
        return;
      case 'w':
        this.out += inClass ? this.word : `[${this.word}]`;
        return;
      case 'W':
        this.out += inClass ? this.refuseNegatedInClass(start, next) : `[^${this.word}]`;
        return;
      case 's':
      case 'S':
        this.out += `\\${next}`;
        return;
      case 'x': {
        const hex = /^[0-9a-fA-F]{2}/.exec(this.pattern.slice(this.index));
        if (!hex) throw new Refusal('\\x needs two hex digits', start);
        this.index += 2;
        this.out += `\\x${hex[0]}`;
        return;
      }
      case 'u':
      case 'U': {
        const length = next === 'u' ? 4 : 8;
        const hex = new RegExp(`^[0-9a-fA-F]{${length}}`).exec(this.pattern.slice(this.index));
        if (!hex) throw new Refusal(`\\${next} needs ${length} hex digits`, start);
        this.index += length;
        this.out += `\\u{${hex[0].replace(/^0+(?=.)/, '')}}`;
        return;
      }
      case 'N':
        throw new Refusal('named characters \\N{…} are not supported; write the character itself', start);
      default:
        break;
    }
    if (next in SIMPLE_ESCAPES) {
      this.out += SIMPLE_ESCAPES[next];
      return;
    }
    if (/[0-9]/.test(next)) return this.numericEscape(start, next, inClass);
    if (/[A-Za-z]/.test(next)) throw new Refusal(`unknown escape \\${next}`, start);
    // Python lets any other character be escaped; JavaScript's `u` mode only syntax characters.
    if (JS_SYNTAX.has(next) || (inClass && next === '-')) this.out += `\\${next}`;
    else this.out += `\\u{${next.codePointAt(0)!.toString(16)}}`;
  }

  private refuseNegatedInClass(start: number, letter: string): never {
    throw new Refusal(`\\${letter} inside a character class is not supported; use a negated class instead`, start);
  }

  /** `\0`, octal `\012`, or a backreference `\1`…`\99`. */
  private numericEscape(start: number, first: string, inClass: boolean): void {
    const rest = this.pattern.slice(this.index);
    const octal = /^[0-7]{0,2}/.exec(rest)![0];
    if (first === '0' || (/^[0-7]{2}/.test(rest) && /[0-7]/.test(first)) || inClass) {
      const digits = first === '0' ? octal : (first + octal).slice(0, 3);
      if (!/^[0-7]+$/.test(first + (first === '0' ? octal : digits.slice(1)))) throw new Refusal(`invalid escape \\${first}`, start);
      const code = parseInt(first === '0' ? `0${octal}` : digits, 8);
      this.index += first === '0' ? octal.length : digits.length - 1;
      this.out += `\\u{${code.toString(16)}}`;
      return;
    }
    const more = /^[0-9]?/.exec(rest)![0];
    this.index += more.length;
    this.out += `\\${first}${more}`;
  }
}
