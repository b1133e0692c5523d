-- executions: what the worker queue needs beyond the fencing of 0015.
--   run_after       not claimed before this instant (delayed runs, retry back-off)
--   runner_type     copied from the action when requested, so a claim can take
--                   only what a worker's runners can run, without a join
--   retry_on_timeout  a timed-out attempt is retried like a failed one
--   deadline_at     set when a run starts (start + its timeout): the maintenance
--                   role times out runs past it even when their worker died
--   pgid            the process group of the running attempt, for recovery
ALTER TABLE executions
  ADD COLUMN run_after TIMESTAMPTZ NOT NULL DEFAULT now(),
  ADD COLUMN runner_type TEXT,
  ADD COLUMN retry_on_timeout BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN deadline_at TIMESTAMPTZ,
  ADD COLUMN pgid INTEGER,
  ADD CONSTRAINT executions_pgid_check CHECK (pgid > 1),
  ADD CONSTRAINT executions_runner_type_check CHECK (char_length(runner_type) BETWEEN 1 AND 64);

UPDATE executions e SET run_after = e.created_at, runner_type = a.runner_type
  FROM actions a WHERE a.id = e.action_id;
UPDATE executions SET run_after = created_at WHERE action_id IS NULL;

-- A requested execution whose action is gone can never run: end it now, as
-- the worker would when it found no action.
UPDATE executions SET status = 'failed', finished_at = clock_timestamp(),
       error = 'the action ' || action_ref || ' was deleted before the execution ran'
 WHERE status = 'requested' AND runner_type IS NULL;

-- The claim: the oldest runnable rows (run_after, id), filtered by runner type.
-- It replaces executions_runnable_idx, whose order (created_at) ignored run_after.
DROP INDEX executions_runnable_idx;
CREATE INDEX executions_claim_idx ON executions (run_after, id) INCLUDE (runner_type) WHERE status = 'requested';
-- The deadline sweep: running rows past their deadline.
CREATE INDEX executions_deadline_idx ON executions (deadline_at) WHERE status IN ('running', 'canceling');

-- Wake-ups for workers: one NOTIFY per statement that inserts executions, and
-- one per transaction for rows that become requested again (PostgreSQL folds
-- identical notifications within a transaction).
CREATE FUNCTION executions_notify_requested() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('attune_executions', '');
  RETURN NULL;
END;
$$;

CREATE TRIGGER executions_notify_inserted AFTER INSERT ON executions
  FOR EACH STATEMENT EXECUTE FUNCTION executions_notify_requested();
CREATE TRIGGER executions_notify_requeued AFTER UPDATE OF status ON executions
  FOR EACH ROW WHEN (NEW.status = 'requested' AND OLD.status <> 'requested')
  EXECUTE FUNCTION executions_notify_requested();

-- A cancel reaches the worker that runs the execution at once: the payload is
-- the execution id and its worker.
CREATE FUNCTION executions_notify_canceling() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('attune_execution_cancel', json_build_object('id', NEW.id, 'workerId', NEW.worker_id)::text);
  RETURN NULL;
END;
$$;

CREATE TRIGGER executions_notify_canceling AFTER UPDATE OF status ON executions
  FOR EACH ROW WHEN (NEW.status = 'canceling' AND OLD.status <> 'canceling')
  EXECUTE FUNCTION executions_notify_canceling();
