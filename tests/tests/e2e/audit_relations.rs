//! An institution's privacy officer keeps finding the audit events about a
//! student who applied there after the purge or an erasure deleted the
//! student's applications and packages: the events' relations to
//! institutions are recorded when the events are written. The other mbo's
//! officer still sees none of them, and the log still verifies.

use chrono::Duration;
use doorstroom_domain::{Principal, Pseudonym, Role};
use doorstroom_server::purge::{self, PurgeOptions};
use doorstroom_store::retention::rows_about;
use doorstroom_tests::{MBO, OTHER_MBO, TestBroker, VO};
use reqwest::Method;
use serde_json::{Value, json};

use crate::exchange_support::{bsn, personal_data, register_application, seal_package, submit};
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
        for expected in [
            "record_inspection",
            "register_application",
            "submit_package",
            "pull_package",
        ] {
            assert!(before.contains(&expected.to_owned()), "{expected} in {before:?}");
        }

        // Past every application and package period: the purge takes both.
        broker.clock.advance(Duration::days(731));
        let done = purge::run(
            &broker.store,
            &purge::policy(&broker.settings),
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
        for expected in ["submit_package", "pull_package", "package_purged", "application_purged"] {
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
        for officer in [&fg_mbo, &fg_vo] {
            let found = found_by(officer, &student).await;
            for expected in [
                "submit_package",
                "pull_package",
                "package_erased",
                "application_erased",
                "student_erased",
                "erase_student",
            ] {
                assert!(found.contains(&expected.to_owned()), "{expected} in {found:?}");
            }
        }
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
