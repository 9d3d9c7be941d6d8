//! How many SQL statements one submission and one pull cost (issue 14),
//! pinned from above on both backends so that a change that adds
//! statements to the write path fails here.
//!
//! Counted with the store's own counters (`Store::counters`): every
//! statement of the broker's store, queries, `BEGIN`/`COMMIT`, savepoints
//! alike. Each request is measured three times and the least count is
//! compared, so that a pooled connection being (re)established in the
//! background never adds to it; a statement the code itself adds shows up
//! in every run. Its own test binary with one test, so that no other test
//! of the process uses the store meanwhile.

#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

#[path = "e2e/exchange_support.rs"]
mod exchange_support;

use doorstroom_domain::Role;
use doorstroom_store::Store;
use doorstroom_store::testing::TestDb;
use doorstroom_tests::{MBO, TestBroker, VO};
use exchange_support::{
    BSN, personal_data, pull_as_system, record_inspection, register_application, remarks, seal_package, submit,
};

/// The least statement count of three runs of `make(i).await` on `store`.
async fn least<F, Fut>(store: &Store, label: &str, make: F) -> u64
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut best: Option<doorstroom_store::Counters> = None;
    for i in 0..3 {
        let before = store.counters();
        make(i).await;
        let run = store.counters().since(&before);
        if best.as_ref().is_none_or(|b| run.statements < b.statements) {
            best = Some(run);
        }
    }
    let best = best.unwrap();
    eprintln!("{label}: {best:?}");
    best.statements
}

/// Upper bounds per request: the counts when this test was written (they
/// were about 32 and 26 before the submission stopped reading back what it
/// wrote and the pull its package, and before an audit event's Merkle
/// hashes and relations became one `INSERT` each on PostgreSQL; SQLite runs
/// a cached single-row `INSERT` per row instead, cheaper in-process than
/// compiling a multi-row one afresh). Every statement of the request counts:
/// the client certificate's lookup (its own read transaction), the
/// checkout's `SELECT 1` (until 2026-12-07), the work and the audit
/// append. Lower is welcome,
/// and then the bound comes down with it. Issue 15 added three to a
/// submission, its `package.available` feed entry: the head's `UPDATE …
/// RETURNING`, the entry's `INSERT` and the look for a webhook endpoint
/// (the outbox row); on PostgreSQL one more, the audit tail's lock taken
/// before the head's (29 and 22 on PostgreSQL then).
///
/// Since PostgreSQL numbers audit events and feed entries after a write's
/// commit (`crates/store/src/sequencer.rs`), a write there queues each
/// event with one `INSERT` (the lock, `max(seq)`, the row, its Merkle hashes
/// read and written and its relations were six) and its feed entry with a
/// placeholder from a sequence instead of the head's `UPDATE`; then a
/// numbering round: `BEGIN`, the tail's lock, the queue taken, the feed
/// numbered, the events' rows, their relations, the hashes they build on
/// read and theirs written, `COMMIT`. Measured one request at a time, as
/// here, every write runs a round of its own: 32 and 26. Under load one
/// round numbers several writes (the load generator's statements per
/// request at 64 clients are in the README).
///
/// Then (2026-12-07) eight fewer on SQLite and seven fewer on PostgreSQL
/// for a submission (six and four for a pull): the certificate's lookup is
/// one statement outside a transaction (`Store::certificate_binding`; its
/// `BEGIN` and `COMMIT` gone); SQLite's pools no longer test a connection
/// with `SELECT 1` at checkout (a file cannot go stale; PostgreSQL's still
/// do); the audit spine runs the work without a savepoint (a failure rolls
/// back and is recorded in a write of its own; `SAVEPOINT` and `RELEASE`
/// gone); the package's `INSERT` is `ON CONFLICT DO NOTHING` instead of a
/// savepoint around it; on PostgreSQL the feed entry's placeholder is the
/// column's default instead of a `SELECT nextval` of its own. And two
/// fewer on PostgreSQL: a connection is tested with `SELECT 1` only when
/// it sat idle for half a second (`Store::checkout`), not at every
/// checkout.
const MAX_SUBMIT: [(&str, u64); 2] = [("sqlite", 23), ("postgres", 23)];
const MAX_PULL: [(&str, u64); 2] = [("sqlite", 17), ("postgres", 20)];

fn bound(table: &[(&str, u64)], backend: &str) -> u64 {
    table.iter().find(|(b, _)| *b == backend).map(|(_, n)| *n).unwrap()
}

#[tokio::test]
async fn a_submission_and_a_pull_stay_within_their_statement_budget() {
    for db in TestDb::all() {
        let backend = db.backend.name();
        let broker = TestBroker::start_with(db, |s| {
            s.retention.purge_interval = None;
            s.audit.checkpoint_interval = std::time::Duration::from_secs(24 * 3600);
        })
        .await;
        let intaker = broker.create_staff("intaker.count", Role::Intaker, Some(MBO));
        let vo = broker.system(VO);
        // Warm-up: a package submitted and pulled, so that every lazy
        // first (a key parsed, a statement prepared) is behind us.
        let application = register_application(&broker, MBO, BSN).await;
        record_inspection(&broker, BSN).await;
        let mut packages = Vec::new();
        for _ in 0..4 {
            packages.push(seal_package(
                &broker,
                application,
                MBO,
                &[personal_data(BSN), remarks()],
            ));
        }
        let warm = packages.pop().unwrap();
        assert_eq!(submit(&vo, &warm).await.status.as_u16(), 201);
        let warm_id = warm_package_id(&warm);
        assert_eq!(
            pull_as_system(&broker, MBO, &warm_id, Some(&intaker.id))
                .await
                .status
                .as_u16(),
            200
        );

        let submits = least(&broker.store, &format!("{backend}: submit"), |i| {
            let (vo, package) = (&vo, &packages[i]);
            async move {
                let reply = submit(vo, package).await;
                assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
            }
        })
        .await;
        let pulls = least(&broker.store, &format!("{backend}: pull"), |i| {
            let (broker, id, intaker) = (&broker, warm_package_id(&packages[i]), &intaker.id);
            async move {
                let reply = pull_as_system(broker, MBO, &id, Some(intaker)).await;
                assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
            }
        })
        .await;
        assert!(
            submits <= bound(&MAX_SUBMIT, backend),
            "{backend}: {submits} statements per submission"
        );
        assert!(
            pulls <= bound(&MAX_PULL, backend),
            "{backend}: {pulls} statements per pull"
        );
    }
}

fn warm_package_id(submission: &doorstroom_jose::Submission) -> String {
    exchange_support::envelope_payload(&submission.envelope)["pid"]
        .as_str()
        .unwrap()
        .to_owned()
}
