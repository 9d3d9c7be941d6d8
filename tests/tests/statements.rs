//! How many SQL statements one submission and one pull cost (issue 14),
//! pinned from above on both backends so that a change that adds
//! statements to the write path fails here.
//!
//! Counted with diesel's instrumentation, installed as the default of
//! every connection before the broker opens its pools; the count is
//! process-wide, which is why this is its own test binary with one test.
//! A statement is every `StartQuery` event: queries, `BEGIN`/`COMMIT`,
//! savepoints and pragmas alike. Each request is measured three times and
//! the least count is compared, so that a pooled connection being
//! (re)established in the background never adds to it; a statement the
//! code itself adds shows up in every run.

#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

#[path = "e2e/exchange_support.rs"]
mod exchange_support;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};
use doorstroom_domain::Role;
use doorstroom_store::testing::TestDb;
use doorstroom_tests::{MBO, TestBroker, VO};
use exchange_support::{
    BSN, personal_data, pull_as_system, record_inspection, register_application, remarks, seal_package, submit,
};

static STATEMENTS: AtomicU64 = AtomicU64::new(0);
/// The statements of the current measurement, for the report.
static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn counting() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(|event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            STATEMENTS.fetch_add(1, Ordering::SeqCst);
            let text = query.to_string();
            let short: String = text.chars().take(90).collect();
            SEEN.lock().unwrap().push(short);
        }
    }))
}

/// The statements `run` makes the broker execute.
async fn counted<F: std::future::Future<Output = ()>>(run: F) -> (u64, Vec<String>) {
    SEEN.lock().unwrap().clear();
    let before = STATEMENTS.load(Ordering::SeqCst);
    run.await;
    let count = STATEMENTS.load(Ordering::SeqCst) - before;
    (count, std::mem::take(&mut *SEEN.lock().unwrap()))
}

/// The least count of three runs of `make().await`, with the statements of
/// that run.
async fn least<F, Fut>(label: &str, make: F) -> u64
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut best: Option<(u64, Vec<String>)> = None;
    for i in 0..3 {
        let run = counted(make(i)).await;
        if best.as_ref().is_none_or(|(n, _)| run.0 < *n) {
            best = Some(run);
        }
    }
    let (count, statements) = best.unwrap();
    eprintln!("{label}: {count} statements");
    for s in &statements {
        eprintln!("    {s}");
    }
    count
}

/// Upper bounds per request: the counts when this test was written (they
/// were about 32 and 26 before the submission stopped reading back what it
/// wrote and the pull its package). Every statement of the request counts:
/// the client certificate's lookup (its own read transaction), the
/// checkout's `SELECT 1`, the work and the audit append. Lower is welcome,
/// and then the bound comes down with it.
const MAX_SUBMIT: [(&str, u64); 2] = [("sqlite", 28), ("postgres", 27)];
const MAX_PULL: [(&str, u64); 2] = [("sqlite", 24), ("postgres", 23)];

fn bound(table: &[(&str, u64)], backend: &str) -> u64 {
    table.iter().find(|(b, _)| *b == backend).map(|(_, n)| *n).unwrap()
}

#[tokio::test]
async fn a_submission_and_a_pull_stay_within_their_statement_budget() {
    set_default_instrumentation(counting).unwrap();
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

        let submits = least(&format!("{backend}: submit"), |i| {
            let (vo, package) = (&vo, &packages[i]);
            async move {
                let reply = submit(vo, package).await;
                assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
            }
        })
        .await;
        let pulls = least(&format!("{backend}: pull"), |i| {
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
