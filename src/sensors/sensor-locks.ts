/**
 * Which sensors this process runs: one session-level advisory lock per
 * sensor ref, all held on one dedicated connection (never a pooled one,
 * which would carry its locks to whoever borrows it next). When the process
 * dies, PostgreSQL ends its session and the locks go with it, so another
 * sensors role takes the sensors over on its next look. When the connection
 * is lost while the process lives, `onLost` is told: the locks are gone and
 * the sensors must stop before anyone else starts them.
 */
import pg from 'pg';
import { describeConnectionFailure } from '../db/pool.js';

/** First key of the sensor locks ('ATSN'); the second is hashtext(sensor ref). */
export const SENSOR_LOCK_CLASS = 0x4154534e;

export interface SensorLocksOptions {
  url: string;
  connectTimeoutMs?: number;
  applicationName?: string;
  /** The connection went away: every lock is lost. */
  onLost(error: Error): void;
}

export class SensorLocks {
  readonly #options: SensorLocksOptions;
  #client: pg.Client | undefined;
  readonly #held = new Set<string>();

  constructor(options: SensorLocksOptions) {
    this.#options = options;
  }

  /** True while the lock connection is up. */
  get connected(): boolean {
    return this.#client !== undefined;
  }

  /** Refs whose lock this process holds. */
  get held(): ReadonlySet<string> {
    return this.#held;
  }

  /** Opens the lock connection when it is not open (after a loss, too). DatabaseUnavailableError when it cannot. */
  async connect(): Promise<void> {
    if (this.#client) return;
    const client = new pg.Client({
      connectionString: this.#options.url,
      connectionTimeoutMillis: this.#options.connectTimeoutMs ?? 5_000,
      keepAlive: true,
      application_name: this.#options.applicationName ?? 'attune sensors locks',
    });
    const lost = (error: Error): void => {
      if (this.#client !== client) return;
      this.#client = undefined;
      this.#held.clear();
      client.removeAllListeners();
      client.on('error', () => undefined);
      void client.end().catch(() => undefined);
      this.#options.onLost(error);
    };
    client.on('error', lost);
    client.on('end', () => lost(new Error('the lock connection ended')));
    try {
      await client.connect();
    } catch (error) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      throw describeConnectionFailure(this.#options.url, error);
    }
    this.#client = client;
  }

  /** Takes the sensor's lock when nobody holds it; true when this process holds it now. */
  async tryLock(ref: string): Promise<boolean> {
    if (this.#held.has(ref)) return true;
    const client = this.#requireClient();
    const result = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [SENSOR_LOCK_CLASS, ref]);
    const locked = result.rows[0]!.locked;
    if (locked && this.#client === client) this.#held.add(ref);
    return locked;
  }

  /** Lets the sensor's lock go (another process may take it). */
  async unlock(ref: string): Promise<void> {
    if (!this.#held.delete(ref)) return;
    const client = this.#client;
    if (!client) return;
    await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [SENSOR_LOCK_CLASS, ref]);
  }

  /** Closes the connection; every lock goes with it. */
  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#held.clear();
    if (!client) return;
    client.removeAllListeners();
    client.on('error', () => undefined);
    await client.end().catch(() => undefined);
  }

  #requireClient(): pg.Client {
    if (!this.#client) throw new Error('the sensor lock connection is not open');
    return this.#client;
  }
}
