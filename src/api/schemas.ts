/**
 * Schema pieces every route shares: the error body, the `{data}` envelopes,
 * path parameters, list queries, and the JSON types of entity fields. One
 * schema per route validates the request, shapes (and so filters) the
 * response, and documents both in the OpenAPI document.
 */
import { Type, type Static, type TSchema, type TUnsafe } from '@fastify/type-provider-typebox';
import { MAX_API_PAGE_SIZE, DEFAULT_API_PAGE_SIZE } from './pagination.js';

/** `schema` or null, as one JSON Schema type list (cheaper to serialise than anyOf). */
export function Nullable<T extends TSchema>(schema: T): TUnsafe<Static<T> | null> {
  const plain = schema as unknown as Record<string, unknown>;
  if (typeof plain.type === 'string') return Type.Unsafe<Static<T> | null>({ ...plain, type: [plain.type, 'null'] });
  return Type.Unsafe<Static<T> | null>({ anyOf: [plain, { type: 'null' }] });
}

/** A timestamp: ISO 8601 text in JSON, a Date inside. */
export const Timestamp = Type.String({ format: 'date-time' });
export const NullableTimestamp = Nullable(Timestamp);
export const NullableString = Nullable(Type.String());
export const NullableInteger = Nullable(Type.Integer());
/** Any JSON object (user data: payloads, parameters, schemas); its keys are kept as written. */
export const JsonObject = Type.Object({}, { additionalProperties: true });
/** Any JSON value. */
export const JsonValue = Type.Unknown();

export const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
export const IdParams = Type.Object({ id: Id });
/** A pack ref, or a component ref `<pack>.<name>`. */
export const RefParams = Type.Object({ ref: Type.String({ minLength: 1, maxLength: 512 }) });

/** `{error: {code, message, entity, field}}`: what every failure answers. */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      entity: Type.Optional(Type.String()),
      field: Type.Optional(Type.String()),
      request_id: Type.Optional(Type.String()),
      problems: Type.Optional(Type.Array(JsonObject)),
    }),
  },
  { $id: 'ErrorBody', description: 'An error: a stable code (docs/errors.md), a message for people, and where it applies' },
);

/** `{data: item}`. */
export function One<T extends TSchema>(item: T): TSchema {
  return Type.Object({ data: item });
}

/** `{data: [...], next_cursor, total?}`. */
export function ListOf<T extends TSchema>(item: T): TSchema {
  return Type.Object({
    data: Type.Array(item),
    next_cursor: Nullable(Type.String()),
    total: Type.Optional(Type.Integer()),
  });
}

/** The query every list takes, plus its own filters. */
export function ListQuery<P extends Record<string, TSchema>>(filters: P) {
  return Type.Object(
    {
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_API_PAGE_SIZE, default: DEFAULT_API_PAGE_SIZE })),
      cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'next_cursor of the previous page' })),
      count: Type.Optional(Type.Boolean({ description: 'add the total number of matching rows' })),
      ...filters,
    },
    { additionalProperties: false },
  );
}

/** Error responses a route can give, by status, for the OpenAPI document. */
export function errors(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((status) => [status, Type.Ref('ErrorBody')]));
}
