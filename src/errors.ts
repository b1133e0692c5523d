/**
 * The one registry of Attune errors. Every error the platform raises on
 * purpose is an `AttuneError` with a stable `code`; callers branch on the code
 * (or the class), never on the message. The API layer maps codes to HTTP
 * statuses with `httpStatusFor`.
 */

/** Stable error codes. Never rename one: clients and logs depend on them. */
export const ErrorCode = {
  NOT_FOUND: 'ATTUNE_NOT_FOUND',
  ALREADY_EXISTS: 'ATTUNE_ALREADY_EXISTS',
  INVALID_REFERENCE: 'ATTUNE_INVALID_REFERENCE',
  VALIDATION: 'ATTUNE_VALIDATION',
  ILLEGAL_STATE_CHANGE: 'ATTUNE_ILLEGAL_STATE_CHANGE',
  LEASE_LOST: 'ATTUNE_LEASE_LOST',
  DATABASE_UNAVAILABLE: 'ATTUNE_DATABASE_UNAVAILABLE',
  DATABASE: 'ATTUNE_DATABASE',
  CONFIG: 'ATTUNE_CONFIG',
  MIGRATION: 'ATTUNE_MIGRATION',
  SCHEMA_WITHOUT_HISTORY: 'ATTUNE_SCHEMA_WITHOUT_HISTORY',
  DECRYPTION: 'ATTUNE_DECRYPTION',
  PACK_INVALID: 'ATTUNE_PACK_INVALID',
  TEMPLATE: 'ATTUNE_TEMPLATE',
  DEPENDENCY_INSTALL: 'ATTUNE_DEPENDENCY_INSTALL',
  UNAUTHENTICATED: 'ATTUNE_UNAUTHENTICATED',
  FORBIDDEN: 'ATTUNE_FORBIDDEN',
  PAYLOAD_TOO_LARGE: 'ATTUNE_PAYLOAD_TOO_LARGE',
  RATE_LIMITED: 'ATTUNE_RATE_LIMITED',
  INTERNAL: 'ATTUNE_INTERNAL',
  API_UNREACHABLE: 'ATTUNE_API_UNREACHABLE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Where an error applies: which entity, which field, which offending value. */
export interface ErrorContext {
  entity?: string | undefined;
  field?: string | undefined;
  /** The offending value. Never set this to a secret. */
  value?: unknown;
  cause?: unknown;
}

/** Base class of every error Attune raises on purpose. */
export class AttuneError extends Error {
  readonly code: ErrorCode;
  readonly entity: string | undefined;
  readonly field: string | undefined;
  readonly value: unknown;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = new.target.name;
    this.code = code;
    this.entity = context.entity;
    this.field = context.field;
    this.value = context.value;
  }

  /** A plain object for logs and API bodies (no stack, no cause). */
  toJSON(): Record<string, unknown> {
    const body: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.entity !== undefined) body.entity = this.entity;
    if (this.field !== undefined) body.field = this.field;
    if (this.value !== undefined) body.value = this.value;
    return body;
  }
}

/** The row asked for does not exist. */
export class NotFoundError extends AttuneError {
  constructor(entity: string, field: string, value: unknown, context: Omit<ErrorContext, 'entity' | 'field' | 'value'> = {}) {
    super(ErrorCode.NOT_FOUND, `${entity} with ${field} ${formatValue(value)} not found`, { ...context, entity, field, value });
  }
}

/** A unique key is taken. */
export class AlreadyExistsError extends AttuneError {
  constructor(message: string, context: ErrorContext = {}) {
    super(ErrorCode.ALREADY_EXISTS, message, context);
  }
}

/** A reference names a row that does not exist (or is still referenced on delete). */
export class InvalidReferenceError extends AttuneError {
  constructor(message: string, context: ErrorContext = {}) {
    super(ErrorCode.INVALID_REFERENCE, message, context);
  }
}

/** Input breaks a rule: a malformed ref, an unknown status, a missing field. */
export class ValidationError extends AttuneError {
  constructor(message: string, context: ErrorContext = {}) {
    super(ErrorCode.VALIDATION, message, context);
  }
}

/** A state machine refused a move, such as a finished execution going back to running. */
export class IllegalStateChangeError extends AttuneError {
  readonly from: string;
  readonly to: string;
  constructor(entity: string, from: string, to: string, context: Omit<ErrorContext, 'entity'> = {}) {
    super(ErrorCode.ILLEGAL_STATE_CHANGE, `${entity} cannot change from ${from} to ${to}`, {
      field: 'status',
      ...context,
      entity,
    });
    this.from = from;
    this.to = to;
  }
}

/**
 * A worker wrote about an execution it no longer holds: its lease expired,
 * the execution was requeued (a later attempt) or another worker holds it.
 * Nothing changed; the worker should stop working on it.
 */
export class LeaseLostError extends AttuneError {
  constructor(message: string, context: ErrorContext = {}) {
    super(ErrorCode.LEASE_LOST, message, { field: 'fence', ...context });
  }
}

/** PostgreSQL could not be reached or went away. */
export class DatabaseUnavailableError extends AttuneError {
  constructor(message: string, context: ErrorContext = {}) {
    super(ErrorCode.DATABASE_UNAVAILABLE, message, context);
  }
}

/** Any other database failure, with the SQLSTATE kept for diagnosis. */
export class DatabaseError extends AttuneError {
  readonly sqlState: string | undefined;
  constructor(message: string, sqlState: string | undefined, context: ErrorContext = {}) {
    super(ErrorCode.DATABASE, message, context);
    this.sqlState = sqlState;
  }
}

/** A configuration setting is invalid; the message names the setting. */
export class ConfigError extends AttuneError {
  constructor(setting: string, message: string) {
    super(ErrorCode.CONFIG, `Invalid setting ${setting}: ${message}`, { field: setting });
  }
}

/** Migrations cannot be applied: an edited applied file, a failed statement, a gap. */
export class MigrationError extends AttuneError {
  constructor(message: string, context: ErrorContext = {}) {
    super(ErrorCode.MIGRATION, message, context);
  }
}

/**
 * The attune schema holds Attune's objects but no migration history (its
 * history table was dropped or emptied, or the schema was made by hand), so
 * which migrations it holds cannot be known and none can be applied safely.
 */
export class SchemaWithoutHistoryError extends AttuneError {
  constructor(message: string, context: ErrorContext = {}) {
    super(ErrorCode.SCHEMA_WITHOUT_HISTORY, message, context);
  }
}

/** A secret cannot be decrypted: the wrong key, a missing key, or tampered ciphertext. */
export class DecryptionError extends AttuneError {
  constructor(message: string, context: Omit<ErrorContext, 'value'> = {}) {
    super(ErrorCode.DECRYPTION, message, context);
  }
}

/** A request carried no credentials, or ones that are unknown, expired or revoked. */
export class AuthenticationError extends AttuneError {
  constructor(message = 'authentication required: send Authorization: Bearer <token>', context: ErrorContext = {}) {
    super(ErrorCode.UNAUTHENTICATED, message, context);
  }
}

/** The caller is known but its role does not allow this. */
export class ForbiddenError extends AttuneError {
  constructor(message: string, context: ErrorContext = {}) {
    super(ErrorCode.FORBIDDEN, message, context);
  }
}

/** A request body (or one part of it) is larger than its limit. */
export class PayloadTooLargeError extends AttuneError {
  constructor(message: string, context: ErrorContext = {}) {
    super(ErrorCode.PAYLOAD_TOO_LARGE, message, context);
  }
}

/** Too many requests from one caller in the rate limit's window. */
export class RateLimitedError extends AttuneError {
  constructor(message: string, context: ErrorContext = {}) {
    super(ErrorCode.RATE_LIMITED, message, context);
  }
}

/** A failure nobody planned for; the details are in the server log, never in the response. */
export class InternalError extends AttuneError {
  constructor(message = 'internal error: see the server log for this request id') {
    super(ErrorCode.INTERNAL, message);
  }
}

/** The CLI could not reach the HTTP API at all (refused, unknown host, timed out); the message says what to check. */
export class ApiUnreachableError extends AttuneError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.API_UNREACHABLE, message, { field: 'api_url', cause });
  }
}

/** HTTP status for an error code, for the API layer. */
export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.NOT_FOUND:
      return 404;
    case ErrorCode.ALREADY_EXISTS:
    case ErrorCode.ILLEGAL_STATE_CHANGE:
    case ErrorCode.LEASE_LOST:
      return 409;
    case ErrorCode.INVALID_REFERENCE:
    case ErrorCode.VALIDATION:
    case ErrorCode.PACK_INVALID:
    case ErrorCode.TEMPLATE:
      return 422;
    case ErrorCode.UNAUTHENTICATED:
      return 401;
    case ErrorCode.FORBIDDEN:
      return 403;
    case ErrorCode.PAYLOAD_TOO_LARGE:
      return 413;
    case ErrorCode.RATE_LIMITED:
      return 429;
    case ErrorCode.DATABASE_UNAVAILABLE:
      return 503;
    default:
      return 500;
  }
}

/** True when `error` is an AttuneError, optionally with the given code. */
export function isAttuneError(error: unknown, code?: ErrorCode): error is AttuneError {
  return error instanceof AttuneError && (code === undefined || error.code === code);
}

function formatValue(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(value);
}
