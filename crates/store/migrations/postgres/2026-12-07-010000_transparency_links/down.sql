ALTER TABLE institutions DROP COLUMN privacy_contact;
DROP TABLE transparency_sessions;
DROP TABLE transparency_links;
