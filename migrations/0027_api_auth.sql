-- API authentication: each identity's role, and its tokens.
--
-- role: what an identity may do through the HTTP API (docs/api.md): admin
-- everything, operator runs actions, manages rules and answers inquiries,
-- viewer reads. One role per identity: three fixed roles need no join table.
ALTER TABLE identities
  ADD COLUMN role TEXT NOT NULL DEFAULT 'viewer',
  ADD CONSTRAINT identities_role_check CHECK (role IN ('admin', 'operator', 'viewer'));

-- api_tokens: bearer tokens, from a login (kind 'login') or made for scripts
-- and CI (kind 'api'). The token itself is shown once and never stored: only
-- its SHA-256, which is what a request's token is looked up by. Revoking
-- keeps the row (revoked_at) so a listing still shows what existed.
CREATE TABLE api_tokens (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  identity_id BIGINT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  kind TEXT NOT NULL DEFAULT 'api',
  token_hash BYTEA NOT NULL,
  expires_at TIMESTAMPTZ,
  revoked_at TIMESTAMPTZ,
  last_used_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT api_tokens_token_hash_key UNIQUE (token_hash),
  CONSTRAINT api_tokens_kind_check CHECK (kind IN ('login', 'api')),
  CONSTRAINT api_tokens_name_check CHECK (char_length(name) BETWEEN 1 AND 255),
  CONSTRAINT api_tokens_token_hash_check CHECK (octet_length(token_hash) = 32)
);

-- Serves an identity's token list (newest first, keyset pages) and the cascade.
CREATE INDEX api_tokens_identity_id_created_at_idx ON api_tokens (identity_id, created_at DESC, id DESC);
-- Serves the purge of expired tokens.
CREATE INDEX api_tokens_expires_at_idx ON api_tokens (expires_at) WHERE expires_at IS NOT NULL;

CREATE TRIGGER api_tokens_set_updated_at BEFORE UPDATE ON api_tokens
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
