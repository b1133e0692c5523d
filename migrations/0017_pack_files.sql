-- pack_files: a pack version's files, content-addressed. The bytes live once
-- per SHA-256 in pack_file_contents, so versions that share a file share its
-- content; pack_files lists each version's paths. Workers materialise a
-- version from these rows (engine.md, "Pack files"), so no shared volume is
-- needed. Content no version references any more is removed when a pack is
-- uninstalled (src/packs/uninstall.ts).

-- Append-only: a content never changes (its hash names it), so no updated_at.
CREATE TABLE pack_file_contents (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sha256 TEXT NOT NULL,
  size BIGINT NOT NULL,
  content BYTEA NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT pack_file_contents_sha256_key UNIQUE (sha256),
  CONSTRAINT pack_file_contents_sha256_check CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  CONSTRAINT pack_file_contents_size_check CHECK (size = octet_length(content))
);

CREATE TABLE pack_files (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pack_id BIGINT NOT NULL REFERENCES packs (id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  size BIGINT NOT NULL,
  -- RESTRICT: a content goes only once no version lists it. The hash is kept
  -- twice, like every reference (id + text copy).
  content_id BIGINT NOT NULL REFERENCES pack_file_contents (id) ON DELETE RESTRICT,
  sha256 TEXT NOT NULL,
  executable BOOLEAN NOT NULL DEFAULT false,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  -- Its leading pack_id serves "every file of this version".
  CONSTRAINT pack_files_pack_id_path_key UNIQUE (pack_id, path),
  -- Relative, '/'-separated, no '..', '.' or empty segment, no control characters.
  CONSTRAINT pack_files_path_check CHECK (
    char_length(path) BETWEEN 1 AND 512
    AND path !~ '^/' AND path !~ '\\' AND path !~ '[[:cntrl:]]'
    AND path !~ '(^|/)\.\.?(/|$)' AND path !~ '//' AND path !~ '/$'),
  CONSTRAINT pack_files_size_check CHECK (size >= 0),
  CONSTRAINT pack_files_sha256_check CHECK (sha256 ~ '^[0-9a-f]{64}$')
);

-- Which versions still use a content: the garbage collection's question
-- (and the index every foreign key column has).
CREATE INDEX pack_files_content_id_idx ON pack_files (content_id);

CREATE TRIGGER pack_files_set_updated_at BEFORE UPDATE ON pack_files
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
