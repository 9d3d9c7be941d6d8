-- The anomaly signal asks, on every pull, whether one actor's successful
-- pulls within the hour reached the threshold. With the action in the
-- index, that count visits the actor's pulls only, and stops at the
-- threshold (`audit::count_actions_since`), instead of every event of the
-- actor's hour. The actor prefix still serves the audit search by actor.
DROP INDEX audit_events_actor_time;
CREATE INDEX audit_events_actor_action_time ON audit_events (actor_id, action_name, time);
