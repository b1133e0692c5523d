/**
 * What a stream client asked to see: `?executions=ID[,ID]` (those
 * executions, and their inquiries), `?entity=execution[,event]` (those kinds),
 * `?trigger=REF` (events and enforcements of that trigger). Filters given
 * together must all hold.
 */
import { ValidationError } from '../../errors.js';
import { NOTIFICATION_ENTITY_TYPES, type Notification, type NotificationEntityType } from '../../repositories/notifications.js';

export interface StreamFilter {
  executions?: Set<number>;
  entities?: Set<NotificationEntityType>;
  trigger?: string;
}

/** At most this many executions in one filter. */
export const MAX_FILTER_EXECUTIONS = 100;

/** The filter of a stream query; ValidationError naming the query field that is wrong. */
export function parseStreamFilter(query: { executions?: string; entity?: string; trigger?: string }): StreamFilter {
  const filter: StreamFilter = {};
  if (query.executions !== undefined) {
    const ids = query.executions.split(',').map((part) => part.trim());
    if (ids.length > MAX_FILTER_EXECUTIONS || ids.some((id) => !/^[1-9][0-9]{0,15}$/.test(id))) {
      throw new ValidationError(`query field executions must be up to ${MAX_FILTER_EXECUTIONS} execution ids separated by commas`, { entity: 'query', field: 'executions' });
    }
    filter.executions = new Set(ids.map(Number));
  }
  if (query.entity !== undefined) {
    const kinds = query.entity.split(',').map((part) => part.trim());
    const unknown = kinds.find((kind) => !(NOTIFICATION_ENTITY_TYPES as readonly string[]).includes(kind));
    if (unknown !== undefined) {
      throw new ValidationError(`query field entity: ${JSON.stringify(unknown)} is not one of ${NOTIFICATION_ENTITY_TYPES.join(', ')}`, { entity: 'query', field: 'entity' });
    }
    filter.entities = new Set(kinds as NotificationEntityType[]);
  }
  if (query.trigger !== undefined) filter.trigger = query.trigger;
  return filter;
}

/** True when `row` passes every filter given. */
export function matchesFilter(filter: StreamFilter, row: Notification): boolean {
  if (filter.entities !== undefined && !filter.entities.has(row.entityType)) return false;
  if (filter.executions !== undefined) {
    const executionId = row.entityType === 'execution' ? row.entityId : row.entityType === 'inquiry' ? Number(row.content.execution_id) : undefined;
    if (executionId === undefined || !filter.executions.has(executionId)) return false;
  }
  if (filter.trigger !== undefined && row.content.trigger_ref !== filter.trigger) return false;
  return true;
}

/** A log row as a stream event's data. */
export function notificationData(row: Notification): Record<string, unknown> {
  return { id: row.id, entity_type: row.entityType, entity_id: row.entityId, activity: row.activity, content: row.content, created_at: row.createdAt.toISOString() };
}
