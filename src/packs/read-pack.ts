/**
 * `readPack`: a pack directory, or a bundle of files as an API client sends
 * it, → a validated PackModel. Every file is read and every problem
 * collected before anything is decided; any error throws PackInvalidError
 * with all of them (warnings included), each naming file, line and field.
 */
import { stat } from 'node:fs/promises';
import type { ReadContext } from './context.js';
import { readPackBundle, readPackDirectory, type BundleFile, type PackFile } from './files.js';
import { PACK_LIMITS } from './limits.js';
import type { ComponentModel, PackModel } from './model.js';
import { PackInvalidError, ProblemList, sortProblems, type PackProblem } from './problems.js';
import { readActions } from './read-actions.js';
import { readConfigSchema } from './read-config-schema.js';
import { readPackageJson } from './read-package-json.js';
import { readPackYaml } from './read-pack-yaml.js';
import { readRequirements } from './read-requirements.js';
import { readRules } from './read-rules.js';
import { readSensors } from './read-sensors.js';
import { readTriggers } from './read-triggers.js';
import { checkReferences } from './references.js';

/** A pack: a directory path, or its files. */
export type PackSource = string | readonly BundleFile[];

export interface ReadPackResult {
  pack: PackModel;
  /** Warnings only: things ignored or registered disabled. */
  problems: PackProblem[];
}

/** Placeholder ref used to keep checking components when pack.yaml is unusable. */
const UNKNOWN_PACK = 'unknown_pack';

/** Reads and validates a pack; throws PackInvalidError listing every error. */
export async function readPack(source: PackSource): Promise<ReadPackResult> {
  const problems = new ProblemList();
  const files = typeof source === 'string' ? await readDirectory(source, problems) : readPackBundle(source, problems);
  const byPath = new Map(files.map((file) => [file.path, file]));
  const packYaml = byPath.get('pack.yaml');
  if (packYaml === undefined && !problems.hasErrors()) problems.error('pack.yaml', '', 'the pack has no pack.yaml at its root');
  const header = packYaml === undefined ? null : readPackYaml(packYaml.content, problems);
  const context: ReadContext = { packRef: header?.ref ?? UNKNOWN_PACK, files: byPath, problems };
  const configFile = byPath.get('config.schema.yaml');
  const configSchema = configFile === undefined ? {} : readConfigSchema(configFile.path, configFile.content, problems);
  const requirements = byPath.get('requirements.txt');
  const packageJson = byPath.get('package.json');
  const actions = readActions(context);
  const { sensors, triggers: sensorTriggers } = readSensors(context);
  const triggers = [...readTriggers(context), ...sensorTriggers];
  const rules = readRules(context);
  for (const [kind, components] of [['action', actions], ['trigger', triggers], ['sensor', sensors], ['rule', rules]] as const) {
    checkUnique(kind, components, problems);
    if (components.length > PACK_LIMITS.maxComponentsPerKind) problems.error('', '', `the pack has ${components.length} ${kind}s; the limit is ${PACK_LIMITS.maxComponentsPerKind}`);
  }
  const pack: PackModel = {
    ref: context.packRef,
    name: header?.name ?? '',
    version: header?.version ?? '',
    description: header?.description ?? null,
    author: header?.author ?? null,
    email: header?.email ?? null,
    keywords: header?.keywords ?? [],
    dependencies: header?.dependencies ?? {},
    pythonRequirements: requirements === undefined ? [] : readRequirements(requirements.path, requirements.content, problems),
    nodeDependencies: packageJson === undefined ? {} : readPackageJson(packageJson.path, packageJson.content, problems),
    configSchema,
    meta: header?.meta ?? {},
    actions,
    triggers,
    sensors,
    rules,
    files,
  };
  if (header !== null) problems.items.push(...checkReferences(pack, { triggers: new Set(), actions: new Set() }, { onlyOwnPack: true }));
  if (header === null || problems.hasErrors()) throw new PackInvalidError(problems.items, header?.ref);
  return { pack, problems: sortProblems(problems.warnings) };
}

async function readDirectory(dir: string, problems: ProblemList): Promise<PackFile[]> {
  const info = await stat(dir).catch(() => null);
  if (info === null || !info.isDirectory()) {
    problems.error('', '', `${JSON.stringify(dir)} is not a directory`);
    return [];
  }
  return readPackDirectory(dir, problems);
}

/** Two components of one kind with the same name: the second is reported, naming the first. */
function checkUnique(kind: string, components: readonly ComponentModel[], problems: ProblemList): void {
  const seen = new Map<string, ComponentModel>();
  for (const component of components) {
    const first = seen.get(component.name);
    if (first === undefined) seen.set(component.name, component);
    else problems.error(component.file, 'name', `${kind} '${component.name}' is defined twice (also in ${first.file})`, { line: 1 });
  }
}
