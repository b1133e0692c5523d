/**
 * Jinja templates for rule action parameters, action parameter defaults and
 * criteria patterns, as StackStorm renders them, in a sandbox with budgets
 * (sandbox.ts). `renderTemplate` (render.ts) renders one template;
 * `renderActionParameters` (parameters.ts) renders a rule's parameters in
 * dependency order and casts them to the action's declared types.
 */
export { renderTemplate, PreparedContext, SharedValues, DEFAULT_MAX_OUTPUT, DEFAULT_MAX_STEPS, type TemplateContext, type RenderOptions } from './render.js';
export type { KeyStoreView, KeyScope, KeyEntry, KeyStoreContents } from './key-store.js';
export { createKeyStoreView } from './key-store.js';
export { TemplateError } from './errors.js';
export { STACKSTORM_FILTER_NAMES } from './filters.js';
export { NONE_MAGIC_VALUE } from './filters-data.js';
export { renderActionParameters, prepareActionParameters, ActionParameterPlan, type ActionParameterSchema, type RenderedParameters } from './parameters.js';
export { castToDeclaredType } from './casting.js';
