-- The contact for the warm handover (issue 15): the member of staff an mbo
-- intaker calls about a student's dossier before the intake. One per
-- institution, set by its own admin; the contact's name, role, e-mail and
-- phone as JSON (checked by the domain's HandoverContact on the way in and
-- on the way out). Staff contact data in their professional role; nothing
-- about a student.
CREATE TABLE institution_contacts (
    institution TEXT   NOT NULL PRIMARY KEY REFERENCES institutions (brin),
    handover    TEXT   NOT NULL,
    updated_at  BIGINT NOT NULL
);
