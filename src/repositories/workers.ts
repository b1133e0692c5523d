import { NotFoundError, ValidationError } from '../errors.js';
import type { Executor } from '../db/pool.js';
import type { JsonObject } from './packs.js';
import { found, PAGINATION_RULES, Table, Where, assertId, type Page, type Pagination } from './support/table.js';
import { is, validateFilter, validateInput, type Check, type Rules } from './support/validate.js';

/** Where a worker runs; mirrors workers_worker_type_check. */
export const WORKER_TYPES = ['local', 'remote', 'container'] as const;
export type WorkerType = (typeof WORKER_TYPES)[number];

/** A worker's state; mirrors workers_status_check. */
export const WORKER_STATUSES = ['active', 'inactive', 'busy', 'error'] as const;
export type WorkerStatus = (typeof WORKER_STATUSES)[number];

/** Statuses of a worker that can take work, when its heartbeat is recent. */
export const LIVE_WORKER_STATUSES: readonly WorkerStatus[] = ['active', 'busy'];

/** Default window for `listLive`, in seconds. */
export const DEFAULT_LIVE_WITHIN_SECONDS = 30;

/** A process that runs executions. */
export interface Worker {
  id: number;
  /** Unique. */
  name: string;
  workerType: WorkerType;
  /** Null when unset or when the runtime was deleted. */
  runtimeId: number | null;
  host: string | null;
  port: number | null;
  status: WorkerStatus;
  /** Runtimes it can run, concurrency, labels. */
  capabilities: JsonObject;
  meta: JsonObject;
  lastHeartbeat: Date | null;
  /** The session of the process that registered it last (`register`); its heartbeats name it. */
  session: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What a worker process registers itself with. */
export interface RegisterWorkerInput {
  name: string;
  host?: string | null;
  capabilities?: JsonObject;
  meta?: JsonObject;
  /** A fresh random token per process (a UUID). */
  session: string;
}

export interface CreateWorkerInput {
  name: string;
  /** Default local. */
  workerType?: WorkerType;
  runtimeId?: number | null;
  host?: string | null;
  /** 1–65535. */
  port?: number | null;
  /** Default inactive. */
  status?: WorkerStatus;
  capabilities?: JsonObject;
  meta?: JsonObject;
}

export type UpdateWorkerInput = Partial<CreateWorkerInput>;

export interface WorkerFilter extends Pagination {
  status?: WorkerStatus;
  workerType?: WorkerType;
  runtimeId?: number;
}

export interface HeartbeatInput {
  /** The status to record; by default an inactive worker becomes active and any other keeps its status. */
  status?: WorkerStatus;
}

export interface LiveWorkerFilter {
  /** How recent the heartbeat must be. Default 30 seconds. */
  withinSeconds?: number;
}

const ENTITY = 'worker';

const table = new Table<Worker>({
  table: 'workers',
  entity: ENTITY,
  columns: {
    id: 'id',
    name: 'name',
    workerType: 'worker_type',
    runtimeId: 'runtime_id',
    host: 'host',
    port: 'port',
    status: 'status',
    capabilities: { column: 'capabilities', kind: 'json' },
    meta: { column: 'meta', kind: 'json' },
    lastHeartbeat: 'last_heartbeat',
    session: 'session',
    createdAt: 'created_at',
    updatedAt: 'updated_at',
  },
});

const rules: Rules = {
  name: { check: is.string({ min: 1, max: 255 }), required: true },
  workerType: { check: is.oneOf(WORKER_TYPES) },
  runtimeId: { check: is.id, nullable: true },
  host: { check: is.string({ min: 1, max: 255 }), nullable: true },
  port: { check: is.integer(1, 65_535), nullable: true },
  status: { check: is.oneOf(WORKER_STATUSES) },
  capabilities: { check: is.object },
  meta: { check: is.object },
};

const registerRules: Rules = {
  name: rules.name!,
  host: rules.host!,
  capabilities: rules.capabilities!,
  meta: rules.meta!,
  session: { check: is.string({ min: 1, max: 64 }), required: true },
};

const heartbeatRules: Rules = { status: { check: is.oneOf(WORKER_STATUSES) } };

const filterRules: Rules = {
  ...PAGINATION_RULES,
  status: { check: is.oneOf(WORKER_STATUSES) },
  workerType: { check: is.oneOf(WORKER_TYPES) },
  runtimeId: { check: is.id },
};

/** Seconds above 0 and at most a year; fractions allowed. */
const withinSeconds: Check = (value, field, entity) => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 31_536_000) {
    throw new ValidationError(`${entity}.${field} must be a number of seconds above 0 and at most one year, got ${String(value)}`, { entity, field, value });
  }
};

const liveFilterRules: Rules = { withinSeconds: { check: withinSeconds } };

function assertName(name: unknown): asserts name is string {
  is.string({ min: 1, max: 255 })(name, 'name', ENTITY);
}

/** Workers: registration, heartbeats and the live set. Every function takes the executor first. */
export const WorkerRepository = {
  /** Registers a worker. AlreadyExistsError for a taken name; InvalidReferenceError for a missing runtime. */
  async create(db: Executor, input: CreateWorkerInput): Promise<Worker> {
    validateInput(ENTITY, input, rules, 'create');
    return table.insert(db, input);
  },

  findById: (db: Executor, id: number): Promise<Worker | null> => table.findById(db, id),
  getById: (db: Executor, id: number): Promise<Worker> => table.getById(db, id),

  /** The worker with this name, or null. */
  async findByName(db: Executor, name: string): Promise<Worker | null> {
    assertName(name);
    return table.findOne(db, 'name = $1', [name]);
  },

  /** The worker with this name; NotFoundError when there is none. */
  async getByName(db: Executor, name: string): Promise<Worker> {
    return found(await WorkerRepository.findByName(db, name), ENTITY, 'name', name);
  },

  /** Filters by status, type and runtime, ordered by name, with pagination and the total. */
  async list(db: Executor, input?: WorkerFilter): Promise<Page<Worker>> {
    const filter = validateFilter(ENTITY, input, filterRules);
    const where = new Where().eq('status', filter.status).eq('worker_type', filter.workerType).eq('runtime_id', filter.runtimeId);
    return table.list(db, where, filter, 'name');
  },

  /**
   * Records a heartbeat now (the transaction's time): sets last_heartbeat and,
   * when given, the status; an inactive worker otherwise becomes active.
   * NotFoundError for a missing id.
   */
  async heartbeat(db: Executor, id: number, input: HeartbeatInput = {}): Promise<Worker> {
    assertId(id, ENTITY);
    validateInput(ENTITY, input, heartbeatRules, 'update');
    const result = await table.query(
      db,
      `UPDATE workers
          SET last_heartbeat = now(),
              status = COALESCE($2::text, CASE WHEN status = 'inactive' THEN 'active' ELSE status END)
        WHERE id = $1
        RETURNING ${table.columns}`,
      [id, input.status ?? null],
    );
    if (result.rows.length === 0) throw new NotFoundError(ENTITY, 'id', id);
    return table.fromRow(result.rows[0]!);
  },

  /**
   * A worker process takes its row: creates it, or takes over the row of its
   * name (a restarted worker), with its new session, status active and a
   * heartbeat now. From then on only this session's heartbeats count.
   */
  async register(db: Executor, input: RegisterWorkerInput): Promise<Worker> {
    validateInput(ENTITY, input, registerRules, 'create');
    const result = await table.query(
      db,
      `INSERT INTO workers (name, host, capabilities, meta, session, status, last_heartbeat)
       VALUES ($1, $2, COALESCE($3::jsonb, '{}'), COALESCE($4::jsonb, '{}'), $5, 'active', now())
       ON CONFLICT (name) DO UPDATE SET host = EXCLUDED.host, capabilities = EXCLUDED.capabilities, meta = EXCLUDED.meta,
         session = EXCLUDED.session, status = 'active', last_heartbeat = now()
       RETURNING ${table.columns}`,
      [
        input.name,
        input.host ?? null,
        input.capabilities === undefined ? null : JSON.stringify(input.capabilities),
        input.meta === undefined ? null : JSON.stringify(input.meta),
        input.session,
      ],
    );
    return table.fromRow(result.rows[0]!);
  },

  /**
   * A registered process's heartbeat (and status, when given), fenced by its
   * session: false, changing nothing, when another process registered the
   * row since (or it was deleted).
   */
  async sessionHeartbeat(db: Executor, id: number, session: string, input: HeartbeatInput = {}): Promise<boolean> {
    assertId(id, ENTITY);
    is.string({ min: 1, max: 64 })(session, 'session', ENTITY);
    validateInput(ENTITY, input, heartbeatRules, 'update');
    const result = await table.query(
      db,
      `UPDATE workers SET last_heartbeat = now(), status = COALESCE($3::text, status) WHERE id = $1 AND session = $2 RETURNING id`,
      [id, session, input.status ?? null],
    );
    return result.rows.length > 0;
  },

  /**
   * Workers that can take work: active or busy, with a heartbeat within the
   * last `withinSeconds` (default 30), most recent heartbeat first. Served by
   * workers_status_heartbeat_idx.
   */
  async listLive(db: Executor, input?: LiveWorkerFilter): Promise<Worker[]> {
    const filter = validateFilter(ENTITY, input, liveFilterRules);
    return table.findAll(
      db,
      `status = ANY($1::text[]) AND last_heartbeat >= now() - make_interval(secs => $2::double precision)`,
      [LIVE_WORKER_STATUSES, filter.withinSeconds ?? DEFAULT_LIVE_WITHIN_SECONDS],
      'last_heartbeat DESC, id',
    );
  },

  /** Partial update. AlreadyExistsError for a taken name; NotFoundError for a missing id. */
  async update(db: Executor, id: number, input: UpdateWorkerInput): Promise<Worker> {
    assertId(id, ENTITY);
    validateInput(ENTITY, input, rules, 'update');
    return table.update(db, id, input);
  },

  /**
   * Deletes the worker; executions it ran keep their history with worker_id
   * null. While it holds a running execution the delete is refused
   * (ValidationError on worker_id: a running execution always has a worker)
   * until the run ends or the lease sweep takes it back.
   */
  delete: (db: Executor, id: number): Promise<boolean> => table.deleteById(db, id),
};
