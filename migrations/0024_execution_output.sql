-- execution_output: what an execution's processes printed, in chunks, in
-- order per attempt. Written by the worker (fenced: a chunk from a worker that
-- no longer holds the execution is not stored); followed live through the
-- attune_execution_output channel; pruned by the maintenance role.
CREATE TABLE execution_output (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  execution_id BIGINT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  stream TEXT NOT NULL,
  data TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  -- Also serves paging through an execution's output in order.
  CONSTRAINT execution_output_execution_id_attempt_seq_key UNIQUE (execution_id, attempt, seq),
  CONSTRAINT execution_output_stream_check CHECK (stream IN ('stdout', 'stderr')),
  CONSTRAINT execution_output_seq_check CHECK (seq >= 0),
  CONSTRAINT execution_output_attempt_check CHECK (attempt BETWEEN 1 AND 100)
);

-- Retention: the oldest chunks first.
CREATE INDEX execution_output_created_at_idx ON execution_output (created_at);
