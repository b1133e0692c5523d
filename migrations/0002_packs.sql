-- packs: a versioned bundle of automation content.

-- The text a pack search runs over. Declared IMMUTABLE so it can feed a stored
-- generated column: array_to_string is only STABLE in general, but over text[]
-- with a fixed separator its result never changes.
CREATE FUNCTION pack_search_document(name TEXT, description TEXT, keywords TEXT[]) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT setweight(to_tsvector('simple'::regconfig, coalesce(name, '')), 'A')
      || setweight(to_tsvector('simple'::regconfig, coalesce(array_to_string(keywords, ' '), '')), 'B')
      || setweight(to_tsvector('simple'::regconfig, coalesce(description, '')), 'C')
$$;

CREATE TABLE packs (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ref TEXT NOT NULL,
  version TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT,
  author TEXT,
  email TEXT,
  keywords TEXT[] NOT NULL DEFAULT '{}',
  dependencies JSONB NOT NULL DEFAULT '{}',
  python_requirements TEXT[] NOT NULL DEFAULT '{}',
  node_dependencies JSONB NOT NULL DEFAULT '{}',
  conf_schema JSONB NOT NULL DEFAULT '{}',
  config JSONB NOT NULL DEFAULT '{}',
  meta JSONB NOT NULL DEFAULT '{}',
  is_active BOOLEAN NOT NULL DEFAULT true,
  is_system BOOLEAN NOT NULL DEFAULT false,
  search_vector tsvector GENERATED ALWAYS AS (pack_search_document(name, description, keywords)) STORED,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT packs_ref_check CHECK (ref ~ '^[a-z][a-z0-9_-]*$' AND char_length(ref) <= 64),
  CONSTRAINT packs_version_check CHECK (
    version ~ '^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$'
    AND char_length(version) <= 64),
  CONSTRAINT packs_name_check CHECK (char_length(name) BETWEEN 1 AND 255),
  CONSTRAINT packs_dependencies_check CHECK (jsonb_typeof(dependencies) = 'object'),
  CONSTRAINT packs_node_dependencies_check CHECK (jsonb_typeof(node_dependencies) = 'object'),
  CONSTRAINT packs_ref_version_key UNIQUE (ref, version)
);

-- Only one version of a pack is the one in use. (packs_ref_version_key also
-- serves every lookup by ref: ref is its leading column.)
CREATE UNIQUE INDEX packs_one_active_per_ref ON packs (ref) WHERE is_active;
CREATE INDEX packs_search_idx ON packs USING gin (search_vector);
-- Packs with a keyword: keywords @> ARRAY['x'].
CREATE INDEX packs_keywords_idx ON packs USING gin (keywords);
-- Which packs depend on a given pack: dependencies ? 'core'.
CREATE INDEX packs_dependencies_idx ON packs USING gin (dependencies);

CREATE TRIGGER packs_set_updated_at BEFORE UPDATE ON packs
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
