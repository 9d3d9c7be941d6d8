DROP TABLE institution_contacts;
