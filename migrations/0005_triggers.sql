-- triggers: event types. Built-in triggers have no pack row.

CREATE TABLE triggers (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ref TEXT NOT NULL,
  pack_id BIGINT REFERENCES packs (id) ON DELETE CASCADE,
  pack_ref TEXT NOT NULL,
  name TEXT NOT NULL,
  label TEXT,
  description TEXT,
  enabled BOOLEAN NOT NULL DEFAULT true,
  param_schema JSONB NOT NULL DEFAULT '{}',
  payload_schema JSONB NOT NULL DEFAULT '{}',
  webhook_enabled BOOLEAN NOT NULL DEFAULT false,
  webhook_key TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT triggers_ref_key UNIQUE (ref),
  CONSTRAINT triggers_webhook_key_key UNIQUE (webhook_key),
  CONSTRAINT triggers_ref_check CHECK (ref ~ '^[a-z][a-z0-9_-]*\.[a-z0-9_][a-z0-9_-]*$' AND char_length(ref) <= 255),
  CONSTRAINT triggers_ref_parts_check CHECK (ref = pack_ref || '.' || name),
  CONSTRAINT triggers_webhook_key_check CHECK (webhook_key IS NULL OR char_length(webhook_key) >= 16)
);

CREATE INDEX triggers_pack_id_idx ON triggers (pack_id);
-- Listing by pack ref covers built-ins, which have a pack_ref but no pack_id.
CREATE INDEX triggers_pack_ref_idx ON triggers (pack_ref);
-- The enabled filter, either way round.
CREATE INDEX triggers_enabled_idx ON triggers (id) WHERE enabled;
CREATE INDEX triggers_disabled_idx ON triggers (id) WHERE NOT enabled;

CREATE TRIGGER triggers_set_updated_at BEFORE UPDATE ON triggers
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
