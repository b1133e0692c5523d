import { NotFoundError, ValidationError } from '../errors.js';
import type { Executor } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';
import { assertPackRef, isPackRef } from '../refs.js';
import { found, PAGINATION_RULES, Table, Where, type Page, type Pagination } from './support/table.js';
import { is, isPlainObject, validateFilter, validateInput, type Check, type Rules } from './support/validate.js';

/** A JSON object as stored in a JSONB column. */
export type JsonObject = Record<string, unknown>;

/** A versioned bundle of automation content. */
export interface Pack {
  id: number;
  ref: string;
  version: string;
  name: string;
  description: string | null;
  author: string | null;
  email: string | null;
  keywords: string[];
  /** Pack ref → semver range. */
  dependencies: Record<string, string>;
  /** pip requirement lines. */
  pythonRequirements: string[];
  /** npm package name → version range. */
  nodeDependencies: Record<string, string>;
  confSchema: JsonObject;
  config: JsonObject;
  meta: JsonObject;
  /** The version in use; at most one per ref. */
  isActive: boolean;
  isSystem: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface CreatePackInput {
  ref: string;
  /** Semantic version. Default 0.1.0. */
  version?: string;
  /** Display name. Default: the ref. */
  name?: string;
  description?: string | null;
  author?: string | null;
  email?: string | null;
  keywords?: string[];
  dependencies?: Record<string, string>;
  pythonRequirements?: string[];
  nodeDependencies?: Record<string, string>;
  confSchema?: JsonObject;
  config?: JsonObject;
  meta?: JsonObject;
  /** Default true; install a second version with false, then `activateVersion`. */
  isActive?: boolean;
  isSystem?: boolean;
}

/** Every field but ref and version, which identify the row. */
export type UpdatePackInput = Partial<Omit<CreatePackInput, 'ref' | 'version'>>;

export interface PackFilter extends Pagination {
  ref?: string;
  isActive?: boolean;
  isSystem?: boolean;
  /** Case-insensitive word-prefix search over name, keywords and description; results ranked. */
  search?: string;
  /** Only packs whose keywords include this one. */
  keyword?: string;
  /** Only packs that declare a dependency on this pack ref. */
  dependsOn?: string;
}

/** Semantic versioning 2.0.0, as CHECKed by packs_version_check. */
export const SEMVER_PATTERN =
  /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

const ENTITY = 'pack';

const table = new Table<Pack>({
  table: 'packs',
  entity: ENTITY,
  columns: {
    id: 'id',
    ref: 'ref',
    version: 'version',
    name: 'name',
    description: 'description',
    author: 'author',
    email: 'email',
    keywords: 'keywords',
    dependencies: { column: 'dependencies', kind: 'json' },
    pythonRequirements: 'python_requirements',
    nodeDependencies: { column: 'node_dependencies', kind: 'json' },
    confSchema: { column: 'conf_schema', kind: 'json' },
    config: { column: 'config', kind: 'json' },
    meta: { column: 'meta', kind: 'json' },
    isActive: 'is_active',
    isSystem: 'is_system',
    createdAt: 'created_at',
    updatedAt: 'updated_at',
  },
});

/** Pack ref → non-empty version range. */
const dependencyMap: Check = (value, field, entity) => {
  if (!isPlainObject(value)) throw new ValidationError(`${entity}.${field} must be an object of pack ref → version range`, { entity, field });
  for (const [ref, range] of Object.entries(value)) {
    if (!isPackRef(ref)) throw new ValidationError(`${entity}.${field} names '${ref}', which is not a pack ref`, { entity, field, value: ref });
    if (typeof range !== 'string' || range.trim() === '' || range.length > 255) {
      throw new ValidationError(`${entity}.${field}.${ref} must be a version range such as '^1.2.0'`, { entity, field, value: range });
    }
  }
};

/** npm package name → non-empty range. */
const nodeDependencyMap: Check = (value, field, entity) => {
  if (!isPlainObject(value)) throw new ValidationError(`${entity}.${field} must be an object of package name → version range`, { entity, field });
  for (const [name, range] of Object.entries(value)) {
    if (!/^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/.test(name) || name.length > 214) {
      throw new ValidationError(`${entity}.${field} names '${name}', which is not an npm package name`, { entity, field, value: name });
    }
    if (typeof range !== 'string' || range.trim() === '') {
      throw new ValidationError(`${entity}.${field}.${name} must be a version range`, { entity, field, value: range });
    }
  }
};

const rules: Rules = {
  ref: { check: is.packRef, required: true, immutable: true },
  version: { check: is.string({ max: 64, pattern: SEMVER_PATTERN }), immutable: true },
  name: { check: is.string({ min: 1, max: 255 }) },
  description: { check: is.string(), nullable: true },
  author: { check: is.string({ max: 255 }), nullable: true },
  email: { check: is.string({ max: 320 }), nullable: true },
  keywords: { check: is.stringArray({ maxItems: 100, maxLength: 100 }) },
  dependencies: { check: dependencyMap },
  pythonRequirements: { check: is.stringArray({ maxItems: 1000, maxLength: 1000 }) },
  nodeDependencies: { check: nodeDependencyMap },
  confSchema: { check: is.object },
  config: { check: is.object },
  meta: { check: is.object },
  isActive: { check: is.boolean },
  isSystem: { check: is.boolean },
};

const filterRules: Rules = {
  ...PAGINATION_RULES,
  ref: { check: is.packRef },
  isActive: { check: is.boolean },
  isSystem: { check: is.boolean },
  search: { check: is.string({ max: 255 }) },
  keyword: { check: is.string({ min: 1, max: 100 }) },
  dependsOn: { check: is.packRef },
};

const versionCheck = is.string({ min: 1, max: 64 });

/** First key of the advisory locks on pack refs ('ATPK'); the second is hashtext(ref). */
export const PACK_LOCK_CLASS = 0x4154504b;

/** The refs of `pythonRequirements`: left out (every active pack) or an array of pack refs. */
const refList: Check = (value, field, entity) => {
  if (!Array.isArray(value) || value.length > 10_000) throw new ValidationError(`${entity}.${field} must be an array of pack refs (at most 10000)`, { entity, field });
  value.forEach((ref) => is.packRef(ref, field, entity));
};

/**
 * Turns free text into a prefix tsquery: every word must match the start of
 * a word in name, keywords or description. Only letters and digits survive,
 * so no input can inject tsquery syntax.
 */
export function toPrefixQuery(text: string): string | null {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.length === 0 ? null : words.map((word) => `${word}:*`).join(' & ');
}

/** Packs: create, versions, search, dependencies. Every function takes the executor first. */
export const PackRepository = {
  /** Inserts a pack version. AlreadyExistsError for a taken (ref, version) or a second active version. */
  async create(db: Executor, input: CreatePackInput): Promise<Pack> {
    validateInput(ENTITY, input, rules, 'create');
    return table.insert(db, { version: '0.1.0', name: input.ref, ...input });
  },

  findById: (db: Executor, id: number): Promise<Pack | null> => table.findById(db, id),
  getById: (db: Executor, id: number): Promise<Pack> => table.getById(db, id),

  /** The active version of the pack, or null when none is installed or active. */
  async findByRef(db: Executor, ref: string): Promise<Pack | null> {
    assertPackRef(ref, ENTITY);
    return table.findOne(db, 'ref = $1 AND is_active', [ref]);
  },

  /** The active version of the pack; NotFoundError when there is none. */
  async getByRef(db: Executor, ref: string): Promise<Pack> {
    return found(await PackRepository.findByRef(db, ref), ENTITY, 'ref', ref);
  },

  /** One exact version, active or not. */
  async findVersion(db: Executor, ref: string, version: string): Promise<Pack | null> {
    assertPackRef(ref, ENTITY);
    versionCheck(version, 'version', ENTITY);
    return table.findOne(db, 'ref = $1 AND version = $2', [ref, version]);
  },

  /** Every installed version of a pack, oldest first. */
  async listVersions(db: Executor, ref: string): Promise<Pack[]> {
    assertPackRef(ref, ENTITY);
    return table.findAll(db, 'ref = $1', [ref], 'created_at, id');
  },

  /**
   * Serialises changes to the versions of one pack (activation,
   * registration, uninstall) until the end of the caller's transaction: a
   * transaction-scoped advisory lock on the pack ref. Call it inside a
   * transaction; a second caller waits for the first to commit.
   */
  async lockRef(db: Executor, ref: string): Promise<void> {
    assertPackRef(ref, ENTITY);
    await table.query(db, 'SELECT pg_advisory_xact_lock($1, hashtext($2))', [PACK_LOCK_CLASS, ref]);
  },

  /**
   * Makes `version` the active one and deactivates the others, atomically
   * (inside a savepoint when `db` is already in a transaction). Safe when
   * two run at once for one pack: the second waits for the first to commit
   * (PackRepository.lockRef), then switches; neither sees "already exists".
   * Activating the active version changes nothing.
   */
  async activateVersion(db: Executor, ref: string, version: string): Promise<Pack> {
    assertPackRef(ref, ENTITY);
    versionCheck(version, 'version', ENTITY);
    const run = async (tx: Executor): Promise<Pack> => {
      await PackRepository.lockRef(tx, ref);
      const target = await table.findOne(tx, 'ref = $1 AND version = $2', [ref, version]);
      if (!target) throw new NotFoundError(ENTITY, 'ref@version', `${ref}@${version}`);
      if (target.isActive) return target;
      await table.query(tx, 'UPDATE packs SET is_active = false WHERE ref = $1 AND is_active AND id <> $2', [ref, target.id]);
      return table.update(tx, target.id, { isActive: true });
    };
    return withTransaction(db, run);
  },

  /** Filters, search and pagination; ordered by rank when searching, else by ref and version age. */
  async list(db: Executor, input?: PackFilter): Promise<Page<Pack>> {
    const filter = validateFilter(ENTITY, input, filterRules);
    const where = new Where().eq('ref', filter.ref).eq('is_active', filter.isActive).eq('is_system', filter.isSystem);
    if (filter.keyword !== undefined) where.add((p) => `keywords @> ARRAY[${p(filter.keyword)}]::text[]`);
    if (filter.dependsOn !== undefined) where.add((p) => `dependencies ? ${p(filter.dependsOn)}`);
    let orderBy = 'ref, created_at, id';
    if (filter.search !== undefined) {
      const query = toPrefixQuery(filter.search);
      if (query === null) return { items: [], total: 0, limit: filter.limit ?? 50, offset: filter.offset ?? 0 };
      // One placeholder for both uses: the fallback count reuses the WHERE's parameters only.
      let placeholder = '';
      where.add((p) => {
        placeholder = p(query);
        return `search_vector @@ to_tsquery('simple', ${placeholder})`;
      });
      orderBy = `ts_rank(search_vector, to_tsquery('simple', ${placeholder})) DESC, ref, id`;
    }
    return table.list(db, where, filter, orderBy);
  },

  /** Case-insensitive search over name, keywords and description, best match first. */
  async search(db: Executor, text: string, pagination: Pagination & Omit<PackFilter, 'search'> = {}): Promise<Page<Pack>> {
    return PackRepository.list(db, { ...validateFilter(ENTITY, pagination, filterRules, 'pagination'), search: text });
  },

  /** Active packs that declare a dependency on `ref`: what would break if it went. */
  async findDependents(db: Executor, ref: string): Promise<Pack[]> {
    assertPackRef(ref, ENTITY);
    return table.findAll(db, 'dependencies ? $1 AND is_active', [ref], 'ref');
  },

  /**
   * The pip requirement lines of the given active packs (all active packs
   * when `refs` is omitted), de-duplicated and sorted: what an installer feeds pip.
   */
  async pythonRequirements(db: Executor, refs?: string[]): Promise<string[]> {
    if (refs !== undefined) refList(refs, 'refs', ENTITY);
    const result = await table.query<{ line: string }>(
      db,
      `SELECT DISTINCT unnest(python_requirements) AS line FROM packs
        WHERE is_active AND ($1::text[] IS NULL OR ref = ANY($1::text[])) ORDER BY line`,
      [refs ?? null],
    );
    return result.rows.map((row) => row.line);
  },

  /** Partial update; ref and version cannot change. */
  async update(db: Executor, id: number, input: UpdatePackInput): Promise<Pack> {
    validateInput(ENTITY, input, rules, 'update');
    return table.update(db, id, input);
  },

  /** Deletes one pack version and, by cascade, its actions, triggers, rules and runtimes. */
  delete: (db: Executor, id: number): Promise<boolean> => table.deleteById(db, id),
};
