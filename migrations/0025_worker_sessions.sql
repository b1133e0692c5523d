-- workers: the session of the process that registered the worker row. A
-- process's heartbeats and status changes name its session, so a process
-- that lost its row to a newer one (same name, restarted) changes nothing.
ALTER TABLE workers
  ADD COLUMN session TEXT,
  ADD CONSTRAINT workers_session_check CHECK (char_length(session) BETWEEN 1 AND 64);
