-- execution_attempts: the attempts of an execution that a retry replaced.
-- When an attempt fails (or times out, or loses its worker) and the
-- execution goes on with another, the attempt's outcome is copied here in the
-- same statement that requeues the execution, so a retry never overwrites
-- what an earlier attempt did. The current (or last) attempt is the
-- execution row itself; ExecutionAttemptRepository.listForExecution returns
-- both, first attempt first.
CREATE TABLE execution_attempts (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  execution_id BIGINT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  worker_id BIGINT REFERENCES workers (id) ON DELETE SET NULL,
  -- The worker's host and the process group the attempt ran in.
  host TEXT,
  pgid INTEGER,
  status TEXT NOT NULL,
  started_at TIMESTAMPTZ,
  finished_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  error TEXT,
  -- A short summary of the attempt's result (exit code and the like), not the whole result.
  result_summary JSONB,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT execution_attempts_execution_id_attempt_key UNIQUE (execution_id, attempt),
  CONSTRAINT execution_attempts_attempt_check CHECK (attempt BETWEEN 1 AND 100),
  CONSTRAINT execution_attempts_status_check CHECK (status IN ('failed', 'timeout', 'abandoned'))
);

CREATE INDEX execution_attempts_worker_id_idx ON execution_attempts (worker_id);
