-- The anomaly signal counts one actor's recent actions on every pull.
CREATE INDEX audit_events_actor_time ON audit_events (actor_id, time);
