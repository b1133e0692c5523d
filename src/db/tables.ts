/**
 * Attune's tables in dependency order: a table appears after every table
 * it references (the thirteen of the data model, then the pack tables of
 * migrations 0017 and 0018, and the API's tokens of 0027). Cleaning walks it backwards; tools that report per table use
 * it as their order.
 */
export const TABLES = [
  'packs',
  'runtimes',
  'workers',
  'triggers',
  'actions',
  'rules',
  'sensors',
  'schedules',
  'pack_file_contents',
  'pack_files',
  'events',
  'event_queue',
  'enforcements',
  'identities',
  'api_tokens',
  'executions',
  'execution_attempts',
  'execution_output',
  'inquiries',
  'keys',
  'notifications',
] as const;

export type TableName = (typeof TABLES)[number];

/** Children before parents: the order rows must be deleted in. */
export const TABLES_CHILDREN_FIRST: readonly TableName[] = [...TABLES].reverse();
