DROP TRIGGER IF EXISTS audit_events_no_delete;
DROP TRIGGER IF EXISTS audit_events_no_update;
DROP TABLE IF EXISTS audit_events;
DROP TABLE IF EXISTS login_failures;
DROP TABLE IF EXISTS staff_accounts;
DROP TABLE IF EXISTS client_certificates;
DROP TABLE IF EXISTS institution_keys;
DROP TABLE IF EXISTS institutions;
