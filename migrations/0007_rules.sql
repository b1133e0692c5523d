-- rules: connect a trigger to an action. Refs are kept when the targets go.

CREATE TABLE rules (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ref TEXT NOT NULL,
  pack_id BIGINT NOT NULL REFERENCES packs (id) ON DELETE CASCADE,
  pack_ref TEXT NOT NULL,
  name TEXT NOT NULL,
  label TEXT,
  description TEXT,
  trigger_id BIGINT REFERENCES triggers (id) ON DELETE SET NULL,
  trigger_ref TEXT NOT NULL,
  action_id BIGINT REFERENCES actions (id) ON DELETE SET NULL,
  action_ref TEXT NOT NULL,
  criteria JSONB NOT NULL DEFAULT '{}',
  action_params JSONB NOT NULL DEFAULT '{}',
  trigger_params JSONB NOT NULL DEFAULT '{}',
  enabled BOOLEAN NOT NULL DEFAULT true,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT rules_ref_key UNIQUE (ref),
  CONSTRAINT rules_ref_check CHECK (ref ~ '^[a-z][a-z0-9_-]*\.[a-z0-9_][a-z0-9_-]*$' AND char_length(ref) <= 255),
  CONSTRAINT rules_ref_parts_check CHECK (ref = pack_ref || '.' || name),
  CONSTRAINT rules_trigger_ref_check CHECK (trigger_ref ~ '^[a-z][a-z0-9_-]*\.[a-z0-9_][a-z0-9_-]*$'),
  CONSTRAINT rules_action_ref_check CHECK (action_ref ~ '^[a-z][a-z0-9_-]*\.[a-z0-9_][a-z0-9_-]*$'),
  CONSTRAINT rules_criteria_check CHECK (jsonb_typeof(criteria) = 'object'),
  CONSTRAINT rules_action_params_check CHECK (jsonb_typeof(action_params) = 'object'),
  CONSTRAINT rules_trigger_params_check CHECK (jsonb_typeof(trigger_params) = 'object')
);

-- The rule engine's question: which enabled rules listen to this trigger?
CREATE INDEX rules_trigger_ref_enabled_idx ON rules (trigger_ref) WHERE enabled;
-- Its twin for disabled rules: together they serve the list filter by trigger
-- ref whatever the flag (a BitmapOr of the two), while the engine's query
-- keeps the small enabled-only index to itself. By ref rather than
-- trigger_id, because refs outlive their targets.
CREATE INDEX rules_trigger_ref_disabled_idx ON rules (trigger_ref) WHERE NOT enabled;
CREATE INDEX rules_action_id_idx ON rules (action_id);
CREATE INDEX rules_action_ref_idx ON rules (action_ref);
CREATE INDEX rules_pack_id_idx ON rules (pack_id);
CREATE INDEX rules_trigger_id_idx ON rules (trigger_id);
-- The enabled = false filter (enabled = true is served by the partial index above).
CREATE INDEX rules_disabled_idx ON rules (id) WHERE NOT enabled;

CREATE TRIGGER rules_set_updated_at BEFORE UPDATE ON rules
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
