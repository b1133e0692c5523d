/**
 * Attune's Prometheus metrics, one registry per process that every role
 * uses: the API counts HTTP requests, event intake counts events, the worker
 * observes claim latency, and `/metrics` adds the database's own figures
 * (executions by status, queue depth) at scrape time.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The metrics a role can record. */
export interface AttuneMetrics {
  registry: Registry;
  /** HTTP requests by method, route pattern and status; seconds. */
  httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  /** Events accepted, by where they came from (webhook, timer, sensor, api). */
  eventsReceived: Counter<'source'>;
  /** Seconds from an execution's request (or run_after) to its claim by a worker. */
  claimLatency: Histogram;
  /** Executions per status, set at scrape time. */
  executions: Gauge<'status'>;
  /** Executions waiting to be claimed (status requested), set at scrape time. */
  queueDepth: Gauge;
}

/** A fresh registry with Attune's metrics (and Node's default process metrics when `defaults`). */
export function createMetrics(options: { defaults?: boolean } = {}): AttuneMetrics {
  const registry = new Registry();
  if (options.defaults) collectDefaultMetrics({ register: registry, prefix: 'attune_' });
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'attune_http_request_duration_seconds',
      help: 'HTTP requests by method, route and status, in seconds',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    eventsReceived: new Counter({
      name: 'attune_events_received_total',
      help: 'Events accepted, by source (webhook, timer, sensor, api)',
      labelNames: ['source'],
      registers: [registry],
    }),
    claimLatency: new Histogram({
      name: 'attune_execution_claim_latency_seconds',
      help: 'Seconds from an execution becoming runnable to a worker claiming it',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    executions: new Gauge({
      name: 'attune_executions',
      help: 'Executions by status, counted at scrape time',
      labelNames: ['status'],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'attune_execution_queue_depth',
      help: 'Executions requested and not yet claimed, counted at scrape time',
      registers: [registry],
    }),
  };
}

let processMetrics: AttuneMetrics | undefined;

/** The process's metrics, created on first use (with Node's default metrics): what every role records into. */
export function metrics(): AttuneMetrics {
  processMetrics ??= createMetrics({ defaults: true });
  return processMetrics;
}
