-- identities: users and service accounts. Logins are unique case-insensitively.

CREATE TABLE identities (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  login TEXT NOT NULL,
  display_name TEXT,
  email TEXT,
  -- scrypt hash with its parameters and salt (src/crypto/passwords.ts); NULL for
  -- service accounts. Never selected by the repository: has_password says
  -- whether one is set.
  password_hash TEXT,
  has_password BOOLEAN GENERATED ALWAYS AS (password_hash IS NOT NULL) STORED,
  attributes JSONB NOT NULL DEFAULT '{}',
  is_active BOOLEAN NOT NULL DEFAULT true,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT identities_login_check CHECK (login ~ '^[A-Za-z0-9][A-Za-z0-9_.@+-]*$' AND char_length(login) <= 255)
);

CREATE UNIQUE INDEX identities_login_lower_key ON identities (lower(login));
-- Case-insensitive prefix search (lower(x) LIKE 'abc%') over login and display
-- name. text_pattern_ops so LIKE can use the index whatever the collation.
CREATE INDEX identities_login_lower_pattern_idx ON identities (lower(login) text_pattern_ops);
CREATE INDEX identities_display_name_lower_pattern_idx ON identities (lower(display_name) text_pattern_ops);
CREATE INDEX identities_is_active_idx ON identities (is_active);

CREATE TRIGGER identities_set_updated_at BEFORE UPDATE ON identities
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
