/**
 * Every size and shape limit the pack reader enforces, in one place. A pack
 * is untrusted input (an API client may upload one), so each limit bounds
 * memory or CPU: a limit that is hit is reported as a problem naming the
 * file and the limit, never an exception from deep inside a parser.
 */
export const PACK_LIMITS = {
  /** Files in a pack (directories not counted). */
  maxFiles: 2_000,
  /** Sum of all file sizes. */
  maxTotalBytes: 50 * 1024 * 1024,
  /** Any one file: scripts, data, metadata. */
  maxFileBytes: 10 * 1024 * 1024,
  /** A metadata file that is parsed as YAML or JSON (pack.yaml, actions/*.yaml, ...). */
  maxMetadataBytes: 256 * 1024,
  /** Directory levels below the pack root (`actions/a/b/c.sh` is 3). */
  maxPathDepth: 16,
  /** Characters in a file's relative path. */
  maxPathLength: 512,
  /** Nesting of maps and sequences in one YAML document. */
  maxYamlDepth: 32,
  /** Nodes (scalars, maps, sequences) in one YAML document. */
  maxYamlNodes: 20_000,
  /** Alias expansions in one YAML document (the "billion laughs" guard). */
  maxYamlAliases: 100,
  /** Components of each kind (actions, rules, triggers, sensors) in a pack. */
  maxComponentsPerKind: 1_000,
  /** Characters in one template string. */
  maxTemplateLength: 64 * 1024,
} as const;

export type PackLimits = typeof PACK_LIMITS;
