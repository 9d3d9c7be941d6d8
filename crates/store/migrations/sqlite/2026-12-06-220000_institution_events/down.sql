DROP TABLE institution_events;
DROP TABLE institution_event_heads;
