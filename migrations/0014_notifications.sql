-- notifications: an outbox of changes. Inserting a row wakes listeners on its
-- channel with a small JSON message; they read the row for the rest.

CREATE TABLE notifications (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  channel TEXT NOT NULL,
  entity_type TEXT NOT NULL,
  entity_id BIGINT NOT NULL,
  activity TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'created',
  content JSONB NOT NULL DEFAULT '{}',
  -- Why the last delivery failed (state 'error'); cleared when delivered.
  error TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  -- A NOTIFY channel is an identifier: at most 63 bytes.
  CONSTRAINT notifications_channel_check CHECK (channel ~ '^[a-z_][a-z0-9_.:-]*$' AND octet_length(channel) <= 63),
  CONSTRAINT notifications_entity_type_check CHECK (entity_type IN (
    'pack', 'runtime', 'worker', 'trigger', 'action', 'rule', 'event', 'enforcement',
    'execution', 'inquiry', 'identity', 'key', 'notification')),
  CONSTRAINT notifications_activity_check CHECK (activity IN (
    'created', 'updated', 'deleted', 'status_changed', 'responded', 'expired')),
  CONSTRAINT notifications_state_check CHECK (state IN ('created', 'delivered', 'error'))
);

CREATE INDEX notifications_state_created_at_idx ON notifications (state, created_at);
CREATE INDEX notifications_channel_created_at_idx ON notifications (channel, created_at);
CREATE INDEX notifications_entity_idx ON notifications (entity_type, entity_id);
-- Serves the unfiltered list (ORDER BY created_at) and the since filter alone.
CREATE INDEX notifications_created_at_idx ON notifications (created_at);

CREATE FUNCTION notify_notification() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(NEW.channel, json_build_object(
    'id', NEW.id,
    'entity_type', NEW.entity_type,
    'entity_id', NEW.entity_id,
    'activity', NEW.activity)::text);
  RETURN NEW;
END
$$;

CREATE TRIGGER notifications_notify AFTER INSERT ON notifications
  FOR EACH ROW EXECUTE FUNCTION notify_notification();

CREATE TRIGGER notifications_set_updated_at BEFORE UPDATE ON notifications
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
