//! The event feed (`GET /v1/events`), end to end on both backends: each
//! change reaches exactly the institutions it concerns, in the same
//! transaction and numbered without gaps; other schools see nothing; a
//! long poll returns as soon as an entry commits (on this node and, by
//! polling, on another); bad cursors are 400, another institution's and
//! future ones the same 404; every call is one audited access; entries
//! carry ids and times only.

use std::time::{Duration, Instant};

use doorstroom_client::{Client, Reply};
use doorstroom_domain::{Brin, Clock, FeedEventKind, Outcome, Role};
use doorstroom_store::events::{self as feed, NewFeedEvent};
use doorstroom_store::testing::TestDb;
use doorstroom_tests::{MBO, OTHER_MBO, SECOND_VO, TestBroker, VO, assert_problem, without_instance};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::exchange_support::{
    audit_mark, audited_since, b64url, bsn, personal_data, register_application, report_status, seal_package, submit,
    support_needs,
};

/// A cursor of `brin`'s feed after `seq`, as the broker writes them.
fn cursor(brin: &str, seq: i64) -> String {
    b64url(format!("v1.{brin}.{seq}").as_bytes())
}

async fn events(client: &Client, query: &str) -> Reply {
    client
        .fetch(Method::GET, &format!("/v1/events{query}"), None)
        .await
        .expect("GET /v1/events")
}

/// The whole feed of `client`'s institution: every page from the start.
async fn whole_feed(client: &Client) -> Vec<Value> {
    let mut all = Vec::new();
    let mut query = String::new();
    loop {
        let reply = events(client, &query).await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        let page = reply.body["events"].as_array().expect("events").clone();
        all.extend(page);
        if reply.body["more"] != json!(true) {
            return all;
        }
        query = format!("?after={}", reply.body["next"].as_str().expect("next"));
    }
}

fn kinds(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["kind"].as_str().expect("kind").to_owned())
        .collect()
}

/// Numbered 1, 2, 3, … in order, each id distinct.
fn assert_gap_free(entries: &[Value]) {
    let seqs: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().expect("seq")).collect();
    let expected: Vec<i64> = (1..=i64::try_from(seqs.len()).expect("len")).collect();
    assert_eq!(seqs, expected, "gap-free and ordered");
    let ids: std::collections::BTreeSet<&str> = entries.iter().map(|e| e["id"].as_str().expect("id")).collect();
    assert_eq!(ids.len(), entries.len(), "distinct ids");
}

/// Consent of a student of 17 for `support_needs` to go to the mbo.
fn consent_body(broker: &TestBroker, student: &str) -> Value {
    let born = (broker.clock.now() - chrono::Duration::days(17 * 366)).date_naive();
    json!({
        "student_number": {"type": "bsn", "number": student},
        "date_of_birth": born.to_string(),
        "recipient": MBO,
        "sections": ["support_needs"],
        "given_by": "student",
        "method": "paper_form",
        "evidence_ref": "formulier 12",
        "notice_version": "v3",
    })
}

#[tokio::test]
async fn each_change_reaches_exactly_the_institutions_concerned() {
    TestBroker::on_every_backend(|mut broker| async move {
        broker.add_institution(&SECOND_VO);
        let student = bsn(9101);
        let application = register_application(&broker, MBO, &student).await;
        let vo = broker.system(VO);
        let given = vo
            .fetch(Method::POST, "/v1/consents", Some(&consent_body(&broker, &student)))
            .await
            .expect("consent");
        assert_eq!(given.status.as_u16(), 201, "{}", given.body);
        let submission = seal_package(&broker, application, MBO, &[personal_data(&student), support_needs()]);
        let reply = submit(&vo, &submission).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        let package = reply.body["package_id"].as_str().expect("package").to_owned();

        let intaker = broker.staff("feed.intaker", Role::Intaker, Some(MBO)).await;
        let ack = intaker
            .fetch(Method::POST, &format!("/v1/packages/{package}/acknowledge"), None)
            .await
            .expect("ack");
        assert_eq!(ack.status.as_u16(), 200, "{}", ack.body);
        // A second acknowledgement changes nothing, and tells nobody.
        let again = intaker
            .fetch(Method::POST, &format!("/v1/packages/{package}/acknowledge"), None)
            .await
            .expect("ack");
        assert_eq!(again.status.as_u16(), 200, "{}", again.body);
        let reply = report_status(&broker, MBO, application, "intake_scheduled").await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        // The same status again moves nothing, and tells nobody.
        let reply = report_status(&broker, MBO, application, "intake_scheduled").await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        let withdrawn = vo
            .fetch(
                Method::POST,
                "/v1/consents/withdraw",
                Some(&consent_body(&broker, &student)),
            )
            .await
            .expect("withdraw");
        assert_eq!(withdrawn.status.as_u16(), 201, "{}", withdrawn.body);
        for status in ["intake_held", "place_offered", "enrolled"] {
            let reply = report_status(&broker, MBO, application, status).await;
            assert_eq!(reply.status.as_u16(), 200, "{status}: {}", reply.body);
        }

        let mbo_feed = whole_feed(&broker.system(MBO)).await;
        assert_eq!(
            kinds(&mbo_feed),
            [
                "package.available",
                "application.status_changed",
                "section.withdrawn",
                "application.status_changed",
                "application.status_changed",
                "application.ended",
            ],
            "{mbo_feed:?}"
        );
        assert_gap_free(&mbo_feed);
        assert_eq!(mbo_feed[0]["package_id"], json!(package));
        assert_eq!(mbo_feed[0]["application_id"], json!(application.to_string()));
        assert_eq!(mbo_feed[2]["package_id"], json!(package));
        assert_eq!(mbo_feed[2]["section"], json!("support_needs"));
        assert_eq!(mbo_feed[5]["application_id"], json!(application.to_string()));

        let vo_feed = whole_feed(&vo).await;
        assert_eq!(
            kinds(&vo_feed),
            [
                "package.acknowledged",
                "application.status_changed",
                "section.withdrawn",
                "application.status_changed",
                "application.status_changed",
                "application.ended",
            ],
            "{vo_feed:?}"
        );
        assert_gap_free(&vo_feed);
        assert_eq!(vo_feed[0]["package_id"], json!(package));

        // Nobody else learns anything.
        for other in [OTHER_MBO, SECOND_VO.brin] {
            assert_eq!(whole_feed(&broker.system(other)).await, Vec::<Value>::new(), "{other}");
        }
        // Ids and times only: never the student number or its pseudonym.
        let pseudonym = broker
            .audit_events()
            .into_iter()
            .find_map(|e| (e.action.name == "submit_package").then_some(e.data_subject).flatten())
            .expect("pseudonym");
        let written = format!("{mbo_feed:?}{vo_feed:?}");
        assert!(!written.contains(&student) && !written.contains(pseudonym.as_str()));
        for entry in mbo_feed.iter().chain(&vo_feed) {
            let mut fields: Vec<&String> = entry.as_object().expect("object").keys().collect();
            fields.sort();
            assert_eq!(
                fields,
                [
                    "application_id",
                    "id",
                    "kind",
                    "occurred_at",
                    "package_id",
                    "section",
                    "seq"
                ],
                "{entry}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_withdrawal_that_empties_a_package_says_so() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(9102);
        let application = register_application(&broker, MBO, &student).await;
        let vo = broker.system(VO);
        let given = vo
            .fetch(Method::POST, "/v1/consents", Some(&consent_body(&broker, &student)))
            .await
            .expect("consent");
        assert_eq!(given.status.as_u16(), 201, "{}", given.body);
        let submission = seal_package(&broker, application, MBO, &[support_needs()]);
        let reply = submit(&vo, &submission).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        let package = reply.body["package_id"].as_str().expect("package").to_owned();
        let withdrawn = vo
            .fetch(
                Method::POST,
                "/v1/consents/withdraw",
                Some(&consent_body(&broker, &student)),
            )
            .await
            .expect("withdraw");
        assert_eq!(withdrawn.status.as_u16(), 201, "{}", withdrawn.body);
        let mbo_feed = whole_feed(&broker.system(MBO)).await;
        assert_eq!(
            kinds(&mbo_feed),
            ["package.available", "section.withdrawn", "package.withdrawn"]
        );
        assert_eq!(mbo_feed[2]["package_id"], json!(package));
        assert_eq!(
            kinds(&whole_feed(&vo).await),
            ["section.withdrawn", "package.withdrawn"]
        );
    })
    .await;
}

#[tokio::test]
async fn pages_follow_the_cursor_without_gaps() {
    TestBroker::on_every_backend(|broker| async move {
        let mbo = Brin::parse(MBO).expect("brin");
        let now = broker.clock.now();
        broker
            .store
            .write(|conn| {
                for _ in 0..150 {
                    feed::append(
                        conn,
                        &NewFeedEvent {
                            institution: &mbo,
                            kind: FeedEventKind::PackageAvailable,
                            package_id: Some(&Uuid::new_v4().to_string()),
                            application_id: Some(Uuid::new_v4()),
                            section: None,
                            occurred_at: now,
                            at_risk: None,
                        },
                    )?;
                }
                Ok::<_, doorstroom_store::StoreError>(())
            })
            .expect("entries");
        let client = broker.system(MBO);
        let first = events(&client, "").await;
        assert_eq!(first.body["events"].as_array().expect("events").len(), 100);
        assert_eq!(first.body["more"], json!(true));
        let next = first.body["next"].as_str().expect("next").to_owned();
        assert_eq!(next, cursor(MBO, 100));
        let second = events(&client, &format!("?after={next}")).await;
        assert_eq!(second.body["events"].as_array().expect("events").len(), 50);
        assert_eq!(second.body["more"], json!(false));
        assert_eq!(second.body["events"][0]["seq"], json!(101));
        // The same through the vendor client (what `doorstroom events` calls).
        let typed = client.events(Some(&next), 0).await.expect("client");
        assert_eq!(typed.events.len(), 50);
        assert_eq!(typed.events[0].seq, 101);
        assert_eq!(
            typed.events[0].kind,
            doorstroom_client::exchange::EventKind::PackageAvailable
        );
        assert_eq!(typed.next, cursor(MBO, 150));
        // At the head: an empty page, and the same cursor again.
        let last = second.body["next"].as_str().expect("next").to_owned();
        let at_head = events(&client, &format!("?after={last}")).await;
        assert_eq!(at_head.status.as_u16(), 200);
        assert_eq!(at_head.body["events"], json!([]));
        assert_eq!(at_head.body["next"], json!(last));
        assert_gap_free(&whole_feed(&client).await);
    })
    .await;
}

#[tokio::test]
async fn bad_cursors_are_refused_and_every_call_is_audited() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(9103);
        let application = register_application(&broker, MBO, &student).await;
        let submission = seal_package(&broker, application, MBO, &[personal_data(&student)]);
        assert_eq!(submit(&broker.system(VO), &submission).await.status.as_u16(), 201);
        let mbo = broker.system(MBO);

        // A good call is one `read_events` access, without a data subject.
        let mark = audit_mark(&broker);
        let reply = events(&mbo, "").await;
        assert_eq!(reply.status.as_u16(), 200);
        let audited: Vec<_> = audited_since(&broker, mark)
            .into_iter()
            .filter(|e| e.action.name == "read_events")
            .collect();
        assert_eq!(audited.len(), 1);
        assert_eq!(audited[0].outcome, Outcome::Success);
        assert_eq!(audited[0].data_subject, None);

        // Malformed: not base64url, not ours, a sign, another version, no
        // number, a number too large, a bad BRIN, a bad `wait`.
        let malformed = [
            "?after=%21%21%21".to_owned(),
            format!("?after={}", b64url(b"hello")),
            format!("?after={}", b64url(format!("v1.{MBO}.-1").as_bytes())),
            format!("?after={}", b64url(format!("v1.{MBO}.+1").as_bytes())),
            format!("?after={}", b64url(format!("v2.{MBO}.1").as_bytes())),
            format!("?after={}", b64url(format!("v1.{MBO}.").as_bytes())),
            format!("?after={}", b64url(format!("v1.{MBO}.99999999999999999999").as_bytes())),
            format!("?after={}", b64url(b"v1.nope.1")),
            format!("?after={}", b64url(format!("v1.{MBO}.1.2").as_bytes())),
            format!("?after={}=", cursor(MBO, 1)),
            "?wait=soon".to_owned(),
            "?wait=-1".to_owned(),
            "?wait=121".to_owned(),
            "?since=1".to_owned(),
        ];
        for query in &malformed {
            let mark = audit_mark(&broker);
            let reply = events(&mbo, query).await;
            assert_problem(reply.status.as_u16(), &reply.body, 400);
            let refused = audited_since(&broker, mark)
                .into_iter()
                .any(|e| e.action.name == "read_events" && e.outcome == Outcome::Rejected);
            assert!(refused, "{query}: the refusal is audited");
        }

        // Another institution's cursor and one beyond the own head: the
        // same 404, byte for byte but for `instance`; both audited.
        let mark = audit_mark(&broker);
        let foreign = events(&broker.system(OTHER_MBO), &format!("?after={}", cursor(MBO, 0))).await;
        let future = events(&mbo, &format!("?after={}", cursor(MBO, 2))).await;
        let foreign_unknown = events(&mbo, &format!("?after={}", cursor("99ZZ", 0))).await;
        for reply in [&foreign, &future, &foreign_unknown] {
            assert_problem(reply.status.as_u16(), &reply.body, 404);
        }
        assert_eq!(without_instance(&foreign.raw), without_instance(&future.raw));
        assert_eq!(without_instance(&foreign.raw), without_instance(&foreign_unknown.raw));
        let outcomes: Vec<Outcome> = audited_since(&broker, mark)
            .into_iter()
            .filter(|e| e.action.name == "read_events")
            .map(|e| e.outcome)
            .collect();
        assert_eq!(outcomes, [Outcome::Denied, Outcome::Rejected, Outcome::Denied]);
        // The own head is fine, and so is the start.
        assert_eq!(
            events(&mbo, &format!("?after={}", cursor(MBO, 1)))
                .await
                .status
                .as_u16(),
            200
        );
        assert_eq!(
            events(&mbo, &format!("?after={}", cursor(MBO, 0)))
                .await
                .status
                .as_u16(),
            200
        );
        // Staff have no feed: 401 (a client certificate is required).
        let intaker = broker.staff("feed.staff", Role::Intaker, Some(MBO)).await;
        assert_eq!(events(&intaker, "").await.status.as_u16(), 401);
    })
    .await;
}

#[tokio::test]
async fn a_long_poll_returns_as_soon_as_an_entry_commits() {
    for db in TestDb::all() {
        eprintln!("-- on {}", db.backend.name());
        // Polling so rarely that only this node's wake-up can end the
        // wait within the test's bound.
        let broker = TestBroker::start_with(db, |s| s.events.poll_interval = Duration::from_secs(60)).await;
        long_poll_returns_early(broker).await;
    }
}

async fn long_poll_returns_early(broker: TestBroker) {
    {
        let student = bsn(9104);
        let application = register_application(&broker, MBO, &student).await;
        let mbo = broker.system(MBO);
        let head = events(&mbo, "").await.body["next"].as_str().expect("next").to_owned();

        // Nothing comes: the wait is held, and bounded by the broker.
        let started = Instant::now();
        let reply = events(&mbo, &format!("?after={head}&wait=1")).await;
        assert_eq!(reply.status.as_u16(), 200);
        assert_eq!(reply.body["events"], json!([]));
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "{:?}",
            started.elapsed()
        );

        // An entry commits while the poll waits (up to 20 s): it returns at once.
        let mark = audit_mark(&broker);
        let poll = waiting_poll(&mbo, &head).await;
        let submission = seal_package(&broker, application, MBO, &[personal_data(&student)]);
        assert_eq!(submit(&broker.system(VO), &submission).await.status.as_u16(), 201);
        woken_with(poll, "package.available").await;
        // One call, one access in the log.
        let reads = audited_since(&broker, mark)
            .into_iter()
            .filter(|e| e.action.name == "read_events")
            .count();
        assert_eq!(reads, 1);
    }
}

#[tokio::test]
async fn a_long_poll_on_one_node_sees_an_entry_committed_on_another() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(9105);
        let application = register_application(&broker, MBO, &student).await;
        let second = broker.start_again().await.expect("second node");
        let second_url = doorstroom_tests::base_url(&second);
        let http = broker.http(Some(MBO));
        let head = events(&broker.system(MBO), "").await.body["next"]
            .as_str()
            .expect("next")
            .to_owned();
        let poll = tokio::spawn(async move {
            let started = Instant::now();
            let reply = http
                .get(format!("{second_url}/v1/events?after={head}&wait=20"))
                .send()
                .await
                .expect("poll");
            let body: Value = reply.json().await.expect("json");
            (body, started.elapsed())
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        let submission = seal_package(&broker, application, MBO, &[personal_data(&student)]);
        assert_eq!(submit(&broker.system(VO), &submission).await.status.as_u16(), 201);
        let (body, waited) = poll.await.expect("poll");
        assert_eq!(kinds(body["events"].as_array().expect("events")), ["package.available"]);
        // Found by the other node's polling (every second by default).
        assert!(waited < Duration::from_secs(10), "{waited:?}");
        second.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_purge_deletes_entries_after_the_events_period_and_numbering_goes_on() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(9106);
        let application = register_application(&broker, MBO, &student).await;
        let submission = seal_package(&broker, application, MBO, &[personal_data(&student)]);
        assert_eq!(submit(&broker.system(VO), &submission).await.status.as_u16(), 201);
        let recorded = broker.clock.now();
        let period = broker.settings.retention.policy.periods().events;
        let purge = || purge_now(&broker);
        let mbo = broker.system(MBO);
        // A second before it is due, it stays.
        broker.clock.advance(period - chrono::Duration::seconds(1));
        assert_eq!(purge().total(), 0);
        assert_eq!(whole_feed(&mbo).await.len(), 1);
        broker.clock.advance(chrono::Duration::seconds(1));
        let dry = doorstroom_app::purge::purge_dry_run(
            &broker.store,
            &broker.settings.retention.policy,
            broker.clock.now(),
            &doorstroom_domain::Principal::Operator,
            &doorstroom_app::purge::new_run_id(),
        )
        .expect("dry run");
        assert_eq!(dry.deleted["event_feed"]["events_retention"], 1, "{dry:?}");
        let summary = purge();
        assert_eq!(summary.deleted["event_feed"]["events_retention"], 1, "{summary:?}");
        assert!(whole_feed(&mbo).await.is_empty());
        let event = broker
            .audit_events()
            .into_iter()
            .find(|e| e.action.name == "event_feed_purged")
            .expect("the deletion is audited");
        assert_eq!(event.reason.as_deref(), Some("events_retention count=1"));
        assert_eq!(event.data_subject, None);
        assert!(broker.clock.now() - recorded >= period);
        // The cursor moves past what is gone, and numbering goes on.
        let page = events(&mbo, "").await;
        assert_eq!(page.body["next"], json!(cursor(MBO, 1)));
        let reply = report_status(&broker, MBO, application, "intake_scheduled").await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        let after = events(&mbo, &format!("?after={}", cursor(MBO, 1))).await;
        assert_eq!(after.body["events"][0]["seq"], json!(2));
    })
    .await;
}

#[tokio::test]
async fn a_package_about_to_be_deleted_is_announced_once() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(9107);
        let application = register_application(&broker, MBO, &student).await;
        let submission = seal_package(&broker, application, MBO, &[personal_data(&student)]);
        let reply = submit(&broker.system(VO), &submission).await;
        assert_eq!(reply.status.as_u16(), 201);
        let package = reply.body["package_id"].as_str().expect("package").to_owned();
        let delete_after: chrono::DateTime<chrono::Utc> = reply.body["delete_after"]
            .as_str()
            .expect("delete_after")
            .parse()
            .expect("time");
        let purge = || purge_now(&broker);
        let expiring = |feed: &[Value]| {
            feed.iter()
                .filter(|e| e["kind"] == json!("package.expiring"))
                .cloned()
                .collect::<Vec<_>>()
        };
        let mbo = broker.system(MBO);
        let notice_at = delete_after - doorstroom_domain::feed::EXPIRY_NOTICE;
        broker.clock.set(notice_at - chrono::Duration::seconds(1));
        purge();
        assert!(expiring(&whole_feed(&mbo).await).is_empty());
        broker.clock.set(notice_at);
        purge();
        purge();
        let feed = whole_feed(&mbo).await;
        let notices = expiring(&feed);
        assert_eq!(notices.len(), 1, "once: {feed:?}");
        assert_eq!(notices[0]["package_id"], json!(package));
        assert_eq!(notices[0]["application_id"], json!(application.to_string()));
        // Announced, not deleted; and the vo school is not told.
        assert_eq!(events(&broker.system(VO), "").await.body["events"], json!([]));
        let pulled = broker
            .staff("expiry.intaker", Role::Intaker, Some(MBO))
            .await
            .fetch(Method::GET, &format!("/v1/packages/{package}"), None)
            .await
            .expect("pull");
        assert_eq!(pulled.status.as_u16(), 200);
    })
    .await;
}

/// One purge run as the broker's scheduler runs it, at the broker's clock.
fn purge_now(broker: &TestBroker) -> doorstroom_app::purge::PurgeSummary {
    doorstroom_app::purge::purge_expired(
        &broker.store,
        &broker.settings.retention.policy,
        &broker.clock,
        &doorstroom_domain::Principal::Operator,
        doorstroom_app::purge::PurgeOptions {
            batch_size: 10,
            pause: Duration::ZERO,
        },
        &doorstroom_app::purge::new_run_id(),
    )
    .expect("purge")
}

/// The purge is no request: its `package.expiring` entries must wake this
/// node's long polls all the same (the store wakes them after any write
/// that appended an entry, whichever use case or job it was).
#[tokio::test]
async fn a_long_poll_wakes_when_the_purge_announces_a_package() {
    for db in TestDb::all() {
        eprintln!("-- on {}", db.backend.name());
        // Polling so rarely that only this node's wake-up can end the
        // wait within the test's bound.
        let broker = TestBroker::start_with(db, |s| s.events.poll_interval = Duration::from_secs(60)).await;
        let student = bsn(9108);
        let application = register_application(&broker, MBO, &student).await;
        let submission = seal_package(&broker, application, MBO, &[personal_data(&student)]);
        let reply = submit(&broker.system(VO), &submission).await;
        assert_eq!(reply.status.as_u16(), 201);
        let delete_after: chrono::DateTime<chrono::Utc> = reply.body["delete_after"]
            .as_str()
            .expect("delete_after")
            .parse()
            .expect("time");
        let mbo = broker.system(MBO);
        let head = events(&mbo, "").await.body["next"].as_str().expect("next").to_owned();
        broker.clock.set(delete_after - doorstroom_domain::feed::EXPIRY_NOTICE);

        let poll = waiting_poll(&mbo, &head).await;
        let broker = std::sync::Arc::new(broker);
        let purging = broker.clone();
        tokio::task::spawn_blocking(move || purge_now(&purging))
            .await
            .expect("purge");
        woken_with(poll, "package.expiring").await;
    }
}

/// A long poll of `client`'s feed after `head` (up to 20 s), given half a
/// second to be waiting: its reply and how long it waited.
async fn waiting_poll(client: &Client, head: &str) -> tokio::task::JoinHandle<(Reply, Duration)> {
    let (client, head) = (client.clone(), head.to_owned());
    let poll = tokio::spawn(async move {
        let started = Instant::now();
        let reply = events(&client, &format!("?after={head}&wait=20")).await;
        (reply, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    poll
}

/// The poll answered with one entry of `kind`, woken by its node well
/// before the poll's 20 s (the tests' brokers look for other nodes' entries
/// only every 60 s).
async fn woken_with(poll: tokio::task::JoinHandle<(Reply, Duration)>, kind: &str) {
    let (reply, waited) = poll.await.expect("poll");
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(kinds(reply.body["events"].as_array().expect("events")), [kind]);
    assert!(waited >= Duration::from_millis(400), "it waited: {waited:?}");
    assert!(waited < Duration::from_secs(10), "it was not woken: {waited:?}");
}
