-- Foundation shared by every table: extensions and the updated_at trigger.
-- The migrator creates the attune schema and sets search_path before this runs.

-- Trigram operators serve case-insensitive substring search (actions by name).
-- pg_trgm is a trusted extension: a database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- One BEFORE UPDATE trigger function keeps updated_at current on every mutable
-- table. clock_timestamp() rather than now(): an update inside the same
-- transaction as the insert must still move updated_at past created_at. And at
-- least one millisecond past its old value: clients that keep milliseconds
-- (JavaScript dates, HTTP caches, optimistic-concurrency checks) must see
-- every update move it, however quickly two updates follow each other.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := greatest(clock_timestamp(), OLD.updated_at + interval '1 millisecond');
  RETURN NEW;
END
$$;
