-- runtimes: how an action or sensor is executed. Built-in runtimes have no pack.

CREATE TABLE runtimes (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ref TEXT NOT NULL,
  pack_id BIGINT REFERENCES packs (id) ON DELETE CASCADE,
  pack_ref TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT,
  kind TEXT NOT NULL,
  execution_config JSONB NOT NULL DEFAULT '{}',
  distributions JSONB NOT NULL DEFAULT '{}',
  installation JSONB NOT NULL DEFAULT '{}',
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT runtimes_ref_key UNIQUE (ref),
  CONSTRAINT runtimes_ref_check CHECK (ref ~ '^[a-z][a-z0-9_-]*\.[a-z0-9_][a-z0-9_-]*$' AND char_length(ref) <= 255),
  CONSTRAINT runtimes_ref_parts_check CHECK (ref = pack_ref || '.' || name),
  CONSTRAINT runtimes_kind_check CHECK (kind IN ('shell', 'python', 'node', 'http', 'native', 'container'))
);

CREATE INDEX runtimes_pack_id_idx ON runtimes (pack_id);
CREATE INDEX runtimes_kind_idx ON runtimes (kind);
-- Listing by pack ref covers built-ins, which have a pack_ref but no pack_id.
CREATE INDEX runtimes_pack_ref_idx ON runtimes (pack_ref);

CREATE TRIGGER runtimes_set_updated_at BEFORE UPDATE ON runtimes
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
