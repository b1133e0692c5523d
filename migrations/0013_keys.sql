-- keys: configuration values and secrets. Secrets are encrypted in the
-- application (AES-256-GCM); the database only ever sees ciphertext.

CREATE TABLE keys (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner_type TEXT NOT NULL,
  owner TEXT NOT NULL,
  name TEXT NOT NULL,
  -- Derived, so it can never disagree with its parts: system.<name>,
  -- pack.<pack>.<name>, identity.<login>.<name>, action.<action_ref>.<name>.
  ref TEXT GENERATED ALWAYS AS (
    CASE WHEN owner_type = 'system' THEN 'system.' || name ELSE owner_type || '.' || owner || '.' || name END
  ) STORED,
  value JSONB NOT NULL,
  encrypted BOOLEAN NOT NULL DEFAULT false,
  encryption_key_id TEXT,
  description TEXT,
  expires_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT keys_owner_type_name_key UNIQUE (owner_type, owner, name),
  CONSTRAINT keys_ref_key UNIQUE (ref),
  CONSTRAINT keys_owner_type_check CHECK (owner_type IN ('system', 'pack', 'identity', 'action')),
  -- A system key's owner is 'system'; any other owner may also be named
  -- 'system' (a pack or login of that name), its ref still differs.
  CONSTRAINT keys_owner_check CHECK ((owner_type <> 'system' OR owner = 'system') AND char_length(owner) BETWEEN 1 AND 255),
  CONSTRAINT keys_name_check CHECK (name ~ '^[A-Za-z0-9_][A-Za-z0-9_-]*$' AND char_length(name) <= 255),
  CONSTRAINT keys_encrypted_check CHECK (encrypted = (encryption_key_id IS NOT NULL)
    AND (NOT encrypted OR jsonb_typeof(value) = 'string'))
);

CREATE INDEX keys_expires_at_idx ON keys (expires_at) WHERE expires_at IS NOT NULL;
-- Serves rotation (every key under one encryption key id) and the encrypted filter.
CREATE INDEX keys_encryption_key_id_idx ON keys (encryption_key_id) WHERE encrypted;
-- Serves the name-prefix filter (LIKE 'prefix%') across owners, whatever the collation.
CREATE INDEX keys_name_pattern_idx ON keys (name text_pattern_ops);

CREATE TRIGGER keys_set_updated_at BEFORE UPDATE ON keys
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
