/**
 * The values Attune adds to the library's: an undefined name that fails when
 * used (StackStorm's StrictUndefined), the key store path that `st2kv` and
 * `keys` walk, and the source-like names of expressions used in messages.
 */
import { TemplateError } from './errors.js';
import { V, type RValue } from './values.js';

/** A node of the library's syntax tree, read loosely. */
export interface Node {
  type: string;
  [field: string]: unknown;
}

/** An undefined name: may be tested or defaulted; any other use throws its message. */
export class NamedUndefined extends V.Undefined {
  readonly message: string;
  constructor(message: string) {
    super(undefined);
    this.message = message;
    Object.defineProperty(this, 'value', {
      get: () => {
        throw new TemplateError(message);
      },
    });
  }
  override __bool__(): RValue {
    throw new TemplateError(this.message);
  }
  override toString(): string {
    throw new TemplateError(this.message);
  }
}

/**
 * The key store as a template walks it: `st2kv.system.a.b` and `keys.a.b`
 * read key `a.b`. A name with no key renders as '' and can be walked further
 * (StackStorm's behaviour); `keys.pack` switches to the rule's pack's keys.
 */
export class KeyPathValue extends V.String {
  constructor(
    readonly scope: 'system' | 'pack' | 'root',
    readonly prefix: string,
    readonly label: string,
  ) {
    super('');
  }
}

/** The source-like name of an expression, for messages: `trigger.body['x-id'][0]`. */
export function describe(node: Node): string {
  switch (node.type) {
    case 'Identifier':
      return node.value as string;
    case 'MemberExpression': {
      const object = describe(node.object as Node);
      const property = node.property as Node;
      if (node.computed !== true) return property.type === 'IntegerLiteral' ? `${object}[${String(property.value)}]` : `${object}.${String(property.value)}`;
      if (property.type === 'StringLiteral') return `${object}[${JSON.stringify(property.value)}]`;
      if (property.type === 'IntegerLiteral') return `${object}[${String(property.value)}]`;
      return `${object}[…]`;
    }
    case 'CallExpression':
      return `${describe(node.callee as Node)}(…)`;
    case 'StringLiteral':
      return JSON.stringify(node.value);
    case 'IntegerLiteral':
    case 'FloatLiteral':
      return String(node.value);
    case 'ArrayLiteral':
      return '[…]';
    case 'ObjectLiteral':
      return '{…}';
    default:
      return '(expression)';
  }
}
