/**
 * The CLI's own configuration file: where the `attune` client finds the API
 * and its token. `attune up` writes it on first start; the CLI client reads
 * it. One YAML document:
 *
 * ```yaml
 * current_profile: default
 * profiles:
 *   default:
 *     api_url: http://127.0.0.1:8080
 *     token: attn_…
 * ```
 *
 * It lives at `$ATTUNE_CLI_CONFIG` when set, else
 * `$XDG_CONFIG_HOME/attune/config.yaml`, else `~/.config/attune/config.yaml`;
 * the file is mode 0600 in a 0700 folder, since it holds a token.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ConfigError } from '../errors.js';

/** One API the CLI can talk to. */
export interface CliProfile {
  api_url: string;
  token?: string;
}

/** The whole file. */
export interface CliConfigFile {
  profiles: Record<string, CliProfile>;
  /** The profile used when none is named; `default` when absent. */
  current_profile?: string;
}

/** The profile name `attune up` writes and the client uses by default. */
export const DEFAULT_PROFILE = 'default';

/** Where the CLI config file is for `env` (see the module comment). */
export function cliConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ATTUNE_CLI_CONFIG) return path.resolve(env.ATTUNE_CLI_CONFIG);
  const base = env.XDG_CONFIG_HOME ? path.resolve(env.XDG_CONFIG_HOME) : path.join(env.HOME || homedir(), '.config');
  return path.join(base, 'attune', 'config.yaml');
}

/**
 * Reads the file; undefined when it does not exist. A file that does not
 * parse, or is not of the shape above, is a ConfigError naming the file and
 * the field (a token never appears in the message).
 */
export function readCliConfig(file: string = cliConfigPath()): CliConfigFile | undefined {
  if (!existsSync(file)) return undefined;
  let document: unknown;
  try {
    document = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(file, `cannot parse YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (document === null || document === undefined) return { profiles: {} };
  if (!isObject(document)) throw new ConfigError(file, 'expected a mapping with profiles and current_profile');
  const profiles = document.profiles ?? {};
  if (!isObject(profiles)) throw new ConfigError(`${file}: profiles`, 'expected a mapping of profile names');
  const result: CliConfigFile = { profiles: {} };
  for (const [name, profile] of Object.entries(profiles)) {
    if (!isObject(profile)) throw new ConfigError(`${file}: profiles.${name}`, 'expected a mapping with api_url and token');
    if (typeof profile.api_url !== 'string' || profile.api_url === '') throw new ConfigError(`${file}: profiles.${name}.api_url`, 'expected a URL such as http://127.0.0.1:8080');
    if (profile.token !== undefined && profile.token !== null && typeof profile.token !== 'string') {
      throw new ConfigError(`${file}: profiles.${name}.token`, 'expected a string');
    }
    result.profiles[name] = { api_url: profile.api_url, ...(typeof profile.token === 'string' ? { token: profile.token } : {}) };
  }
  if (document.current_profile !== undefined && document.current_profile !== null) {
    if (typeof document.current_profile !== 'string') throw new ConfigError(`${file}: current_profile`, 'expected a profile name');
    result.current_profile = document.current_profile;
  }
  return result;
}

/**
 * Sets `profile` in the file (creating the file and its folder when missing),
 * keeping every other profile, and makes it the current one when the file
 * named none. The folder is made 0700 and the file 0600, written to a
 * temporary file first so a reader never sees half of it.
 */
export function writeCliProfile(file: string, name: string, profile: CliProfile): void {
  const current = readCliConfig(file) ?? { profiles: {} };
  const next: CliConfigFile = {
    current_profile: current.current_profile ?? name,
    profiles: { ...current.profiles, [name]: profile },
  };
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, stringifyYaml(next), { mode: 0o600 });
  // writeFileSync's mode applies only to a new file, and a umask may narrow it further but never widen it.
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
