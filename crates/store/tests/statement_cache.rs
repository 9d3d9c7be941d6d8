//! The pull's updates are prepared once per connection and then reused:
//! diesel would compile an `UPDATE` (and an `IN (…)`) afresh at every
//! execution, so the store writes these two out with a shape of their own
//! (the sections' list always four binds long).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{TimeZone, Utc};
use doorstroom_domain::Section;
use doorstroom_store::testing::TestDb;
use doorstroom_store::{DbConn, Store, StoreError, backend_tests, packages};

/// The store's `prepares` counter across `f`, run on `conn`.
fn prepares_during(store: &Store, conn: &mut DbConn, f: impl FnOnce(&mut DbConn)) -> u64 {
    let before = store.counters();
    f(conn);
    store.counters().since(&before).prepares
}

fn the_pulls_updates_are_prepared_once(db: &TestDb) {
    let store = db.store();
    let now = Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap();
    let sections = [Section::PersonalData, Section::SupportNeeds];
    let counter = store.clone();
    store
        .write(move |conn| {
            // No such packages: the updates change no row, but are compiled
            // all the same.
            let first = prepares_during(&counter, conn, |conn| {
                packages::set_delivered(conn, "no-such-package-1", now).unwrap();
                packages::mark_sections_delivered(conn, "no-such-package-1", &sections, now).unwrap();
            });
            let again = prepares_during(&counter, conn, |conn| {
                packages::set_delivered(conn, "no-such-package-2", now).unwrap();
                // One section this time: still the same statement.
                packages::mark_sections_delivered(conn, "no-such-package-2", &sections[..1], now).unwrap();
            });
            assert_eq!(first, 2, "each update is put in the statement cache the first time");
            assert_eq!(again, 0, "and taken from it the next time");
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

backend_tests!(the_pulls_updates_are_prepared_once);
