//! The door in the ledger's append-only protection that the purge and the
//! erasure use (`deletion_permits`), on SQLite and PostgreSQL: it opens only
//! for DELETE on the two ledger tables, only inside the transaction that
//! holds the permit, and never for the audit tables.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use doorstroom_domain::RetentionPolicy;
use doorstroom_domain::{Section, Sector};
use doorstroom_store::consents::{self, NewConsentEvent};
use doorstroom_store::inspections::{self, NewInspection};
use doorstroom_store::retention::{self, ApplicationCandidate, ErasureScope};
use doorstroom_store::schema::{applications_gone, deletion_permits};
use doorstroom_store::testing::TestDb;
use doorstroom_store::{Store, StoreError, applications, audit, institutions};
use uuid::Uuid;

type R<T> = Result<T, StoreError>;

const VO: &str = "25LX";
const MBO: &str = "30AB";

fn seeded(db: &TestDb) -> Store {
    let store = db.store();
    store
        .write(|c| -> R<()> {
            institutions::insert(c, &institution(VO, Sector::Vo))?;
            institutions::insert(c, &institution(MBO, Sector::Mbo))
        })
        .unwrap();
    store
}

fn consent(student: u8) -> NewConsentEvent {
    let id = Uuid::new_v4();
    NewConsentEvent {
        id,
        student: pseudonym(student),
        recipient: brin(MBO),
        school: brin(VO),
        section: Section::SupportNeeds,
        kind: doorstroom_domain::ConsentEventKind::Given,
        purpose: "intake".to_owned(),
        at: at(0),
        given_by: doorstroom_domain::GivenBy::Student,
        student_under_16: false,
        method: doorstroom_domain::ConsentMethod::PaperForm,
        evidence_ref: "form".to_owned(),
        notice_version: "v1".to_owned(),
        valid_until: None,
        recorded_by: doorstroom_domain::ActorRef::System(fingerprint(1)),
        receipt: format!("receipt-{id}"),
    }
}

fn inspection(student: u8) -> NewInspection {
    NewInspection {
        student: pseudonym(student),
        school: brin(VO),
        at: at(0),
        inspected_by: doorstroom_domain::InspectedBy::Student,
        remarks_added: false,
        recorded_at: at(1),
        recorded_by: doorstroom_domain::ActorRef::System(fingerprint(1)),
    }
}

fn permits(store: &Store) -> i64 {
    store
        .read(|c| -> R<i64> { Ok(deletion_permits::table.count().get_result(c)?) })
        .unwrap()
}

fn the_permit_opens_only_delete_on_the_named_ledger_table(db: &TestDb) {
    let store = seeded(db);
    store.write(|c| consents::append(c, &consent(1))).unwrap();
    store.write(|c| inspections::record(c, &inspection(1))).unwrap();
    store.write(|c| audit::append(c, &event(1))).unwrap();

    // Audit tables cannot be named in a permit at all.
    for table in ["audit_events", "audit_hashes", "audit_checkpoints", "applications"] {
        let sql = format!("INSERT INTO deletion_permits (table_name) VALUES ('{table}')");
        let result = store.write(|c| -> R<()> { Ok(c.batch_execute(&sql)?) });
        assert!(result.is_err(), "a permit for {table} must be refused");
    }
    // With a permit for consent_events: inspections, updates, truncation
    // and the audit log stay closed.
    for sql in [
        "DELETE FROM inspections",
        "UPDATE consent_events SET kind = 'withdrawn'",
        "DELETE FROM audit_events",
        "DELETE FROM audit_hashes",
    ] {
        let result = store.write(|c| -> R<()> {
            c.batch_execute("INSERT INTO deletion_permits (table_name) VALUES ('consent_events')")?;
            Ok(c.batch_execute(sql)?)
        });
        assert!(
            result.is_err(),
            "{sql} must be refused even with a consent_events permit"
        );
    }
    // The door does open for what the permit names, in its transaction.
    store
        .write(|c| -> R<()> {
            c.batch_execute(
                "INSERT INTO deletion_permits (table_name) VALUES ('consent_events');
                 DELETE FROM consent_events;
                 DELETE FROM deletion_permits;",
            )?;
            Ok(())
        })
        .unwrap();
    assert!(
        store
            .read(|c| consents::for_student(c, &pseudonym(1)))
            .unwrap()
            .is_empty()
    );
    // Without a permit, it is closed again.
    store.write(|c| consents::append(c, &consent(1))).unwrap();
    let result = store.write(|c| -> R<()> { Ok(c.batch_execute("DELETE FROM consent_events")?) });
    assert!(result.is_err(), "no permit, no deletion");
    assert_eq!(
        store.read(|c| consents::for_student(c, &pseudonym(1))).unwrap().len(),
        1
    );
    assert_eq!(store.read(audit::tree_size).unwrap(), 1);
}

fn an_erasure_leaves_no_permit_behind_and_keeps_to_its_scope(db: &TestDb) {
    let store = seeded(db);
    for student in [1, 2] {
        store.write(|c| consents::append(c, &consent(student))).unwrap();
        store.write(|c| inspections::record(c, &inspection(student))).unwrap();
    }
    // 30AB's officer: the consent for 30AB, not 25LX's inspection.
    let erased = store
        .write(|c| retention::erase(c, &pseudonym(1), &ErasureScope::Institution(brin(MBO)), at(1)))
        .unwrap();
    assert_eq!((erased.consent_events.len(), erased.inspections.len()), (1, 0));
    assert_eq!(permits(&store), 0, "no permit outlives its transaction");
    let erased = store
        .write(|c| retention::erase(c, &pseudonym(1), &ErasureScope::Everything, at(2)))
        .unwrap();
    assert_eq!((erased.consent_events.len(), erased.inspections.len()), (0, 1));
    assert_eq!(permits(&store), 0);
    let left = store.read(|c| retention::rows_about(c, &pseudonym(1))).unwrap();
    assert!(left.iter().all(|(_, n)| *n == 0), "{left:?}");
    let other = store.read(|c| retention::rows_about(c, &pseudonym(2))).unwrap();
    assert_eq!(
        other.iter().map(|(_, n)| n).sum::<i64>(),
        2,
        "the other student keeps theirs"
    );
    // And the ledger is closed again afterwards.
    let result = store.write(|c| -> R<()> { Ok(c.batch_execute("DELETE FROM inspections")?) });
    assert!(result.is_err());
    // The school's officer: the consent it recorded and its inspection.
    let erased = store
        .write(|c| retention::erase(c, &pseudonym(2), &ErasureScope::Institution(brin(VO)), at(3)))
        .unwrap();
    assert_eq!((erased.consent_events.len(), erased.inspections.len()), (1, 1));
    assert_eq!(permits(&store), 0);
}

/// When the mbo's officer erases, the school's inspection stays, and the
/// school's last application with the student went: its period starts then,
/// as when the purge deletes an application.
fn an_institutions_erasure_starts_the_other_partys_ledger_period(db: &TestDb) {
    let store = seeded(db);
    store
        .write(|c| -> R<()> {
            applications::register(c, &new_application(1, MBO, Some(VO), "Zorg"), at(0))?;
            inspections::record(c, &inspection(1))?;
            Ok(())
        })
        .unwrap();
    let erased = store
        .write(|c| retention::erase(c, &pseudonym(1), &ErasureScope::Institution(brin(MBO)), at(7)))
        .unwrap();
    assert_eq!((erased.applications.len(), erased.inspections.len()), (1, 0));
    let marks: Vec<(String, i64)> = store
        .read(|c| -> R<_> {
            Ok(applications_gone::table
                .select((applications_gone::institution, applications_gone::gone_at))
                .load(c)?)
        })
        .unwrap();
    assert_eq!(
        marks,
        vec![(VO.to_owned(), at(7).timestamp_millis())],
        "the school's mark, not the erasing mbo's"
    );
    // Erasing everything takes the marks too.
    store
        .write(|c| retention::erase(c, &pseudonym(1), &ErasureScope::Everything, at(8)))
        .unwrap();
    let left = store.read(|c| retention::rows_about(c, &pseudonym(1))).unwrap();
    assert!(left.iter().all(|(_, n)| *n == 0), "{left:?}");
}

/// A mark whose student applied at the school again is not due; however
/// many such marks are older, the due ones behind them are found.
fn marks_of_students_who_applied_again_do_not_crowd_out_due_ones(db: &TestDb) {
    let store = seeded(db);
    let policy = RetentionPolicy::default();
    let delete_at = |c: &mut doorstroom_store::DbConn, id, student, when| -> R<()> {
        let facts = retention::application_facts(c, id)?.unwrap();
        let application = ApplicationCandidate {
            id,
            student: pseudonym(student),
            receiving: brin(MBO),
            sending: None,
            facts,
        };
        assert!(retention::delete_application(c, &application, when)?);
        Ok(())
    };
    store
        .write(|c| -> R<()> {
            for student in [1, 2] {
                consents::append(c, &consent(student))?;
            }
            // Student 1's application goes first, then student 1 applies again.
            let (first, _) = applications::register(c, &new_application(1, MBO, None, "Zorg"), at(0))?;
            delete_at(c, first.id, 1, at(1))?;
            applications::register(c, &new_application(1, MBO, None, "Zorg"), at(2))?;
            // Student 2's application goes after; nothing comes back.
            let (second, _) = applications::register(c, &new_application(2, MBO, None, "Zorg"), at(0))?;
            delete_at(c, second.id, 2, at(3))
        })
        .unwrap();
    let now = at(3) + policy.periods().consent_after_application_gone;
    let due = store
        .write(|c| retention::due_ledger_groups(c, &policy, now, 1))
        .unwrap();
    let students: Vec<_> = due.iter().map(|d| d.group.student.clone()).collect();
    assert_eq!(students, vec![pseudonym(2)]);
}

doorstroom_store::backend_tests!(
    marks_of_students_who_applied_again_do_not_crowd_out_due_ones,
    the_permit_opens_only_delete_on_the_named_ledger_table,
    an_erasure_leaves_no_permit_behind_and_keeps_to_its_scope,
    an_institutions_erasure_starts_the_other_partys_ledger_period,
);
