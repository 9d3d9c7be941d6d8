//! Storage limitation, end to end with the injected clock: each retention
//! rule deletes its record at the due moment and not a second before, every
//! deletion is an audit event with the rule's reason, users see when their
//! packages go, the broker's own schedule purges, and the log still
//! verifies afterwards.

use chrono::{DateTime, Duration, Utc};
use doorstroom_app::purge::{self, PurgeOptions, PurgeSummary};
use doorstroom_domain::{ActorKind, AuditEvent, Clock, Principal, Role, StudentNumber};
use doorstroom_store::retention::rows_about;
use doorstroom_store::{applications, audit, consents, inspections, merkle};
use doorstroom_tests::{MBO, TestBroker, TestDb, VO};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::exchange_support::{bsn, personal_data, register_application, report_status, seal_package, submit};

const DAY: i64 = 86_400;

/// Stored times have millisecond precision.
fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap()
}

/// One purge run at the broker's clock, as the broker's retention job.
fn purge(broker: &TestBroker) -> PurgeSummary {
    let policy = broker.settings.retention.policy;
    let options = PurgeOptions {
        batch_size: 7,
        pause: std::time::Duration::ZERO,
    };
    purge::purge_expired(
        &broker.store,
        &policy,
        &broker.clock,
        &Principal::Operator,
        options,
        &purge::new_run_id(),
    )
    .expect("purge")
}

/// The records a purge deleted, leaving out the event feed's entries
/// (ids and times, gone after their own period, `tests/e2e/events.rs`).
fn records(summary: &PurgeSummary) -> u64 {
    let feed: u64 = summary.deleted.get("event_feed").map_or(0, |r| r.values().sum());
    summary.total() - feed
}

/// Every audit event, page by page.
pub fn all_events(broker: &TestBroker) -> Vec<(i64, AuditEvent)> {
    let mut out: Vec<(i64, AuditEvent)> = Vec::new();
    loop {
        let query = audit::AuditQuery {
            after_seq: out.last().map(|(seq, _)| *seq),
            ..Default::default()
        };
        let page = broker.store.read(|conn| audit::list(conn, &query)).expect("audit list");
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

/// The purge events about the record `id`.
fn purge_events_for(broker: &TestBroker, id: &str) -> Vec<AuditEvent> {
    all_events(broker)
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| e.action.name.ends_with("_purged") && e.resource.id.as_deref() == Some(id))
        .collect()
}

/// Asserts exactly one purge event for `id`, of `kind`, with `reason`, by
/// the retention job.
fn assert_purged(broker: &TestBroker, kind: &str, id: &str, reason: &str) {
    let events = purge_events_for(broker, id);
    assert_eq!(events.len(), 1, "one purge event for the {kind}");
    let event = &events[0];
    assert_eq!(event.action.name, format!("{kind}_purged"));
    assert_eq!(event.resource.kind, kind);
    assert_eq!(event.reason.as_deref(), Some(reason), "reason of the {kind}'s deletion");
    assert_eq!(event.actor.kind, ActorKind::Broker);
    assert_eq!(event.actor.id.as_deref(), Some(purge::ACTOR_ID));
    assert!(event.data_subject.is_some(), "the pseudonym is on the record");
}

fn package_exists(broker: &TestBroker, id: &str) -> bool {
    broker
        .store
        .read(|conn| doorstroom_store::packages::get(conn, id))
        .expect("read")
        .is_some()
}

fn application_exists(broker: &TestBroker, id: Uuid) -> bool {
    broker
        .store
        .read(|conn| applications::get(conn, id))
        .expect("read")
        .is_some()
}

/// Moves the broker's clock to `at` (forward only).
fn set_clock(broker: &TestBroker, at: DateTime<Utc>) {
    let now = broker.clock.now();
    assert!(at >= now, "the clock only moves forward");
    broker.clock.advance(at - now);
}

/// Sends a package from 07AB to 25LX for `application` and answers its id
/// and the `delete_after` of its receipt.
async fn send(broker: &TestBroker, application: Uuid, student: &str) -> (String, DateTime<Utc>) {
    let submission = seal_package(broker, application, MBO, &[personal_data(student)]);
    let reply = submit(&broker.system(VO), &submission).await;
    assert_eq!(reply.status.as_u16(), 201, "submission: {}", reply.body);
    let id = reply.body["package_id"].as_str().unwrap().to_owned();
    let delete_after: DateTime<Utc> = serde_json::from_value(reply.body["delete_after"].clone()).unwrap();
    (id, delete_after)
}

/// Gives consent for support needs to go to 25LX (student of 17).
async fn give_consent(broker: &TestBroker, student: &str) {
    let born = (broker.clock.now() - Duration::days(17 * 366)).date_naive();
    let body = json!({
        "student_number": {"type": "bsn", "number": student},
        "date_of_birth": born.to_string(),
        "recipient": MBO,
        "sections": ["support_needs"],
        "given_by": "student",
        "method": "paper_form",
        "evidence_ref": "formulier 2027-7",
        "notice_version": "v3",
    });
    let reply = broker
        .system(VO)
        .fetch(Method::POST, "/v1/consents", Some(&body))
        .await
        .unwrap();
    assert_eq!(reply.status.as_u16(), 201, "consent: {}", reply.body);
}

#[tokio::test]
async fn each_retention_rule_fires_at_its_due_moment_and_not_a_second_before() {
    TestBroker::on_every_backend(|broker| async move {
        let second = Duration::seconds(1);
        let (a, b, c) = (bsn(7101), bsn(7102), bsn(7103));
        let t0 = ms(broker.clock.now());
        let app_a = register_application(&broker, MBO, &a).await;
        let app_b = register_application(&broker, MBO, &b).await;
        let app_c = register_application(&broker, MBO, &c).await;
        give_consent(&broker, &b).await;
        let (pkg_a, receipt_due_a) = send(&broker, app_a, &a).await;
        let (pkg_b, _) = send(&broker, app_b, &b).await;
        let (pkg_c, receipt_due_c) = send(&broker, app_c, &c).await;
        // Nothing has happened yet: the receipt shows the hard maximum.
        assert_eq!(receipt_due_a, t0 + Duration::days(365));
        assert_eq!(receipt_due_c, t0 + Duration::days(365));

        // Day 1: the intaker pulls and acknowledges A.
        broker.clock.advance(Duration::days(1));
        let t_ack = ms(broker.clock.now());
        let intaker_creds = broker.create_staff("intaker.retention", Role::Intaker, Some(MBO));
        let intaker = broker.login(&intaker_creds).await;
        let id_a = Uuid::parse_str(&pkg_a).unwrap();
        intaker.pull(id_a, None).await.unwrap();
        intaker.acknowledge(id_a, None).await.unwrap();
        // Day 2: B's application ends.
        broker.clock.advance(Duration::days(1));
        let t_end = ms(broker.clock.now());
        let reply = report_status(&broker, MBO, app_b, "withdrawn").await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);

        // Users see when each package goes: the inbox, and the vo's view of
        // the application.
        let intaker = broker.login(&intaker_creds).await;
        let inbox = intaker.inbox(None).await.unwrap();
        let due_of = |id: &str| inbox.iter().find(|e| e.package_id == id).unwrap().delete_after;
        assert_eq!(due_of(&pkg_a), t_ack + Duration::days(30));
        assert_eq!(due_of(&pkg_b), t_end + Duration::days(30));
        assert_eq!(due_of(&pkg_c), t0 + Duration::days(365));
        let student_b = StudentNumber::bsn(&b).unwrap();
        let seen_by_vo = broker.system(VO).find_applications(&student_b).await.unwrap();
        assert_eq!(seen_by_vo.len(), 1);
        assert_eq!(seen_by_vo[0].delete_after, t_end + Duration::days(365));
        assert_eq!(seen_by_vo[0].packages.len(), 1);
        assert_eq!(seen_by_vo[0].packages[0].package_id, pkg_b);
        assert_eq!(seen_by_vo[0].packages[0].delete_after, t_end + Duration::days(30));

        // Acknowledged delivery: 30 days after the acknowledgement.
        set_clock(&broker, t_ack + Duration::days(30) - second);
        let early = purge(&broker);
        assert_eq!(records(&early), 0, "nothing is due a second early: {early:?}");
        assert!(package_exists(&broker, &pkg_a));
        // A dry run at the due moment counts it and deletes nothing.
        set_clock(&broker, t_ack + Duration::days(30));
        let policy = broker.settings.retention.policy;
        let dry =
            purge::purge_dry_run(&broker.store, &policy, broker.clock.now(), &Principal::Operator, "dry").unwrap();
        assert_eq!(dry.deleted["package"]["acknowledged_delivery"], 1, "{dry:?}");
        assert_eq!(records(&dry), 1, "{dry:?}");
        assert!(package_exists(&broker, &pkg_a), "a dry run deletes nothing");
        let done = purge(&broker);
        assert_eq!(records(&done), 1, "{done:?}");
        assert!(!package_exists(&broker, &pkg_a));
        assert!(package_exists(&broker, &pkg_b) && package_exists(&broker, &pkg_c));
        assert_purged(&broker, "package", &pkg_a, "acknowledged_delivery");

        // The application ended: 30 days after the end.
        set_clock(&broker, t_end + Duration::days(30) - second);
        assert_eq!(records(&purge(&broker)), 0);
        assert!(package_exists(&broker, &pkg_b));
        set_clock(&broker, t_end + Duration::days(30));
        assert_eq!(records(&purge(&broker)), 1);
        assert!(!package_exists(&broker, &pkg_b));
        assert_purged(&broker, "package", &pkg_b, "application_ended");

        // The hard maximum: a year after submission, whatever happened.
        set_clock(&broker, t0 + Duration::days(365) - second);
        assert_eq!(records(&purge(&broker)), 0);
        assert!(package_exists(&broker, &pkg_c));
        set_clock(&broker, t0 + Duration::days(365));
        assert_eq!(records(&purge(&broker)), 1);
        assert!(!package_exists(&broker, &pkg_c));
        assert_purged(&broker, "package", &pkg_c, "hard_maximum");

        // An ended application: a year after it ended.
        set_clock(&broker, t_end + Duration::days(365) - second);
        assert_eq!(records(&purge(&broker)), 0);
        assert!(application_exists(&broker, app_b));
        set_clock(&broker, t_end + Duration::days(365));
        let t_gone = ms(broker.clock.now());
        assert_eq!(records(&purge(&broker)), 1);
        assert!(!application_exists(&broker, app_b));
        assert!(application_exists(&broker, app_a) && application_exists(&broker, app_c));
        assert_purged(&broker, "application", &app_b.to_string(), "application_retention");

        // B's consent and inspection records: 30 days after B's last
        // application at that school went.
        let pseudonym_b = |broker: &TestBroker| {
            let events = purge_events_for(broker, &app_b.to_string());
            events[0].data_subject.clone().unwrap()
        };
        let student = pseudonym_b(&broker);
        let consent_ids: Vec<String> = broker
            .store
            .read(|c| consents::for_student(c, &student))
            .unwrap()
            .into_iter()
            .map(|r| r.id.to_string())
            .collect();
        let inspection_ids: Vec<String> = broker
            .store
            .read(|c| inspections::for_student(c, &student))
            .unwrap()
            .into_iter()
            .map(|r| r.id.to_string())
            .collect();
        assert!(!consent_ids.is_empty() && !inspection_ids.is_empty());
        set_clock(&broker, t_gone + Duration::days(30) - second);
        assert_eq!(records(&purge(&broker)), 0);
        set_clock(&broker, t_gone + Duration::days(30));
        let done = purge(&broker);
        assert_eq!(
            records(&done) as usize,
            consent_ids.len() + inspection_ids.len(),
            "{done:?}"
        );
        for id in &consent_ids {
            assert_purged(&broker, "consent_event", id, "ledger_retention");
        }
        for id in &inspection_ids {
            assert_purged(&broker, "inspection", id, "ledger_retention");
        }
        let left: Vec<_> = broker
            .store
            .read(|c| rows_about(c, &student))
            .unwrap()
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect();
        assert!(left.is_empty(), "nothing about B is left: {left:?}");

        // An application that never ends: at its maximum, two years after
        // registration.
        let created_a = broker
            .store
            .read(|c| applications::get(c, app_a))
            .unwrap()
            .unwrap()
            .created_at;
        set_clock(&broker, created_a + Duration::days(730) - second);
        assert_eq!(records(&purge(&broker)), 0);
        assert!(application_exists(&broker, app_a));
        set_clock(&broker, created_a + Duration::days(730));
        assert!(records(&purge(&broker)) >= 2, "A's and C's applications");
        assert!(!application_exists(&broker, app_a) && !application_exists(&broker, app_c));
        assert_purged(&broker, "application", &app_a.to_string(), "hard_maximum");

        // The log still verifies, with every deletion on it.
        let verified = broker.store.read(merkle::verify_log).expect("the log verifies");
        assert_eq!(verified.size as usize, all_events(&broker).len());
    })
    .await;
}

#[tokio::test]
async fn the_broker_purges_on_its_own_schedule() {
    for db in TestDb::all() {
        let broker = TestBroker::start_with(db, |s| {
            s.retention.purge_interval = Some(std::time::Duration::from_secs(1))
        })
        .await;
        let student = bsn(7201);
        let application = register_application(&broker, MBO, &student).await;
        let (package, delete_after) = send(&broker, application, &student).await;
        set_clock(&broker, delete_after);
        // Until the package is gone and its purge event readable: on
        // PostgreSQL the event commits with the deletion, queued, and is
        // numbered into the log just after (the store's sequencer), so a read
        // in between finds the package gone and the event not yet listed.
        let mut waited = 0;
        while package_exists(&broker, &package) || purge_events_for(&broker, &package).is_empty() {
            assert!(waited < 100, "the scheduled purge did not run within 10 s");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            waited += 1;
        }
        assert_purged(&broker, "package", &package, "hard_maximum");
    }
}

#[tokio::test]
async fn nobody_but_the_operator_side_runs_the_purge() {
    let db = TestDb::sqlite();
    let broker = TestBroker::start(db).await;
    let student = bsn(7301);
    let application = register_application(&broker, MBO, &student).await;
    let (package, delete_after) = send(&broker, application, &student).await;
    set_clock(&broker, delete_after + Duration::seconds(DAY));
    let policy = broker.settings.retention.policy;
    let staff = Principal::Staff {
        id: doorstroom_domain::StaffId(Uuid::new_v4()),
        role: Role::BrokerAdmin,
        institution: None,
        second_factor: true,
    };
    let refused = purge::purge_expired(
        &broker.store,
        &policy,
        &broker.clock,
        &staff,
        PurgeOptions {
            batch_size: 10,
            pause: std::time::Duration::ZERO,
        },
        "refused-run",
    );
    assert!(matches!(refused, Err(purge::PurgeError::Denied(_))), "{refused:?}");
    assert!(package_exists(&broker, &package), "a refused purge deletes nothing");
    let denied = all_events(&broker)
        .into_iter()
        .map(|(_, e)| e)
        .find(|e| e.request_id.as_deref() == Some("refused-run"))
        .expect("the refusal is audited");
    assert_eq!(denied.outcome, doorstroom_domain::Outcome::Denied);
}

fn account_exists(broker: &TestBroker, id: &str) -> bool {
    let id = doorstroom_domain::StaffId(Uuid::parse_str(id).expect("uuid"));
    broker
        .store
        .read(|conn| doorstroom_store::staff::get(conn, id))
        .expect("read")
        .is_some()
}

#[tokio::test]
async fn a_deactivated_staff_account_goes_with_the_events_of_what_it_did() {
    TestBroker::on_every_backend(|broker| async move {
        // A broker admin deactivates, signed in afresh each time (a token
        // does not outlive the months between).
        let deactivate = |admin: &'static str, id: String| {
            let broker = &broker;
            async move {
                let admin = broker.staff(admin, Role::BrokerAdmin, None).await;
                let (status, body) = admin
                    .send(Method::POST, &format!("/v1/staff/{id}/deactivate"), None)
                    .await
                    .expect("deactivate");
                assert_eq!(status.as_u16(), 200, "{body}");
            }
        };
        let leaving = broker.create_staff("intaker.leaving", Role::Intaker, Some(MBO));
        let later = broker.create_staff("intaker.later", Role::Intaker, Some(MBO));
        let staying = broker.create_staff("intaker.staying", Role::Intaker, Some(MBO));
        let deactivated = ms(broker.clock.now());
        deactivate("admin.first", leaving.id.clone()).await;
        broker.clock.advance(Duration::days(100));
        deactivate("admin.second", later.id.clone()).await;

        // The audit period after its deactivation, and not a millisecond
        // earlier, the first account goes; the later one and the active
        // one stay.
        let due = deactivated + Duration::days(1827);
        set_clock(&broker, due - Duration::milliseconds(1));
        let summary = purge(&broker);
        assert!(!summary.deleted.contains_key("staff_account"), "{summary:?}");
        assert!(account_exists(&broker, &leaving.id));
        set_clock(&broker, due);
        let dry = purge::purge_dry_run(
            &broker.store,
            &broker.settings.retention.policy,
            broker.clock.now(),
            &Principal::Operator,
            &purge::new_run_id(),
        )
        .expect("dry run");
        assert_eq!(dry.deleted["staff_account"]["staff_account_retention"], 1, "{dry:?}");
        let summary = purge(&broker);
        assert_eq!(
            summary.deleted["staff_account"]["staff_account_retention"], 1,
            "{summary:?}"
        );
        assert!(!account_exists(&broker, &leaving.id));
        assert!(account_exists(&broker, &later.id) && account_exists(&broker, &staying.id));

        // One event, by the retention job, naming the account by its id
        // only, about no student.
        let events = purge_events_for(&broker, &leaving.id);
        assert_eq!(events.len(), 1, "{events:?}");
        let event = &events[0];
        assert_eq!(event.action.name, "staff_account_purged");
        assert_eq!(event.reason.as_deref(), Some("staff_account_retention"));
        assert_eq!(event.actor.id.as_deref(), Some(purge::ACTOR_ID));
        assert_eq!(event.data_subject, None);
        // Its username is free again; the log still verifies.
        broker.create_staff("intaker.leaving", Role::Intaker, Some(MBO));
        broker.store.read(merkle::verify_log).expect("the log verifies");
    })
    .await;
}
