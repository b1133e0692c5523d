/**
 * The pack reader: a directory (or an uploaded bundle) → a validated pack
 * model, with every problem named by file, line and field. No database.
 */
export { readPack, type PackSource, type ReadPackResult } from './read-pack.js';
export { checkReferences, ALWAYS_AVAILABLE_PACKS, type KnownComponents } from './references.js';
export { PackInvalidError, formatProblem, type PackProblem, type ProblemSeverity } from './problems.js';
export type { PackModel, ActionModel, TriggerModel, SensorModel, RuleModel, CriterionModel, ComponentModel } from './model.js';
export type { PackFile, BundleFile } from './files.js';
export type { JsonSchema } from './json-schema.js';
export { PACK_LIMITS } from './limits.js';
export {
  PACK_REF_PATTERN,
  COMPONENT_NAME_PATTERN,
  COMPONENT_REF_PATTERN,
  COMPONENT_NAME_MAX_LENGTH,
  COMPONENT_REF_MAX_LENGTH,
  isPackRef,
  isComponentName,
  isComponentRef,
  splitRef,
} from './names.js';
export { parameterSchema } from './parameters.js';
