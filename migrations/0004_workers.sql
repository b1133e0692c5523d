-- workers: processes that run executions.

CREATE TABLE workers (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name TEXT NOT NULL,
  worker_type TEXT NOT NULL DEFAULT 'local',
  runtime_id BIGINT REFERENCES runtimes (id) ON DELETE SET NULL,
  host TEXT,
  port INTEGER,
  status TEXT NOT NULL DEFAULT 'inactive',
  capabilities JSONB NOT NULL DEFAULT '{}',
  meta JSONB NOT NULL DEFAULT '{}',
  last_heartbeat TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT workers_name_key UNIQUE (name),
  CONSTRAINT workers_name_check CHECK (char_length(name) BETWEEN 1 AND 255),
  CONSTRAINT workers_worker_type_check CHECK (worker_type IN ('local', 'remote', 'container')),
  CONSTRAINT workers_port_check CHECK (port BETWEEN 1 AND 65535),
  CONSTRAINT workers_status_check CHECK (status IN ('active', 'inactive', 'busy', 'error'))
);

-- Live workers: status filter, then the most recent heartbeat.
CREATE INDEX workers_status_heartbeat_idx ON workers (status, last_heartbeat);
CREATE INDEX workers_runtime_id_idx ON workers (runtime_id);
CREATE INDEX workers_worker_type_idx ON workers (worker_type);

CREATE TRIGGER workers_set_updated_at BEFORE UPDATE ON workers
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
