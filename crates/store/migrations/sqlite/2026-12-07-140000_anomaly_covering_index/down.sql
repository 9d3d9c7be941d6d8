DROP INDEX audit_events_actor_action_time;
CREATE INDEX audit_events_actor_action_time ON audit_events (actor_id, action_name, time);
