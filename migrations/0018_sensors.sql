-- sensors: a pack version's sensor metadata (the process that watches
-- something and fires triggers). Unique per pack version, like every pack
-- component; the sensor's script is one of the version's pack_files.

CREATE TABLE sensors (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pack_id BIGINT NOT NULL REFERENCES packs (id) ON DELETE CASCADE,
  pack_ref TEXT NOT NULL,
  name TEXT NOT NULL,
  ref TEXT NOT NULL,
  label TEXT,
  description TEXT,
  -- Relative to the pack's sensors/ folder, as written in the metadata.
  entry_point TEXT NOT NULL,
  runner_type TEXT NOT NULL DEFAULT 'python',
  -- The Python class of a Python sensor; null otherwise.
  class_name TEXT,
  -- Refs of the triggers it fires.
  trigger_types TEXT[] NOT NULL DEFAULT '{}',
  param_schema JSONB NOT NULL DEFAULT '{}',
  parameters JSONB NOT NULL DEFAULT '{}',
  -- Seconds between polls for a polling sensor; null for a passive one.
  poll_interval INTEGER,
  enabled BOOLEAN NOT NULL DEFAULT true,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT sensors_pack_id_name_key UNIQUE (pack_id, name),
  CONSTRAINT sensors_ref_check CHECK (
    ref ~ '^[a-z][a-z0-9_-]*\.[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$' AND char_length(ref) <= 255),
  CONSTRAINT sensors_pack_ref_check CHECK (pack_ref ~ '^[a-z][a-z0-9_-]*$' AND char_length(pack_ref) <= 64),
  CONSTRAINT sensors_name_check CHECK (char_length(name) <= 128),
  CONSTRAINT sensors_ref_parts_check CHECK (ref = pack_ref || '.' || name),
  CONSTRAINT sensors_entry_point_check CHECK (char_length(entry_point) BETWEEN 1 AND 4096),
  CONSTRAINT sensors_runner_type_check CHECK (runner_type IN ('python', 'node')),
  CONSTRAINT sensors_param_schema_check CHECK (jsonb_typeof(param_schema) = 'object'),
  CONSTRAINT sensors_parameters_check CHECK (jsonb_typeof(parameters) = 'object'),
  CONSTRAINT sensors_poll_interval_check CHECK (poll_interval > 0)
);

CREATE INDEX sensors_ref_idx ON sensors (ref);
-- Which sensors fire a trigger: trigger_types @> ARRAY['core.st2.webhook'].
CREATE INDEX sensors_trigger_types_idx ON sensors USING gin (trigger_types);
CREATE INDEX sensors_enabled_idx ON sensors (id) WHERE enabled;

CREATE TRIGGER sensors_set_updated_at BEFORE UPDATE ON sensors
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
