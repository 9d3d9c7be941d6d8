DROP TABLE package_expiry_notices;
DROP TABLE institution_events;
DROP TABLE institution_event_heads;
