DROP TABLE IF EXISTS inspections;
DROP TABLE IF EXISTS consent_events;
