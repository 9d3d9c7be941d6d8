//! An institution's privacy officer keeps finding the audit events about a
//! student who applied there after the purge or an erasure deleted the
//! student's applications and packages: the events' relations to
//! institutions are recorded when the events are written. The other mbo's
//! officer still sees none of them, and the log still verifies. An mbo
//! that registers an application for a student later becomes party to its
//! own application only: its officer sees nothing of the other mbo's
//! intake, before or after (issue 11), in the search, the export, the
//! events listing or the art. 15 report.

use chrono::Duration;
use doorstroom_app::purge::{self, PurgeOptions};
use doorstroom_domain::{Principal, Pseudonym, Role};
use doorstroom_store::retention::rows_about;
use doorstroom_tests::{MBO, OTHER_MBO, TestBroker, VO};
use reqwest::Method;
use serde_json::{Value, json};

use crate::exchange_support::{
    application_body, bsn, personal_data, post_application, register_application, seal_package, submit,
};
use crate::retention::all_events;

fn student_number(number: &str) -> Value {
    json!({"type": "bsn", "number": number})
}

/// The student applies at 25LX (from 07AB), 07AB sends a package and an
/// intaker of 25LX pulls it. Answers the student's pseudonym.
async fn a_transfer(broker: &TestBroker, student: &str) -> Pseudonym {
    let application = register_application(broker, MBO, student).await;
    let submission = seal_package(broker, application, MBO, &[personal_data(student)]);
    let reply = submit(&broker.system(VO), &submission).await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
    let package_id = reply.body["package_id"].as_str().unwrap().to_owned();
    let username = format!("intaker.{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let intaker = broker.staff(&username, Role::Intaker, Some(MBO)).await;
    let (status, _) = intaker
        .send(Method::GET, &format!("/v1/packages/{package_id}"), None)
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 200);
    all_events(broker)
        .into_iter()
        .rev()
        .find_map(|(_, e)| (e.action.name == "pull_package").then_some(e.data_subject).flatten())
        .expect("the pull names the student's pseudonym")
}

/// The names of the actions in the events a privacy officer finds about
/// `student` (the API's search, scoped to the officer's institution).
async fn found_by(officer: &doorstroom_client::Client, student: &str) -> Vec<String> {
    let page: Value = officer
        .post("/v1/audit/search", &json!({"student_number": student_number(student)}))
        .await
        .unwrap();
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["action"]["name"] != "read_audit_log")
        .map(|e| e["event"]["action"]["name"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_nothing_left(broker: &TestBroker, student: &Pseudonym) {
    let rows = broker.store.read(|c| rows_about(c, student)).unwrap();
    for (table, n) in rows {
        if table == "applications" || table == "packages" {
            assert_eq!(n, 0, "{table} still holds the student");
        }
    }
}

fn assert_log_verifies(broker: &TestBroker) {
    let verified = broker
        .store
        .read(|c| Ok::<_, doorstroom_store::StoreError>(doorstroom_store::audit::verify_log(c)))
        .unwrap();
    assert!(verified.is_ok(), "{:?}", verified.err());
}

#[tokio::test]
async fn the_mbo_officer_still_finds_the_events_after_the_purge() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(7601);
        let pseudonym = a_transfer(&broker, &student).await;
        let fg_mbo = broker.staff("fg.rel.25lx", Role::PrivacyOfficer, Some(MBO)).await;
        let before = found_by(&fg_mbo, &student).await;
        for expected in ["register_application", "submit_package", "pull_package"] {
            assert!(before.contains(&expected.to_owned()), "{expected} in {before:?}");
        }
        // The school's inspection is the school's record, not the mbo's.
        assert!(!before.contains(&"record_inspection".to_owned()), "{before:?}");

        // Past every application and package period: the purge takes both.
        broker.clock.advance(Duration::days(731));
        let done = purge::purge_expired(
            &broker.store,
            &broker.settings.retention.policy,
            &broker.clock,
            &Principal::Operator,
            PurgeOptions {
                batch_size: 100,
                pause: std::time::Duration::ZERO,
            },
            &purge::new_run_id(),
        )
        .unwrap();
        assert_eq!(done.deleted["package"].values().sum::<u64>(), 1, "{done:?}");
        assert_eq!(done.deleted["application"].values().sum::<u64>(), 1, "{done:?}");
        assert_nothing_left(&broker, &pseudonym);

        // Two years on, the officer logs in afresh.
        let fg_mbo = broker.staff("fg.rel.25lx.later", Role::PrivacyOfficer, Some(MBO)).await;
        let after = found_by(&fg_mbo, &student).await;
        for expected in before
            .iter()
            .map(String::as_str)
            .chain(["package_purged", "application_purged"])
        {
            assert!(after.contains(&expected.to_owned()), "{expected} in {after:?}");
        }
        // The sending school's officer finds them too; the other mbo's none.
        let fg_vo = broker.staff("fg.rel.07ab", Role::PrivacyOfficer, Some(VO)).await;
        let vo_found = found_by(&fg_vo, &student).await;
        for expected in [
            "record_inspection",
            "submit_package",
            "pull_package",
            "package_purged",
            "application_purged",
        ] {
            assert!(vo_found.contains(&expected.to_owned()), "{expected} in {vo_found:?}");
        }
        let fg_other = broker.staff("fg.rel.27gh", Role::PrivacyOfficer, Some(OTHER_MBO)).await;
        let theirs = found_by(&fg_other, &student).await;
        assert!(theirs.is_empty(), "{theirs:?}");

        // The art. 15 report of the mbo's officer lists them as well.
        let report: Value = fg_mbo
            .post(
                "/v1/audit/subject-report",
                &json!({"student_number": student_number(&student)}),
            )
            .await
            .unwrap();
        let accesses: Vec<&str> = report["accesses"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["event"]["action"]["name"].as_str())
            .collect();
        for expected in ["pull_package", "application_purged"] {
            assert!(accesses.contains(&expected), "{expected} in {accesses:?}");
        }
        let theirs: Value = fg_other
            .post(
                "/v1/audit/subject-report",
                &json!({"student_number": student_number(&student)}),
            )
            .await
            .unwrap();
        let theirs: Vec<&str> = theirs["accesses"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["event"]["action"]["name"].as_str())
            .filter(|name| *name != "read_audit_log")
            .collect();
        assert!(theirs.is_empty(), "{theirs:?}");
        assert_log_verifies(&broker);
    })
    .await;
}

#[tokio::test]
async fn the_mbo_officer_still_finds_the_events_after_an_erasure() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(7602);
        let bystander = bsn(7603);
        let pseudonym = a_transfer(&broker, &student).await;
        a_transfer(&broker, &bystander).await;

        let fg_broker = broker.staff("fg.rel.broker", Role::PrivacyOfficer, None).await;
        let reply = fg_broker
            .fetch(
                Method::POST,
                "/v1/erasures",
                Some(&json!({
                    "student_number": student_number(&student),
                    "requested_by": "student",
                    "reason": "verzoek tot verwijdering",
                })),
            )
            .await
            .unwrap();
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        assert_nothing_left(&broker, &pseudonym);

        let fg_mbo = broker.staff("fg.rel.25lx", Role::PrivacyOfficer, Some(MBO)).await;
        let fg_vo = broker.staff("fg.rel.07ab", Role::PrivacyOfficer, Some(VO)).await;
        // Each finds the deletion of the records it was party to; the
        // erasure request and its summary are the broker's own.
        for officer in [&fg_mbo, &fg_vo] {
            let found = found_by(officer, &student).await;
            for expected in ["submit_package", "pull_package", "package_erased", "application_erased"] {
                assert!(found.contains(&expected.to_owned()), "{expected} in {found:?}");
            }
        }
        let vo_found = found_by(&fg_vo, &student).await;
        assert!(vo_found.contains(&"inspection_erased".to_owned()), "{vo_found:?}");
        let mbo_found = found_by(&fg_mbo, &student).await;
        assert!(!mbo_found.contains(&"inspection_erased".to_owned()), "{mbo_found:?}");
        let fg_other = broker.staff("fg.rel.27gh", Role::PrivacyOfficer, Some(OTHER_MBO)).await;
        let theirs = found_by(&fg_other, &student).await;
        assert!(theirs.is_empty(), "{theirs:?}");
        // The bystander's events were not touched.
        let bystanders = found_by(&fg_mbo, &bystander).await;
        assert!(bystanders.contains(&"pull_package".to_owned()), "{bystanders:?}");
        assert!(!bystanders.iter().any(|a| a.ends_with("_erased")), "{bystanders:?}");
        assert_log_verifies(&broker);
    })
    .await;
}

/// The events a privacy officer's search finds about `student`, without
/// the officer's own searches.
async fn events_found_by(officer: &doorstroom_client::Client, student: &str) -> Vec<Value> {
    let page: Value = officer
        .post("/v1/audit/search", &json!({"student_number": student_number(student)}))
        .await
        .unwrap();
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["action"]["name"] != "read_audit_log")
        .map(|e| e["event"].clone())
        .collect()
}

fn names(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["action"]["name"].as_str().unwrap()).collect()
}

/// What `officer` sees of `student` in every view: the search (JSON), the
/// CSV export, the events listing and the art. 15 report. Answers the
/// search's events; asserts that no other view shows an action the search
/// does not.
async fn every_view(officer: &doorstroom_client::Client, student: &str) -> Vec<Value> {
    let found = events_found_by(officer, student).await;
    let found_names = names(&found);
    let csv = officer
        .fetch(
            Method::POST,
            "/v1/audit/search?format=csv",
            Some(&json!({"student_number": student_number(student)})),
        )
        .await
        .unwrap();
    assert_eq!(csv.status.as_u16(), 200);
    let csv = String::from_utf8(csv.raw).unwrap();
    let rows = csv.lines().skip(1).filter(|l| !l.contains("read_audit_log")).count();
    assert_eq!(rows, found.len(), "the export holds what the search finds:\n{csv}");
    let report: Value = officer
        .post(
            "/v1/audit/subject-report",
            &json!({"student_number": student_number(student)}),
        )
        .await
        .unwrap();
    let accesses: Vec<&Value> = report["accesses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["event"]["action"]["name"] != "read_audit_log")
        .collect();
    let reported: Vec<&str> = accesses
        .iter()
        .map(|a| a["event"]["action"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(reported, found_names, "the report lists what the search finds");
    found
}

/// The actions in `events` in which an institution other than `own` acted.
fn acted_by_others<'a>(events: &'a [Value], own: &str) -> Vec<&'a str> {
    events
        .iter()
        .filter(|e| e["actor"]["institution"].as_str() != Some(own))
        .map(|e| e["action"]["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn another_mbos_later_application_shows_its_officer_nothing_of_the_first_mbos_intake() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(7611);
        // 25LX's intake: its application, 07AB's package, its intaker's pull.
        a_transfer(&broker, &student).await;
        let fg_a = broker.staff("fg.scope.25lx", Role::PrivacyOfficer, Some(MBO)).await;
        let fg_b = broker
            .staff("fg.scope.27gh", Role::PrivacyOfficer, Some(OTHER_MBO))
            .await;
        assert!(every_view(&fg_b, &student).await.is_empty());

        // 27GH registers an application for the same student number.
        let reply = post_application(&broker, OTHER_MBO, &application_body(&student, "Techniek")).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        let b_application = reply.body["id"].as_str().unwrap().to_owned();
        // Its own later event, and a later one of 25LX's intake.
        let read = broker
            .system(OTHER_MBO)
            .fetch(Method::GET, &format!("/v1/applications/{b_application}"), None)
            .await
            .unwrap();
        assert_eq!(read.status.as_u16(), 200, "{}", read.body);
        let intaker = broker.staff("intaker.scope.25lx", Role::Intaker, Some(MBO)).await;
        let inbox = intaker.fetch(Method::GET, "/v1/inbox", None).await.unwrap();
        assert_eq!(inbox.status.as_u16(), 200, "{}", inbox.body);

        let b_sees = every_view(&fg_b, &student).await;
        assert_eq!(names(&b_sees), ["register_application", "read_application"]);
        assert!(acted_by_others(&b_sees, OTHER_MBO).is_empty(), "{b_sees:?}");
        let listing: Value = fg_b
            .get(&format!("/v1/audit/events?institution={OTHER_MBO}&limit=1000"))
            .await
            .unwrap();
        let listed: Vec<&str> = listing["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"]["actor"]["institution"].as_str() != Some(OTHER_MBO))
            .map(|e| e["event"]["action"]["name"].as_str().unwrap())
            .collect();
        assert!(listed.is_empty(), "the events listing shows others' events: {listed:?}");

        // 25LX's officer still sees all of its own, and nothing of 27GH's.
        let a_sees = every_view(&fg_a, &student).await;
        let a_names = names(&a_sees);
        for expected in [
            "register_application",
            "submit_package",
            "pull_package",
            "list_inbox_entry",
        ] {
            assert!(a_names.contains(&expected), "{expected} in {a_names:?}");
        }
        assert!(
            a_sees.iter().all(|e| e["actor"]["institution"] != OTHER_MBO),
            "{a_names:?}"
        );

        // An erasure deletes both applications: each officer finds the
        // deletion of its own records, and still nothing of the other's.
        let fg_broker = broker.staff("fg.scope.broker", Role::PrivacyOfficer, None).await;
        let erased = fg_broker
            .fetch(
                Method::POST,
                "/v1/erasures",
                Some(&json!({
                    "student_number": student_number(&student),
                    "requested_by": "student",
                    "reason": "verzoek tot verwijdering",
                })),
            )
            .await
            .unwrap();
        assert_eq!(erased.status.as_u16(), 200, "{}", erased.body);
        let fg_b = broker
            .staff("fg.scope.27gh.later", Role::PrivacyOfficer, Some(OTHER_MBO))
            .await;
        let b_sees = every_view(&fg_b, &student).await;
        assert_eq!(
            names(&b_sees),
            ["register_application", "read_application", "application_erased"]
        );
        let a_sees = every_view(&fg_a, &student).await;
        let a_names = names(&a_sees);
        for expected in ["pull_package", "package_erased", "application_erased"] {
            assert!(a_names.contains(&expected), "{expected} in {a_names:?}");
        }
        assert_eq!(
            a_names.iter().filter(|n| **n == "application_erased").count(),
            1,
            "only its own application's deletion: {a_names:?}"
        );
        assert!(a_sees.iter().all(|e| e["actor"]["institution"] != OTHER_MBO));
        assert_log_verifies(&broker);
    })
    .await;
}
