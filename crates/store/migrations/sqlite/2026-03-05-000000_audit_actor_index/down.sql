DROP INDEX audit_events_actor_time;
