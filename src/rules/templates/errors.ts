/**
 * The one error templates raise: `TemplateError` (code `ATTUNE_TEMPLATE`).
 * Whatever went wrong inside a render (an undefined name, a budget, a filter
 * given the wrong input, an exception from the Jinja library) comes out as
 * this, with a message for the rule's author; `field` names the action
 * parameter when there is one.
 */
import { AttuneError, ErrorCode, type ErrorContext } from '../../errors.js';

/** A template could not be rendered; the message says why, `field` names the parameter. */
export class TemplateError extends AttuneError {
  constructor(message: string, context: Omit<ErrorContext, 'value'> = {}) {
    super(ErrorCode.TEMPLATE, message, { entity: 'template', ...context });
  }
}

/** `error` as a TemplateError: kept when it is one, otherwise its message wrapped (a stack overflow named as such). */
export function asTemplateError(error: unknown): TemplateError {
  if (error instanceof TemplateError) return error;
  if (error instanceof RangeError && /call stack/i.test(error.message)) return new TemplateError('the template nests too deeply (recursion without end?)');
  const message = error instanceof Error ? error.message : String(error);
  return new TemplateError(`cannot render the template: ${message}`, { cause: error });
}
