-- Applications (aanmeldingen), their reported course, and the encrypted
-- transfer packages with their sections. SQLite flavour; same tables and
-- columns as the PostgreSQL migration. Timestamps are UTC unix milliseconds,
-- enumerations their wire spelling, uuids lowercase hyphenated text.

-- A student's application at an mbo. `student` is the broker's keyed
-- pseudonym, never a national number. One application per student,
-- institution, programme and school year: registering it again finds this
-- row. The second UNIQUE exists as the target of the packages' composite
-- foreign key.
CREATE TABLE applications (
    id           TEXT    NOT NULL PRIMARY KEY,
    student      TEXT    NOT NULL,
    receiving    TEXT    NOT NULL REFERENCES institutions (brin),
    sending      TEXT    REFERENCES institutions (brin),
    programme    TEXT    NOT NULL,
    crebo        TEXT,
    school_year  INTEGER NOT NULL,
    applied_on   TEXT    NOT NULL,
    late         INTEGER NOT NULL CHECK (late IN (0, 1)),
    status       TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    UNIQUE (student, receiving, programme, school_year),
    UNIQUE (id, student, receiving)
);
CREATE INDEX applications_sending ON applications (sending, created_at, id);
CREATE INDEX applications_receiving ON applications (receiving, created_at, id);

-- The course of an application as reported (terugkoppeling); append-only in
-- practice. `reported_by` describes the actor ("system:<fingerprint>",
-- "staff:<uuid>"), never a person's name.
CREATE TABLE application_status_events (
    id              INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    application_id  TEXT    NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    status          TEXT    NOT NULL,
    reported_at     BIGINT  NOT NULL,
    reported_by     TEXT    NOT NULL
);
CREATE INDEX application_status_events_application
    ON application_status_events (application_id, reported_at, id);

-- A submitted package: the sender's signed envelope and the broker's signed
-- receipt; the sections' ciphertext is in package_sections. The composite
-- foreign key makes the database itself refuse a package that does not
-- answer an application of the same student at the same recipient
-- (no application, no dossier).
CREATE TABLE packages (
    id               TEXT    NOT NULL PRIMARY KEY,
    application_id   TEXT    NOT NULL,
    sender           TEXT    NOT NULL REFERENCES institutions (brin),
    recipient        TEXT    NOT NULL REFERENCES institutions (brin),
    student          TEXT    NOT NULL,
    jti              TEXT    NOT NULL UNIQUE,
    envelope         TEXT    NOT NULL,
    envelope_sha256  TEXT    NOT NULL,
    sender_kid       TEXT    NOT NULL,
    receipt          TEXT    NOT NULL,
    submitted_at     BIGINT  NOT NULL,
    delivered_at     BIGINT,
    acknowledged_at  BIGINT,
    acknowledged_by  TEXT,
    FOREIGN KEY (application_id, student, recipient) REFERENCES applications (id, student, receiving)
);
CREATE INDEX packages_recipient ON packages (recipient, submitted_at, id);
CREATE INDEX packages_application ON packages (application_id, submitted_at, id);
CREATE INDEX packages_sender ON packages (sender, submitted_at);
CREATE INDEX packages_student ON packages (student);

-- One section of a package: a compact JWE, opaque to the broker. `size` and
-- `sha256` describe the ciphertext as the envelope lists it.
CREATE TABLE package_sections (
    package_id    TEXT    NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    section       TEXT    NOT NULL,
    ciphertext    TEXT    NOT NULL,
    size          BIGINT  NOT NULL CHECK (size >= 0),
    sha256        TEXT    NOT NULL,
    delivered_at  BIGINT,
    withdrawn_at  BIGINT,
    PRIMARY KEY (package_id, section)
);
