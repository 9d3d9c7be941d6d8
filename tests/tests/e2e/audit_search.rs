//! The privacy officer's tools: searching the log by student and other
//! filters, CSV and JSON export, and the data-subject report (art. 15).

use doorstroom_domain::{Outcome, Role};
use doorstroom_tests::{MBO, OTHER_MBO, TestBroker, VO, assert_problem};
use reqwest::Method;
use serde_json::{Value, json};

use crate::exchange_support::{bsn, personal_data, register_application, remarks, seal_package, submit};

/// Registers, sends and has an intaker pull one package for `student`.
async fn a_transfer(broker: &TestBroker, student: &str) -> String {
    let application = register_application(broker, MBO, student).await;
    let submission = seal_package(broker, application, MBO, &[personal_data(student), remarks()]);
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
    package_id
}

fn student_number(number: &str) -> Value {
    json!({"type": "bsn", "number": number})
}

#[tokio::test]
async fn privacy_officers_search_by_student_within_their_scope_and_export_csv() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(731);
        let package_id = a_transfer(&broker, &student).await;
        let other_student = bsn(732);
        a_transfer(&broker, &other_student).await;

        let broker_fg = broker.staff("fg.search", Role::PrivacyOfficer, None).await;
        let page: Value = broker_fg
            .post("/v1/audit/search", &json!({"student_number": student_number(&student)}))
            .await
            .unwrap();
        let events = page["events"].as_array().unwrap();
        let actions: Vec<&str> = events
            .iter()
            .filter_map(|e| e["event"]["action"]["name"].as_str())
            .collect();
        for expected in [
            "register_application",
            "record_inspection",
            "submit_package",
            "pull_package",
        ] {
            assert!(actions.contains(&expected), "{expected} in {actions:?}");
        }
        let subject = events[0]["event"]["data_subject"].as_str().unwrap().to_owned();
        assert!(
            events.iter().all(|e| e["event"]["data_subject"] == subject.as_str()),
            "only this student"
        );
        assert!(!page.to_string().contains(&student), "no student number in the answer");

        // Narrower: the pulls of this package.
        let pulls: Value = broker_fg
            .post(
                "/v1/audit/search",
                &json!({"student_number": student_number(&student), "action": "pull_package", "outcome": "success"}),
            )
            .await
            .unwrap();
        let pulls = pulls["events"].as_array().unwrap();
        assert_eq!(pulls.len(), 1);
        assert_eq!(pulls[0]["event"]["resource"]["id"], package_id.as_str());

        // The mbo's privacy officer sees the vo's submission too: the
        // student applied there. The other mbo's sees nothing of it.
        let fg_25lx = broker.staff("fg.search.25lx", Role::PrivacyOfficer, Some(MBO)).await;
        let mine: Value = fg_25lx
            .post("/v1/audit/search", &json!({"student_number": student_number(&student)}))
            .await
            .unwrap();
        let mine: Vec<&str> = mine["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["event"]["action"]["name"].as_str())
            .collect();
        assert!(mine.contains(&"submit_package"), "{mine:?}");
        let fg_27gh = broker
            .staff("fg.search.27gh", Role::PrivacyOfficer, Some(OTHER_MBO))
            .await;
        let theirs: Value = fg_27gh
            .post("/v1/audit/search", &json!({"student_number": student_number(&student)}))
            .await
            .unwrap();
        assert!(theirs["events"].as_array().unwrap().is_empty(), "{theirs}");

        // Paging by seq, then the CSV export of the same page.
        let first: Value = broker_fg.post("/v1/audit/search", &json!({"limit": 3})).await.unwrap();
        let after = first["next_after"].as_i64().unwrap();
        let second: Value = broker_fg
            .post("/v1/audit/search", &json!({"limit": 3, "after": after}))
            .await
            .unwrap();
        assert_eq!(second["events"][0]["seq"].as_i64(), Some(after + 1));
        let just_before: Value = broker_fg
            .post("/v1/audit/search", &json!({"student_number": student_number(&student)}))
            .await
            .unwrap();
        let known = just_before["events"].as_array().unwrap().len();
        let csv = broker_fg
            .fetch(
                Method::POST,
                "/v1/audit/search?format=csv",
                Some(&json!({"student_number": student_number(&student)})),
            )
            .await
            .unwrap();
        assert_eq!(csv.status.as_u16(), 200);
        assert!(csv.content_type.as_deref().unwrap_or_default().starts_with("text/csv"));
        let text = String::from_utf8(csv.raw).unwrap();
        let mut lines = text.lines();
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("seq,time,actor_kind,actor_institution,actor_id")
        );
        assert_eq!(
            lines.count(),
            known + 1,
            "one row per event, plus the JSON search's own event"
        );

        // Bad filters are 4xx; an intaker may not search at all.
        let reply = broker_fg
            .fetch(Method::POST, "/v1/audit/search", Some(&json!({"limit": 0})))
            .await
            .unwrap();
        assert_problem(reply.status.as_u16(), &reply.body, 422);
        let reply = broker_fg
            .fetch(Method::POST, "/v1/audit/search?format=xml", Some(&json!({})))
            .await
            .unwrap();
        assert_problem(reply.status.as_u16(), &reply.body, 400);
        let intaker = broker.staff("intaker.nosearch", Role::Intaker, Some(MBO)).await;
        let reply = intaker
            .fetch(Method::POST, "/v1/audit/search", Some(&json!({})))
            .await
            .unwrap();
        assert!(matches!(reply.status.as_u16(), 403 | 404), "{}", reply.body);

        // Every search is itself on the record, with the student's pseudonym.
        let searches = broker
            .audit_events()
            .into_iter()
            .filter(|e| e.action.name == "read_audit_log" && e.outcome == Outcome::Success)
            .filter(|e| e.data_subject.as_ref().map(|p| p.as_str()) == Some(subject.as_str()))
            .count();
        assert!(searches >= 4, "{searches}");
    })
    .await;
}

#[tokio::test]
async fn the_data_subject_report_lists_exactly_the_accesses_that_happened() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(741);
        let package_id = a_transfer(&broker, &student).await;
        let broker_fg = broker.staff("fg.report", Role::PrivacyOfficer, None).await;
        let report: Value = broker_fg
            .post(
                "/v1/audit/subject-report",
                &json!({"student_number": student_number(&student)}),
            )
            .await
            .unwrap();

        // The accesses are exactly the audit events about this student, up
        // to (not including) the report's own.
        let subject = report["accesses"][0]["event"]["data_subject"]
            .as_str()
            .unwrap()
            .to_owned();
        let recorded: Vec<i64> = broker
            .store
            .read(|c| {
                doorstroom_store::audit::list(
                    c,
                    &doorstroom_store::audit::AuditQuery {
                        data_subject: Some(doorstroom_domain::Pseudonym::parse(&subject).unwrap()),
                        ..Default::default()
                    },
                )
            })
            .unwrap()
            .into_iter()
            .filter(|(_, e)| e.action.name != "read_audit_log")
            .map(|(seq, _)| seq)
            .collect();
        let listed: Vec<i64> = report["accesses"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["seq"].as_i64())
            .collect();
        assert_eq!(listed, recorded);
        assert_eq!(report["packages"][0]["package_id"], package_id.as_str());
        assert_eq!(report["packages"][0]["recipient"], MBO);
        let sections: Vec<&str> = report["packages"][0]["sections"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["section"].as_str())
            .collect();
        assert_eq!(sections, vec!["personal_data", "remarks"]);
        assert!(report["packages"][0]["delivered_at"].is_string());
        assert_eq!(report["inspections"].as_array().unwrap().len(), 1);
        assert!(!report.to_string().contains(&student));

        // The readable document, in Dutch.
        let text = broker_fg
            .fetch(
                Method::POST,
                "/v1/audit/subject-report?format=text",
                Some(&json!({"student_number": student_number(&student)})),
            )
            .await
            .unwrap();
        let text = String::from_utf8(text.raw).unwrap();
        assert!(text.contains("Inzageverslag (art. 15 AVG)"), "{text}");
        assert!(text.contains("Dossier van 07AB aan 25LX"), "{text}");
        assert!(text.contains("pull_package"), "{text}");

        // The log verifies (what `doorstroom audit verify` runs on the
        // broker's host) — and no longer after one byte of the student's
        // first recorded access is changed behind the broker's back.
        let verify = || {
            broker
                .store
                .read(|c| Ok::<_, doorstroom_store::StoreError>(doorstroom_store::merkle::verify_log(c)))
                .unwrap()
        };
        assert!(verify().is_ok(), "{:?}", verify().err());
        let first = listed[0];
        crate::tlog::tamper(
            &broker,
            &format!("UPDATE audit_events SET entry = REPLACE(entry, 'intake', 'Intake') WHERE seq = {first}"),
        );
        let err = verify().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains(&format!("event {first}")), "{err}");

        // The other mbo's privacy officer gets an empty report.
        let fg_27gh = broker
            .staff("fg.report.27gh", Role::PrivacyOfficer, Some(OTHER_MBO))
            .await;
        let theirs: Value = fg_27gh
            .post(
                "/v1/audit/subject-report",
                &json!({"student_number": student_number(&student)}),
            )
            .await
            .unwrap();
        assert!(theirs["accesses"].as_array().unwrap().is_empty());
        assert!(theirs["packages"].as_array().unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn pulling_far_more_than_usual_raises_an_alert() {
    for db in doorstroom_tests::TestDb::all() {
        let broker = TestBroker::start_with(db, |s| s.audit.anomaly_pulls_per_hour = 2).await;
        let student = bsn(751);
        let package_id = a_transfer(&broker, &student).await;
        let intaker = broker.staff("intaker.busy", Role::Intaker, Some(MBO)).await;
        for _ in 0..4 {
            let (status, _) = intaker
                .send(Method::GET, &format!("/v1/packages/{package_id}"), None)
                .await
                .unwrap();
            assert_eq!(status.as_u16(), 200);
        }
        let alerts: Vec<_> = broker
            .audit_events()
            .into_iter()
            .filter(|e| e.action.name == "anomaly_alert")
            .collect();
        assert_eq!(alerts.len(), 1, "one alert, at the crossing");
        assert_eq!(
            alerts[0].actor.id,
            intaker.whoami().await.unwrap()["staff_id"].as_str().map(str::to_owned)
        );
        assert!(alerts[0].reason.as_deref().unwrap_or_default().contains("more than 2"));
        let metrics = broker.anonymous().fetch(Method::GET, "/metrics", None).await.unwrap();
        let text = String::from_utf8(metrics.raw).unwrap();
        assert!(
            text.contains(r#"doorstroom_anomaly_alerts_total{kind="pulls"} 1"#),
            "{text}"
        );
    }
}
