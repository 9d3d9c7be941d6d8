//! The institutions an audit event is about (`audit_event_relations`), on
//! SQLite and PostgreSQL: the parties of the record the event is about,
//! recorded with the event, so that an institution's privacy officer still
//! finds the events about a student after the student's applications and
//! packages were deleted; never widened by a later application;
//! append-only except for the cascade from a pruned event; backfilled by
//! one migration and rid of the old catch-up's additions by another.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use doorstroom_domain::ResourceKind;
use doorstroom_domain::{
    Actor, ActorKind, AuditAction, AuditEvent, Brin, CrudKind, Outcome, Purpose, ResourceRef, Sector,
};
use doorstroom_store::audit::{self, AuditQuery};
use doorstroom_store::retention::{self, ErasureScope};
use doorstroom_store::testing::{TestBackend, TestDb, last_seq};
use doorstroom_store::{Store, StoreError, applications, institutions, packages};

type R<T> = Result<T, StoreError>;

const VO: &str = "25LX";
const MBO: &str = "30AB";
const OTHER_MBO: &str = "31CD";
const STUDENT: u8 = 1;
const OTHER_STUDENT: u8 = 2;

fn seeded(db: &TestDb) -> Store {
    let store = db.store();
    store
        .write(|c| -> R<()> {
            institutions::insert(c, &institution(VO, Sector::Vo))?;
            institutions::insert(c, &institution(MBO, Sector::Mbo))?;
            institutions::insert(c, &institution(OTHER_MBO, Sector::Mbo))
        })
        .unwrap();
    store
}

/// An event about `student` by the broker itself (no actor institution, so
/// only a relation can put it in an institution's scope).
fn about(student: u8, crud: CrudKind, name: &str, n: i64) -> AuditEvent {
    AuditEvent {
        time: at(n),
        actor: Actor {
            kind: ActorKind::Broker,
            institution: None,
            id: Some("retention_job".to_owned()),
        },
        on_behalf_of: None,
        action: AuditAction::new(crud, name),
        resource: ResourceRef::new(ResourceKind::StudentData, None),
        data_subject: Some(pseudonym(student)),
        purpose: Purpose::Operations,
        outcome: Outcome::Success,
        reason: None,
        request_id: Some(format!("req-{n}")),
    }
}

/// An intake event about `student` in which `institution`'s system acted.
fn by(institution: &str, student: u8, name: &str, n: i64) -> AuditEvent {
    AuditEvent {
        actor: Actor {
            kind: ActorKind::System,
            institution: Some(brin(institution)),
            id: Some(format!("cert-{institution}")),
        },
        purpose: Purpose::Intake,
        ..about(student, CrudKind::Create, name, n)
    }
}

fn parties(institutions: &[&str]) -> Vec<Brin> {
    institutions.iter().map(|i| brin(i)).collect()
}

/// The student applies at `receiving` from `VO` and `VO` sends a package,
/// each step audited about the student with the parties of its record;
/// returns the seqs of those events.
fn a_transfer(store: &Store, student: u8, receiving: &str, package: &str) -> Vec<i64> {
    store
        .write(|c| -> R<()> {
            let (app, _) = applications::register(c, &new_application(student, receiving, Some(VO), "Zorg"), at(0))?;
            audit::append_related(
                c,
                &by(receiving, student, "register_application", 1),
                &parties(&[receiving, VO]),
            )?;
            packages::insert(c, &new_package(package, app.id, student, VO, receiving, 2), &[])?;
            audit::append_related(c, &by(VO, student, "submit_package", 2), &parties(&[VO, receiving]))
        })
        .unwrap();
    let submitted = last_seq(store);
    vec![submitted - 1, submitted]
}

/// Appends `event` related to `parties` in a write of its own; returns its
/// sequence number.
fn append_one(store: &Store, event: &AuditEvent, parties: &[Brin]) -> i64 {
    store.write(|c| audit::append_related(c, event, parties)).unwrap();
    last_seq(store)
}

fn related_to(store: &Store, institution: &str) -> Vec<i64> {
    store
        .read(|c| {
            audit::list(
                c,
                &AuditQuery {
                    related_to: Some(brin(institution)),
                    ..AuditQuery::default()
                },
            )
        })
        .unwrap()
        .into_iter()
        .map(|(seq, _)| seq)
        .collect()
}

fn relations_of(store: &Store, seq: i64) -> Vec<String> {
    use doorstroom_store::schema::audit_event_relations as r;
    store
        .read(|c| -> R<Vec<String>> {
            Ok(r::table
                .filter(r::seq.eq(seq))
                .select(r::institution)
                .order(r::institution.asc())
                .load(c)?)
        })
        .unwrap()
}

fn events_stay_related_after_an_erasure_deleted_what_tied_them(db: &TestDb) {
    let store = seeded(db);
    // The school's own inspection: its record alone, nobody else's.
    let early = append_one(&store, &by(VO, STUDENT, "record_inspection", 0), &parties(&[VO]));
    assert_eq!(relations_of(&store, early), vec![VO]);
    let mut before = a_transfer(&store, STUDENT, MBO, "pkg-1");
    // The application does not reach back to the inspection.
    assert_eq!(relations_of(&store, early), vec![VO]);
    let others = a_transfer(&store, OTHER_STUDENT, OTHER_MBO, "pkg-2");
    // An event about a student with no record named is nobody's.
    let untied = append_one(&store, &about(3, CrudKind::Read, "read", 3), &[]);
    assert!(relations_of(&store, untied).is_empty());
    before.push(append_one(
        &store,
        &by(MBO, STUDENT, "pull_package", 4),
        &parties(&[VO, MBO]),
    ));
    assert_eq!(
        relations_of(&store, before[0]),
        vec![VO, MBO],
        "application: mbo and sending school"
    );

    // As the erasure does it: delete first, append the events after, in
    // one transaction, related to the parties of what went.
    store
        .write(|c| -> R<()> {
            let erased = retention::erase(c, &pseudonym(STUDENT), &ErasureScope::Everything, at(5))?;
            assert_eq!((erased.applications.len(), erased.packages.len()), (1, 1));
            let parties_of = |id: String| -> Vec<Brin> { erased.parties[&id].iter().cloned().collect() };
            let package = parties_of(erased.packages[0].clone());
            let application = parties_of(erased.applications[0].to_string());
            assert_eq!(package, parties(&[VO, MBO]), "read before the rows were deleted");
            assert_eq!(application, parties(&[VO, MBO]));
            audit::append_related(c, &about(STUDENT, CrudKind::Delete, "package_erased", 5), &package)?;
            audit::append_related(
                c,
                &about(STUDENT, CrudKind::Delete, "application_erased", 5),
                &application,
            )
        })
        .unwrap();
    let deletions = vec![last_seq(&store) - 1, last_seq(&store)];
    // A later event about the student names no record: nobody's.
    let after = append_one(&store, &about(STUDENT, CrudKind::Read, "read_report", 7), &[]);
    assert!(relations_of(&store, after).is_empty());

    let mine: Vec<i64> = before.iter().chain(&deletions).copied().collect();
    assert_eq!(related_to(&store, MBO), mine);
    let mut sent_by_vo = [vec![early], before.clone(), others.clone(), deletions.clone()].concat();
    sent_by_vo.sort_unstable();
    assert_eq!(related_to(&store, VO), sent_by_vo);
    assert_eq!(
        related_to(&store, OTHER_MBO),
        others,
        "the other mbo sees none of the student's"
    );
    for seq in &deletions {
        assert_eq!(relations_of(&store, *seq), vec![VO, MBO]);
    }
    // The relations are no part of the Merkle log, which still verifies.
    let verified = store.read(|c| Ok::<_, StoreError>(audit::verify_log(c))).unwrap();
    assert!(verified.is_ok(), "{verified:?}");
    assert_eq!(store.read(audit::count).unwrap(), after);
}

/// The regression of issue 11: an mbo that registers an application for a
/// student already in intake at another mbo is not related to the other
/// mbo's events, neither those before nor those after; only to its own
/// application's.
fn a_later_application_does_not_widen_the_scope(db: &TestDb) {
    let store = seeded(db);
    let theirs = a_transfer(&store, STUDENT, MBO, "pkg-1");
    let pulled_before = append_one(&store, &by(MBO, STUDENT, "pull_package", 3), &parties(&[VO, MBO]));
    store
        .write(|c| -> R<()> {
            applications::register(c, &new_application(STUDENT, OTHER_MBO, Some(VO), "Techniek"), at(4))?;
            audit::append_related(
                c,
                &by(OTHER_MBO, STUDENT, "register_application", 4),
                &parties(&[OTHER_MBO, VO]),
            )
        })
        .unwrap();
    let registered = last_seq(&store);
    let pulled_after = append_one(&store, &by(MBO, STUDENT, "pull_package", 5), &parties(&[VO, MBO]));
    assert_eq!(related_to(&store, OTHER_MBO), vec![registered]);
    for seq in theirs.iter().chain([&pulled_before, &pulled_after]) {
        assert!(
            !relations_of(&store, *seq).contains(&OTHER_MBO.to_owned()),
            "event {seq}"
        );
    }
    assert_eq!(
        related_to(&store, MBO),
        [theirs.clone(), vec![pulled_before, pulled_after]].concat()
    );
    assert_eq!(
        related_to(&store, VO),
        [theirs, vec![pulled_before, registered, pulled_after]].concat()
    );
}

/// What the old catch-up added (relations of a student's events to an
/// institution from before it first acted on the student) is removed by
/// the `audit_scope` migration; what an institution was party to stays.
/// Forge the catch-up's rows, forget that the migration ran and open the
/// store again.
fn the_migration_removes_what_the_catch_up_added(db: &TestDb) {
    let store = seeded(db);
    store
        .write(|c| -> R<()> {
            audit::append_related(c, &by(VO, STUDENT, "record_inspection", 0), &parties(&[VO]))?;
            audit::append_related(c, &by(MBO, STUDENT, "register_application", 1), &parties(&[MBO, VO]))?;
            // Its earlier search of the student is no tie: supervision.
            let mut search = by(OTHER_MBO, STUDENT, "read_audit_log", 2);
            search.purpose = Purpose::Supervision;
            audit::append(c, &search)?;
            audit::append_related(
                c,
                &by(OTHER_MBO, STUDENT, "register_application", 3),
                &parties(&[OTHER_MBO, VO, MBO]),
            )
        })
        .unwrap();
    let registered_elsewhere = last_seq(&store);
    let (inspected, registered, searched) = (
        registered_elsewhere - 3,
        registered_elsewhere - 2,
        registered_elsewhere - 1,
    );
    store
        .write(|c| -> R<()> {
            // The catch-up's rows: every earlier event of the student
            // related to each newly tied institution.
            for (seq, institution) in [
                (inspected, MBO),
                (inspected, OTHER_MBO),
                (registered, OTHER_MBO),
                (searched, OTHER_MBO),
            ] {
                c.batch_execute(&format!(
                    "INSERT INTO audit_event_relations (seq, institution) VALUES ({seq}, '{institution}')"
                ))?;
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(relations_of(&store, inspected), vec![VO, MBO, OTHER_MBO]);
    store
        .write(|c| -> R<()> {
            Ok(c.batch_execute("DELETE FROM __diesel_schema_migrations WHERE version = '20260311000000'")?)
        })
        .unwrap();
    drop(store);
    let store = db.store();
    assert_eq!(relations_of(&store, inspected), vec![VO], "the vo's own inspection");
    assert_eq!(relations_of(&store, registered), vec![VO, MBO]);
    assert!(relations_of(&store, searched).is_empty());
    // After its own tie, an event keeps what it was written with.
    assert_eq!(relations_of(&store, registered_elsewhere), vec![VO, MBO, OTHER_MBO]);
    assert_eq!(related_to(&store, OTHER_MBO), vec![searched, registered_elsewhere]);
    // Still append-only afterwards.
    let refused = store.write(|c| -> R<()> { Ok(c.batch_execute("DELETE FROM audit_event_relations")?) });
    assert!(refused.is_err(), "the trigger is back");
}

fn related_to_also_matches_the_acting_institution(db: &TestDb) {
    let store = seeded(db);
    let mut acted = about(9, CrudKind::Read, "list_inbox", 1);
    acted.actor = Actor {
        kind: ActorKind::System,
        institution: Some(brin(OTHER_MBO)),
        id: Some("cert".to_owned()),
    };
    acted.data_subject = None;
    let seq = append_one(&store, &acted, &[]);
    assert!(relations_of(&store, seq).is_empty(), "no subject, no relation");
    assert_eq!(related_to(&store, OTHER_MBO), vec![seq]);
    assert!(related_to(&store, MBO).is_empty());
}

fn relations_are_append_only_but_go_with_their_pruned_event(db: &TestDb) {
    let store = seeded(db);
    let seqs = a_transfer(&store, STUDENT, MBO, "pkg-1");
    for sql in [
        "UPDATE audit_event_relations SET institution = '31CD'",
        "DELETE FROM audit_event_relations",
        "INSERT INTO audit_event_relations (seq, institution) VALUES (99, '31CD')",
    ] {
        let result = store.write(|c| -> R<()> { Ok(c.batch_execute(sql)?) });
        assert!(result.is_err(), "{sql} must be refused");
    }
    if db.backend == TestBackend::Postgres {
        let result = store.write(|c| -> R<()> { Ok(c.batch_execute("TRUNCATE audit_event_relations")?) });
        assert!(result.is_err(), "TRUNCATE must be refused");
    }
    assert_eq!(relations_of(&store, seqs[0]), vec![VO, MBO]);

    // Pruning old events (which gets its own narrow way past the audit
    // log's trigger) takes their relations along: stand in for it by
    // lifting the trigger in this transaction only.
    let lift = match db.backend {
        TestBackend::Sqlite => "DROP TRIGGER audit_events_no_delete;",
        TestBackend::Postgres => "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete;",
    };
    store
        .write(|c| -> R<()> {
            c.batch_execute(lift)?;
            c.batch_execute(&format!("DELETE FROM audit_events WHERE seq = {}", seqs[0]))?;
            assert!(relations_of_in(c, seqs[0]).is_empty(), "the cascade removed them");
            assert_eq!(
                relations_of_in(c, seqs[1]),
                vec![VO, MBO],
                "the next event keeps its own"
            );
            // Roll back: the audit log's own trigger stays.
            Err(StoreError::NotFound)
        })
        .unwrap_err();
    assert_eq!(relations_of(&store, seqs[0]), vec![VO, MBO], "rolled back");
}

fn relations_of_in(c: &mut doorstroom_store::DbConn, seq: i64) -> Vec<String> {
    use doorstroom_store::schema::audit_event_relations as r;
    r::table
        .filter(r::seq.eq(seq))
        .select(r::institution)
        .order(r::institution.asc())
        .load(c)
        .unwrap()
}

/// The migration relates the events already in the log through the
/// applications and packages still there. Undo it by hand (what `down.sql`
/// does, plus forgetting it ran) and open the store again.
fn the_migration_backfills_the_events_already_written(db: &TestDb) {
    let store = seeded(db);
    let mine = a_transfer(&store, STUDENT, MBO, "pkg-1");
    let others = a_transfer(&store, OTHER_STUDENT, OTHER_MBO, "pkg-2");
    let down = match db.backend {
        TestBackend::Sqlite => "DROP INDEX applications_student; DROP TABLE audit_event_relations;",
        TestBackend::Postgres => {
            "DROP INDEX applications_student; DROP TABLE audit_event_relations; \
             DROP FUNCTION audit_event_relations_append_only();"
        }
    };
    store
        .write(|c| -> R<()> {
            c.batch_execute(down)?;
            Ok(c.batch_execute("DELETE FROM __diesel_schema_migrations WHERE version = '20260309000000'")?)
        })
        .unwrap();
    drop(store);
    let store = db.store();
    assert_eq!(related_to(&store, MBO), mine);
    assert_eq!(related_to(&store, OTHER_MBO), others);
    assert_eq!(related_to(&store, VO), [mine.clone(), others].concat());
    assert_eq!(relations_of(&store, mine[1]), vec![VO, MBO]);
}

doorstroom_store::backend_tests!(
    events_stay_related_after_an_erasure_deleted_what_tied_them,
    related_to_also_matches_the_acting_institution,
    relations_are_append_only_but_go_with_their_pruned_event,
    the_migration_backfills_the_events_already_written,
    a_later_application_does_not_widen_the_scope,
    the_migration_removes_what_the_catch_up_added,
);
