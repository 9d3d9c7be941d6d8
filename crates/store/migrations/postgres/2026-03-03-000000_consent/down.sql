DROP TABLE IF EXISTS inspections;
DROP TABLE IF EXISTS consent_events;
DROP FUNCTION IF EXISTS ledger_append_only();
