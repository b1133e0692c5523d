-- actions: executable tasks, unique by name within one pack version.

CREATE TABLE actions (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pack_id BIGINT NOT NULL REFERENCES packs (id) ON DELETE CASCADE,
  pack_ref TEXT NOT NULL,
  name TEXT NOT NULL,
  ref TEXT NOT NULL,
  label TEXT,
  description TEXT,
  runner_type TEXT NOT NULL,
  entry_point TEXT NOT NULL DEFAULT '',
  runtime_id BIGINT REFERENCES runtimes (id) ON DELETE SET NULL,
  enabled BOOLEAN NOT NULL DEFAULT true,
  param_schema JSONB NOT NULL DEFAULT '{}',
  output_schema JSONB NOT NULL DEFAULT '{}',
  timeout_seconds INTEGER,
  tags TEXT[] NOT NULL DEFAULT '{}',
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  -- Unique within one pack version: the same ref may exist in another version.
  -- Its leading pack_id column also serves lookups by pack.
  CONSTRAINT actions_pack_id_name_key UNIQUE (pack_id, name),
  CONSTRAINT actions_ref_check CHECK (ref ~ '^[a-z][a-z0-9_-]*\.[a-z0-9_][a-z0-9_-]*$' AND char_length(ref) <= 255),
  CONSTRAINT actions_ref_parts_check CHECK (ref = pack_ref || '.' || name),
  CONSTRAINT actions_runner_type_check CHECK (runner_type IN ('shell', 'python', 'node', 'http', 'noop', 'inquiry', 'workflow', 'native')),
  CONSTRAINT actions_timeout_seconds_check CHECK (timeout_seconds > 0)
);

CREATE INDEX actions_ref_idx ON actions (ref);
-- Ends in the list order (ref, id), so a page by runner type stops after `limit` rows.
CREATE INDEX actions_runner_type_idx ON actions (runner_type, ref, id);
CREATE INDEX actions_enabled_idx ON actions (id) WHERE enabled;
CREATE INDEX actions_disabled_idx ON actions (id) WHERE NOT enabled;
-- Actions carrying a tag: tags @> ARRAY['x'].
CREATE INDEX actions_tags_idx ON actions USING gin (tags);
CREATE INDEX actions_runtime_id_idx ON actions (runtime_id);
-- Case-insensitive substring search over names (ILIKE '%term%').
CREATE INDEX actions_name_trgm_idx ON actions USING gin (name gin_trgm_ops);

CREATE TRIGGER actions_set_updated_at BEFORE UPDATE ON actions
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
