//! The audit log's storage: gapless sequence numbers, exact round trips,
//! fail-closed writes and concurrent appenders, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use diesel::connection::SimpleConnection;
use doorstroom_domain::{Outcome, Sector};
use doorstroom_store::audit::{self, AuditQuery};
use doorstroom_store::testing::{TestDb, break_audit_writes, last_seq};
use doorstroom_store::{StoreError, institutions};

type R<T> = Result<T, StoreError>;

fn seq_is_gapless_and_events_round_trip(db: &TestDb) {
    let store = db.store();
    assert_eq!(store.read(audit::count).unwrap(), 0);
    assert!(
        store
            .read(|c| audit::list(c, &AuditQuery::default()))
            .unwrap()
            .is_empty()
    );

    let events: Vec<_> = (0..30).map(event).collect();
    let mut seqs = Vec::new();
    // Several per transaction and one per transaction.
    for chunk in events[..20].chunks(5) {
        store
            .write(|c| chunk.iter().try_for_each(|e| audit::append(c, e)))
            .unwrap();
        let last = last_seq(&store);
        seqs.extend(last - 4..=last);
    }
    for e in &events[20..] {
        store.write(|c| audit::append(c, e)).unwrap();
        seqs.push(last_seq(&store));
    }
    assert_eq!(seqs, (1..=30).collect::<Vec<i64>>());
    assert_eq!(store.read(audit::count).unwrap(), 30);

    let all = store.read(|c| audit::list(c, &AuditQuery::default())).unwrap();
    let expected: Vec<(i64, _)> = (1..=30).zip(events.iter().cloned()).collect();
    assert_eq!(all, expected);

    // Paging.
    let page = |after, limit| {
        store
            .read(|c| {
                audit::list(
                    c,
                    &AuditQuery {
                        after_seq: after,
                        limit,
                        ..AuditQuery::default()
                    },
                )
            })
            .unwrap()
    };
    assert_eq!(page(None, 10), expected[..10].to_vec());
    assert_eq!(page(Some(10), 10), expected[10..20].to_vec());
    assert_eq!(page(Some(25), 100), expected[25..].to_vec());
    assert!(page(Some(30), 10).is_empty());
    assert!(page(None, 0).is_empty());
    assert!(page(None, -1).is_empty(), "negative limits clamp to 0 on every backend");

    // Filters.
    let filtered = |q: AuditQuery| store.read(|c| audit::list(c, &q)).unwrap();
    let want = |f: &dyn Fn(&doorstroom_domain::AuditEvent) -> bool| {
        expected.iter().filter(|(_, e)| f(e)).cloned().collect::<Vec<_>>()
    };
    let by_inst = filtered(AuditQuery {
        actor_institution: Some(brin("25LX")),
        ..AuditQuery::default()
    });
    assert_eq!(by_inst, want(&|e| e.actor.institution == Some(brin("25LX"))));
    assert!(!by_inst.is_empty());
    let by_subject = filtered(AuditQuery {
        data_subject: Some(pseudonym(0xab)),
        ..AuditQuery::default()
    });
    assert_eq!(by_subject, want(&|e| e.data_subject == Some(pseudonym(0xab))));
    assert_eq!(by_subject.len(), 6);
    let denied = filtered(AuditQuery {
        outcome: Some(Outcome::Denied),
        ..AuditQuery::default()
    });
    assert_eq!(denied, want(&|e| e.outcome == Outcome::Denied));
    let combined = filtered(AuditQuery {
        after_seq: Some(5),
        limit: 2,
        actor_institution: Some(brin("30AB")),
        data_subject: None,
        outcome: Some(Outcome::Success),
        ..AuditQuery::default()
    });
    let all_matching = want(&|e| e.actor.institution == Some(brin("30AB")) && e.outcome == Outcome::Success);
    let expected_combined: Vec<_> = all_matching.into_iter().filter(|(s, _)| *s > 5).take(2).collect();
    assert_eq!(combined, expected_combined);
    assert_eq!(combined.len(), 2);
}

fn entry_is_the_canonical_json(db: &TestDb) {
    let store = db.store();
    let e = event(5);
    store.write(|c| audit::append(c, &e)).unwrap();
    #[derive(diesel::QueryableByName)]
    struct Entry {
        #[diesel(sql_type = diesel::sql_types::Text)]
        entry: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        time: i64,
    }
    use diesel::RunQueryDsl;
    let row: Entry = store
        .read(|c| -> R<Entry> {
            Ok(diesel::sql_query("SELECT entry, time FROM audit_events WHERE seq = 1").get_result(c)?)
        })
        .unwrap();
    assert_eq!(row.entry, e.canonical_json());
    assert_eq!(row.time, e.time.timestamp_millis());
}

fn rolled_back_appends_leave_no_gap(db: &TestDb) {
    let store = db.store();
    store.write(|c| audit::append(c, &event(1))).unwrap();
    let failed: R<()> = store.write(|c| {
        audit::append(c, &event(2))?;
        Err(StoreError::NotFound)
    });
    assert!(failed.is_err());
    store.write(|c| audit::append(c, &event(3))).unwrap();
    assert_eq!(last_seq(&store), 2);
    let seqs: Vec<i64> = store
        .read(|c| audit::list(c, &AuditQuery::default()))
        .unwrap()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(seqs, vec![1, 2]);
}

fn audit_failure_rolls_back_the_access(db: &TestDb) {
    let store = db.store();
    store.write(|c| audit::append(c, &event(0))).unwrap();
    break_audit_writes(&store);

    let school = institution("25LX", Sector::Vo);
    let result = store.write(|c| -> R<()> {
        institutions::insert(c, &school)?;
        audit::append(c, &event(1))?;
        Ok(())
    });
    assert!(
        result.is_err(),
        "the write must fail when the audit event cannot be written"
    );
    assert_eq!(
        store.read(|c| institutions::get(c, &school.brin)).unwrap(),
        None,
        "fail closed"
    );
    assert_eq!(store.read(audit::count).unwrap(), 1);
}

fn audit_log_is_append_only(db: &TestDb) {
    let store = db.store();
    store.write(|c| audit::append(c, &event(0))).unwrap();
    for sql in [
        "UPDATE audit_events SET reason = 'tampered' WHERE seq = 1",
        "DELETE FROM audit_events WHERE seq = 1",
    ] {
        let result = store.write(|c| -> R<()> { Ok(c.batch_execute(sql)?) });
        assert!(result.is_err(), "{sql} must be refused");
    }
    let all = store.read(|c| audit::list(c, &AuditQuery::default())).unwrap();
    assert_eq!(all, vec![(1, event(0))]);
}

fn concurrent_appends_are_gapless(db: &TestDb) {
    let store = db.store();
    let threads: Vec<_> = (0..4u32)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..25u32 {
                    store.write(|c| audit::append(c, &event(t * 100 + i))).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(store.read(audit::count).unwrap(), 100);
    let listed: Vec<i64> = store
        .read(|c| audit::list(c, &AuditQuery::default()))
        .unwrap()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(listed, (1..=100).collect::<Vec<i64>>());
}

/// The anomaly count: one actor's successful actions of one kind since a
/// moment, and no more than asked for (the signal stops at its threshold).
fn actions_are_counted_up_to_the_cap(db: &TestDb) {
    let store = db.store();
    let pull = |n: u32, outcome: Outcome| {
        let mut e = event(n * 3); // n * 3: a system actor, success
        e.action = doorstroom_domain::AuditAction::from(doorstroom_domain::Action::PullPackage);
        e.outcome = outcome;
        e.reason = None;
        e
    };
    let mut events: Vec<_> = (1..=6).map(|n| pull(n, Outcome::Success)).collect();
    events.push(pull(7, Outcome::Denied)); // not a successful pull
    events.push(event(24)); // the same actor, another action
    store
        .write(|c| events.iter().try_for_each(|e| audit::append(c, e)))
        .unwrap();
    let actor = fingerprint(7).as_str().to_owned();
    let count = |since, at_most| {
        store
            .read(|c| audit::count_actions_since(c, &actor, "pull_package", since, at_most))
            .unwrap()
    };
    let first = events[0].time;
    assert_eq!(count(first, 100), 6);
    assert_eq!(count(first, 4), 4);
    assert_eq!(count(first, 0), 0);
    // Since the third pull: the third to the sixth.
    assert_eq!(count(events[2].time, 100), 4);
    assert_eq!(
        store
            .read(|c| audit::count_actions_since(c, "someone else", "pull_package", first, 100))
            .unwrap(),
        0
    );
}

doorstroom_store::backend_tests!(
    actions_are_counted_up_to_the_cap,
    seq_is_gapless_and_events_round_trip,
    entry_is_the_canonical_json,
    rolled_back_appends_leave_no_gap,
    audit_failure_rolls_back_the_access,
    audit_log_is_append_only,
    concurrent_appends_are_gapless,
);

/// `append` outside a transaction would race for `max(seq)`; it refuses.
#[test]
fn append_requires_a_transaction() {
    let db = TestDb::sqlite();
    let store = db.store();
    let mut conn = doorstroom_store::DbConn::Sqlite(db.migrated_sqlite_connection());
    let err = audit::append(&mut conn, &event(1)).unwrap_err();
    assert!(
        matches!(err, StoreError::Database(diesel::result::Error::NotInTransaction)),
        "{err:?}"
    );
    assert_eq!(store.read(audit::count).unwrap(), 0);
}
