/** The shape of Attune's configuration, one section per concern; src/config.ts fills and validates it. */
import type { LogLevel } from './config.js';

/** Attune's whole configuration after every source has been applied. */
export interface AttuneConfig {
  database: {
    /** A PostgreSQL URL; when absent, Attune starts an embedded server. */
    url: string | undefined;
    /** Database name used on the embedded server (ignored when `url` is set). */
    name: string;
    maxConnections: number;
    logStatements: boolean;
    connectTimeoutMs: number;
    /** 0 means no statement timeout. */
    statementTimeoutMs: number;
    embeddedDataDir: string;
    embeddedPort: number;
    /** The unprivileged OS user the embedded server runs as when Attune runs as root. */
    embeddedUser: string;
  };
  log: { level: LogLevel };
  /** Ceilings on input, checked by the repositories before any SQL (see `configureLimits`). */
  limits: {
    /** Largest JSON value one field may hold, in bytes of JSON text. */
    jsonMaxBytes: number;
    /** Deepest nesting of arrays and objects in one JSON value. */
    jsonMaxDepth: number;
    /** Longest free-text field (descriptions) in characters, where the field has no tighter limit of its own. */
    textMaxLength: number;
  };
  /** The rules role (the event processor). */
  rules: {
    /** Events claimed and processed per transaction. */
    batchSize: number;
    /** How often the processor looks for events when no NOTIFY woke it (the backstop). */
    pollIntervalMs: number;
  };
  security: {
    enableAuth: boolean;
    /** Secret used to encrypt keys marked secret; at least 32 characters. */
    encryptionKey: string | undefined;
    /** How long a token from `POST /api/v1/auth/login` lasts, in seconds. */
    loginTokenTtlSeconds: number;
  };
  /** The HTTP API (docs/api.md). */
  api: {
    host: string;
    port: number;
    /** Largest request body, in bytes (a pack bundle has `packBodyLimitBytes`). */
    bodyLimitBytes: number;
    /** Largest pack bundle upload, in bytes of JSON (base64 makes files a third larger). */
    packBodyLimitBytes: number;
    /** Write requests (POST, PUT, PATCH, DELETE) one token, or one address without a token, may send per window; 0 turns the limit off. */
    rateLimitMax: number;
    rateLimitWindowSeconds: number;
    /** Login attempts per address per window. */
    loginRateLimitMax: number;
    /** Origins allowed by CORS, comma-separated; empty: CORS off (no CORS headers at all). */
    corsOrigins: string[];
    /** Trust X-Forwarded-* from a reverse proxy (client address for rate limits and logs). */
    trustProxy: boolean;
  };
  /** The worker role. */
  worker: {
    /** Executions run at once. Default: CPU count × 4. */
    slots: number;
    /** Lease a claim grants; renewed at a third of it while the run lasts. */
    leaseSeconds: number;
    /** Runner types this worker takes (Attune's names). Default: all of them. */
    runners: string[];
    /** On stop, how long running executions may go on before they are left to the lease sweep. */
    graceSeconds: number;
    /** How often the worker looks for work when no NOTIFY woke it (the backstop). */
    pollIntervalMs: number;
    /** How often the worker records its heartbeat. */
    heartbeatSeconds: number;
    /** Where the worker keeps run folders (`work/`), materialised packs (`packs/`) and pack environments (`environments/`). */
    dataDir: string;
    /** The worker's unique name. Default: `<host>-<pid>`. */
    name: string | undefined;
  };
  /** Execution lifecycle: timeouts, output, retries, maintenance. */
  execution: {
    /** Timeout of an execution when neither it nor its action sets one. */
    defaultTimeoutSeconds: number;
    /** Output stored per execution (stdout and stderr together); past it, a marker and nothing more. */
    outputCapBytes: number;
    /** First retry's delay; each later retry doubles it, up to the cap. */
    retryBackoffBaseSeconds: number;
    retryBackoffCapSeconds: number;
    /** How long past its deadline a run may go before the maintenance role times it out (its worker should have). */
    deadlineGraceSeconds: number;
    /** Output chunks older than this are deleted by the maintenance role. */
    outputRetentionDays: number;
    /** How often the maintenance role sweeps leases, deadlines, inquiries and output. */
    sweepIntervalMs: number;
  };
  /** The timers role (docs/events.md, Timers). */
  timers: {
    /** Most schedules claimed per transaction. */
    batchSize: number;
    /** Longest sleep between two looks at the schedules (a NOTIFY or the next due tick wakes it sooner). */
    pollIntervalMs: number;
    /** How often schedules are checked against the rules without a NOTIFY. */
    syncIntervalMs: number;
    /** How late a tick may be and still fire; older ticks count as missed. */
    misfireGraceSeconds: number;
    /** What a rule's `catch_up: true` replays, and the most any `catch_up` replays. */
    catchUpMax: number;
  };
  /** The sensors role (docs/events.md, Sensors). */
  sensors: {
    /** Materialised packs, sensor home folders and Python environments go under it. */
    dataDir: string;
    /** Interpreter of Python sensors (packs without requirements). */
    python: string;
    /** Events per INSERT. */
    batchSize: number;
    /** Events one sensor may have waiting in memory; past it its stdout is paused. */
    maxQueuedEvents: number;
    /** Events one sensor may write per second. */
    maxEventsPerSecond: number;
    /** Longest line a sensor may write, in bytes; a longer one is skipped. */
    maxLineBytes: number;
    /** First restart delay after a sensor exits; doubles per exit up to the cap. */
    restartBackoffMs: number;
    restartBackoffMaxMs: number;
    /** Between SIGTERM and SIGKILL when a sensor is stopped. */
    stopGraceMs: number;
    /** How often the role looks for sensors to start (and to take over) without a NOTIFY. */
    reconcileIntervalMs: number;
  };
}
