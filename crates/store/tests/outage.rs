//! Outages: a request waits for a pooled connection at most once, and the
//! store remembers how the last write ended (for `/readyz`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::mpsc;
use std::time::Duration;

use doorstroom_domain::CertFingerprint;
use doorstroom_store::health::WriteOutcome;
use doorstroom_store::testing::TestDb;
use doorstroom_store::{StoreError, backend_tests};

type R<T> = Result<T, StoreError>;

/// With the one connection held elsewhere, the first checkout waits its
/// timeout and fails; the next one, while the database is known to be out
/// of reach, fails without waiting (told apart by its message, not by the
/// clock). Once a connection is free again, checkouts succeed and the
/// store forgets the outage.
fn a_request_waits_for_the_pool_at_most_once(db: &TestDb) {
    let store = db.open(1).with_checkout_timeout(Duration::from_millis(300));
    let (held, hold) = mpsc::channel::<()>();
    let (release, released) = mpsc::channel::<()>();
    let holder = {
        let store = store.clone();
        std::thread::spawn(move || {
            store
                .read(|_| -> R<()> {
                    held.send(()).unwrap();
                    released.recv().unwrap();
                    Ok(())
                })
                .unwrap();
        })
    };
    hold.recv().unwrap();

    let waited = store.read(|_| -> R<()> { Ok(()) }).unwrap_err();
    let StoreError::Unavailable(waited) = waited else {
        panic!("{waited}")
    };
    assert!(waited.contains("timed out"), "{waited}");
    assert!(StoreError::Unavailable(waited).is_outage());

    // The next request does not wait again (a read: on SQLite writes have
    // a pool of their own, which still has its idle connection).
    let at_once = store.read(|_| -> R<()> { Ok(()) }).unwrap_err();
    let StoreError::Unavailable(at_once) = at_once else {
        panic!("{at_once}")
    };
    assert!(at_once.contains("unreachable moments ago"), "{at_once}");
    assert!(matches!(store.last_write(), Some((_, WriteOutcome::Failed))));

    release.send(()).unwrap();
    holder.join().unwrap();
    store.write(|_| -> R<()> { Ok(()) }).unwrap();
    assert!(matches!(store.last_write(), Some((_, WriteOutcome::Succeeded))));
    store.read(|_| -> R<()> { Ok(()) }).unwrap();
}

/// The readiness probe's write commits on a healthy database.
fn the_probe_write_commits(db: &TestDb) {
    let store = db.store();
    store.probe_write(chrono::Utc::now()).unwrap();
    assert!(matches!(store.last_write(), Some((_, WriteOutcome::Succeeded))));
}

backend_tests!(a_request_waits_for_the_pool_at_most_once, the_probe_write_commits);

/// Ends every connection of `db` but the asking one, as a server restart
/// or a failover would, and waits until they are gone.
fn terminate_connections(db: &TestDb) {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let mut admin = PgConnection::establish(&db.url).unwrap();
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut admin)
    .unwrap();
    #[derive(diesel::QueryableByName)]
    struct Left {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    for _ in 0..100 {
        let left: Left = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .get_result(&mut admin)
        .unwrap();
        if left.n == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the connections did not end");
}

/// PostgreSQL: connections the server dropped are found and replaced,
/// without a `SELECT 1` before every use. One that sat idle is tested
/// before it is used, so the request after a restart succeeds. One in
/// steady use is not: its request fails (an outage, 503), and the pool
/// drops it, so the request after that succeeds.
#[test]
fn connections_the_server_dropped_are_replaced() {
    let Some(db) = TestDb::postgres_or_skip() else { return };
    let store = db.open(1);
    let ok = || store.read(|_| -> R<()> { Ok(()) });

    ok().unwrap();
    std::thread::sleep(Duration::from_millis(600));
    terminate_connections(&db);
    ok().expect("an idle connection is tested and replaced before use");

    // Likewise for a statement outside a transaction (the client
    // certificate's lookup): the statement's failure alone marks the
    // connection broken.
    let fingerprint = CertFingerprint::parse(&"ab".repeat(32)).unwrap();
    let lookup = || store.certificate_binding(&fingerprint);
    lookup().unwrap();
    terminate_connections(&db);
    let failed = lookup().expect_err("a connection in steady use is not tested before use");
    assert!(failed.is_outage(), "{failed:?}");
    assert_eq!(lookup().expect("the lost connection was dropped and replaced"), None);
    ok().unwrap();
}
