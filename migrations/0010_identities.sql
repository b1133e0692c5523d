-- identities: users and service accounts. Logins are unique case-insensitively.

CREATE TABLE identities (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  login TEXT NOT NULL,
  display_name TEXT,
  email TEXT,
  password_hash TEXT,
  attributes JSONB NOT NULL DEFAULT '{}',
  is_active BOOLEAN NOT NULL DEFAULT true,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT identities_login_check CHECK (login ~ '^[A-Za-z0-9][A-Za-z0-9_.@+-]*$' AND char_length(login) <= 255)
);

CREATE UNIQUE INDEX identities_login_lower_key ON identities (lower(login));

CREATE TRIGGER identities_set_updated_at BEFORE UPDATE ON identities
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
