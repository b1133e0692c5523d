import {
  AlreadyExistsError,
  AttuneError,
  DatabaseError,
  DatabaseUnavailableError,
  InvalidReferenceError,
  ValidationError,
} from '../errors.js';

/** The fields of a node-postgres error that the mapping reads. */
interface PgErrorLike {
  code?: string;
  message?: string;
  constraint?: string;
  column?: string;
  table?: string;
  detail?: string;
}

/** Socket-level failures that mean the server is out of reach. */
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** SQLSTATEs outside class 08 that mean the session is gone or cannot start: shutdown, crash, startup, too many clients. */
const CONNECTION_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

/**
 * What node-postgres says, without a code, about a connection that died or
 * never came: the socket closed, the client is dead (or was ended), or no
 * pooled connection freed up in time.
 */
const CONNECTION_MESSAGES = /^(Connection terminated|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|timeout exceeded when trying to connect)/;

/**
 * True when `error` means the connection to PostgreSQL is lost or could not
 * be made, rather than that a statement failed: the one classifier, used by
 * `mapPgError`, `withTransaction` (to discard a client) and the listener (to
 * reconnect). 08P01 (protocol violation) is a bug in the caller, not an outage.
 */
export function isConnectionError(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const { code, message } = error as PgErrorLike;
  if (typeof code === 'string' && code !== '') {
    if (CONNECTION_ERRNOS.has(code) || CONNECTION_SQLSTATES.has(code)) return true;
    if (code.startsWith('08')) return code !== '08P01';
  }
  return typeof message === 'string' && CONNECTION_MESSAGES.test(message);
}

/**
 * Turns any error from the driver into an AttuneError; the one place where
 * SQLSTATEs become Attune codes. `entity` names what the caller was working
 * on; `secretFields` lists columns whose values must not be echoed back.
 */
export function mapPgError(error: unknown, entity?: string, secretFields: readonly string[] = []): AttuneError {
  if (error instanceof AttuneError) return error;
  const pg = (error ?? {}) as PgErrorLike;
  const code = pg.code ?? '';
  const message = pg.message ?? String(error);
  const target = entity ?? pg.table;
  const keyed = parseKeyDetail(pg.detail);
  const field = pg.column ?? keyed?.field;
  const secret = field !== undefined && secretFields.some((name) => field.split(', ').includes(name));
  // A driver error's detail can hold the whole failing row ("Failing row contains (…)"):
  // for an entity with secret columns, keep it off the error altogether.
  const cause = secretFields.length > 0 ? undefined : error;
  const value = secret ? undefined : keyed?.value;
  const shown = keyed && !secret ? ` with ${keyed.field} = ${keyed.value}` : keyed ? ` with that ${keyed.field}` : '';

  if (isConnectionError(error)) return new DatabaseUnavailableError(`Database unavailable: ${message}`, { cause: error });
  switch (code) {
    case '23505':
      // The driver error's detail holds the key's value: keep it off a secret's error entirely.
      return new AlreadyExistsError(`${target ?? 'row'} already exists${shown}`, { entity: target, field, value, cause });
    case '23503':
    case '23001': // restrict_violation: what PostgreSQL 18 raises for ON DELETE RESTRICT (15 raises 23503)
      return new InvalidReferenceError(describeForeignKey(pg, target, secret), { entity: target, field, value, cause });
    case '23502':
      return new ValidationError(`${target ?? 'row'}.${pg.column ?? '?'} is required`, { entity: target, field: pg.column, cause });
    case '23514':
      return new ValidationError(`${target ?? 'row'} violates check ${pg.constraint ?? '?'}`, {
        entity: target,
        field: fieldFromConstraint(pg.constraint, pg.table),
        cause,
      });
    case '22P02':
    case '22001':
    case '22003':
    case '22007':
    case '22008':
    case '22023':
    case '22P05':
    case '2202E':
      return new ValidationError(`Invalid value for ${target ?? 'row'}: ${secretFields.length > 0 ? 'a value has the wrong form' : message}`, { entity: target, cause });
    default:
      return new DatabaseError(`Database error${code ? ` ${code}` : ''}: ${message}`, code || undefined, { entity: target, cause });
  }
}

/** Runs a query and maps any failure; the usual wrapper inside repositories. */
export async function mapErrors<T>(entity: string, run: () => Promise<T>, secretFields: readonly string[] = []): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw mapPgError(error, entity, secretFields);
  }
}

/** Parses PostgreSQL's `Key (a, b)=(x, y) …` detail into field and value. */
function parseKeyDetail(detail: string | undefined): { field: string; value: string } | undefined {
  const match = detail?.match(/^Key \((.+?)\)=\((.*)\) (?:already exists|is not present|is still referenced|is referenced)/s);
  if (!match) return undefined;
  return { field: match[1]!, value: match[2]! };
}

function describeForeignKey(pg: PgErrorLike, entity: string | undefined, secret: boolean): string {
  const keyed = parseKeyDetail(pg.detail);
  const referenced = pg.detail?.match(/in table "([^"]+)"/)?.[1];
  // 23001 (ON DELETE RESTRICT, PostgreSQL 18) says "is referenced from"; 23503 on a delete says "is still referenced from".
  if (pg.code === '23001' || /is (still )?referenced from/.test(pg.detail ?? '')) {
    return `${entity ?? 'row'} is still referenced from ${referenced ?? 'another table'}`;
  }
  if (keyed) {
    const shown = secret ? keyed.field : `${keyed.field} = ${keyed.value}`;
    return `${entity ?? 'row'}.${shown} does not reference an existing ${referenced ?? 'row'}`;
  }
  return `${entity ?? 'row'} references a row that does not exist`;
}

/** Constraint names follow `<table>_<column>_check`; recover the column. */
function fieldFromConstraint(constraint: string | undefined, table: string | undefined): string | undefined {
  if (!constraint) return undefined;
  let name = constraint;
  if (table && name.startsWith(`${table}_`)) name = name.slice(table.length + 1);
  return name.replace(/_check$/, '') || undefined;
}
