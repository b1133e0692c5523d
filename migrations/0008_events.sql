-- events: one firing of a trigger. Append-only: no updated_at.

CREATE TABLE events (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  trigger_id BIGINT REFERENCES triggers (id) ON DELETE SET NULL,
  trigger_ref TEXT NOT NULL,
  payload JSONB NOT NULL DEFAULT '{}',
  source TEXT,
  trace_id TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT events_trigger_ref_check CHECK (trigger_ref ~ '^[a-z][a-z0-9_-]*\.[a-z0-9_][a-z0-9_-]*$'),
  CONSTRAINT events_payload_check CHECK (jsonb_typeof(payload) = 'object')
);

-- Each ordering index ends in id, the list's tie-breaker (created_at DESC, id DESC),
-- so a page is an index scan that stops after `limit` rows, with no sort.
CREATE INDEX events_trigger_ref_created_at_idx ON events (trigger_ref, created_at DESC, id DESC);
CREATE INDEX events_created_at_idx ON events (created_at DESC, id DESC);
CREATE INDEX events_trigger_id_idx ON events (trigger_id);
-- List filters: events from one sensor or webhook, newest first; one trace.
CREATE INDEX events_source_created_at_idx ON events (source, created_at DESC, id DESC);
CREATE INDEX events_trace_id_idx ON events (trace_id) WHERE trace_id IS NOT NULL;
