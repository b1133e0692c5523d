/** Every filter Attune adds to Jinja's built-ins: StackStorm's (decrypt_kv lives in the sandbox, which holds the key store). */
import { DATA_FILTERS } from './filters-data.js';
import { REGEX_FILTERS, VERSION_FILTERS } from './filters-text.js';
import type { FilterDefinition } from './filter-types.js';

export const STACKSTORM_FILTERS: Readonly<Record<string, FilterDefinition>> = Object.freeze({ ...DATA_FILTERS, ...REGEX_FILTERS, ...VERSION_FILTERS });

/** Names of StackStorm's filters, decrypt_kv included. */
export const STACKSTORM_FILTER_NAMES: readonly string[] = Object.freeze([...Object.keys(STACKSTORM_FILTERS), 'decrypt_kv'].sort());
