-- executions: a running execution is always held by a worker under a lease.
-- Workers fence their writes with (worker_id, attempt) and the lease sweep
-- finds every running row by lease_expires_at, so neither may be missing.

-- Rows that break the rule already: a worker with no lease gets one that has
-- already ended, so the next sweep retries or abandons it as for a dead worker.
UPDATE executions SET lease_expires_at = clock_timestamp()
 WHERE status = 'running' AND lease_expires_at IS NULL AND worker_id IS NOT NULL;

-- No worker (it was deleted, or the run was started without one): nobody can
-- finish it, so do now what the sweep would do: retry while attempts remain.
UPDATE executions SET
  status = CASE WHEN attempt < max_attempts THEN 'requested' ELSE 'abandoned' END,
  error = 'running with no worker when running executions came to need one; '
          || CASE WHEN attempt < max_attempts THEN 'retrying' ELSE 'abandoned' END,
  attempt = CASE WHEN attempt < max_attempts THEN attempt + 1 ELSE attempt END,
  started_at = CASE WHEN attempt < max_attempts THEN NULL ELSE started_at END,
  result = CASE WHEN attempt < max_attempts THEN NULL ELSE result END,
  finished_at = CASE WHEN attempt < max_attempts THEN NULL ELSE clock_timestamp() END,
  lease_expires_at = NULL
 WHERE status = 'running' AND worker_id IS NULL;

-- Named after the column each one requires, so a violation names that field.
-- A consequence: a worker that holds a running execution cannot be deleted
-- (ON DELETE SET NULL would leave the run with no worker) until the run ends
-- or the sweep takes it back.
ALTER TABLE executions
  ADD CONSTRAINT executions_lease_expires_at_check CHECK (status <> 'running' OR lease_expires_at IS NOT NULL),
  ADD CONSTRAINT executions_worker_id_check CHECK (status <> 'running' OR worker_id IS NOT NULL);
