//! PostgreSQL numbers a write's audit events and feed entries just after
//! its commit (`crates/store/src/sequencer.rs`). What that must keep: a
//! crash between the commit and the numbering loses nothing and the next
//! start numbers it; a numbering that fails (a damaged log) leaves the
//! events waiting, in order, and answers the write with the error; nothing
//! waiting is ever shown to a feed reader or a webhook.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use diesel::connection::SimpleConnection;
use diesel::{Connection, ExpressionMethods, PgConnection, QueryDsl, RunQueryDsl};
use doorstroom_domain::{FeedEventKind, Sector};
use doorstroom_store::audit::{self, AuditQuery};
use doorstroom_store::events::{self, NewFeedEvent};
use doorstroom_store::schema::audit_pending;
use doorstroom_store::testing::{TestDb, last_seq};
use doorstroom_store::{DbConn, Store, StoreError, institutions, merkle, webhooks};

type R<T> = Result<T, StoreError>;

fn feed_entry(institution: &doorstroom_domain::Brin) -> NewFeedEvent<'_> {
    NewFeedEvent {
        institution,
        kind: FeedEventKind::PackageAvailable,
        package_id: Some("3f0c5a8e-0000-4000-8000-000000000001"),
        application_id: None,
        section: None,
        occurred_at: at(0),
        at_risk: None,
    }
}

fn waiting(store: &Store) -> i64 {
    store
        .read(|c| -> R<i64> { Ok(audit_pending::table.count().get_result(c)?) })
        .unwrap()
}

fn logged(store: &Store) -> Vec<(i64, doorstroom_domain::AuditEvent)> {
    store.read(|c| audit::list(c, &AuditQuery::default())).unwrap()
}

/// A broker node that committed a write and died before numbering it: the
/// rows wait, no reader sees the feed entry, no webhook is due; the next
/// start numbers them, and the log verifies.
#[test]
fn what_a_crash_left_waiting_is_numbered_at_the_next_start() {
    let Some(db) = TestDb::postgres_or_skip() else { return };
    let store = db.store();
    let mbo = brin("25LX");
    store
        .write(|c| {
            institutions::insert(c, &institution("25LX", Sector::Mbo))?;
            webhooks::set_endpoint(c, &mbo, "https://hooks.example.nl/x", None, at(0))?;
            audit::append(c, &event(1))
        })
        .unwrap();
    // The write's own transaction, as `Store::write` runs it, without the
    // numbering after it.
    let mut conn = DbConn::Postgres(PgConnection::establish(&db.url).unwrap());
    conn.transaction(|c| -> R<()> {
        audit::append(c, &event(2))?;
        audit::append(c, &event(3))?;
        events::append(c, &feed_entry(&mbo))?;
        Ok(())
    })
    .unwrap();
    drop(conn);

    assert_eq!(waiting(&store), 2);
    assert_eq!(last_seq(&store), 1);
    assert!(store.read(|c| events::after(c, &mbo, 0, 10)).unwrap().is_empty());
    assert!(store.read(|c| webhooks::due(c, at(0), 10)).unwrap().is_empty());

    drop(store);
    let store = db.store();
    assert_eq!(waiting(&store), 0);
    assert_eq!(logged(&store), vec![(1, event(1)), (2, event(2)), (3, event(3))]);
    let feed = store.read(|c| events::after(c, &mbo, 0, 10)).unwrap();
    assert_eq!(feed.iter().map(|e| e.seq).collect::<Vec<_>>(), [1]);
    assert_eq!(
        store.read(|c| webhooks::due(c, at(0), 10)).unwrap(),
        [feed[0].id.to_string()]
    );
    store.read(merkle::verify_log).expect("the log verifies");
}

/// A numbering that fails (here: the log refuses inserts, as a damaged
/// one would fail its hashes) answers the write with the error; its event
/// waits, and the events of later writes wait behind it, until the log is
/// mended and the next write with an event numbers them all, in the order
/// written.
#[test]
fn a_failed_numbering_keeps_the_events_waiting_in_order() {
    let Some(db) = TestDb::postgres_or_skip() else { return };
    let store = db.store();
    store.write(|c| audit::append(c, &event(1))).unwrap();
    store
        .write(|c| -> R<()> {
            Ok(c.batch_execute(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION 'refused by test'; END $$; \
                 CREATE TRIGGER refuse BEFORE INSERT ON audit_events \
                 FOR EACH ROW EXECUTE FUNCTION refuse();",
            )?)
        })
        .unwrap();
    for n in [2, 3] {
        assert!(store.write(|c| audit::append(c, &event(n))).is_err(), "write {n}");
    }
    assert_eq!(waiting(&store), 2);
    assert_eq!(last_seq(&store), 1);

    store
        .write(|c| -> R<()> { Ok(c.batch_execute("DROP TRIGGER refuse ON audit_events")?) })
        .unwrap();
    assert_eq!(waiting(&store), 2, "a write that queues nothing runs no round");
    store.write(|c| audit::append(c, &event(4))).unwrap();
    assert_eq!(waiting(&store), 0, "the next write numbered what waited");
    assert_eq!(
        logged(&store),
        vec![(1, event(1)), (2, event(2)), (3, event(3)), (4, event(4))]
    );
    store.read(merkle::verify_log).expect("the log verifies");
}

/// Two stores on one database (two broker nodes), eight writers each, every
/// write an audit event and a feed entry for the same institution: both
/// logs gapless, every event and entry once, and the log verifies.
#[test]
fn two_nodes_number_one_log_and_one_feed() {
    let Some(db) = TestDb::postgres_or_skip() else { return };
    let first = db.store();
    first
        .write(|c| institutions::insert(c, &institution("25LX", Sector::Mbo)))
        .unwrap();
    let nodes = [first.clone(), db.store()];
    let writers: Vec<_> = (0..16u32)
        .map(|w| {
            let store = nodes[(w % 2) as usize].clone();
            std::thread::spawn(move || {
                let mbo = brin("25LX");
                for i in 0..20 {
                    store
                        .write(|c| -> R<()> {
                            audit::append(c, &event(w * 100 + i))?;
                            events::append(c, &feed_entry(&mbo))?;
                            Ok(())
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let seqs: Vec<i64> = logged(&first).into_iter().map(|(s, _)| s).collect();
    assert_eq!(seqs, (1..=320).collect::<Vec<_>>());
    let feed = first.read(|c| events::after(c, &brin("25LX"), 0, 1000)).unwrap();
    assert_eq!(
        feed.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=320).collect::<Vec<_>>()
    );
    assert_eq!(waiting(&first), 0);
    first.read(merkle::verify_log).expect("the log verifies");
}

/// An event a round could not number (PostgreSQL's `TEXT` holds no NUL
/// character) fails its own write at once and is never queued, so it
/// cannot stop the rounds of the writes after it.
#[test]
fn an_event_no_round_could_number_fails_its_own_write_only() {
    let Some(db) = TestDb::postgres_or_skip() else { return };
    let store = db.store();
    store.write(|c| audit::append(c, &event(1))).unwrap();
    let mut hostile = event(2);
    hostile.resource.id = Some("pkg\0x".to_owned());
    assert!(store.write(|c| audit::append(c, &hostile)).is_err());
    assert_eq!(waiting(&store), 0, "never queued");
    store.write(|c| audit::append(c, &event(3))).unwrap();
    assert_eq!(logged(&store), vec![(1, event(1)), (2, event(3))]);
}

/// A queued entry that is not an audit event (the queue damaged) stops the
/// numbering, and the error says so without quoting the entry: it holds
/// pseudonyms, and the error goes to the broker's log.
#[test]
fn a_damaged_queue_entry_stops_the_numbering_and_the_error_quotes_nothing() {
    let Some(db) = TestDb::postgres_or_skip() else { return };
    drop(db.store());
    // A real entry whose purpose is a value no purpose has: serde_json's
    // own message would quote it.
    let entry = event(1)
        .canonical_json()
        .replace("\"administration\"", "\"pseudonym-4f2a9c\"");
    assert!(entry.contains("pseudonym-4f2a9c"));
    let mut conn = PgConnection::establish(&db.url).unwrap();
    diesel::insert_into(audit_pending::table)
        .values((audit_pending::entry.eq(&entry), audit_pending::parties.eq("")))
        .execute(&mut conn)
        .unwrap();
    let Err(error) = Store::open(&db.url, 2) else {
        panic!("a damaged queue must stop the start")
    };
    let said = format!("{error} {error:?}");
    assert!(said.contains("not an audit event"), "{said}");
    assert!(!said.contains("pseudonym-4f2a9c"), "the entry is quoted: {said}");
}
