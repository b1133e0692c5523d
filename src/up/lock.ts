/**
 * The lock `attune up` holds on its embedded data folder: a small JSON file
 * beside the folder (`<data folder>.up.json`, so that initdb still finds the
 * folder empty on a first start) naming the process that runs there, and
 * once known, its embedded PostgreSQL and API. A second `attune up` reads it
 * to say who runs already; one left by an `attune up` that was killed (its
 * process is gone) is taken over, and the PostgreSQL it names is known to be
 * that dead process's own.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DatabaseUnavailableError } from '../errors.js';

/** What the lock file says. */
export interface UpLockInfo {
  /** The `attune up` process. */
  pid: number;
  /** When that process started, as the kernel counts (/proc/<pid>/stat), so a reused pid is not taken for it. */
  processStart?: string;
  dataDir: string;
  startedAt: string;
  /** Its embedded PostgreSQL, once started. */
  postgresPid?: number;
  postgresPort?: number;
  /** Where its API listens, once started. */
  apiUrl?: string;
}

/** Outcome of `acquireUpLock`. */
export interface AcquiredLock {
  lock: UpLock;
  /** The lock of an `attune up` that was killed, found and taken over. */
  stale?: UpLockInfo;
}

/** The refusal when another live `attune up` holds the data folder: who, and where its API and PostgreSQL are. */
export function alreadyRunning(holder: UpLockInfo): DatabaseUnavailableError {
  const where = [
    `pid ${holder.pid}`,
    holder.apiUrl ? `API ${holder.apiUrl}` : undefined,
    holder.postgresPort ? `PostgreSQL port ${holder.postgresPort}` : undefined,
  ].filter(Boolean);
  return new DatabaseUnavailableError(
    `Attune is already running on ${holder.dataDir} (${where.join(', ')}, since ${holder.startedAt}): ` +
      `use that one, or stop it (Ctrl-C in its terminal, or kill ${holder.pid}) before starting another`,
    { field: 'database.embeddedDataDir', value: holder.dataDir },
  );
}

/** The lock file of `dataDir`. */
export function upLockPath(dataDir: string): string {
  return `${dataDir}.up.json`;
}

/** A held lock: `update` records what was started, `release` removes the file. */
export class UpLock {
  private info: UpLockInfo;

  constructor(
    readonly file: string,
    info: UpLockInfo,
  ) {
    this.info = info;
  }

  /** Adds to what the file says (the PostgreSQL started, the API's URL). */
  update(patch: Partial<Omit<UpLockInfo, 'pid' | 'dataDir' | 'startedAt'>>): void {
    this.info = { ...this.info, ...patch };
    writeFileSync(this.file, `${JSON.stringify(this.info)}\n`, { mode: 0o600 });
  }

  /** Removes the file when it is still this process's. */
  release(): void {
    if (readLock(this.file)?.pid === this.info.pid) rmSync(this.file, { force: true });
  }
}

/**
 * Takes the lock of `dataDir` for this process. Refuses with
 * the `alreadyRunning` error while a live process holds it; a lock whose process
 * is gone is taken over and returned as `stale`. The file is created with
 * O_EXCL, so of two starts at the same moment one wins and the other is told
 * who did.
 */
export function acquireUpLock(dataDir: string, pid: number = process.pid): AcquiredLock {
  const file = upLockPath(dataDir);
  const start = processStartOf(pid);
  const info: UpLockInfo = { pid, ...(start ? { processStart: start } : {}), dataDir, startedAt: new Date().toISOString() };
  // A fresh checkout has no .attune yet: the lock goes beside the data folder, so its parent must exist.
  mkdirSync(path.dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      writeFileSync(file, `${JSON.stringify(info)}\n`, { mode: 0o600, flag: 'wx' });
      return { lock: new UpLock(file, info) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readLock(file);
    if (holder && holder.pid !== pid && holdsLock(holder)) throw alreadyRunning(holder);
    // Dead holder (or an unreadable file, which only a crash mid-write leaves): take it over.
    rmSync(file, { force: true });
    try {
      writeFileSync(file, `${JSON.stringify(info)}\n`, { mode: 0o600, flag: 'wx' });
      return { lock: new UpLock(file, info), ...(holder ? { stale: holder } : {}) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Another start took it over between the two calls: look again at who holds it.
    }
  }
  const holder = readLock(file);
  if (holder) throw alreadyRunning(holder);
  throw new DatabaseUnavailableError(`Cannot take the lock ${file}: other starts keep taking it`, { field: 'database.embeddedDataDir', value: dataDir });
}

/** The live `attune up` holding `dataDir`'s lock, if any (a look only: nothing is taken). */
export function lockHolder(dataDir: string): UpLockInfo | undefined {
  const holder = readLock(upLockPath(dataDir));
  return holder && holder.pid !== process.pid && holdsLock(holder) ? holder : undefined;
}

/** The lock file's contents; undefined when it is missing or unreadable. */
export function readLock(file: string): UpLockInfo | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<UpLockInfo>;
    if (typeof parsed.pid !== 'number' || typeof parsed.dataDir !== 'string') return undefined;
    return parsed as UpLockInfo;
  } catch {
    return undefined;
  }
}

/** True while the process the lock names runs: its pid is alive and, where /proc says, started when the lock says. */
export function holdsLock(holder: UpLockInfo): boolean {
  if (!isAlive(holder.pid)) return false;
  if (holder.processStart === undefined) return true;
  const now = processStartOf(holder.pid);
  return now === undefined || now === holder.processStart;
}

/** True while `pid` runs (a process of another user counts). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); undefined without /proc. */
function processStartOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}
