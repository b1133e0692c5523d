/**
 * The one place errors become HTTP responses. An AttuneError answers with
 * the status `httpStatusFor` gives its code and `{error: {code, message,
 * entity, field}}`; Fastify's own failures (schema validation, unparseable
 * JSON, a body over the limit, an unknown route, the rate limit) are turned
 * into the registry's errors first. Anything else is a 500 whose message
 * says only that: never a stack, a driver message or a secret.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  AttuneError,
  InternalError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  ValidationError,
  httpStatusFor,
  isAttuneError,
} from '../errors.js';
import { PackInvalidError } from '../packs/problems.js';
import { snakeName } from './case.js';

/** The JSON body of an error response. */
export interface ErrorResponseBody {
  error: { code: string; message: string; entity?: string; field?: string; request_id?: string; problems?: unknown[] };
}

interface AjvIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

const CONTEXT_NAMES: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

/** The offending field of an ajv issue, in the client's own (snake_case, dotted) spelling. */
function fieldOf(issue: AjvIssue): string | undefined {
  const path = (issue.instancePath ?? '')
    .split('/')
    .filter((part) => part !== '')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  const extra = issue.params?.missingProperty ?? issue.params?.additionalProperty;
  if (typeof extra === 'string') path.push(extra);
  return path.length === 0 ? undefined : path.join('.');
}

/** Turns Fastify's schema-validation error into a ValidationError naming the field (the first issue: ajv stops there). */
function fromSchemaValidation(error: FastifyError & { validation: AjvIssue[]; validationContext?: string }): ValidationError {
  const issue: AjvIssue = error.validation[0] ?? {};
  const field = fieldOf(issue);
  const where = CONTEXT_NAMES[error.validationContext ?? ''] ?? 'request';
  let what: string;
  if (issue.keyword === 'required') what = 'is required';
  else if (issue.keyword === 'additionalProperties') what = 'is not a known field';
  else what = issue.message ?? 'is invalid';
  const message = field === undefined ? `${where} ${what}` : `${where} field ${field} ${what}`;
  return new ValidationError(message, { entity: where, field });
}

/** Any thrown value → an AttuneError (with the HTTP status to use) or undefined for an unexpected failure. */
export function toAttuneError(error: unknown): { error: AttuneError; status: number } | undefined {
  if (isAttuneError(error)) {
    // A malformed request (schema, JSON) is a 400; a well-formed one that breaks a rule keeps the registry's 422.
    const status = (error as AttuneError & { httpStatus?: number }).httpStatus ?? httpStatusFor(error.code);
    return { error, status };
  }
  const fastifyError = error as FastifyError & { validation?: AjvIssue[]; validationContext?: string };
  if (Array.isArray(fastifyError?.validation)) {
    return { error: fromSchemaValidation(fastifyError as FastifyError & { validation: AjvIssue[] }), status: 400 };
  }
  switch (fastifyError?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { error: new PayloadTooLargeError('request body is larger than the limit (ATTUNE__API__BODY_LIMIT_BYTES)', { entity: 'body' }), status: 413 };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { error: new ValidationError('request body is not valid JSON', { entity: 'body' }), status: 400 };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { error: new ValidationError('unsupported Content-Type: send application/json', { entity: 'body', field: 'content-type' }), status: 415 };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { error: new ValidationError('Content-Length does not match the body', { entity: 'body' }), status: 400 };
    default:
      break;
  }
  if (fastifyError?.statusCode === 429) return { error: new RateLimitedError('too many requests: wait and try again'), status: 429 };
  if (error instanceof SyntaxError && (error as SyntaxError & { statusCode?: number }).statusCode === 400) {
    return { error: new ValidationError('request body is not valid JSON', { entity: 'body' }), status: 400 };
  }
  return undefined;
}

/** The body for an AttuneError: code, message, entity, field (never `value`: it may echo input), and the request id. */
export function errorBody(error: AttuneError, requestId?: string): ErrorResponseBody {
  const body: ErrorResponseBody['error'] = { code: error.code, message: error.message };
  if (error.entity !== undefined) body.entity = error.entity;
  if (error.field !== undefined) body.field = snakeName(error.field);
  if (requestId !== undefined) body.request_id = requestId;
  if (error instanceof PackInvalidError) body.problems = error.problems as unknown[];
  return { error: body };
}

/** Sends an error; 5xx are logged with the error, 4xx at debug only. */
export function sendError(request: FastifyRequest, reply: FastifyReply, thrown: unknown): FastifyReply {
  const mapped = toAttuneError(thrown);
  if (mapped === undefined) {
    request.log.error({ err: thrown }, 'unexpected error');
    return reply.code(500).send(errorBody(new InternalError(), request.id));
  }
  const { error, status } = mapped;
  if (status >= 500) request.log.error({ err: { code: error.code, message: error.message, entity: error.entity, field: error.field } }, 'request failed');
  else request.log.debug({ code: error.code, field: error.field }, 'request refused');
  if (status === 401) void reply.header('www-authenticate', 'Bearer');
  return reply.code(status).send(errorBody(error, request.id));
}

/** Installs the error and not-found handlers on `app`. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error));
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new NotFoundError('route', 'path', `${request.method} ${request.url.split('?')[0]}`)),
  );
}
