//! Pruning the audit log after the audit period, on SQLite and PostgreSQL:
//! a prefix of due events within the latest checkpoint goes at its due
//! instant and not a second before, its stored hashes stay, proofs and
//! `verify_log` keep working, the database's door opens only for that, and
//! tampering around the prune boundary is still caught.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use diesel::connection::SimpleConnection;
use doorstroom_domain::RetentionPolicy;
use doorstroom_store::audit::{self, Checkpoint, TamperError, TreeBuilder};
use doorstroom_store::merkle::{self, Digest, PRUNED};
use doorstroom_store::retention::{self, PrunedAudit};
use doorstroom_store::testing::{TestBackend, TestDb};
use doorstroom_store::{DbConn, Store, StoreError};

type R<T> = Result<T, StoreError>;

fn append_events(store: &Store, range: std::ops::Range<u32>) {
    store
        .write(|c| range.clone().try_for_each(|n| audit::append(c, &event(n))))
        .unwrap();
}

fn note(size: i64, root: &Digest) -> String {
    format!(
        "doorstroom.test/audit\n{size}\n{}\n\n\u{2014} doorstroom.test/audit AAAAAAAA\n",
        tlog_tiles::Hash(*root)
    )
}

fn checkpoint(store: &Store, size: i64) {
    let root = store.read(|c| audit::tree_hash(c, size)).unwrap();
    let cp = Checkpoint {
        size,
        root,
        signed_note: note(size, &root),
        created_at: at(size),
    };
    store.write(|c| audit::record_checkpoint(c, &cp)).unwrap();
}

/// When the event with `seq` (made by `event(seq - 1)`) is due, as stored
/// (milliseconds).
fn due(seq: u32) -> DateTime<Utc> {
    let recorded = DateTime::from_timestamp_millis(event(seq - 1).time.timestamp_millis()).unwrap();
    RetentionPolicy::default().audit_due(recorded)
}

fn prune(store: &Store, now: DateTime<Utc>, limit: i64) -> Option<PrunedAudit> {
    store
        .write(|c| retention::prune_audit(c, &RetentionPolicy::default(), now, limit))
        .unwrap()
}

fn verify(store: &Store) -> Result<audit::VerifiedLog, TamperError> {
    store
        .read(|c: &mut DbConn| -> Result<_, StoreError> { Ok(audit::verify_log(c)) })
        .unwrap()
}

/// 12 events, a checkpoint at 10: the log every test starts from.
fn log(db: &TestDb) -> Store {
    let store = db.store();
    append_events(&store, 0..10);
    checkpoint(&store, 10);
    append_events(&store, 10..12);
    store
}

fn events_go_at_their_due_instant_and_not_a_second_before(db: &TestDb) {
    let store = log(db);
    let root_before = store.read(|c| audit::tree_hash(c, 12)).unwrap();
    assert_eq!(
        prune(&store, due(1) - Duration::seconds(1), 100),
        None,
        "nothing due yet"
    );
    assert_eq!(store.read(merkle::pruned_below).unwrap(), 1);
    // Event 3 falls due one second after event 2.
    assert_eq!(
        prune(&store, due(3) - Duration::seconds(1), 100),
        Some(PrunedAudit { first: 1, last: 2 })
    );
    assert_eq!(store.read(merkle::pruned_below).unwrap(), 3);
    assert_eq!(prune(&store, due(3), 100), Some(PrunedAudit { first: 3, last: 3 }));
    // A batch limit holds.
    assert_eq!(prune(&store, due(12), 2), Some(PrunedAudit { first: 4, last: 5 }));
    // Everything is due now, but only what the checkpoint at 10 pins goes.
    assert_eq!(
        prune(&store, due(12) + Duration::days(1), 100),
        Some(PrunedAudit { first: 6, last: 10 })
    );
    assert_eq!(prune(&store, due(12) + Duration::days(1), 100), None);
    assert_eq!(store.read(audit::count).unwrap(), 2);
    assert_eq!(store.read(merkle::pruned_below).unwrap(), 11);
    // The tree is unchanged and verifies.
    assert_eq!(store.read(|c| audit::tree_hash(c, 12)).unwrap(), root_before);
    let verified = verify(&store).unwrap();
    assert_eq!((verified.size, verified.root), (12, root_before));
    // Appending goes on from the highest seq.
    append_events(&store, 12..13);
    assert_eq!(verify(&store).unwrap().size, 13);
}

fn the_newest_event_always_stays(db: &TestDb) {
    let store = db.store();
    append_events(&store, 0..4);
    checkpoint(&store, 4);
    assert_eq!(
        prune(&store, due(4) + Duration::days(1), 100),
        Some(PrunedAudit { first: 1, last: 3 })
    );
    append_events(&store, 4..5);
    assert_eq!(store.read(audit::tree_size).unwrap(), 5);
    assert_eq!(verify(&store).unwrap().size, 5);
}

fn nothing_goes_without_a_checkpoint(db: &TestDb) {
    let store = db.store();
    append_events(&store, 0..4);
    assert_eq!(prune(&store, due(4) + Duration::days(1), 100), None);
    assert_eq!(store.read(audit::count).unwrap(), 4);
}

fn entries_refuse_pruned_indexes_and_proofs_keep_working(db: &TestDb) {
    let store = log(db);
    let old_root = store.read(|c| audit::tree_hash(c, 5)).unwrap();
    let root = store.read(|c| audit::tree_hash(c, 12)).unwrap();
    prune(&store, due(12) + Duration::days(1), 100).unwrap();
    for (start, end) in [(0, 12), (9, 11), (0, 1)] {
        match store.read(|c| audit::entries(c, start, end)) {
            Err(StoreError::OutOfRange(message)) => assert_eq!(message, PRUNED),
            other => panic!("entries {start}..{end}: {other:?}"),
        }
    }
    let rest = store.read(|c| audit::entries(c, 10, 12)).unwrap();
    assert_eq!(rest.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), vec![11, 12]);
    // Inclusion of a remaining entry, consistency from a pruned size.
    let proof = store.read(|c| audit::inclusion_proof(c, 10, 12)).unwrap();
    audit::check_inclusion(&audit::leaf_hash(rest[0].1.as_bytes()), 10, 12, &proof, &root).unwrap();
    let proof = store.read(|c| audit::consistency_proof(c, 5, 12)).unwrap();
    audit::check_consistency(5, 12, &old_root, &root, &proof).unwrap();
    // An outside verifier starts from the pruned prefix's subtrees.
    let prefix = store.read(merkle::pruned_prefix).unwrap();
    assert_eq!(prefix.pruned_below, 11);
    assert_eq!(prefix.subtrees.len(), 2, "10 leaves: subtrees of 8 and 2");
    let mut tree = TreeBuilder::from_prefix(10, &prefix.subtrees).unwrap();
    for (_, entry) in &rest {
        tree.push(entry.as_bytes()).unwrap();
    }
    assert_eq!(tree.root().unwrap(), root);
    // A changed subtree hash gives another root.
    let mut changed = prefix.subtrees.clone();
    changed[1][0] ^= 1;
    let mut tree = TreeBuilder::from_prefix(10, &changed).unwrap();
    for (_, entry) in &rest {
        tree.push(entry.as_bytes()).unwrap();
    }
    assert_ne!(tree.root().unwrap(), root);
    assert!(TreeBuilder::from_prefix(10, &prefix.subtrees[..1]).is_err());
}

// ---- the door in the append-only protection ----

fn sql(store: &Store, sql: &str) -> R<()> {
    store.write(|c| -> R<()> { Ok(c.batch_execute(sql)?) })
}

fn the_permit_opens_only_delete_of_events_below_it_within_the_checkpoint(db: &TestDb) {
    let store = log(db);
    // Without a permit nothing goes.
    assert!(sql(&store, "DELETE FROM audit_events WHERE seq = 1").is_err());
    // With one: only below it, only within the checkpoint, only DELETE on
    // audit_events. Each statement in its own transaction with the permit.
    let with_permit = |below: i64, stmt: &str| {
        sql(
            &store,
            &format!(
                "INSERT INTO audit_prune_permits (below) VALUES ({below}); {stmt}; DELETE FROM audit_prune_permits;"
            ),
        )
    };
    for refused in [
        (5, "DELETE FROM audit_events WHERE seq = 5"),
        (5, "DELETE FROM audit_events WHERE seq = 7"),
        (12, "DELETE FROM audit_events WHERE seq = 11"),
        (5, "UPDATE audit_events SET reason = 'x' WHERE seq = 1"),
        (5, "DELETE FROM audit_hashes WHERE idx = 0"),
        (5, "UPDATE audit_hashes SET idx = 1000 WHERE idx = 0"),
        (5, "DELETE FROM audit_checkpoints"),
    ] {
        assert!(
            with_permit(refused.0, refused.1).is_err(),
            "{} must be refused",
            refused.1
        );
    }
    assert_eq!(store.read(audit::count).unwrap(), 12);
    // The prune's own permit never outlives its transaction.
    prune(&store, due(2), 100).unwrap();
    assert!(sql(&store, "DELETE FROM audit_events WHERE seq = 3").is_err());
    assert!(sql(&store, "DELETE FROM audit_events WHERE seq = 11").is_err());
    let permits: i64 = store
        .read(|c| -> R<i64> {
            use diesel::prelude::*;
            Ok(doorstroom_store::schema::audit_prune_permits::table
                .count()
                .get_result(c)?)
        })
        .unwrap();
    assert_eq!(permits, 0);
    // The boundary record is append-only.
    assert!(sql(&store, "DELETE FROM audit_prunes").is_err());
    assert!(sql(&store, "UPDATE audit_prunes SET pruned_below = 12").is_err());
    // What the permit lets through; without the boundary record that is
    // tampering all the same.
    with_permit(5, "DELETE FROM audit_events WHERE seq < 5").unwrap();
    assert_eq!(store.read(audit::count).unwrap(), 8);
    let err = verify(&store).unwrap_err();
    assert!(
        matches!(err, TamperError::Sequence { expected: 3, found: 5 }),
        "{err:?}"
    );
}

// ---- tampering behind the store's back ----

fn disable_triggers(db: &TestDb, store: &Store) {
    let stmt = match db.backend {
        TestBackend::Sqlite => {
            "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete; \
             DROP TRIGGER audit_hashes_no_update; DROP TRIGGER audit_hashes_no_delete; \
             DROP TRIGGER audit_prunes_no_update; DROP TRIGGER audit_prunes_no_delete;"
        }
        TestBackend::Postgres => {
            "ALTER TABLE audit_events DISABLE TRIGGER USER; ALTER TABLE audit_hashes DISABLE TRIGGER USER; \
             ALTER TABLE audit_prunes DISABLE TRIGGER USER;"
        }
    };
    sql(store, stmt).unwrap();
}

fn bytes_literal(db: &TestDb, bytes: &[u8]) -> String {
    match db.backend {
        TestBackend::Sqlite => format!("X'{}'", hex::encode(bytes)),
        TestBackend::Postgres => format!("'\\x{}'::bytea", hex::encode(bytes)),
    }
}

/// The log pruned below 11, triggers off.
fn pruned(db: &TestDb) -> Store {
    let store = log(db);
    prune(&store, due(12) + Duration::days(1), 100).unwrap();
    verify(&store).unwrap();
    disable_triggers(db, &store);
    store
}

fn a_changed_remaining_entry_is_caught(db: &TestDb) {
    let store = pruned(db);
    sql(
        &store,
        "UPDATE audit_events SET entry = replace(entry, '\"req-10\"', '\"req-X\"') WHERE seq = 11",
    )
    .unwrap();
    let err = verify(&store).unwrap_err();
    assert!(matches!(err, TamperError::Column { seq: 11, .. }), "{err:?}");
}

fn a_changed_stored_hash_below_the_boundary_is_caught(db: &TestDb) {
    for leaf in [0u64, 5, 9] {
        let db = &TestDb::new(db.backend);
        let store = pruned(db);
        let index = tlog_tiles::stored_hash_index(0, leaf);
        let forged = bytes_literal(db, &[0x42; 32]);
        sql(
            &store,
            &format!("UPDATE audit_hashes SET hash = {forged} WHERE idx = {index}"),
        )
        .unwrap();
        let err = verify(&store).unwrap_err();
        assert!(
            matches!(
                err,
                TamperError::StoredHash { .. } | TamperError::Checkpoint { size: 10, .. }
            ),
            "leaf {leaf}: {err:?}"
        );
    }
    // An interior hash of the prefix too.
    let store = pruned(db);
    let index = tlog_tiles::stored_hash_index(2, 0);
    let forged = bytes_literal(db, &[0x42; 32]);
    sql(
        &store,
        &format!("UPDATE audit_hashes SET hash = {forged} WHERE idx = {index}"),
    )
    .unwrap();
    let err = verify(&store).unwrap_err();
    assert!(matches!(err, TamperError::StoredHash { .. }), "{err:?}");
}

fn a_deleted_hash_below_the_boundary_is_caught(db: &TestDb) {
    let store = pruned(db);
    let index = tlog_tiles::stored_hash_index(0, 4);
    sql(&store, &format!("DELETE FROM audit_hashes WHERE idx = {index}")).unwrap();
    let err = verify(&store).unwrap_err();
    assert!(
        matches!(err, TamperError::MissingHash { index: i } if i == index),
        "{err:?}"
    );
}

fn an_event_deleted_above_the_boundary_is_caught(db: &TestDb) {
    let store = pruned(db);
    sql(&store, "DELETE FROM audit_events WHERE seq = 11").unwrap();
    let err = verify(&store).unwrap_err();
    assert!(
        matches!(
            err,
            TamperError::Sequence {
                expected: 11,
                found: 12
            }
        ),
        "{err:?}"
    );
}

fn a_boundary_raised_past_the_checkpoint_is_caught(db: &TestDb) {
    let store = pruned(db);
    sql(
        &store,
        "INSERT INTO audit_prunes (pruned_below, pruned_at) VALUES (12, 0); DELETE FROM audit_events WHERE seq = 11",
    )
    .unwrap();
    let err = verify(&store).unwrap_err();
    assert!(
        matches!(err, TamperError::PrunedBeyondCheckpoint { below: 12, latest: 10 }),
        "{err:?}"
    );
}

doorstroom_store::backend_tests!(
    events_go_at_their_due_instant_and_not_a_second_before,
    the_newest_event_always_stays,
    nothing_goes_without_a_checkpoint,
    entries_refuse_pruned_indexes_and_proofs_keep_working,
    the_permit_opens_only_delete_of_events_below_it_within_the_checkpoint,
    a_changed_remaining_entry_is_caught,
    a_changed_stored_hash_below_the_boundary_is_caught,
    a_deleted_hash_below_the_boundary_is_caught,
    an_event_deleted_above_the_boundary_is_caught,
    a_boundary_raised_past_the_checkpoint_is_caught,
);
