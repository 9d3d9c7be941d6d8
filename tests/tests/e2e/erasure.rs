//! Erasure on request (GDPR art. 17), end to end: after the broker's privacy
//! officer erases a student, nothing about the student remains in the
//! database but pseudonymous audit events, and the audit log still
//! verifies (store and `doorstroom audit verify`). An institution's officer
//! erases only what the institution is party to; everyone else gets the
//! same 404 as for an unknown student; every kind of bad input is a 4xx
//! problem that erases nothing.

use diesel::RunQueryDsl;
use doorstroom_client::Reply;
use doorstroom_domain::{Clock, Outcome, Pseudonym, Role, StudentNumber};
use doorstroom_store::retention::rows_about;
use doorstroom_store::{DbConn, StoreError, merkle};
use doorstroom_tests::{MBO, OTHER_MBO, TestBroker, VO, assert_problem, without_instance};
use reqwest::Method;
use serde_json::{Value, json};

use crate::exchange_support::{
    As, application_body, bsn, personal_data, post_application, raw_request, register_application, seal_package, submit,
};
use crate::retention::all_events;

fn erasure_body(student: &str) -> Value {
    json!({
        "student_number": {"type": "bsn", "number": student},
        "requested_by": "parent",
        "reason": "verzoek tot verwijdering, art. 17 AVG",
        "reference": "FG-2027-014",
    })
}

async fn erase(client: &doorstroom_client::Client, body: &Value) -> Reply {
    client.fetch(Method::POST, "/v1/erasures", Some(body)).await.unwrap()
}

/// Everything about `student` at the broker: two applications (25LX, 27GH,
/// both naming 07AB), an inspection, consent for 25LX, a pulled package and
/// a place in 07AB's safety-net cohort.
async fn a_student_with_everything(broker: &TestBroker, student: &str) -> Pseudonym {
    let cohort = json!({"students": [{
        "student_number": {"type": "bsn", "number": student},
        "reference": format!("LL-{}", &student[5..]),
    }]});
    let reply = broker
        .system(VO)
        .fetch(Method::POST, "/v1/cohorts/2027-2028/students", Some(&cohort))
        .await
        .unwrap();
    assert!(reply.status.is_success(), "{}", reply.body);
    let application = register_application(broker, MBO, student).await;
    let reply = post_application(broker, OTHER_MBO, &application_body(student, "Kok")).await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
    let born = (broker.clock.now() - chrono::Duration::days(17 * 366)).date_naive();
    let consent = json!({
        "student_number": {"type": "bsn", "number": student},
        "date_of_birth": born.to_string(),
        "recipient": MBO,
        "sections": ["support_needs"],
        "given_by": "student",
        "method": "paper_form",
        "evidence_ref": "formulier 9",
        "notice_version": "v3",
    });
    let reply = broker
        .system(VO)
        .fetch(Method::POST, "/v1/consents", Some(&consent))
        .await
        .unwrap();
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
    let submission = seal_package(broker, application, MBO, &[personal_data(student)]);
    let reply = submit(&broker.system(VO), &submission).await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
    let package = reply.body["package_id"].as_str().unwrap().to_owned();
    let intaker = broker
        .staff(
            &format!("intaker.{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
            Role::Intaker,
            Some(MBO),
        )
        .await;
    let reply = intaker
        .fetch(Method::GET, &format!("/v1/packages/{package}"), None)
        .await
        .unwrap();
    assert_eq!(reply.status.as_u16(), 200);
    // The pseudonym, as the broker's own audit log names the student.
    all_events(broker)
        .into_iter()
        .rev()
        .find_map(|(_, e)| (e.action.name == "pull_package").then_some(e.data_subject).flatten())
        .expect("the pull names the student's pseudonym")
}

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Every table of the database and how many of its rows hold `needle` in
/// any column, whatever the table (a search of the whole schema, not of the
/// tables we know about).
fn tables_holding(broker: &TestBroker, needle: &str) -> Vec<(String, i64)> {
    assert!(
        needle.chars().all(|c| c.is_ascii_alphanumeric() || "-_:.".contains(c)),
        "a plain token"
    );
    broker
        .store
        .read(|conn| -> Result<Vec<(String, i64)>, StoreError> {
            let (tables, columns_of): (String, fn(&str) -> String) = match conn {
                DbConn::Sqlite(_) => (
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'".into(),
                    |t| format!("SELECT name FROM pragma_table_info('{t}')"),
                ),
                DbConn::Postgres(_) => (
                    "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
                        .into(),
                    |t| {
                        format!(
                            "SELECT CAST(column_name AS TEXT) AS name FROM information_schema.columns \
                             WHERE table_schema = current_schema() AND table_name = '{t}'"
                        )
                    },
                ),
            };
            let tables: Vec<Name> = diesel::sql_query(tables).load(conn)?;
            let mut found = Vec::new();
            for table in tables {
                let columns: Vec<Name> = diesel::sql_query(columns_of(&table.name)).load(conn)?;
                let condition = columns
                    .iter()
                    .map(|c| format!("CAST(\"{}\" AS TEXT) LIKE '%{needle}%'", c.name))
                    .collect::<Vec<_>>()
                    .join(" OR ");
                let count: Count = diesel::sql_query(format!(
                    "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM \"{}\" WHERE {condition}",
                    table.name
                ))
                .get_result(conn)?;
                if count.n > 0 {
                    found.push((table.name, count.n));
                }
            }
            Ok(found)
        })
        .expect("schema search")
}

/// `doorstroom audit verify` (local) against the broker's database.
fn audit_verify_command(broker: &TestBroker) -> Result<(), String> {
    let config = broker.dir.path().join("verify.toml");
    std::fs::write(
        &config,
        format!("[database]\nurl = \"{}\"\n", broker.settings.database.url),
    )
    .unwrap();
    doorstroom_cli::audit::run(
        doorstroom_cli::audit::AuditCommand::Verify(doorstroom_cli::audit::VerifyArgs {
            remote: false,
            export: None,
            token: None,
            state: None,
            key: doorstroom_cli::audit::KeyArgs {
                verifier_key: None,
                verifier_key_file: None,
            },
        }),
        &broker.base_url,
        &broker.pki.ca_cert_path(),
        Some(&config),
    )
    .map_err(|e| format!("{e:#}"))
}

#[tokio::test]
async fn after_an_erasure_only_pseudonymous_audit_events_remain_and_the_log_verifies() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(8101);
        let bystander = bsn(8102);
        let pseudonym = a_student_with_everything(&broker, &student).await;
        let other = a_student_with_everything(&broker, &bystander).await;
        let holding: Vec<String> = tables_holding(&broker, pseudonym.as_str())
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        for table in [
            "applications",
            "packages",
            "consent_events",
            "inspections",
            "cohort_members",
            "audit_events",
        ] {
            assert!(
                holding.iter().any(|t| t == table),
                "{table} names the student before: {holding:?}"
            );
        }

        let officer = broker.staff("fg.broker", Role::PrivacyOfficer, None).await;
        let reply = erase(&officer, &erasure_body(&student)).await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        assert_eq!(reply.body["scope"], "everything");
        assert_eq!(reply.body["applications"], 2);
        assert_eq!(reply.body["packages"], 1);
        assert_eq!(reply.body["consent_events"], 1);
        assert!(reply.body["inspections"].as_u64().unwrap() >= 1);
        assert_eq!(reply.body["cohort_memberships"], 1);

        // Nothing about the student is left outside the audit log.
        let holding = tables_holding(&broker, pseudonym.as_str());
        assert_eq!(
            holding.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
            vec!["audit_events"],
            "only the audit log names the pseudonym: {holding:?}"
        );
        let left = broker.store.read(|c| rows_about(c, &pseudonym)).unwrap();
        assert!(left.iter().all(|(_, n)| *n == 0), "{left:?}");
        // The national number was never stored and is not now.
        let dump = broker.database_dump();
        assert!(!dump.windows(student.len()).any(|w| w == student.as_bytes()));
        // The other student's data is untouched.
        let theirs = broker.store.read(|c| rows_about(c, &other)).unwrap();
        assert!(theirs.iter().filter(|(_, n)| *n > 0).count() >= 4, "{theirs:?}");

        // The erasure is on the record: per record, and who asked and why.
        let events: Vec<_> = all_events(&broker)
            .into_iter()
            .map(|(_, e)| e)
            .filter(|e| e.data_subject.as_ref() == Some(&pseudonym))
            .collect();
        let erased: Vec<_> = events
            .iter()
            .filter(|e| e.action.name.ends_with("_erased") && e.action.name != "student_erased")
            .collect();
        assert_eq!(
            erased.len(),
            2 + 1 + 1 + 1 + reply.body["inspections"].as_u64().unwrap() as usize,
            "one event per erased record"
        );
        assert!(erased.iter().all(|e| e.reason.as_deref() == Some("erasure_request")));
        let summary = events
            .iter()
            .find(|e| e.action.name == "student_erased")
            .expect("the erasure's own event");
        let why = summary.reason.as_deref().unwrap();
        assert!(why.contains("requested_by=parent"), "{why}");
        assert!(why.contains("art. 17 AVG") && why.contains("FG-2027-014"), "{why}");
        assert!(
            events
                .iter()
                .any(|e| e.action.name == "erase_student" && e.outcome == Outcome::Success)
        );

        // The log still verifies, in the store and with the operator's command.
        broker.store.read(merkle::verify_log).expect("the log verifies");
        audit_verify_command(&broker).expect("doorstroom audit verify");

        // Erasing again finds nothing: 404.
        let again = erase(&officer, &erasure_body(&student)).await;
        assert_problem(again.status.as_u16(), &again.body, 404);
    })
    .await;
}

#[tokio::test]
async fn an_institutions_officer_erases_what_it_is_party_to_and_others_see_404() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(8201);
        let pseudonym = a_student_with_everything(&broker, &student).await;
        let before = broker.store.read(|c| rows_about(c, &pseudonym)).unwrap();

        // Refused alike: an intaker, a school system, the officer of an
        // institution with nothing about the student; and an unknown student.
        // (A second student applied at 25LX only: 27GH has nothing about them.)
        let lone = bsn(8202);
        register_application(&broker, MBO, &lone).await;
        let intaker = broker.staff("intaker.erase", Role::Intaker, Some(MBO)).await;
        let stranger = broker.staff("fg.stranger", Role::PrivacyOfficer, Some(OTHER_MBO)).await;
        let unknown = erase(&intaker, &erasure_body(&bsn(8299))).await;
        assert_problem(unknown.status.as_u16(), &unknown.body, 404);
        let unknown_for_stranger = erase(&stranger, &erasure_body(&bsn(8299))).await;
        assert_eq!(
            without_instance(&unknown_for_stranger.raw),
            without_instance(&unknown.raw)
        );
        for (who, reply) in [
            ("intaker", erase(&intaker, &erasure_body(&student)).await),
            ("mbo system", erase(&broker.system(MBO), &erasure_body(&student)).await),
            (
                "officer of another institution",
                erase(&stranger, &erasure_body(&lone)).await,
            ),
        ] {
            assert_problem(reply.status.as_u16(), &reply.body, 404);
            assert_eq!(
                without_instance(&reply.raw),
                without_instance(&unknown.raw),
                "{who}: byte-identical to an unknown student"
            );
        }
        // A broker admin administers; erasing is not theirs (403 whatever the student).
        let admin = broker.staff("admin.broker", Role::BrokerAdmin, None).await;
        let reply = erase(&admin, &erasure_body(&student)).await;
        assert_problem(reply.status.as_u16(), &reply.body, 403);
        let unknown_for_admin = erase(&admin, &erasure_body(&bsn(8299))).await;
        assert_eq!(without_instance(&reply.raw), without_instance(&unknown_for_admin.raw));
        assert_eq!(broker.store.read(|c| rows_about(c, &pseudonym)).unwrap(), before);

        // The officer of 25LX erases 25LX's part: its application and the
        // package sent to it, the consent for it; 27GH's application and
        // 07AB's inspection stay.
        let officer = broker.staff("fg.25lx", Role::PrivacyOfficer, Some(MBO)).await;
        let reply = erase(&officer, &erasure_body(&student)).await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        assert_eq!(reply.body["scope"], MBO);
        assert_eq!(
            (
                &reply.body["applications"],
                &reply.body["packages"],
                &reply.body["consent_events"],
                &reply.body["inspections"],
                &reply.body["cohort_memberships"],
            ),
            (&json!(1), &json!(1), &json!(1), &json!(0), &json!(0))
        );
        let after: std::collections::BTreeMap<_, _> = broker
            .store
            .read(|c| rows_about(c, &pseudonym))
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(after["applications"], 1, "27GH's application stays");
        assert_eq!(after["packages"], 0);
        assert_eq!(after["consent_events"], 0);
        assert!(after["inspections"] >= 1, "07AB's inspection stays");
        assert_eq!(after["cohort_members"], 1, "07AB's cohort is 07AB's to erase");
        let number = StudentNumber::bsn(&student).unwrap();
        let seen_by_vo = broker.system(VO).find_applications(&number).await.unwrap();
        assert_eq!(seen_by_vo.len(), 1);
        assert_eq!(seen_by_vo[0].application.receiving, OTHER_MBO);

        // The vo school's officer erases the rest of what 07AB is party to:
        // the application naming it and its inspection.
        let vo_officer = broker.staff("fg.07ab", Role::PrivacyOfficer, Some(VO)).await;
        let reply = erase(&vo_officer, &erasure_body(&student)).await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        assert_eq!(reply.body["cohort_memberships"], 1);
        let after = broker.store.read(|c| rows_about(c, &pseudonym)).unwrap();
        assert!(after.iter().all(|(_, n)| *n == 0), "{after:?}");
        broker.store.read(merkle::verify_log).expect("the log verifies");
    })
    .await;
}

#[tokio::test]
async fn bad_erasure_requests_are_4xx_problems_and_erase_nothing() {
    let broker = TestBroker::start(doorstroom_tests::TestDb::sqlite()).await;
    let student = bsn(8301);
    let pseudonym = a_student_with_everything(&broker, &student).await;
    let before = broker.store.read(|c| rows_about(c, &pseudonym)).unwrap();
    let creds = broker.create_staff("fg.broker", Role::PrivacyOfficer, None);
    let (status, login) = broker
        .anonymous()
        .send(
            Method::POST,
            "/v1/auth/login",
            Some(&json!({
                "username": creds.username,
                "password": creds.password,
                "totp": broker.totp(&creds.totp_secret),
            })),
        )
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 200, "{login}");
    let token = login["access_token"].as_str().unwrap().to_owned();
    let officer = broker.login(&creds).await;

    // Not JSON at all: 400; not declared as JSON: 415.
    for (content_type, bytes, expected) in [
        ("application/json", &b"{\"student_number\":"[..], 400),
        ("text/plain", &b"{}"[..], 415),
    ] {
        let reply = raw_request(
            &broker,
            As::Token(&token),
            Method::POST,
            "/v1/erasures",
            &[("content-type", content_type)],
            Some(bytes.to_vec()),
        )
        .await;
        assert_problem(reply.status.as_u16(), &reply.body, expected);
    }

    let valid = erasure_body(&student);
    let with = |pointer: &str, value: Value| {
        let mut body = valid.clone();
        body[pointer] = value;
        body
    };
    let without = |field: &str| {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        ("an unknown field", with("scope", json!("everything")), "/scope"),
        ("no student number", without("student_number"), ""),
        ("no reason", without("reason"), ""),
        ("no requester", without("requested_by"), ""),
        ("an empty reason", with("reason", json!("   ")), "/reason"),
        (
            "a reason of 201 characters",
            with("reason", json!("x".repeat(201))),
            "/reason",
        ),
        ("a control character", with("reason", json!("a\u{7}b")), "/reason"),
        ("an empty reference", with("reference", json!("")), "/reference"),
        (
            "a requester that is no one",
            with("requested_by", json!("teacher")),
            "/requested_by",
        ),
        (
            "a number that fails the 11-proef",
            with("student_number", json!({"type": "bsn", "number": "123456780"})),
            "/student_number",
        ),
        (
            "a number as a string",
            with("student_number", json!(student)),
            "/student_number",
        ),
        ("a reason that is not text", with("reason", json!(17)), "/reason"),
        ("an array", json!([valid.clone()]), ""),
    ];
    for (what, body, pointer) in cases {
        let reply = erase(&officer, &body).await;
        let detail = assert_problem(reply.status.as_u16(), &reply.body, 422);
        assert!(!detail.is_empty(), "{what}: a detail");
        if !pointer.is_empty() {
            assert_eq!(reply.body["pointer"].as_str(), Some(pointer), "{what}: {}", reply.body);
        }
        assert_eq!(
            broker.store.read(|c| rows_about(c, &pseudonym)).unwrap(),
            before,
            "{what}: nothing erased"
        );
    }
    // Every refusal is on the record.
    let rejected = all_events(&broker)
        .into_iter()
        .filter(|(_, e)| e.action.name == "erase_student" && e.outcome == Outcome::Rejected)
        .count();
    assert!(rejected >= 13, "{rejected} rejected attempts audited");
}
