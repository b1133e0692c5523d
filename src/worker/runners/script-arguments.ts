/**
 * StackStorm's rules for a script's command line (local-shell-script):
 * parameters with a `position` become positional arguments, in position
 * order, each formatted by its declared type; the others become named
 * arguments `<kwarg_op><name>=<value>` (a true boolean is the bare
 * `<kwarg_op><name>`; false, null and '' are left out), named first, then
 * positional. Values are argv elements, never re-parsed by a shell.
 */

/** Python's `str()` of a JSON value, as StackStorm formats a named argument's value. */
export function pythonStr(value: unknown): string {
  return typeof value === 'string' ? value : pythonRepr(value);
}

/** Python's `repr()` of a JSON value (strings quoted as Python quotes them). */
export function pythonRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return pythonNumber(value);
  if (typeof value === 'string') return pythonStringRepr(value);
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(([key, item]) => `${pythonStringRepr(key)}: ${pythonRepr(item)}`);
    return `{${entries.join(', ')}}`;
  }
  return String(value);
}

function pythonNumber(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  return String(value);
}

function pythonStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let body = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === '\\') body += '\\\\';
    else if (char === quote) body += `\\${quote}`;
    else if (char === '\n') body += '\\n';
    else if (char === '\r') body += '\\r';
    else if (char === '\t') body += '\\t';
    else if (code < 0x20 || code === 0x7f) body += `\\x${code.toString(16).padStart(2, '0')}`;
    else body += char;
  }
  return `${quote}${body}${quote}`;
}

/** A positional argument, formatted by the parameter's declared type as StackStorm does. */
export function positionalArgument(type: unknown, value: unknown): string {
  if (value === null || value === undefined) return '';
  switch (type) {
    case 'string':
    case 'number':
    case 'integer':
      // StackStorm turns an integer 0 into ''; Attune passes '0'.
      return pythonStr(value);
    case 'boolean':
      return value ? '1' : '0';
    case 'array':
      return Array.isArray(value) ? value.map(pythonStr).join(',') : pythonStr(value);
    case 'object':
      return typeof value === 'object' && Object.keys(value as object).length === 0 ? '' : JSON.stringify(value);
    default:
      return value === '' || value === false || value === 0 ? '' : pythonStr(value);
  }
}

/**
 * The script's arguments: named first, then positional.
 * `parameters` holds the action's own parameters only (not the runner's).
 */
export function scriptArguments(parameters: Record<string, unknown>, schema: Record<string, unknown>, kwargOp: string): string[] {
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const positioned: { position: number; name: string }[] = [];
  for (const [name, property] of Object.entries(properties)) {
    const position = property?.position;
    if (typeof position === 'number' && Number.isFinite(position)) positioned.push({ position, name });
  }
  positioned.sort((a, b) => a.position - b.position);
  const positionalNames = new Set(positioned.map((entry) => entry.name));

  const named: string[] = [];
  for (const [name, value] of Object.entries(parameters)) {
    if (positionalNames.has(name)) continue;
    if (value === null || value === undefined || value === '' || value === false) continue;
    named.push(value === true ? `${kwargOp}${name}` : `${kwargOp}${name}=${pythonStr(value)}`);
  }
  const positional = positioned.map(({ name }) => positionalArgument(properties[name]?.type, parameters[name]));
  return [...named, ...positional];
}
