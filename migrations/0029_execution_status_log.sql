-- Execution status changes are logged per statement, not per row: measured
-- on 5,000 rows in 50 statements, the row trigger of 0028 doubled the cost of
-- status updates (one INSERT per row), a statement trigger with transition
-- tables adds about a third (one INSERT … SELECT per statement), and updates
-- that leave the status alone (lease renewals) cost about the same either
-- way. Transition tables cannot go with a column list, so the trigger fires
-- for every UPDATE statement and keeps only the rows whose status changed.
DROP TRIGGER executions_log_status ON executions;

CREATE FUNCTION log_execution_status_changes() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO notifications (channel, entity_type, entity_id, activity, state, content)
  SELECT 'attune_stream', 'execution', n.id, 'status_changed', 'delivered',
         jsonb_build_object('status', n.status, 'previous_status', o.status, 'action_ref', n.action_ref,
                            'parent_id', n.parent_id, 'enforcement_id', n.enforcement_id)
    FROM new_rows n JOIN old_rows o ON o.id = n.id
   WHERE n.status IS DISTINCT FROM o.status
   ORDER BY n.id;
  RETURN NULL;
END
$$;

CREATE TRIGGER executions_log_status AFTER UPDATE ON executions
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION log_execution_status_changes();
