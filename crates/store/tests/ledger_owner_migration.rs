//! Migration `2026-03-10-000000_ledger_owner`, on SQLite and PostgreSQL:
//! consent events recorded before it get the owner they were recorded by
//! (the institution of the recording certificate, else the one sending
//! school of the student's applications at the recipient), keep their `n`,
//! and an event that attributes to nobody stops the migration instead of
//! getting a guessed owner.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use diesel::connection::SimpleConnection;
use diesel::migration::{MigrationConnection, MigrationSource};
use diesel::pg::Pg;
use diesel::sqlite::Sqlite;
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use doorstroom_domain::Sector;
use doorstroom_store::testing::{TestBackend, TestDb};
use doorstroom_store::{DbConn, applications, certificates, consents, institutions};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The first migration this test does not run before inserting old rows.
const OWNER_VERSION: &str = "20260310000000";

const VO: &str = "25LX";
const SECOND_VO: &str = "26VO";
const THIRD_VO: &str = "27VO";
const MBO: &str = "30AB";

/// A connection to `db` migrated up to, not including, the owner migration.
fn before_owner_migration(db: &TestDb) -> DbConn {
    match db.backend {
        TestBackend::Sqlite => {
            let path = db.url.trim_start_matches("sqlite://");
            let mut conn = SqliteConnection::establish(path).unwrap();
            conn.batch_execute("PRAGMA foreign_keys = ON;").unwrap();
            conn.setup().unwrap();
            let migrations = MigrationSource::<Sqlite>::migrations(&SQLITE).unwrap();
            for migration in migrations {
                if migration.name().version().to_string().as_str() < OWNER_VERSION {
                    conn.run_migration(&*migration).unwrap();
                }
            }
            DbConn::Sqlite(conn)
        }
        TestBackend::Postgres => {
            let mut conn = PgConnection::establish(&db.url).unwrap();
            conn.setup().unwrap();
            let migrations = MigrationSource::<Pg>::migrations(&POSTGRES).unwrap();
            for migration in migrations {
                if migration.name().version().to_string().as_str() < OWNER_VERSION {
                    conn.run_migration(&*migration).unwrap();
                }
            }
            DbConn::Postgres(conn)
        }
    }
}

/// Runs the remaining migrations; `Err` with the database's message.
fn finish(conn: DbConn) -> Result<DbConn, String> {
    match conn {
        DbConn::Sqlite(mut c) => c
            .run_pending_migrations(SQLITE)
            .map(|_| ())
            .map_err(|e| e.to_string())
            .map(|()| DbConn::Sqlite(c)),
        DbConn::Postgres(mut c) => c
            .run_pending_migrations(POSTGRES)
            .map(|_| ())
            .map_err(|e| e.to_string())
            .map(|()| DbConn::Postgres(c)),
    }
}

/// A consent event as the code before the migration stored it.
/// A staff member's reference: no certificate to attribute the event by.
fn by_staff() -> String {
    doorstroom_domain::ActorRef::Staff(doorstroom_domain::StaffId(uuid::Uuid::from_u128(7))).to_string()
}

fn old_event(conn: &mut DbConn, id: &str, student: u8, recorded_by: &str) {
    conn.batch_execute(&format!(
        "INSERT INTO consent_events (id, student, recipient, section, kind, purpose, at, given_by, \
         student_under_16, method, evidence_ref, notice_version, valid_until, recorded_by, receipt) \
         VALUES ('{id}', '{}', '{MBO}', 'support_needs', 'given', 'intake', 1000, 'student', FALSE, \
         'paper_form', 'form', 'v1', NULL, '{recorded_by}', 'receipt-{id}')",
        pseudonym(student).as_str()
    ))
    .unwrap();
}

fn seed(conn: &mut DbConn) {
    for (code, sector) in [
        (VO, Sector::Vo),
        (SECOND_VO, Sector::Vo),
        (THIRD_VO, Sector::Vso),
        (MBO, Sector::Mbo),
    ] {
        institutions::insert(conn, &institution(code, sector)).unwrap();
    }
    certificates::bind(conn, &binding(SECOND_VO, 1)).unwrap();
    // Student 1 applied at 30AB from 25LX; student 2 from two schools.
    applications::register(conn, &new_application(1, MBO, Some(VO), "Kok"), at(0)).unwrap();
    applications::register(conn, &new_application(2, MBO, Some(VO), "Kok"), at(0)).unwrap();
    applications::register(conn, &new_application(2, MBO, Some(THIRD_VO), "Zorg"), at(0)).unwrap();
}

#[test]
fn existing_events_get_the_owner_that_recorded_them() {
    for db in TestDb::all() {
        eprintln!("-- on {}", db.backend.name());
        let mut conn = before_owner_migration(&db);
        seed(&mut conn);
        let by_certificate = format!("system:{}", fingerprint(1).as_str());
        // Recorded by 26VO's certificate: 26VO, whatever the applications say.
        old_event(&mut conn, "00000000-0000-4000-8000-000000000001", 1, &by_certificate);
        // No certificate to go by: the one school sending to 30AB.
        old_event(&mut conn, "00000000-0000-4000-8000-000000000002", 1, &by_staff());
        // Two schools send student 2, but the certificate decides.
        old_event(&mut conn, "00000000-0000-4000-8000-000000000003", 2, &by_certificate);
        let mut conn = finish(conn).expect("the migration runs");

        let rows = consents::for_student(&mut conn, &pseudonym(1)).unwrap();
        let owners: Vec<(String, String)> = rows
            .iter()
            .map(|r| (r.id.to_string(), r.school.as_str().to_owned()))
            .collect();
        assert_eq!(
            owners,
            [
                ("00000000-0000-4000-8000-000000000001", SECOND_VO),
                ("00000000-0000-4000-8000-000000000002", VO),
            ]
            .map(|(id, school)| (id.to_owned(), school.to_owned()))
        );
        assert!(rows[0].n < rows[1].n, "the append order is kept");
        let theirs = consents::for_student(&mut conn, &pseudonym(2)).unwrap();
        assert_eq!(theirs[0].school, brin(SECOND_VO));

        // The ledger is append-only again, and new events follow the old.
        let update = conn.batch_execute("UPDATE consent_events SET school = '25LX'");
        assert!(update.is_err(), "the append-only trigger is back");
        let mut new = consents::get(&mut conn, rows[1].id).unwrap().unwrap();
        new.id = uuid::Uuid::new_v4();
        let appended = consents::append(
            &mut conn,
            &consents::NewConsentEvent {
                id: new.id,
                student: new.student,
                recipient: new.recipient,
                school: new.school,
                section: new.section,
                kind: new.kind,
                purpose: new.purpose,
                at: new.at,
                given_by: new.given_by,
                student_under_16: new.student_under_16,
                method: new.method,
                evidence_ref: new.evidence_ref,
                notice_version: new.notice_version,
                valid_until: new.valid_until,
                recorded_by: new.recorded_by,
                receipt: new.receipt,
            },
        )
        .unwrap();
        assert!(appended.n > theirs[0].n);
    }
}

#[test]
fn an_event_without_a_provable_owner_stops_the_migration() {
    for db in TestDb::all() {
        eprintln!("-- on {}", db.backend.name());
        let mut conn = before_owner_migration(&db);
        seed(&mut conn);
        // Two schools send student 2 to 30AB and no certificate names one.
        old_event(&mut conn, "00000000-0000-4000-8000-000000000004", 2, &by_staff());
        let error = finish(conn).err().expect("the migration refuses to guess");
        assert!(
            error.contains("school") || error.contains("attributed"),
            "names the problem: {error}"
        );
    }
}
