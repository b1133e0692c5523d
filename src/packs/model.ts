/**
 * The validated pack model: what `readPack` returns and registration stores.
 * Everything here has been checked; schemas are draft-07 JSON Schemas; refs
 * are `<pack>.<name>`. Nothing here touches the database.
 */
import type { PackFile } from './files.js';
import type { JsonSchema } from './json-schema.js';

/** A pack version read from its files. */
export interface PackModel {
  ref: string;
  /** Display name: pack.yaml's `name` (which is also the ref when `ref` is absent). */
  name: string;
  /** Semantic version (`0.2` is read as `0.2.0`). */
  version: string;
  description: string | null;
  author: string | null;
  email: string | null;
  keywords: string[];
  /** Pack ref → version range (`*` when pack.yaml gives none). */
  dependencies: Record<string, string>;
  /** requirements.txt, one requirement per entry, comments and blank lines dropped. */
  pythonRequirements: string[];
  /** package.json `dependencies`: npm package → version range. */
  nodeDependencies: Record<string, string>;
  /** config.schema.yaml as a JSON Schema; `{}` when the pack has none. */
  configSchema: JsonSchema;
  /** Other pack.yaml fields kept as written (python_versions, stackstorm_version, contributors, ...). */
  meta: Record<string, unknown>;
  actions: ActionModel[];
  triggers: TriggerModel[];
  sensors: SensorModel[];
  rules: RuleModel[];
  /** Every file of the pack, metadata included, sorted by path. */
  files: PackFile[];
}

/** What all components share. */
export interface ComponentModel {
  /** The `name` field (not the file name); may hold dots and capitals. */
  name: string;
  /** `<pack ref>.<name>`. */
  ref: string;
  description: string | null;
  /** The metadata file it was read from (`actions/echo.yaml`). */
  file: string;
}

export interface ActionModel extends ComponentModel {
  /** Attune's runner name (`shell`, `python`, ...), or StackStorm's for runners Attune lacks (`orquesta`). */
  runnerType: string;
  /** `runner_type` as the file wrote it (`local-shell-cmd`). */
  runnerTypeAsWritten: string;
  /** As written, relative to `actions/`; `''` when the runner needs none. */
  entryPoint: string;
  /** The pack file the entry point names (`actions/scripts/run.sh`), or null. */
  entryPointFile: string | null;
  /** False when the file says so, or when its runner is not supported yet (`disabledReason`). */
  enabled: boolean;
  disabledReason: string | null;
  /** Action and runner parameters merged into one draft-07 schema. */
  paramSchema: JsonSchema;
  outputSchema: JsonSchema;
  timeoutSeconds: number | null;
  /** `name` or `name=value` for StackStorm's `{name, value}` tags. */
  tags: string[];
  /** StackStorm's `notify` block, kept as written (notifications come later). */
  notify: Record<string, unknown> | null;
}

export interface TriggerModel extends ComponentModel {
  paramSchema: JsonSchema;
  payloadSchema: JsonSchema;
  tags: string[];
  /** Name of the sensor that declared it inline (`trigger_types`), or null for `triggers/*.yaml`. */
  declaredBySensor: string | null;
}

export interface SensorModel extends ComponentModel {
  /** The Python class (`class_name`) for Python sensors; null otherwise. */
  className: string | null;
  /** As written, relative to `sensors/`. */
  entryPoint: string;
  entryPointFile: string;
  /** `python` (StackStorm's only kind, the default) or `node`. */
  runner: string;
  /** Refs of the triggers it emits. */
  triggerTypes: string[];
  paramSchema: JsonSchema;
  enabled: boolean;
  /** Seconds between polls for polling sensors; null for passive ones. */
  pollInterval: number | null;
}

/** One criterion of a rule, with its operator resolved to the canonical name. */
export interface CriterionModel {
  /** The key as written (`trigger.body.labels#urgent`). */
  key: string;
  /** Canonical operator name (`equals` for `eq`). */
  type: string;
  /** Absent for `exists` / `nexists`; nested criteria for `search`. */
  pattern?: unknown;
  /** For `search`: any, all, any2any or all2any. */
  condition?: string;
}

export interface RuleModel extends ComponentModel {
  enabled: boolean;
  triggerRef: string;
  triggerParams: Record<string, unknown>;
  /** As written (keys in file order), each operator already known. */
  criteria: Record<string, CriterionModel>;
  actionRef: string;
  actionParams: Record<string, unknown>;
  tags: string[];
}
