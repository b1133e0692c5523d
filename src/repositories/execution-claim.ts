/**
 * The claim straight into running, as `claimAndStart` sends it alone and
 * `finishAndClaim` sends it with a batch's completions: its options, their
 * checks, and the UPDATE that starts the picked rows. Part of
 * ExecutionRepository.
 */
import { is, type Rules } from './support/validate.js';
import { MAX_CLAIM_BATCH, MAX_LEASE_SECONDS } from './execution-model.js';

/** Options of `claimAndStart` (and the claim of `finishAndClaim`). */
export interface ClaimAndStartOptions {
  workerId: number;
  /** Rows to claim at most. Default 1. */
  limit?: number;
  /** Default DEFAULT_LEASE_SECONDS. */
  leaseSeconds?: number;
  /** Claim only executions of these runner types. Default: any. */
  runnerTypes?: string[];
  /** Timeout of a run whose execution sets none; the deadline is its start plus its timeout. */
  defaultTimeoutSeconds: number;
}

/** The checks of ClaimAndStartOptions, before any SQL. */
export const claimAndStartRules: Rules = {
  workerId: { check: is.id, required: true },
  limit: { check: is.integer(1, MAX_CLAIM_BATCH) },
  leaseSeconds: { check: is.integer(1, MAX_LEASE_SECONDS) },
  runnerTypes: { check: is.stringArray({ maxItems: 100, maxLength: 64 }) },
  defaultTimeoutSeconds: { check: is.integer(1, 2_147_483), required: true },
};

/**
 * The UPDATE (without RETURNING) that starts the rows of the CTE `picked`
 * (pickRunnable): running for the worker, with a lease, started_at, and the
 * deadline (start plus the execution's timeout, else the default). The
 * arguments are the placeholders of the worker id, the lease seconds and the
 * default timeout.
 */
export function startPicked(workerId: string, leaseSeconds: string, defaultTimeout: string): string {
  return `UPDATE executions
          SET status = 'running', worker_id = ${workerId}, lease_expires_at = clock_timestamp() + make_interval(secs => ${leaseSeconds}::integer),
              started_at = clock_timestamp(), pgid = NULL,
              deadline_at = clock_timestamp() + make_interval(secs => COALESCE(timeout_seconds, ${defaultTimeout}::integer))
         FROM picked
        WHERE id = picked_id AND status = 'requested'`;
}
