-- enforcements: a rule matched an event.

CREATE TABLE enforcements (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  rule_id BIGINT REFERENCES rules (id) ON DELETE SET NULL,
  rule_ref TEXT NOT NULL,
  event_id BIGINT REFERENCES events (id) ON DELETE SET NULL,
  trigger_ref TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'created',
  payload JSONB NOT NULL DEFAULT '{}',
  criteria JSONB NOT NULL DEFAULT '{}',
  resolved_params JSONB NOT NULL DEFAULT '{}',
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT enforcements_status_check CHECK (status IN ('created', 'processed', 'disabled', 'failed')),
  CONSTRAINT enforcements_rule_ref_check CHECK (rule_ref ~ '^[a-z][a-z0-9_-]*\.[a-z0-9_][a-z0-9_-]*$'),
  CONSTRAINT enforcements_trigger_ref_check CHECK (trigger_ref ~ '^[a-z][a-z0-9_-]*\.[a-z0-9_][a-z0-9_-]*$'),
  CONSTRAINT enforcements_payload_check CHECK (jsonb_typeof(payload) = 'object'),
  CONSTRAINT enforcements_criteria_check CHECK (jsonb_typeof(criteria) = 'object'),
  CONSTRAINT enforcements_resolved_params_check CHECK (jsonb_typeof(resolved_params) = 'object')
);

-- One enforcement per rule and event: processing an event twice is harmless.
CREATE UNIQUE INDEX enforcements_rule_event_key ON enforcements (rule_id, event_id)
  WHERE rule_id IS NOT NULL AND event_id IS NOT NULL;
CREATE INDEX enforcements_rule_id_idx ON enforcements (rule_id);
CREATE INDEX enforcements_event_id_idx ON enforcements (event_id);
CREATE INDEX enforcements_status_created_at_idx ON enforcements (status, created_at, id);
-- List filters: by rule ref (kept when the rule is gone) and by time, newest first.
CREATE INDEX enforcements_rule_ref_created_at_idx ON enforcements (rule_ref, created_at DESC, id DESC);
CREATE INDEX enforcements_created_at_idx ON enforcements (created_at DESC, id DESC);

CREATE TRIGGER enforcements_set_updated_at BEFORE UPDATE ON enforcements
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
