DROP TABLE IF EXISTS package_sections;
DROP TABLE IF EXISTS packages;
DROP TABLE IF EXISTS application_status_events;
DROP TABLE IF EXISTS applications;
