-- schedules: the timers role's state. One row per distinct timer: a timer
-- trigger ref (core.st2.IntervalTimer, CronTimer, DateTimer) with the
-- trigger parameters of at least one enabled rule of an active pack. Rules
-- with the same timer parameters share a row, as in StackStorm (where they
-- share one Trigger and one timer job): each tick is one event, which every
-- rule with those parameters matches once. The timers role keeps the rows in
-- step with the rules (src/sensors/schedule-sync.ts) and claims due rows
-- with FOR UPDATE SKIP LOCKED, writing the tick's event and the next time in
-- one transaction.

CREATE TABLE schedules (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  trigger_ref TEXT NOT NULL,
  trigger_params JSONB NOT NULL DEFAULT '{}',
  -- What identifies the timer with trigger_ref: jsonb's text is canonical
  -- (key order does not matter), and a hash keeps the key short whatever
  -- the parameters hold.
  params_hash TEXT GENERATED ALWAYS AS (md5(trigger_params::text)) STORED,
  -- The next tick; null once there is none (a date timer that fired, or
  -- parameters that give no schedule: see error).
  next_at TIMESTAMPTZ,
  -- The scheduled time of the last tick fired.
  last_at TIMESTAMPTZ,
  fired_count BIGINT NOT NULL DEFAULT 0,
  -- Ticks skipped because they were missed (everything was down).
  missed_count BIGINT NOT NULL DEFAULT 0,
  -- Why the parameters give no schedule; null when they do.
  error TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT schedules_trigger_ref_params_hash_key UNIQUE (trigger_ref, params_hash),
  CONSTRAINT schedules_trigger_ref_check CHECK (
    trigger_ref ~ '^[a-z][a-z0-9_-]*\.[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$' AND char_length(trigger_ref) <= 255),
  CONSTRAINT schedules_trigger_params_check CHECK (jsonb_typeof(trigger_params) = 'object'),
  CONSTRAINT schedules_counts_check CHECK (fired_count >= 0 AND missed_count >= 0),
  CONSTRAINT schedules_error_check CHECK (error IS NULL OR (next_at IS NULL AND char_length(error) BETWEEN 1 AND 2000))
);

-- The claim: due rows, oldest first.
CREATE INDEX schedules_due_idx ON schedules (next_at) WHERE next_at IS NOT NULL;

CREATE TRIGGER schedules_set_updated_at BEFORE UPDATE ON schedules
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The claim fires a schedule only while an enabled rule of an active pack
-- still has its parameters (so a rule disabled a moment ago fires nothing
-- even before the sync removes its row): this index finds that rule by the
-- same hash, however many rules listen to the same timer trigger.
CREATE INDEX rules_trigger_params_enabled_idx ON rules (trigger_ref, md5(trigger_params::text)) WHERE enabled;

-- The sensors role follows sensor changes (and pack activation, through
-- attune_rules_changed from 0020) by NOTIFY, once per statement.
CREATE FUNCTION notify_sensors_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('attune_sensors_changed', TG_TABLE_NAME);
  RETURN NULL;
END
$$;

CREATE TRIGGER sensors_notify_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sensors
  FOR EACH STATEMENT EXECUTE FUNCTION notify_sensors_changed();
