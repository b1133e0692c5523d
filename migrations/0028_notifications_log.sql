-- notifications becomes a log every listener reads, not an outbox one node
-- drains. Rows on the channel attune_stream record what the live stream shows
-- (executions, events, enforcements, inquiries, rules, packs); each reader
-- keeps its own position (the last id it saw: an SSE client's Last-Event-ID)
-- and reads `id > position`, so no reader can hide a row from another. The
-- maintenance role deletes rows past the retention (age and count).
--
-- The state column is deprecated: the log's rows are written 'delivered'
-- (nothing is left to deliver by state, and the outbox queries that read
-- state 'created' never see them); rows on other channels keep the outbox
-- behaviour of 0014 for code that still writes them.
COMMENT ON COLUMN notifications.state IS
  'Deprecated (0028): notifications are a log read by id; log rows are written delivered';

-- One NOTIFY per transaction for the log (identical payloads fold), instead of
-- one per row: a batch of a thousand executions wakes each stream hub once.
DROP TRIGGER notifications_notify ON notifications;
CREATE TRIGGER notifications_notify AFTER INSERT ON notifications
  FOR EACH ROW WHEN (NEW.channel <> 'attune_stream')
  EXECUTE FUNCTION notify_notification();

CREATE FUNCTION notify_notification_log() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM new_notifications WHERE channel = 'attune_stream') THEN
    PERFORM pg_notify('attune_stream', '');
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER notifications_notify_log AFTER INSERT ON notifications
  REFERENCING NEW TABLE AS new_notifications
  FOR EACH STATEMENT EXECUTE FUNCTION notify_notification_log();

-- Inserts: one INSERT … SELECT per statement from its transition table.
CREATE FUNCTION log_inserted() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_TABLE_NAME = 'executions' THEN
    INSERT INTO notifications (channel, entity_type, entity_id, activity, state, content)
    SELECT 'attune_stream', 'execution', id, 'created', 'delivered',
           jsonb_build_object('status', status, 'action_ref', action_ref, 'parent_id', parent_id, 'enforcement_id', enforcement_id)
      FROM new_rows ORDER BY id;
  ELSIF TG_TABLE_NAME = 'events' THEN
    INSERT INTO notifications (channel, entity_type, entity_id, activity, state, content)
    SELECT 'attune_stream', 'event', id, 'created', 'delivered',
           jsonb_build_object('trigger_ref', trigger_ref, 'source', source)
      FROM new_rows ORDER BY id;
  ELSIF TG_TABLE_NAME = 'enforcements' THEN
    INSERT INTO notifications (channel, entity_type, entity_id, activity, state, content)
    SELECT 'attune_stream', 'enforcement', id, 'created', 'delivered',
           jsonb_build_object('status', status, 'rule_ref', rule_ref, 'trigger_ref', trigger_ref, 'event_id', event_id)
      FROM new_rows ORDER BY id;
  ELSIF TG_TABLE_NAME = 'inquiries' THEN
    INSERT INTO notifications (channel, entity_type, entity_id, activity, state, content)
    SELECT 'attune_stream', 'inquiry', id, 'created', 'delivered',
           jsonb_build_object('status', status, 'execution_id', execution_id)
      FROM new_rows ORDER BY id;
  ELSIF TG_TABLE_NAME = 'rules' THEN
    INSERT INTO notifications (channel, entity_type, entity_id, activity, state, content)
    SELECT 'attune_stream', 'rule', id, 'created', 'delivered',
           jsonb_build_object('ref', ref, 'enabled', enabled, 'trigger_ref', trigger_ref)
      FROM new_rows ORDER BY id;
  ELSIF TG_TABLE_NAME = 'packs' THEN
    INSERT INTO notifications (channel, entity_type, entity_id, activity, state, content)
    SELECT 'attune_stream', 'pack', id, 'created', 'delivered',
           jsonb_build_object('ref', ref, 'version', version, 'is_active', is_active)
      FROM new_rows ORDER BY id;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER executions_log_inserted AFTER INSERT ON executions
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION log_inserted();
CREATE TRIGGER events_log_inserted AFTER INSERT ON events
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION log_inserted();
CREATE TRIGGER enforcements_log_inserted AFTER INSERT ON enforcements
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION log_inserted();
CREATE TRIGGER inquiries_log_inserted AFTER INSERT ON inquiries
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION log_inserted();
CREATE TRIGGER rules_log_inserted AFTER INSERT ON rules
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION log_inserted();
CREATE TRIGGER packs_log_inserted AFTER INSERT ON packs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION log_inserted();

-- Status changes: row triggers whose WHEN is checked without calling the
-- function, so the frequent updates that leave status alone (lease renewals,
-- heartbeats) cost nothing here.
CREATE FUNCTION log_status_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  content JSONB;
  activity TEXT := 'status_changed';
BEGIN
  IF TG_TABLE_NAME = 'executions' THEN
    content := jsonb_build_object('status', NEW.status, 'previous_status', OLD.status, 'action_ref', NEW.action_ref,
                                  'parent_id', NEW.parent_id, 'enforcement_id', NEW.enforcement_id);
  ELSIF TG_TABLE_NAME = 'enforcements' THEN
    content := jsonb_build_object('status', NEW.status, 'previous_status', OLD.status, 'rule_ref', NEW.rule_ref,
                                  'trigger_ref', NEW.trigger_ref, 'event_id', NEW.event_id);
  ELSE
    content := jsonb_build_object('status', NEW.status, 'previous_status', OLD.status, 'execution_id', NEW.execution_id);
    IF NEW.status = 'responded' THEN activity := 'responded';
    ELSIF NEW.status = 'timeout' THEN activity := 'expired';
    END IF;
  END IF;
  INSERT INTO notifications (channel, entity_type, entity_id, activity, state, content)
  VALUES ('attune_stream', TG_ARGV[0], NEW.id, activity, 'delivered', content);
  RETURN NULL;
END
$$;

CREATE TRIGGER executions_log_status AFTER UPDATE OF status ON executions
  FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status) EXECUTE FUNCTION log_status_changed('execution');
CREATE TRIGGER enforcements_log_status AFTER UPDATE OF status ON enforcements
  FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status) EXECUTE FUNCTION log_status_changed('enforcement');
CREATE TRIGGER inquiries_log_status AFTER UPDATE OF status ON inquiries
  FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status) EXECUTE FUNCTION log_status_changed('inquiry');

-- Rules and packs change rarely: a row per changed or deleted row, per statement.
CREATE FUNCTION log_component_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'rules' THEN
    INSERT INTO notifications (channel, entity_type, entity_id, activity, state, content)
    SELECT 'attune_stream', 'rule', id, 'updated', 'delivered', jsonb_build_object('ref', ref, 'enabled', enabled, 'trigger_ref', trigger_ref)
      FROM new_rows ORDER BY id;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO notifications (channel, entity_type, entity_id, activity, state, content)
    SELECT 'attune_stream', 'pack', id, 'updated', 'delivered', jsonb_build_object('ref', ref, 'version', version, 'is_active', is_active)
      FROM new_rows ORDER BY id;
  ELSIF TG_TABLE_NAME = 'rules' THEN
    INSERT INTO notifications (channel, entity_type, entity_id, activity, state, content)
    SELECT 'attune_stream', 'rule', id, 'deleted', 'delivered', jsonb_build_object('ref', ref)
      FROM old_rows ORDER BY id;
  ELSE
    INSERT INTO notifications (channel, entity_type, entity_id, activity, state, content)
    SELECT 'attune_stream', 'pack', id, 'deleted', 'delivered', jsonb_build_object('ref', ref, 'version', version)
      FROM old_rows ORDER BY id;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER rules_log_updated AFTER UPDATE ON rules
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION log_component_changed();
CREATE TRIGGER rules_log_deleted AFTER DELETE ON rules
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION log_component_changed();
CREATE TRIGGER packs_log_updated AFTER UPDATE ON packs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION log_component_changed();
CREATE TRIGGER packs_log_deleted AFTER DELETE ON packs
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION log_component_changed();
