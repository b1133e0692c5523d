/**
 * The execution state machine: its statuses, which are final and which are
 * held by a worker under a lease, and every allowed move. Pure data, no SQL;
 * `ExecutionRepository.transition` enforces it in one statement.
 */

/** Mirrors executions_status_check. */
export const EXECUTION_STATUSES = [
  'requested',
  'scheduled',
  'running',
  'paused',
  'succeeded',
  'failed',
  'timeout',
  'canceling',
  'canceled',
  'abandoned',
] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

/** Statuses an execution never leaves; reaching one sets finished_at and clears the lease. */
export const FINAL_EXECUTION_STATUSES: readonly ExecutionStatus[] = ['succeeded', 'failed', 'timeout', 'canceled', 'abandoned'];

/**
 * Statuses held by a worker under a lease; mirrors the predicate of
 * executions_lease_idx. Only the holding worker, naming itself and its
 * attempt (its fence), moves an execution out of one of these, and moving
 * into one is always a worker's write.
 */
export const LEASED_EXECUTION_STATUSES: readonly ExecutionStatus[] = ['scheduled', 'running', 'canceling'];

/**
 * Every allowed move, from → to. Anything not listed is refused with
 * IllegalStateChangeError; final statuses have no way out.
 *
 * - requested → scheduled is what `claim` does; → running serves inline runs
 *   that skip the queue. A requested row has no worker to finish a cancel,
 *   so it goes straight to canceled (there is no requested → canceling).
 * - scheduled → requested hands a claimed row back (graceful shutdown)
 *   without using an attempt.
 * - running → requested is a retry: attempt + 1, refused when no attempts remain.
 * - paused → timeout: the inquiry it waited on timed out. An answered
 *   inquiry's paused → succeeded is not a `transition` (succeeded stays a
 *   worker's move there): `endPaused` writes it, with the answer.
 * - canceling → succeeded / failed / timeout: the run finished before the
 *   cancel reached it.
 */
export const EXECUTION_TRANSITIONS: Readonly<Record<ExecutionStatus, readonly ExecutionStatus[]>> = {
  requested: ['scheduled', 'running', 'canceled', 'failed', 'abandoned'],
  scheduled: ['running', 'requested', 'canceling', 'canceled', 'failed', 'abandoned'],
  running: ['succeeded', 'failed', 'timeout', 'paused', 'canceling', 'abandoned', 'requested'],
  paused: ['running', 'canceling', 'canceled', 'failed', 'timeout'],
  canceling: ['canceled', 'succeeded', 'failed', 'timeout'],
  succeeded: [],
  failed: [],
  timeout: [],
  canceled: [],
  abandoned: [],
};

/** True when the transition table allows from → to. */
export function canTransition(from: ExecutionStatus, to: ExecutionStatus): boolean {
  return EXECUTION_TRANSITIONS[from]?.includes(to) ?? false;
}

/** Statuses from which `to` may be reached. */
export function statusesLeadingTo(to: ExecutionStatus): ExecutionStatus[] {
  return EXECUTION_STATUSES.filter((from) => EXECUTION_TRANSITIONS[from].includes(to));
}

/** True for a status the execution never leaves. */
export function isFinalStatus(status: ExecutionStatus): boolean {
  return FINAL_EXECUTION_STATUSES.includes(status);
}

/** True for a status a worker holds under a lease (scheduled, running, canceling). */
export function isLeasedStatus(status: ExecutionStatus): boolean {
  return LEASED_EXECUTION_STATUSES.includes(status);
}
