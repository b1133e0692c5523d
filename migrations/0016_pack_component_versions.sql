-- Pack components belong to one pack version, and their names follow
-- StackStorm's. Several versions of a pack may be installed, so runtimes,
-- triggers and rules are unique per pack version (pack_id, name), like
-- actions already were, instead of globally by ref; a ref resolves through
-- the active version of its pack. Names may hold dots and capitals
-- (core.st2.IntervalTimer: the pack is what precedes the first dot).
--
-- The patterns (the same as src/refs.ts):
--   pack ref        ^[a-z][a-z0-9_-]*$                          (at most 64)
--   component name  ^[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$  (at most 128)
--   component ref   <pack ref>.<component name>                 (at most 255)

-- runtimes -------------------------------------------------------------------
ALTER TABLE runtimes DROP CONSTRAINT runtimes_ref_key;
ALTER TABLE runtimes DROP CONSTRAINT runtimes_ref_check;
ALTER TABLE runtimes
  ADD CONSTRAINT runtimes_ref_check CHECK (
    ref ~ '^[a-z][a-z0-9_-]*\.[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$' AND char_length(ref) <= 255),
  ADD CONSTRAINT runtimes_pack_ref_check CHECK (pack_ref ~ '^[a-z][a-z0-9_-]*$' AND char_length(pack_ref) <= 64),
  ADD CONSTRAINT runtimes_name_check CHECK (char_length(name) <= 128),
  -- Its leading pack_id also serves lookups by pack (runtimes_pack_id_idx goes).
  ADD CONSTRAINT runtimes_pack_id_name_key UNIQUE (pack_id, name);
DROP INDEX runtimes_pack_id_idx;
-- Built-ins have no pack row: their ref stays unique among them.
CREATE UNIQUE INDEX runtimes_builtin_ref_key ON runtimes (ref) WHERE pack_id IS NULL;
-- Lookups by ref (every version, then the active one is picked).
CREATE INDEX runtimes_ref_idx ON runtimes (ref);

-- triggers -------------------------------------------------------------------
ALTER TABLE triggers DROP CONSTRAINT triggers_ref_key;
ALTER TABLE triggers DROP CONSTRAINT triggers_ref_check;
ALTER TABLE triggers
  ADD CONSTRAINT triggers_ref_check CHECK (
    ref ~ '^[a-z][a-z0-9_-]*\.[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$' AND char_length(ref) <= 255),
  ADD CONSTRAINT triggers_pack_ref_check CHECK (pack_ref ~ '^[a-z][a-z0-9_-]*$' AND char_length(pack_ref) <= 64),
  ADD CONSTRAINT triggers_name_check CHECK (char_length(name) <= 128),
  ADD CONSTRAINT triggers_pack_id_name_key UNIQUE (pack_id, name);
DROP INDEX triggers_pack_id_idx;
CREATE UNIQUE INDEX triggers_builtin_ref_key ON triggers (ref) WHERE pack_id IS NULL;
CREATE INDEX triggers_ref_idx ON triggers (ref);

-- actions (already unique per pack version) ----------------------------------
ALTER TABLE actions DROP CONSTRAINT actions_ref_check;
ALTER TABLE actions DROP CONSTRAINT actions_runner_type_check;
ALTER TABLE actions
  ADD COLUMN disabled_reason TEXT,
  ADD CONSTRAINT actions_ref_check CHECK (
    ref ~ '^[a-z][a-z0-9_-]*\.[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$' AND char_length(ref) <= 255),
  ADD CONSTRAINT actions_pack_ref_check CHECK (pack_ref ~ '^[a-z][a-z0-9_-]*$' AND char_length(pack_ref) <= 64),
  ADD CONSTRAINT actions_name_check CHECK (char_length(name) <= 128),
  -- Attune's runners, and the StackStorm runners it knows but does not have
  -- yet (an action on one is registered disabled, with disabled_reason).
  ADD CONSTRAINT actions_runner_type_check CHECK (runner_type IN (
    'shell', 'shell-script', 'python', 'node', 'http', 'noop', 'inquiry', 'inject-trigger', 'workflow', 'native',
    'orquesta', 'action-chain', 'mistral-v2', 'remote-shell-cmd', 'remote-shell-script', 'winrm-cmd', 'winrm-ps-cmd',
    'winrm-ps-script', 'windows-cmd', 'windows-script', 'announcement', 'cloudslang')),
  -- Why an action cannot run (its runner is not supported yet); only on disabled actions.
  ADD CONSTRAINT actions_disabled_reason_check CHECK (disabled_reason IS NULL OR (NOT enabled AND char_length(disabled_reason) BETWEEN 1 AND 1000));

-- rules ----------------------------------------------------------------------
ALTER TABLE rules DROP CONSTRAINT rules_ref_key;
ALTER TABLE rules DROP CONSTRAINT rules_ref_check;
ALTER TABLE rules DROP CONSTRAINT rules_trigger_ref_check;
ALTER TABLE rules DROP CONSTRAINT rules_action_ref_check;
ALTER TABLE rules
  ADD CONSTRAINT rules_ref_check CHECK (
    ref ~ '^[a-z][a-z0-9_-]*\.[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$' AND char_length(ref) <= 255),
  ADD CONSTRAINT rules_pack_ref_check CHECK (pack_ref ~ '^[a-z][a-z0-9_-]*$' AND char_length(pack_ref) <= 64),
  ADD CONSTRAINT rules_name_check CHECK (char_length(name) <= 128),
  ADD CONSTRAINT rules_trigger_ref_check CHECK (
    trigger_ref ~ '^[a-z][a-z0-9_-]*\.[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$' AND char_length(trigger_ref) <= 255),
  ADD CONSTRAINT rules_action_ref_check CHECK (
    action_ref ~ '^[a-z][a-z0-9_-]*\.[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$' AND char_length(action_ref) <= 255),
  ADD CONSTRAINT rules_pack_id_name_key UNIQUE (pack_id, name);
DROP INDEX rules_pack_id_idx;
CREATE INDEX rules_ref_idx ON rules (ref);
