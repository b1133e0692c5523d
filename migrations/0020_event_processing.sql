-- The event pipeline: the trigger parameters an event fired with, the queue
-- of events the rules role has not processed yet, why an enforcement failed,
-- and the wake-ups (attune_events, attune_rules_changed).

-- The parameters the trigger fired with (a webhook's {url}, a timer rule's
-- schedule); a rule's trigger parameters must agree with them to match.
ALTER TABLE events ADD COLUMN trigger_params JSONB NOT NULL DEFAULT '{}';
ALTER TABLE events ADD CONSTRAINT events_trigger_params_check CHECK (jsonb_typeof(trigger_params) = 'object');

-- Unprocessed events are a queue apart from the events themselves: the rules
-- role claims rows with FOR UPDATE SKIP LOCKED and deletes them in the
-- transaction that writes the enforcements. The events table stays
-- append-only, and the queue (and its index) holds only the backlog.
-- Rows are inserted and deleted, never updated: no updated_at.
CREATE TABLE event_queue (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id BIGINT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT event_queue_event_id_key UNIQUE (event_id)
);

-- Every event inserted, by any statement, is queued in that statement, and
-- the rules role is woken once per statement (not once per row).
-- Trigger functions that write tables keep the migrator's search_path (attune, public):
-- a session with another search_path (psql, a tool naming attune.events) still finds them.
CREATE FUNCTION enqueue_events() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO event_queue (event_id) SELECT id FROM new_events;
  PERFORM pg_notify('attune_events', '');
  RETURN NULL;
END
$$;

CREATE TRIGGER events_enqueue AFTER INSERT ON events
  REFERENCING NEW TABLE AS new_events
  FOR EACH STATEMENT EXECUTE FUNCTION enqueue_events();

-- Why an enforcement failed (a template, a cast, a parameter that does not
-- validate) or was disabled (the action is off); null when processed.
ALTER TABLE enforcements ADD COLUMN error TEXT;

-- Rule lookups are cached by the rules role; any change to what they are
-- built from (rules, actions, triggers, packs and their activation or
-- configuration) tells every cache to drop them, once per statement.
CREATE FUNCTION notify_rules_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('attune_rules_changed', TG_TABLE_NAME);
  RETURN NULL;
END
$$;

CREATE TRIGGER rules_notify_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rules
  FOR EACH STATEMENT EXECUTE FUNCTION notify_rules_changed();
CREATE TRIGGER actions_notify_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON actions
  FOR EACH STATEMENT EXECUTE FUNCTION notify_rules_changed();
CREATE TRIGGER triggers_notify_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON triggers
  FOR EACH STATEMENT EXECUTE FUNCTION notify_rules_changed();
CREATE TRIGGER packs_notify_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON packs
  FOR EACH STATEMENT EXECUTE FUNCTION notify_rules_changed();
