-- History keeps the refs of what it recorded (events, enforcements,
-- executions). Since 0016 component names follow StackStorm's (dots and
-- capitals: core.st2.IntervalTimer), so these copies accept the same refs.
ALTER TABLE events DROP CONSTRAINT events_trigger_ref_check;
ALTER TABLE events ADD CONSTRAINT events_trigger_ref_check
  CHECK (trigger_ref ~ '^[a-z][a-z0-9_-]*\.[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$');

ALTER TABLE enforcements DROP CONSTRAINT enforcements_rule_ref_check;
ALTER TABLE enforcements DROP CONSTRAINT enforcements_trigger_ref_check;
ALTER TABLE enforcements
  ADD CONSTRAINT enforcements_rule_ref_check CHECK (rule_ref ~ '^[a-z][a-z0-9_-]*\.[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$'),
  ADD CONSTRAINT enforcements_trigger_ref_check CHECK (trigger_ref ~ '^[a-z][a-z0-9_-]*\.[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$');

ALTER TABLE executions DROP CONSTRAINT executions_action_ref_check;
ALTER TABLE executions ADD CONSTRAINT executions_action_ref_check
  CHECK (action_ref ~ '^[a-z][a-z0-9_-]*\.[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$');
