//! Group commit keeps the promises of one transaction per write: writers
//! that share a batch each get their own outcome, a write that fails or
//! panics leaves nothing and does not take its batch with it, a batch that
//! cannot commit answers every member 503 and keeps nothing of any, and the
//! audit log stays gapless and verifies. Group commit is SQLite's (on
//! PostgreSQL every write runs in a transaction of its own, see the store's
//! documentation); what holds for any write is tested on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::*;
use diesel::connection::SimpleConnection;
use diesel::{QueryableByName, RunQueryDsl};
use doorstroom_store::testing::TestDb;
use doorstroom_store::{DbConn, GroupCommit, Store, StoreError, audit, backend_tests, merkle};

type R<T> = Result<T, StoreError>;

/// A store whose leader waits long enough for every writer of a test to
/// join (it still commits at once when no writer is coming).
fn patient_store(db: &TestDb) -> Store {
    db.store().with_group_commit(GroupCommit {
        max_members: 1000,
        max_bytes: usize::MAX,
        max_wait: Duration::from_millis(200),
    })
}

/// Runs `threads` writers at once, each doing `work(thread)`, and returns
/// what each got (a panic as `None`).
fn at_once<T: Send + 'static>(threads: usize, work: impl Fn(usize) -> T + Send + Sync + 'static) -> Vec<Option<T>> {
    let start = Arc::new(Barrier::new(threads));
    let work = Arc::new(work);
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (start, work) = (start.clone(), work.clone());
            std::thread::spawn(move || {
                start.wait();
                work(i)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().ok()).collect()
}

fn request_ids(store: &Store) -> BTreeSet<String> {
    store
        .read(|conn| audit::list(conn, &audit::AuditQuery::default()))
        .unwrap()
        .into_iter()
        .filter_map(|(_, event)| event.request_id)
        .collect()
}

/// 16 writers at once, each appending 25 audit events.
fn sixteen_writers_append_25_each(store: &Store) {
    let writer = store.clone();
    let done = at_once(16, move |thread| {
        for i in 0..25 {
            let n = u32::try_from(thread * 25 + i).unwrap();
            writer.write(|conn| audit::append(conn, &event(n))).unwrap();
        }
    });
    assert!(done.iter().all(Option::is_some), "no writer panicked");
}

/// The sequence numbers the log gave the 400 events of
/// [`sixteen_writers_append_25_each`], once each is found in it exactly
/// once.
fn logged_once_each(store: &Store) -> BTreeSet<i64> {
    let logged = store
        .read(|conn| audit::list(conn, &audit::AuditQuery::default()))
        .unwrap();
    let mut written: Vec<_> = (0..400).map(event).collect();
    let mut found: Vec<_> = logged.iter().map(|(_, e)| e.clone()).collect();
    let key = |e: &doorstroom_domain::AuditEvent| e.canonical_json();
    written.sort_by_key(key);
    found.sort_by_key(key);
    assert_eq!(found, written, "every write's event in the log, once");
    logged.into_iter().map(|(seq, _)| seq).collect()
}

/// 16 writers × 25 audit appends: every one committed once, sequence
/// numbers 1..=400 without a gap, fewer batches than writes, a log that
/// verifies.
fn concurrent_writes_share_batches_and_keep_the_log_gapless(db: &TestDb) {
    let store = patient_store(db);
    let before = store.counters();
    sixteen_writers_append_25_each(&store);
    let counted = store.counters().since(&before);
    assert_eq!(
        logged_once_each(&store),
        (1..=400).collect::<BTreeSet<i64>>(),
        "each write its own, gapless sequence number"
    );
    assert_eq!(counted.batch_members, 400);
    assert!(
        counted.batches < counted.batch_members,
        "writers shared batches: {} batches for {} writes",
        counted.batches,
        counted.batch_members
    );
    assert_eq!(counted.commits, counted.batches, "one commit per batch");
    store.read(merkle::verify_log).expect("the log verifies");
}

/// In one burst, a third of the writers fail after writing, a third panic
/// after writing: only the rest is kept, and the failures reach their own
/// callers only.
fn a_failed_or_panicking_write_leaves_nothing_and_its_batch_commits(db: &TestDb) {
    let store = patient_store(db);
    let writer = store.clone();
    let outcomes = at_once(24, move |thread| {
        let n = u32::try_from(thread).unwrap();
        writer.write(|conn| -> R<i64> {
            audit::append(conn, &event(n))?;
            match thread % 3 {
                0 => Err(StoreError::Conflict("test")),
                1 => panic!("writer {thread} panics on purpose"),
                _ => Ok(i64::from(n)),
            }
        })
    });
    for (thread, outcome) in outcomes.iter().enumerate() {
        match thread % 3 {
            0 => assert!(
                matches!(outcome, Some(Err(StoreError::Conflict("test")))),
                "{thread}: {outcome:?}"
            ),
            1 => assert!(outcome.is_none(), "writer {thread}'s panic reached its caller"),
            _ => assert!(matches!(outcome, Some(Ok(_))), "{thread}: {outcome:?}"),
        }
    }
    let kept: BTreeSet<String> = (0..24).filter(|t| t % 3 == 2).map(|t| format!("req-{t}")).collect();
    assert_eq!(request_ids(&store), kept, "exactly the successful writes are kept");
    store.read(merkle::verify_log).expect("the log verifies");
    // The store is still usable after the panics.
    store.write(|conn| audit::append(conn, &event(99))).unwrap();
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// One writer leaves a dangling reference that a deferred foreign key
/// only refuses at `COMMIT`: its whole batch fails. Every writer that got
/// `Ok` is stored, every one that got an error is not, and the ones that
/// shared the poisoned batch were told `Unavailable` (503), never success.
fn a_batch_that_cannot_commit_answers_every_member_unavailable(db: &TestDb) {
    let store = patient_store(db);
    store
        .write(|conn| -> R<()> {
            let sql = "CREATE TABLE gc_parent (id BIGINT PRIMARY KEY); \
                       INSERT INTO gc_parent (id) VALUES (1); \
                       CREATE TABLE gc_child (id BIGINT PRIMARY KEY, parent BIGINT NOT NULL \
                       REFERENCES gc_parent (id) DEFERRABLE INITIALLY DEFERRED);";
            match conn {
                DbConn::Sqlite(c) => c.batch_execute(sql)?,
                DbConn::Postgres(c) => c.batch_execute(sql)?,
            }
            Ok(())
        })
        .unwrap();
    let mut shared_a_failed_batch = false;
    for round in 0..30i64 {
        let writer = store.clone();
        let outcomes = at_once(8, move |thread| {
            let id = round * 100 + i64::try_from(thread).unwrap();
            let parent = if thread == 0 { 999 } else { 1 };
            writer.write(|conn| -> R<()> {
                diesel::sql_query(format!("INSERT INTO gc_child (id, parent) VALUES ({id}, {parent})"))
                    .execute(conn)?;
                Ok(())
            })
        });
        let stored: BTreeSet<i64> = store
            .read(|conn| -> R<Vec<Id>> {
                Ok(diesel::sql_query(format!(
                    "SELECT id FROM gc_child WHERE id >= {} AND id < {}",
                    round * 100,
                    round * 100 + 100
                ))
                .load(conn)?)
            })
            .unwrap()
            .into_iter()
            .map(|row| row.id)
            .collect();
        for (thread, outcome) in outcomes.into_iter().enumerate() {
            let id = round * 100 + i64::try_from(thread).unwrap();
            match outcome.expect("no writer panicked") {
                Ok(()) => assert!(
                    stored.contains(&id),
                    "round {round}: acknowledged write {thread} is stored"
                ),
                Err(StoreError::Unavailable(_)) => {
                    assert!(
                        !stored.contains(&id),
                        "round {round}: failed write {thread} left nothing"
                    );
                    shared_a_failed_batch |= thread != 0;
                }
                Err(other) => panic!("round {round}: writer {thread} got {other}"),
            }
        }
        assert!(!stored.contains(&(round * 100)), "the dangling row never commits");
        if shared_a_failed_batch {
            break;
        }
    }
    assert!(shared_a_failed_batch, "in 30 rounds no writer shared the failing batch");
    store
        .write(|conn| audit::append(conn, &event(1)))
        .expect("the store goes on");
}

backend_tests!(a_failed_or_panicking_write_leaves_nothing_and_its_batch_commits);

#[test]
fn sqlite_concurrent_writes_share_batches_and_keep_the_log_gapless() {
    concurrent_writes_share_batches_and_keep_the_log_gapless(&TestDb::sqlite());
}

#[test]
fn sqlite_a_batch_that_cannot_commit_answers_every_member_unavailable() {
    a_batch_that_cannot_commit_answers_every_member_unavailable(&TestDb::sqlite());
}

/// On PostgreSQL writes do not share transactions: 16 writers × 25 still
/// get 400 gapless sequence numbers, and no batch is counted.
#[test]
fn postgres_concurrent_writes_each_commit_alone_and_keep_the_log_gapless() {
    let Some(db) = TestDb::postgres_or_skip() else { return };
    let store = db.store();
    let before = store.counters();
    sixteen_writers_append_25_each(&store);
    let counted = store.counters().since(&before);
    assert_eq!(logged_once_each(&store), (1..=400).collect::<BTreeSet<i64>>());
    assert_eq!(counted.batches, 0);
    assert!(counted.commits >= 400, "a commit per write: {counted:?}");
    store.read(merkle::verify_log).expect("the log verifies");
}

/// PostgreSQL aborts a transaction at a failed statement. A write that
/// swallows such an error and returns `Ok` must not be reported as
/// committed, and must not take the batch's other writes with it.
#[test]
fn postgres_a_write_that_swallows_a_failed_statement_is_refused_alone() {
    let Some(db) = TestDb::postgres_or_skip() else { return };
    let store = patient_store(&db);
    let writer = store.clone();
    let outcomes = at_once(8, move |thread| {
        let n = u32::try_from(thread).unwrap();
        writer.write(|conn| -> R<()> {
            audit::append(conn, &event(n))?;
            if thread == 0 {
                let _ = diesel::sql_query("SELECT no_such_column FROM audit_events").execute(conn);
            }
            Ok(())
        })
    });
    assert!(
        matches!(outcomes[0], Some(Err(StoreError::Database(_)))),
        "{:?}",
        outcomes[0]
    );
    for outcome in &outcomes[1..] {
        assert!(matches!(outcome, Some(Ok(()))), "{outcome:?}");
    }
    let kept: BTreeSet<String> = (1..8).map(|t| format!("req-{t}")).collect();
    assert_eq!(request_ids(&store), kept);
    store.read(merkle::verify_log).expect("the log verifies");
}
