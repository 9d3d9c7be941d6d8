//! A withdrawal racing pulls: the mbo's system pulls the student's packages
//! (acting for its intaker) again and again, many at a time, while the vo
//! school withdraws the consent for `support_needs`. Whatever the broker
//! batches or serialises, the audit log's order is the order of truth:
//! every pull whose event comes before the withdrawal's got the section,
//! every pull after it did not (withheld as withdrawn), and of the section
//! nothing undelivered stays stored — a package some pull got it from is
//! recorded as delivered before the withdrawal, any other lost its
//! ciphertext. One package is pulled from the start, two only from the
//! moment the withdrawal is sent (so that they may go either way). And the
//! log's order is the order of what each pull saw.
//! The same race runs on one broker node and on two nodes on one database
//! (the pullers spread over both, the withdrawal sent to the second).
//! Timing decides which pulls fall where; nothing asserted depends on it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Months;
use doorstroom_domain::{AuditEvent, Clock, Outcome, Role, Section};
use doorstroom_store::{audit, packages};
use doorstroom_tests::{MBO, TestBroker, VO, base_url};
use reqwest::Method;
use serde_json::{Value, json};

use crate::exchange_support::{bsn, personal_data, register_application, seal_package, submit, support_needs};

/// Pulls running at the same time on the first package, and on each of the
/// two that are pulled only from the withdrawal on.
const PULLERS: usize = 4;
/// Pulls answered before the withdrawal is sent.
const BEFORE: usize = 8;
/// Pulls answered after the withdrawal's answer, at the least.
const AFTER: usize = 3 * PULLERS + 4;

/// One answered pull.
#[derive(Debug, Clone)]
struct Pull {
    package: String,
    /// The base URL of the node it was sent to.
    node: String,
    request_id: String,
    /// `support_needs` was released.
    released: bool,
    /// `support_needs` was withheld because the consent was withdrawn.
    withheld_as_withdrawn: bool,
    /// Sent after the withdrawal was answered.
    sent_after: bool,
}

/// The mbo system's pulls, acting for one intaker.
#[derive(Clone)]
struct Puller {
    http: reqwest::Client,
    base: String,
    intaker: String,
    pulls: Arc<Mutex<Vec<Pull>>>,
    stop: Arc<AtomicBool>,
    /// Set once the withdrawal is answered.
    withdrawn: Arc<AtomicBool>,
}

impl Puller {
    async fn pull(&self, package: &str) {
        let sent_after = self.withdrawn.load(Ordering::SeqCst);
        let response = self
            .http
            .get(format!("{}/v1/packages/{package}", self.base))
            .header("x-on-behalf-of", &self.intaker)
            .send()
            .await
            .expect("pull");
        assert_eq!(response.status().as_u16(), 200, "pull of {package}");
        let request_id = response.headers()["x-request-id"]
            .to_str()
            .expect("request id")
            .to_owned();
        let body: Value = response.json().await.expect("pulled package");
        let released = body["sections"].get("support_needs").is_some();
        let withheld_as_withdrawn =
            body["withheld"].as_array().expect("withheld").iter().any(|w| {
                w["section"] == "support_needs" && w["reason"].as_str().is_some_and(|r| r.contains("withdrawn"))
            });
        assert!(
            body["sections"].get("personal_data").is_some(),
            "personal_data always goes"
        );
        self.pulls.lock().unwrap().push(Pull {
            package: package.to_owned(),
            node: self.base.clone(),
            request_id,
            released,
            withheld_as_withdrawn,
            sent_after,
        });
    }

    /// Pulls `package` over and over until told to stop.
    fn spawn(&self, package: &str) -> tokio::task::JoinHandle<()> {
        let (puller, package) = (self.clone(), package.to_owned());
        tokio::spawn(async move {
            while !puller.stop.load(Ordering::SeqCst) {
                puller.pull(&package).await;
            }
        })
    }

    fn count(&self) -> usize {
        self.pulls.lock().unwrap().len()
    }

    async fn wait_for(&self, count: usize) {
        let started = Instant::now();
        while self.count() < count {
            assert!(started.elapsed() < Duration::from_secs(60), "pulls stalled");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// Consent (or, at `/v1/consents/withdraw`, its withdrawal) of a student of
/// 17 for `support_needs` to go to the mbo.
fn consent_body(broker: &TestBroker, student: &str) -> Value {
    let born = broker
        .clock
        .now()
        .date_naive()
        .checked_sub_months(Months::new(17 * 12 + 3))
        .expect("a date");
    json!({
        "student_number": {"type": "bsn", "number": student},
        "date_of_birth": born.to_string(),
        "recipient": MBO,
        "sections": ["support_needs"],
        "given_by": "student",
        "method": "paper_form",
        "evidence_ref": "formulier 2027-114",
        "notice_version": "privacyverklaring v3",
    })
}

/// A student with consent for `support_needs` and three packages that
/// carry it; answers the student and the package ids.
async fn packages_with_consent(broker: &TestBroker) -> (String, Vec<String>) {
    let student = bsn(4711);
    let application = register_application(broker, MBO, &student).await;
    let given = broker
        .system(VO)
        .fetch(Method::POST, "/v1/consents", Some(&consent_body(broker, &student)))
        .await
        .expect("consent");
    assert_eq!(given.status.as_u16(), 201, "consent: {}", given.body);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let submission = seal_package(broker, application, MBO, &[personal_data(&student), support_needs()]);
        let reply = submit(&broker.system(VO), &submission).await;
        assert_eq!(reply.status.as_u16(), 201, "submission: {}", reply.body);
        ids.push(reply.body["package_id"].as_str().expect("package id").to_owned());
    }
    (student, ids)
}

/// Every audit event with its sequence number, by the request it names.
fn events_by_request(broker: &TestBroker) -> HashMap<String, Vec<(i64, AuditEvent)>> {
    let mut by_request: HashMap<String, Vec<(i64, AuditEvent)>> = HashMap::new();
    let mut after = None;
    loop {
        let query = audit::AuditQuery {
            after_seq: after,
            ..Default::default()
        };
        let page = broker.store.read(|conn| audit::list(conn, &query)).expect("audit page");
        let Some((last, _)) = page.last() else {
            return by_request;
        };
        after = Some(*last);
        for (seq, event) in page {
            if let Some(id) = event.request_id.clone() {
                by_request.entry(id).or_default().push((seq, event));
            }
        }
    }
}

/// The sequence number of the one successful `action` event of a request.
fn seq_of(events: &HashMap<String, Vec<(i64, AuditEvent)>>, request_id: &str, action: &str) -> i64 {
    let found: Vec<i64> = events
        .get(request_id)
        .into_iter()
        .flatten()
        .filter(|(_, e)| e.action.name == action && e.outcome == Outcome::Success)
        .map(|(seq, _)| *seq)
        .collect();
    assert_eq!(found.len(), 1, "one {action} event for request {request_id}");
    found[0]
}

/// The race's outcome: the pulls, the withdrawal's request id and answer.
struct Race {
    packages: Vec<String>,
    pulls: Vec<Pull>,
    withdrawal_request: String,
    answer: Value,
}

impl Race {
    /// The sequence numbers of the withdrawal's event and of each pull's.
    fn audit_order(&self, broker: &TestBroker) -> (i64, Vec<i64>) {
        let events = events_by_request(broker);
        let withdrawn_at = seq_of(&events, &self.withdrawal_request, "record_consent");
        let pulls = self
            .pulls
            .iter()
            .map(|p| seq_of(&events, &p.request_id, "pull_package"))
            .collect();
        (withdrawn_at, pulls)
    }
}

/// Every pull audited before the withdrawal got the section; every pull
/// sent after the withdrawal was answered lacks it, says why, and is
/// audited after it.
fn assert_pulls_on_their_side(broker: &TestBroker, race: &Race) {
    let (withdrawn_at, seqs) = race.audit_order(broker);
    let (mut before, mut after) = (0, 0);
    for (pull, seq) in race.pulls.iter().zip(seqs) {
        if seq < withdrawn_at {
            before += 1;
            assert!(
                pull.released,
                "a pull audited before the withdrawal got the section: {pull:?}"
            );
        }
        if pull.sent_after {
            after += 1;
            assert!(
                !pull.released,
                "a pull after the withdrawal lacks the section: {pull:?}"
            );
            assert!(pull.withheld_as_withdrawn, "and says why: {pull:?}");
            assert!(seq > withdrawn_at, "and is audited after it: {pull:?}");
        }
    }
    eprintln!(
        "{} pulls: {before} audited before the withdrawal, {after} sent after its answer; it found {}",
        race.pulls.len(),
        race.answer
    );
    assert!(before >= BEFORE, "{before} pulls before the withdrawal");
    // Of the pulls answered after the withdrawal's answer, at most one per
    // puller was sent before it.
    assert!(after >= AFTER - 3 * PULLERS, "{after} pulls after the withdrawal");
}

/// The audit log's order is the order of what the pulls saw: a pull that
/// got the section is audited before the withdrawal, one that did not
/// after it. One node's group commit runs the writes of a batch one after
/// the other, so this holds by construction. Before it, on PostgreSQL a
/// repeat pull (no row to lock: the section was delivered before) could
/// read the section while the consent was in force, wait for the audit
/// lock while the withdrawal committed, and be audited after it (two of
/// three runs failed here). Between several nodes' batches it holds
/// because a batch takes the database's write lock before it reads
/// anything: the audit tail's table lock on PostgreSQL
/// (`commit::begin_batch`), `BEGIN IMMEDIATE` on SQLite.
fn assert_audit_order_is_what_pulls_saw(broker: &TestBroker, race: &Race) {
    let (withdrawn_at, seqs) = race.audit_order(broker);
    for (pull, seq) in race.pulls.iter().zip(seqs) {
        assert_eq!(
            pull.released,
            seq < withdrawn_at,
            "released iff audited before the withdrawal (at {withdrawn_at}): {pull:?} at {seq}"
        );
    }
}

/// What is stored of each package's `support_needs` agrees with the pulls
/// and with the withdrawal's answer: nothing undelivered stays.
fn assert_nothing_undelivered_kept(broker: &TestBroker, packages: &[String], pulls: &[Pull], answer: &Value) {
    let listed = |member: &str| -> Vec<String> {
        answer[member]
            .as_array()
            .expect(member)
            .iter()
            .map(|v| v.as_str().expect("package id").to_owned())
            .collect()
    };
    let (delivered, deleted) = (listed("delivered_before_withdrawal"), listed("deleted_from_packages"));
    for package in packages {
        let got = pulls.iter().any(|p| &p.package == package && p.released);
        let sections = broker
            .store
            .read(|conn| packages::sections(conn, package))
            .expect("sections");
        let support = sections
            .iter()
            .find(|s| s.section == Section::SupportNeeds)
            .expect("the section row stays, as a record");
        assert!(support.withdrawn_at.is_some(), "{package}: withdrawn");
        assert_eq!(
            support.delivered_at.is_some(),
            got,
            "{package}: delivered iff a pull got it"
        );
        assert_eq!(delivered.contains(package), got, "{package}: {answer}");
        assert_eq!(deleted.contains(package), !got, "{package}: {answer}");
        if !got {
            assert!(support.ciphertext.is_empty(), "{package}: undelivered, so deleted");
        }
    }
}

/// Pulls the student's packages many at a time while the vo school
/// withdraws the consent (see the module docs): the pullers spread over
/// the broker nodes at `nodes` (base URLs), the withdrawal sent to the last.
async fn race(broker: &TestBroker, nodes: &[String]) -> Race {
    let intaker = broker.create_staff("intaker.race", Role::Intaker, Some(MBO));
    let (student, packages) = packages_with_consent(broker).await;
    let puller = Puller {
        http: broker.http(Some(MBO)),
        base: nodes[0].clone(),
        intaker: intaker.id.clone(),
        pulls: Arc::default(),
        stop: Arc::default(),
        withdrawn: Arc::default(),
    };
    let on_node = |n: usize| Puller {
        base: nodes[n % nodes.len()].clone(),
        ..puller.clone()
    };
    let mut tasks: Vec<_> = (0..PULLERS).map(|n| on_node(n).spawn(&packages[0])).collect();
    puller.wait_for(BEFORE).await;

    // The other two packages are pulled from the moment the withdrawal goes.
    tasks.extend(
        packages[1..]
            .iter()
            .flat_map(|p| (0..PULLERS).map(move |n| on_node(n).spawn(p))),
    );
    let withdraw_at = nodes.last().expect("a node");
    let response = broker
        .http(Some(VO))
        .post(format!("{withdraw_at}/v1/consents/withdraw"))
        .json(&consent_body(broker, &student))
        .send()
        .await
        .expect("withdrawal");
    puller.withdrawn.store(true, Ordering::SeqCst);
    assert_eq!(response.status().as_u16(), 201, "withdrawal");
    let withdrawal_request = response.headers()["x-request-id"].to_str().expect("id").to_owned();
    let answer: Value = response.json().await.expect("withdrawal answer");
    puller.wait_for(puller.count() + AFTER).await;
    puller.stop.store(true, Ordering::SeqCst);
    for task in tasks {
        task.await.expect("puller");
    }
    let pulls = puller.pulls.lock().unwrap().clone();
    Race {
        packages,
        pulls,
        withdrawal_request,
        answer,
    }
}

/// Everything the race must show (see the module docs).
fn assert_race_is_safe(broker: &TestBroker, race: &Race) {
    assert_pulls_on_their_side(broker, race);
    assert_nothing_undelivered_kept(broker, &race.packages, &race.pulls, &race.answer);
    assert_audit_order_is_what_pulls_saw(broker, race);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_withdrawal_racing_pulls_releases_nothing_after_it_and_keeps_nothing_undelivered() {
    TestBroker::on_every_backend(|broker| async move {
        let race = race(&broker, std::slice::from_ref(&broker.base_url)).await;
        assert_race_is_safe(&broker, &race);
    })
    .await;
}

/// Two broker nodes on one database: each node's group commit orders only
/// its own writes, so here the order between nodes' batches is the
/// database's (see [`assert_audit_order_is_what_pulls_saw`]).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_withdrawal_racing_pulls_on_two_nodes_keeps_the_audit_order() {
    TestBroker::on_every_backend(|broker| async move {
        let second = broker.start_again().await.expect("second node");
        let race = race(&broker, &[broker.base_url.clone(), base_url(&second)]).await;
        assert_race_is_safe(&broker, &race);
        let on_second = race.pulls.iter().filter(|p| p.node == base_url(&second)).count();
        eprintln!("{on_second} of {} pulls went to the second node", race.pulls.len());
        assert!(on_second > 0 && on_second < race.pulls.len(), "pulls on both nodes");
    })
    .await;
}
