import { createHash } from 'node:crypto';
import { ValidationError } from '../errors.js';
import type { Executor } from '../db/pool.js';
import { Table, assertId } from './support/table.js';

/** One file of a pack version (its bytes are in pack_file_contents, shared across versions). */
export interface PackFileEntry {
  id: number;
  packId: number;
  /** Relative to the pack root, '/'-separated (`actions/echo.sh`). */
  path: string;
  size: number;
  /** Hex SHA-256 of the content. */
  sha256: string;
  executable: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** A file as registration gives it: its place in the version and its bytes. */
export interface PackFileInput {
  path: string;
  content: Buffer;
  executable: boolean;
}

/** What `replaceForPack` changed, by path. */
export interface PackFilesChange {
  created: string[];
  updated: string[];
  removed: string[];
  unchanged: string[];
  /** Contents stored for the first time (deduplicated by SHA-256 across every version). */
  contentsStored: number;
}

/** At most this many bytes per file; the pack reader's limit is lower (src/packs/limits.ts). */
export const PACK_FILE_MAX_BYTES = 64 * 1024 * 1024;
const PATH_MAX_LENGTH = 512;

/** First key of the advisory lock between content garbage collection (exclusive) and writers (shared). */
const CONTENT_LOCK_CLASS = 0x41545046; // 'ATPF'
const CONTENT_LOCK_KEY = 0;

const ENTITY = 'packFile';

const table = new Table<PackFileEntry>({
  table: 'pack_files',
  entity: ENTITY,
  columns: {
    id: 'id',
    packId: 'pack_id',
    path: 'path',
    size: 'size',
    sha256: 'sha256',
    executable: 'executable',
    createdAt: 'created_at',
    updatedAt: 'updated_at',
  },
});

/**
 * Why `path` cannot be a stored pack path, or null: relative, '/'-separated,
 * no '..', '.' or empty segment, no backslash or control character. The
 * same rule as pack_files_path_check; checked again before materialising.
 */
export function packPathProblem(path: unknown): string | null {
  if (typeof path !== 'string' || path === '') return 'must be a non-empty string';
  if (path.length > PATH_MAX_LENGTH) return `must be at most ${PATH_MAX_LENGTH} characters`;
  if (path.startsWith('/')) return 'must be relative to the pack root';
  if (path.includes('\\')) return "must use '/' between directories";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'must not hold a control character';
  if (path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) return "must not hold an empty, '.' or '..' segment";
  return null;
}

function assertPath(path: unknown, field = 'path'): asserts path is string {
  const problem = packPathProblem(path);
  if (problem !== null) {
    throw new ValidationError(`${ENTITY}.${field} ${problem}, got ${JSON.stringify(typeof path === 'string' ? path.slice(0, 80) : path)}`, {
      entity: ENTITY,
      field,
      value: typeof path === 'string' ? path.slice(0, 80) : undefined,
    });
  }
}

function assertFiles(files: unknown): asserts files is PackFileInput[] {
  if (!Array.isArray(files)) throw new ValidationError(`${ENTITY} files must be an array`, { entity: ENTITY, field: 'files' });
  const seen = new Set<string>();
  files.forEach((file: unknown, index) => {
    const entry = file as Partial<PackFileInput> | null;
    if (entry === null || typeof entry !== 'object') throw new ValidationError(`${ENTITY} files[${index}] must be an object`, { entity: ENTITY, field: 'files' });
    assertPath(entry.path);
    if (seen.has(entry.path)) throw new ValidationError(`${ENTITY}.path ${JSON.stringify(entry.path)} appears twice`, { entity: ENTITY, field: 'path', value: entry.path });
    seen.add(entry.path);
    if (!Buffer.isBuffer(entry.content)) throw new ValidationError(`${ENTITY}.content of ${entry.path} must be a Buffer`, { entity: ENTITY, field: 'content' });
    if (entry.content.length > PACK_FILE_MAX_BYTES) {
      throw new ValidationError(`${ENTITY}.content of ${entry.path} is ${entry.content.length} bytes; at most ${PACK_FILE_MAX_BYTES}`, { entity: ENTITY, field: 'content' });
    }
    if (typeof entry.executable !== 'boolean') throw new ValidationError(`${ENTITY}.executable of ${entry.path} must be true or false`, { entity: ENTITY, field: 'executable' });
  });
}

/** Hex SHA-256 of `content`. */
export function sha256Of(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/**
 * The content hash of a pack version: SHA-256 over its files' paths, hashes
 * and executable flags in path order. Two versions with the same files have
 * the same hash, whatever their version numbers; materialised folders are
 * keyed by it.
 */
export function versionContentHash(files: readonly Pick<PackFileEntry, 'path' | 'sha256' | 'executable'>[]): string {
  const hash = createHash('sha256');
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(`${file.path}\u0000${file.sha256}\u0000${file.executable ? 'x' : '-'}\n`);
  }
  return hash.digest('hex');
}

/**
 * Pack files: the files of each pack version, their bytes stored once per
 * SHA-256. Every function takes the executor first.
 */
export const PackFileRepository = {
  /** The files of one pack version, by path. */
  async listForPack(db: Executor, packId: number): Promise<PackFileEntry[]> {
    assertId(packId, ENTITY, 'packId');
    return table.findAll(db, 'pack_id = $1', [packId], 'path');
  },

  /**
   * Makes the files of pack version `packId` exactly `files`, writing only
   * what differs: new paths are inserted, changed ones (content or
   * executable flag) updated, missing ones deleted; contents not stored yet
   * are added. Unchanged files are not touched, so giving the same files
   * again writes nothing. Run inside a transaction for atomicity.
   */
  async replaceForPack(db: Executor, packId: number, files: PackFileInput[]): Promise<PackFilesChange> {
    assertId(packId, ENTITY, 'packId');
    assertFiles(files);
    await lockContents(db, 'shared');
    const existing = new Map((await PackFileRepository.listForPack(db, packId)).map((file) => [file.path, file]));
    const wanted = files.map((file) => ({ ...file, sha256: sha256Of(file.content) }));
    const change: PackFilesChange = { created: [], updated: [], removed: [], unchanged: [], contentsStored: 0 };
    const toWrite: typeof wanted = [];
    for (const file of wanted) {
      const old = existing.get(file.path);
      if (old === undefined) change.created.push(file.path);
      else if (old.sha256 !== file.sha256 || old.executable !== file.executable) change.updated.push(file.path);
      else {
        change.unchanged.push(file.path);
        continue;
      }
      toWrite.push(file);
    }
    const kept = new Set(wanted.map((file) => file.path));
    change.removed = [...existing.keys()].filter((path) => !kept.has(path));
    if (toWrite.length > 0) change.contentsStored = await storeContents(db, toWrite);
    if (change.removed.length > 0) {
      await table.query(db, 'DELETE FROM pack_files WHERE pack_id = $1 AND path = ANY($2::text[])', [packId, change.removed]);
    }
    if (toWrite.length > 0) {
      const written = await table.query(
        db,
        `INSERT INTO pack_files (pack_id, path, size, content_id, sha256, executable)
         SELECT $1, f.path, f.size, c.id, f.sha256, f.executable
           FROM unnest($2::text[], $3::bigint[], $4::text[], $5::boolean[]) AS f(path, size, sha256, executable)
           JOIN pack_file_contents c ON c.sha256 = f.sha256
         ON CONFLICT (pack_id, path) DO UPDATE SET size = EXCLUDED.size, content_id = EXCLUDED.content_id, sha256 = EXCLUDED.sha256, executable = EXCLUDED.executable`,
        [packId, toWrite.map((f) => f.path), toWrite.map((f) => f.content.length), toWrite.map((f) => f.sha256), toWrite.map((f) => f.executable)],
      );
      // Contents are stored above and kept by the shared lock; a shortfall means one vanished anyway.
      if (written.rowCount !== toWrite.length) throw new Error(`pack files: ${toWrite.length - (written.rowCount ?? 0)} contents vanished while being stored`);
    }
    return change;
  },

  /** The bytes of each requested SHA-256 that is stored (missing ones are absent from the map). */
  async readContents(db: Executor, sha256s: string[]): Promise<Map<string, Buffer>> {
    if (!Array.isArray(sha256s) || sha256s.some((sha) => typeof sha !== 'string' || !/^[0-9a-f]{64}$/.test(sha))) {
      throw new ValidationError(`${ENTITY} sha256s must be hex SHA-256 digests`, { entity: ENTITY, field: 'sha256' });
    }
    const result = await table.query<{ sha256: string; content: Buffer }>(db, 'SELECT sha256, content FROM pack_file_contents WHERE sha256 = ANY($1::text[])', [
      [...new Set(sha256s)],
    ]);
    return new Map(result.rows.map((row) => [row.sha256, row.content]));
  },

  /**
   * Deletes contents that no pack version lists any more; returns how many
   * went. Waits for registrations in progress (they hold the shared side of
   * the contents lock), so a content a registration is about to reference is
   * never collected under it.
   */
  async deleteUnreferencedContents(db: Executor): Promise<number> {
    await lockContents(db, 'exclusive');
    const result = await table.query(
      db,
      'DELETE FROM pack_file_contents c WHERE NOT EXISTS (SELECT 1 FROM pack_files f WHERE f.content_id = c.id)',
    );
    return result.rowCount ?? 0;
  },
};

/** Takes the contents lock until the end of the transaction (a no-op outside one, as the lock is then released at once). */
async function lockContents(db: Executor, mode: 'shared' | 'exclusive'): Promise<void> {
  const fn = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
  await table.query(db, `SELECT ${fn}($1, $2)`, [CONTENT_LOCK_CLASS, CONTENT_LOCK_KEY]);
}

/** Inserts the contents of `files` not stored yet; returns how many were new. */
async function storeContents(db: Executor, files: { sha256: string; content: Buffer }[]): Promise<number> {
  const unique = new Map(files.map((file) => [file.sha256, file.content]));
  const present = await table.query<{ sha256: string }>(db, 'SELECT sha256 FROM pack_file_contents WHERE sha256 = ANY($1::text[])', [[...unique.keys()]]);
  for (const row of present.rows) unique.delete(row.sha256);
  if (unique.size === 0) return 0;
  const result = await table.query(
    db,
    `INSERT INTO pack_file_contents (sha256, size, content)
     SELECT c.sha256, octet_length(c.content), c.content FROM unnest($1::text[], $2::bytea[]) AS c(sha256, content)
     ON CONFLICT (sha256) DO NOTHING`,
    [[...unique.keys()], [...unique.values()]],
  );
  return result.rowCount ?? 0;
}
