-- executions: one run of an action, and the work queue workers claim from.

CREATE TABLE executions (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  action_id BIGINT REFERENCES actions (id) ON DELETE SET NULL,
  action_ref TEXT NOT NULL,
  params JSONB NOT NULL DEFAULT '{}',
  parent_id BIGINT REFERENCES executions (id) ON DELETE CASCADE,
  enforcement_id BIGINT REFERENCES enforcements (id) ON DELETE SET NULL,
  requested_by BIGINT REFERENCES identities (id) ON DELETE SET NULL,
  worker_id BIGINT REFERENCES workers (id) ON DELETE SET NULL,
  status TEXT NOT NULL DEFAULT 'requested',
  result JSONB,
  error TEXT,
  attempt INTEGER NOT NULL DEFAULT 1,
  max_attempts INTEGER NOT NULL DEFAULT 1,
  timeout_seconds INTEGER,
  lease_expires_at TIMESTAMPTZ,
  started_at TIMESTAMPTZ,
  finished_at TIMESTAMPTZ,
  trace_id TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT executions_action_ref_check CHECK (action_ref ~ '^[a-z][a-z0-9_-]*\.[a-z0-9_][a-z0-9_-]*$'),
  CONSTRAINT executions_status_check CHECK (status IN (
    'requested', 'scheduled', 'running', 'paused', 'succeeded', 'failed', 'timeout', 'canceling', 'canceled', 'abandoned')),
  CONSTRAINT executions_attempt_check CHECK (attempt >= 1 AND attempt <= max_attempts),
  CONSTRAINT executions_max_attempts_check CHECK (max_attempts BETWEEN 1 AND 100),
  CONSTRAINT executions_timeout_seconds_check CHECK (timeout_seconds > 0),
  CONSTRAINT executions_parent_id_check CHECK (parent_id <> id)
);

CREATE INDEX executions_status_created_at_idx ON executions (status, created_at, id);
-- The default listing (newest first, read backwards) and the since / until filters.
CREATE INDEX executions_created_at_idx ON executions (created_at, id);
CREATE INDEX executions_action_ref_created_at_idx ON executions (action_ref, created_at DESC, id DESC);
CREATE INDEX executions_parent_id_idx ON executions (parent_id);
CREATE INDEX executions_enforcement_id_idx ON executions (enforcement_id);
CREATE INDEX executions_action_id_idx ON executions (action_id);
CREATE INDEX executions_requested_by_idx ON executions (requested_by);
CREATE INDEX executions_worker_id_idx ON executions (worker_id);
-- The queue: workers claim the oldest requested rows with FOR UPDATE SKIP LOCKED.
CREATE INDEX executions_runnable_idx ON executions (created_at, id) WHERE status = 'requested';
-- Lease expiry sweep: claimed rows whose worker stopped renewing.
CREATE INDEX executions_lease_idx ON executions (lease_expires_at)
  WHERE status IN ('scheduled', 'running', 'canceling');

CREATE TRIGGER executions_set_updated_at BEFORE UPDATE ON executions
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
