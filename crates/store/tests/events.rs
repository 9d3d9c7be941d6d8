//! The event feed's storage on both backends: `seq` is gap-free per
//! institution under concurrent writers, a rolled-back write takes its
//! number back, institutions are numbered apart, and the purge deletes
//! only what is due while numbering goes on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Barrier};

use common::*;
use doorstroom_domain::{Brin, FeedEventKind, Sector};
use doorstroom_store::events::{self, FeedEvent, NewFeedEvent};
use doorstroom_store::testing::TestDb;
use doorstroom_store::{DbConn, StoreError, backend_tests, institutions};

fn entry(institution: &Brin, offset_ms: i64) -> NewFeedEvent<'_> {
    NewFeedEvent {
        institution,
        kind: FeedEventKind::PackageAvailable,
        package_id: Some("3f0c5a8e-0000-4000-8000-000000000001"),
        application_id: Some(uuid::Uuid::new_v4()),
        section: None,
        occurred_at: at(offset_ms),
        at_risk: None,
    }
}

fn all(conn: &mut DbConn, institution: &Brin) -> Result<Vec<FeedEvent>, StoreError> {
    events::after(conn, institution, 0, 10_000)
}

fn seqs(feed: &[FeedEvent]) -> Vec<i64> {
    feed.iter().map(|e| e.seq).collect()
}

fn two_schools(db: &TestDb) -> (Brin, Brin) {
    let store = db.store();
    store
        .write(|c| {
            institutions::insert(c, &institution("25LX", Sector::Mbo))?;
            institutions::insert(c, &institution("07AB", Sector::Vo))
        })
        .unwrap();
    (brin("25LX"), brin("07AB"))
}

/// 8 writers × 20 writes, each write appending to both institutions:
/// each feed is 1..=160, in commit order, nothing lost or doubled.
fn concurrent_writers_get_gap_free_numbers(db: &TestDb) {
    let (mbo, vo) = two_schools(db);
    let store = db.store();
    let start = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let (store, start) = (store.clone(), start.clone());
            // Half the writers append to one school first, half to the
            // other: the audit tail lock taken first keeps them from
            // deadlocking on PostgreSQL.
            let (first, second) = match i % 2 {
                0 => (vo.clone(), mbo.clone()),
                _ => (mbo.clone(), vo.clone()),
            };
            std::thread::spawn(move || {
                start.wait();
                for _ in 0..20 {
                    store
                        .write(|c| {
                            events::append(c, &entry(&first, 0))?;
                            events::append(c, &entry(&second, 0))
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let expected: Vec<i64> = (1..=160).collect();
    for school in [&mbo, &vo] {
        let feed = store.read(|c| all(c, school)).unwrap();
        assert_eq!(seqs(&feed), expected, "{school}");
        assert_eq!(store.read(|c| events::head(c, school)).unwrap(), 160);
    }
}

/// A write that fails after appending takes its number back.
fn a_rolled_back_write_leaves_no_gap(db: &TestDb) {
    let (mbo, _) = two_schools(db);
    let store = db.store();
    store.write(|c| events::append(c, &entry(&mbo, 0))).unwrap();
    let failed: Result<(), StoreError> = store.write(|c| {
        events::append(c, &entry(&mbo, 0))?;
        Err(StoreError::NotFound)
    });
    assert!(failed.is_err());
    store.write(|c| events::append(c, &entry(&mbo, 0))).unwrap();
    let feed = store.read(|c| all(c, &mbo)).unwrap();
    assert_eq!(seqs(&feed), [1, 2]);
    assert_eq!(store.read(|c| events::head(c, &brin("27GH"))).unwrap(), 0);
}

/// The purge deletes entries recorded before the moment, oldest first and
/// bounded; the head stays, so numbers are never given out twice.
fn deleting_old_entries_keeps_the_numbering(db: &TestDb) {
    let (mbo, vo) = two_schools(db);
    let store = db.store();
    store
        .write(|c| {
            for offset in [0, 1000, 2000] {
                events::append(c, &entry(&mbo, offset))?;
            }
            events::append(c, &entry(&vo, 500))
        })
        .unwrap();
    assert_eq!(store.write(|c| events::delete_until(c, at(1500), 1)).unwrap(), 1);
    assert_eq!(store.write(|c| events::delete_until(c, at(1500), 10)).unwrap(), 2);
    assert_eq!(store.write(|c| events::delete_until(c, at(1500), 10)).unwrap(), 0);
    assert_eq!(seqs(&store.read(|c| all(c, &mbo)).unwrap()), [3]);
    assert!(store.read(|c| all(c, &vo)).unwrap().is_empty());
    store.write(|c| events::append(c, &entry(&mbo, 3000))).unwrap();
    assert_eq!(seqs(&store.read(|c| all(c, &mbo)).unwrap()), [3, 4]);
    // Read back as written.
    let last = store.read(|c| events::after(c, &mbo, 3, 10)).unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].occurred_at, at(3000));
    assert_eq!(last[0].kind, FeedEventKind::PackageAvailable);
}

/// The outbox: a row per entry once the institution has an endpoint, none
/// before; a claim is exclusive until its lease ends; a late failure
/// never undoes a delivery.
fn the_outbox_follows_the_feed_and_keeps_a_delivery(db: &TestDb) {
    use doorstroom_store::webhooks;
    let (mbo, _) = two_schools(db);
    let store = db.store();
    store.write(|c| events::append(c, &entry(&mbo, 0))).unwrap();
    assert!(store.read(|c| webhooks::due(c, at(0), 10)).unwrap().is_empty());
    store
        .write(|c| webhooks::set_endpoint(c, &mbo, "https://hooks.example.nl/x", None, at(0)))
        .unwrap();
    let event = store.write(|c| events::append(c, &entry(&mbo, 10))).unwrap();
    let id = event.to_string();
    assert_eq!(
        store.read(|c| webhooks::due(c, at(10), 10)).unwrap(),
        std::slice::from_ref(&id)
    );
    let claimed = store.write(|c| webhooks::claim(c, &id, at(10), at(5000))).unwrap();
    assert_eq!(claimed.map(|c| (c.attempts, c.event_id)), Some((1, id.clone())));
    // Held until the lease ends.
    assert!(
        store
            .write(|c| webhooks::claim(c, &id, at(20), at(5000)))
            .unwrap()
            .is_none()
    );
    let again = store.write(|c| webhooks::claim(c, &id, at(5000), at(9000))).unwrap();
    assert_eq!(again.map(|c| c.attempts), Some(2));
    store
        .write(|c| webhooks::delivered(c, &id, at(5001), "http 200"))
        .unwrap();
    // The first attempt ends late, with a failure.
    store
        .write(|c| webhooks::retry_at(c, &id, at(6000), "timeout"))
        .unwrap();
    let recent = store.read(|c| webhooks::recent(c, &mbo, 10)).unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].state, "delivered");
    assert_eq!(recent[0].last_outcome.as_deref(), Some("http 200"));
    assert!(store.read(|c| webhooks::due(c, at(99_999), 10)).unwrap().is_empty());
    // The purge takes the delivery with its entry.
    assert_eq!(store.write(|c| events::delete_until(c, at(10), 10)).unwrap(), 2);
    assert!(store.read(|c| webhooks::recent(c, &mbo, 10)).unwrap().is_empty());
}

backend_tests!(
    concurrent_writers_get_gap_free_numbers,
    a_rolled_back_write_leaves_no_gap,
    deleting_old_entries_keeps_the_numbering,
    the_outbox_follows_the_feed_and_keeps_a_delivery,
);
