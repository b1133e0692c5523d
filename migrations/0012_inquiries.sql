-- inquiries: a question to a person that an execution waits on.

CREATE TABLE inquiries (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  execution_id BIGINT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
  prompt TEXT NOT NULL,
  response_schema JSONB NOT NULL DEFAULT '{}',
  assigned_to BIGINT REFERENCES identities (id) ON DELETE SET NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  response JSONB,
  responded_by BIGINT REFERENCES identities (id) ON DELETE SET NULL,
  timeout_at TIMESTAMPTZ,
  responded_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT inquiries_status_check CHECK (status IN ('pending', 'responded', 'timeout', 'canceled')),
  CONSTRAINT inquiries_prompt_check CHECK (char_length(prompt) >= 1),
  CONSTRAINT inquiries_response_check CHECK ((status = 'responded') = (responded_at IS NOT NULL))
);

CREATE INDEX inquiries_status_timeout_at_idx ON inquiries (status, timeout_at);
CREATE INDEX inquiries_execution_id_idx ON inquiries (execution_id);
CREATE INDEX inquiries_assigned_to_idx ON inquiries (assigned_to);
CREATE INDEX inquiries_responded_by_idx ON inquiries (responded_by);

CREATE TRIGGER inquiries_set_updated_at BEFORE UPDATE ON inquiries
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
