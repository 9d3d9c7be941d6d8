//! The consent and inspection ledger, end to end: consent given and
//! withdrawn for a section going to one mbo, its effect at submission and
//! at every pull, the under-16 rule, inspection before transfer, signed
//! receipts that verify with the broker's published key, the history and
//! the register of processing activities.
//!
//! Assertion messages never name a student number.

use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use doorstroom_client::Reply;
use doorstroom_domain::{Clock, Outcome, Role, Section};
use doorstroom_store::packages;
use doorstroom_tests::{MBO, OTHER_MBO, TestBroker, TestDb, VO, assert_problem};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::exchange_support::{
    application_body, b64url, b64url_decode, bsn, decryption_key, personal_data, post_application, record_inspection,
    register_application, seal_package, stored_package, submit, support_needs,
};

// ---- helpers ----

/// The broker's date today (UTC), as the handler counts it.
fn today(broker: &TestBroker) -> NaiveDate {
    broker.clock.now().date_naive()
}

/// A date of birth that makes the student `years` old (and a quarter) today.
fn born_years_ago(broker: &TestBroker, years: u32) -> NaiveDate {
    today(broker)
        .checked_sub_months(Months::new(years * 12 + 3))
        .expect("a date in range")
}

/// The body of `POST /v1/consents` (and, without `valid_until`, of the
/// withdrawal).
fn consent_body(student: &str, born: NaiveDate, recipient: &str, sections: &[&str], given_by: &str) -> Value {
    json!({
        "student_number": {"type": "bsn", "number": student},
        "date_of_birth": born.to_string(),
        "recipient": recipient,
        "sections": sections,
        "given_by": given_by,
        "method": "paper_form",
        "evidence_ref": "formulier 2027-113",
        "notice_version": "privacyverklaring v3",
    })
}

/// The same body with a validity end.
fn with_valid_until(mut body: Value, until: DateTime<Utc>) -> Value {
    body["valid_until"] = json!(until.to_rfc3339());
    body
}

/// Registers, as the system of `mbo`, that `student` applied there naming
/// 07AB as sending school: what makes 07AB party to the student's ledger
/// for `mbo` (a school records nothing about a student it does not send).
async fn applied(broker: &TestBroker, mbo: &str, student: &str) {
    let reply = post_application(broker, mbo, &application_body(student, "Verzorgende IG")).await;
    assert!(
        matches!(reply.status.as_u16(), 200 | 201),
        "registering an application: {}",
        reply.body
    );
}

/// Consent for `support_needs` to go to 25LX, given by a student of 17.
fn support_consent(broker: &TestBroker, student: &str) -> Value {
    consent_body(student, born_years_ago(broker, 17), MBO, &["support_needs"], "student")
}

async fn post_as(broker: &TestBroker, institution: &str, path: &str, body: &Value) -> Reply {
    broker
        .system(institution)
        .fetch(Method::POST, path, Some(body))
        .await
        .expect("request")
}

/// `POST /v1/consents` as the vo school's system.
async fn give(broker: &TestBroker, body: &Value) -> Reply {
    post_as(broker, VO, "/v1/consents", body).await
}

/// `POST /v1/consents/withdraw` as the vo school's system.
async fn withdraw(broker: &TestBroker, body: &Value) -> Reply {
    post_as(broker, VO, "/v1/consents/withdraw", body).await
}

/// Gives consent and asserts 201.
async fn give_ok(broker: &TestBroker, body: &Value) -> Value {
    let reply = give(broker, body).await;
    assert_eq!(reply.status.as_u16(), 201, "giving consent: {}", reply.body);
    reply.body
}

fn history_body(student: &str) -> Value {
    json!({"student_number": {"type": "bsn", "number": student}})
}

/// Submits a package from 07AB to 25LX for `application` and answers its id.
async fn send_ok(broker: &TestBroker, application: Uuid, student: &str, sections: &[Section]) -> String {
    let inputs: Vec<_> = sections
        .iter()
        .map(|s| match s {
            Section::PersonalData => personal_data(student),
            Section::SupportNeeds => support_needs(),
            other => panic!("no test content for {other}"),
        })
        .collect();
    let submission = seal_package(broker, application, MBO, &inputs);
    let reply = submit(&broker.system(VO), &submission).await;
    assert_eq!(reply.status.as_u16(), 201, "submission: {}", reply.body);
    reply.body["package_id"].as_str().expect("package_id").to_owned()
}

async fn pull(intaker: &doorstroom_client::Client, package_id: &str) -> Value {
    let reply = intaker
        .fetch(Method::GET, &format!("/v1/packages/{package_id}"), None)
        .await
        .expect("pull");
    assert_eq!(reply.status.as_u16(), 200, "pull: {}", reply.body);
    reply.body
}

fn released(pulled: &Value) -> Vec<String> {
    pulled["sections"]
        .as_object()
        .expect("sections")
        .keys()
        .cloned()
        .collect()
}

fn withheld_reason(pulled: &Value, section: &str) -> Option<String> {
    pulled["withheld"]
        .as_array()
        .expect("withheld")
        .iter()
        .find(|w| w["section"] == section)
        .map(|w| w["reason"].as_str().unwrap_or_default().to_owned())
}

fn ids(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

fn problem_at(reply: &Reply, status: u16, pointer: &str) -> String {
    let detail = assert_problem(reply.status.as_u16(), &reply.body, status);
    assert_eq!(reply.body["pointer"].as_str(), Some(pointer), "pointer: {}", reply.body);
    detail
}

/// A verifier for the broker's signing key, from `GET /v1/broker/jwks`.
async fn broker_verifier(broker: &TestBroker) -> josekit::jws::alg::eddsa::EddsaJwsVerifier {
    let keys = broker.anonymous().broker_jwks().await.expect("broker JWKS");
    let key = serde_json::to_value(&keys).expect("JWKS as JSON")["keys"][0].clone();
    josekit::jws::EdDSA
        .verifier_from_jwk(&josekit::jwk::Jwk::from_map(key.as_object().expect("a JWK").clone()).expect("JWK"))
        .expect("EdDSA verifier")
}

fn is_pseudonym(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

// ---- 1. withdrawal ----

#[tokio::test]
async fn a_withdrawn_section_disappears_from_the_very_next_pull() {
    TestBroker::on_every_backend(|broker| async move {
        let intaker = broker.staff("intaker.consent", Role::Intaker, Some(MBO)).await;

        // Delivered before the withdrawal.
        let student = bsn(101);
        let application = register_application(&broker, MBO, &student).await;
        give_ok(
            &broker,
            &with_valid_until(
                support_consent(&broker, &student),
                broker.clock.now() + Duration::days(90),
            ),
        )
        .await;
        let package_id = send_ok(
            &broker,
            application,
            &student,
            &[Section::PersonalData, Section::SupportNeeds],
        )
        .await;
        let first = pull(&intaker, &package_id).await;
        assert_eq!(released(&first), ["personal_data", "support_needs"]);
        assert!(
            first["withheld"].as_array().expect("withheld").is_empty(),
            "{}",
            first["withheld"]
        );

        let reply = withdraw(&broker, &support_consent(&broker, &student)).await;
        assert_eq!(reply.status.as_u16(), 201, "withdrawing: {}", reply.body);
        assert_eq!(reply.body["event"], "withdrawn");
        assert_eq!(ids(&reply.body["delivered_before_withdrawal"]), [package_id.as_str()]);
        assert!(ids(&reply.body["deleted_from_packages"]).is_empty());

        let next = pull(&intaker, &package_id).await;
        assert_eq!(released(&next), ["personal_data"]);
        let reason = withheld_reason(&next, "support_needs").expect("support_needs is withheld");
        assert!(reason.contains("withdrawn"), "{reason}");

        // The real client still opens what is released and reports the rest.
        let anchors = broker.trust_anchors();
        let key = decryption_key(&broker, MBO);
        let dossier = intaker
            .receive_dossier(
                package_id.parse().expect("uuid"),
                None,
                &key,
                &anchors,
                broker.clock.now(),
            )
            .await
            .expect("receive_dossier");
        assert_eq!(
            dossier.sections.keys().copied().collect::<Vec<_>>(),
            [Section::PersonalData]
        );
        assert_eq!(dossier.sections[&Section::PersonalData]["name"], "Sam de Vries");
        assert_eq!(dossier.withheld.len(), 1);
        assert_eq!(dossier.withheld[0].section, Section::SupportNeeds);

        let subject = stored_package(&broker, &package_id).expect("stored").student;
        assert!(
            broker
                .audit_events()
                .iter()
                .any(|e| e.action.name == "section_withdrawn_after_delivery"
                    && e.data_subject.as_ref() == Some(&subject)
                    && e.resource.id.as_deref() == Some(&format!("{package_id}/support_needs"))),
            "the withdrawal after delivery is audited"
        );

        // Withdrawn before any pull: the ciphertext is deleted.
        let student = bsn(102);
        let application = register_application(&broker, MBO, &student).await;
        give_ok(&broker, &support_consent(&broker, &student)).await;
        let package_id = send_ok(
            &broker,
            application,
            &student,
            &[Section::PersonalData, Section::SupportNeeds],
        )
        .await;
        let reply = withdraw(&broker, &support_consent(&broker, &student)).await;
        assert_eq!(reply.status.as_u16(), 201, "withdrawing: {}", reply.body);
        assert_eq!(ids(&reply.body["deleted_from_packages"]), [package_id.as_str()]);
        assert!(ids(&reply.body["delivered_before_withdrawal"]).is_empty());

        let stored = broker
            .store
            .read(|conn| packages::sections(conn, &package_id))
            .expect("stored sections");
        let support = stored
            .iter()
            .find(|s| s.section == Section::SupportNeeds)
            .expect("the section row stays, as a record");
        assert!(support.ciphertext.is_empty(), "the ciphertext is deleted");
        assert!(support.withdrawn_at.is_some());
        assert!(support.delivered_at.is_none());
        let personal = stored
            .iter()
            .find(|s| s.section == Section::PersonalData)
            .expect("personal_data");
        assert!(!personal.ciphertext.is_empty());
        assert!(personal.withdrawn_at.is_none());

        // The inbox shows the withdrawal.
        let inbox = intaker.fetch(Method::GET, "/v1/inbox", None).await.expect("inbox");
        assert_eq!(inbox.status.as_u16(), 200, "{}", inbox.body);
        let entry = inbox
            .body
            .as_array()
            .expect("entries")
            .iter()
            .find(|e| e["package_id"] == package_id.as_str())
            .expect("the package is in the inbox")
            .clone();
        let section = |name: &str| {
            entry["sections"]
                .as_array()
                .expect("sections")
                .iter()
                .find(|s| s["section"] == name)
                .cloned()
                .expect("section listed")
        };
        assert!(section("support_needs")["withdrawn_at"].is_string(), "{entry}");
        assert!(section("personal_data")["withdrawn_at"].is_null(), "{entry}");

        let pulled = pull(&intaker, &package_id).await;
        assert_eq!(released(&pulled), ["personal_data"]);
        let reason = withheld_reason(&pulled, "support_needs").expect("support_needs is withheld");
        assert!(reason.contains("withdrawn"), "{reason}");

        let subject = stored_package(&broker, &package_id).expect("stored").student;
        let deletions: Vec<_> = broker
            .audit_events()
            .into_iter()
            .filter(|e| e.action.name == "delete_withdrawn_section")
            .collect();
        assert_eq!(deletions.len(), 1, "one deletion audited");
        assert_eq!(deletions[0].data_subject.as_ref(), Some(&subject));
        assert_eq!(deletions[0].outcome, Outcome::Success);
        assert_eq!(
            deletions[0].resource.id.as_deref(),
            Some(format!("{package_id}/support_needs").as_str())
        );
    })
    .await;
}

// ---- 2. the under-16 rule ----

#[tokio::test]
async fn only_a_parent_or_guardian_decides_for_a_student_under_16() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(201);
        let fourteen = born_years_ago(&broker, 14);
        let seventeen = born_years_ago(&broker, 17);
        applied(&broker, MBO, &student).await;

        let reply = give(
            &broker,
            &consent_body(&student, fourteen, MBO, &["support_needs"], "student"),
        )
        .await;
        let detail = problem_at(&reply, 422, "/given_by");
        assert!(detail.contains("under 16"), "{detail}");

        for by in ["parent", "guardian"] {
            let reply = give(&broker, &consent_body(&student, fourteen, MBO, &["support_needs"], by)).await;
            assert_eq!(reply.status.as_u16(), 201, "{by} for a 14-year-old: {}", reply.body);
        }
        let privacy_officer = broker.staff("fg.broker", Role::PrivacyOfficer, None).await;
        let history = privacy_officer
            .fetch(Method::POST, "/v1/consents/history", Some(&history_body(&student)))
            .await
            .expect("history");
        assert_eq!(history.status.as_u16(), 200, "{}", history.body);
        let events = history.body["consents"].as_array().expect("consents");
        assert_eq!(events.len(), 2);
        assert!(events.iter().all(|e| e["student_under_16"] == true), "{}", history.body);
        assert_eq!(events[0]["given_by"], "parent");
        assert_eq!(events[1]["given_by"], "guardian");
        assert!(
            !history.raw.windows(10).any(|w| w == fourteen.to_string().as_bytes()),
            "no date of birth kept"
        );

        let other = bsn(202);
        applied(&broker, MBO, &other).await;
        for by in ["parent", "guardian"] {
            let reply = give(&broker, &consent_body(&other, seventeen, MBO, &["support_needs"], by)).await;
            let detail = problem_at(&reply, 422, "/given_by");
            assert!(detail.contains("16 or older"), "{detail}");
        }
        let reply = give(
            &broker,
            &consent_body(&other, seventeen, MBO, &["support_needs"], "student"),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);

        let future = today(&broker) + Duration::days(10);
        let reply = give(
            &broker,
            &consent_body(&other, future, MBO, &["support_needs"], "parent"),
        )
        .await;
        let detail = problem_at(&reply, 422, "/date_of_birth");
        assert!(detail.contains("must not lie after"), "{detail}");
        assert!(
            !detail.contains(&future.to_string()),
            "the detail names the rule, not the date"
        );

        for (age, by) in [(5, "parent"), (45, "student")] {
            let born = born_years_ago(&broker, age);
            let reply = give(&broker, &consent_body(&other, born, MBO, &["support_needs"], by)).await;
            let detail = problem_at(&reply, 422, "/date_of_birth");
            assert!(detail.contains("implausible"), "age {age}: {detail}");
        }
    })
    .await;
}

/// The age rule applies on the day of the event in the Netherlands: at
/// 23:30 UTC it is already the next day in Amsterdam (UTC+1 or +2).
#[tokio::test]
async fn the_age_rule_counts_the_dutch_day() {
    TestBroker::on_every_backend(|broker| async move {
        let utc_day = today(&broker);
        let late = utc_day.and_hms_opt(23, 30, 0).expect("time").and_utc();
        if late > broker.clock.now() {
            broker.clock.set(late);
        }
        let dutch_day = broker.clock.now().date_naive() + Duration::days(1);
        let sixteenth_birthday = dutch_day.checked_sub_months(Months::new(16 * 12)).expect("date");
        let student = bsn(251);
        register_application(&broker, MBO, &student).await;
        let reply = give(
            &broker,
            &consent_body(&student, sixteenth_birthday, MBO, &["support_needs"], "student"),
        )
        .await;
        assert_eq!(
            reply.status.as_u16(),
            201,
            "16 today in the Netherlands: the student decides; {}",
            reply.body
        );
    })
    .await;
}

// ---- 3. inspection before transfer ----

#[tokio::test]
async fn a_package_waits_for_the_recorded_inspection() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(301);
        let reply = post_application(&broker, MBO, &application_body(&student, "Verzorgende IG")).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        let application: Uuid = reply.body["id"].as_str().expect("id").parse().expect("uuid");

        let submission = seal_package(&broker, application, MBO, &[personal_data(&student)]);
        let reply = submit(&broker.system(VO), &submission).await;
        let detail = assert_problem(reply.status.as_u16(), &reply.body, 422);
        assert!(detail.contains("inspection"), "{detail}");
        assert!(stored_package(&broker, &submission_id(&submission)).is_none());

        record_inspection(&broker, &student).await;
        let reply = submit(&broker.system(VO), &submission).await;
        assert_eq!(reply.status.as_u16(), 201, "after the inspection: {}", reply.body);
    })
    .await;
}

fn submission_id(submission: &doorstroom_jose::Submission) -> String {
    crate::exchange_support::envelope_payload(&submission.envelope)["pid"]
        .as_str()
        .expect("pid")
        .to_owned()
}

#[tokio::test]
async fn a_region_may_switch_the_inspection_rule_off() {
    for db in TestDb::all() {
        eprintln!("-- on {}", db.backend.name());
        let broker = TestBroker::start_with(db, |s| s.exchange.require_inspection = false).await;
        let student = bsn(311);
        let reply = post_application(&broker, MBO, &application_body(&student, "Verzorgende IG")).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        let application: Uuid = reply.body["id"].as_str().expect("id").parse().expect("uuid");
        let submission = seal_package(&broker, application, MBO, &[personal_data(&student)]);
        let reply = submit(&broker.system(VO), &submission).await;
        assert_eq!(reply.status.as_u16(), 201, "without inspection: {}", reply.body);

        let register = broker
            .anonymous()
            .fetch(Method::GET, "/v1/register", None)
            .await
            .expect("register");
        assert_eq!(register.body["inspection_required_before_transfer"], false);
    }
}

// ---- 4. receipts ----

#[tokio::test]
async fn consent_receipts_verify_with_the_brokers_published_key() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(401);
        let application = register_application(&broker, MBO, &student).await;
        let verifier = broker_verifier(&broker).await;
        let until = broker.clock.now() + Duration::days(30);
        let body = consent_body(
            &student,
            born_years_ago(&broker, 17),
            MBO,
            &["support_needs", "career_portfolio", "support_needs"],
            "student",
        );
        let given = give_ok(&broker, &with_valid_until(body.clone(), until)).await;
        assert_eq!(given["event"], "given");
        assert_eq!(given["sections"], json!(["support_needs", "career_portfolio"]));
        let receipt = given["receipt"].as_str().expect("receipt");

        let (payload, header) = josekit::jws::deserialize_compact(receipt, &verifier).expect("receipt verifies");
        assert_eq!(header.token_type(), Some("doorstroom-consent-receipt+jwt"));
        let payload: Value = serde_json::from_slice(&payload).expect("JSON payload");
        assert_eq!(payload["receipt_id"], given["receipt_id"]);
        let subject = payload["subject"].as_str().expect("subject");
        assert!(is_pseudonym(subject), "subject is a 64-hex pseudonym");
        assert!(
            !receipt.contains(&student) && !payload.to_string().contains(&student),
            "no student number in the receipt"
        );
        assert_eq!(payload["controller"], VO);
        assert_eq!(payload["recipient"], MBO);
        assert_eq!(payload["purpose"], doorstroom_domain::CONSENT_PURPOSE);
        assert_eq!(payload["sections"], json!(["support_needs", "career_portfolio"]));
        assert_eq!(
            payload["lawful_basis"],
            json!({"support_needs": "explicit_consent", "career_portfolio": "consent"})
        );
        assert_eq!(payload["event"], "given");
        assert_eq!(payload["time"], broker.clock.now().timestamp());
        assert_eq!(payload["given_by"], "student");
        assert_eq!(payload["method"], "paper_form");
        assert_eq!(payload["notice_version"], "privacyverklaring v3");
        assert_eq!(payload["valid_until"], until.timestamp());
        assert_eq!(payload["student_under_16"], false);

        // The subject is the pseudonym the broker keeps for the student.
        let package_id = send_ok(&broker, application, &student, &[Section::PersonalData]).await;
        assert_eq!(
            stored_package(&broker, &package_id).expect("stored").student.as_str(),
            subject
        );

        // A withdrawal's receipt too.
        let withdrawn = withdraw(&broker, &support_consent(&broker, &student)).await;
        assert_eq!(withdrawn.status.as_u16(), 201, "{}", withdrawn.body);
        let (payload, _) =
            josekit::jws::deserialize_compact(withdrawn.body["receipt"].as_str().expect("receipt"), &verifier)
                .expect("withdrawal receipt verifies");
        let payload: Value = serde_json::from_slice(&payload).expect("JSON");
        assert_eq!(payload["event"], "withdrawn");
        assert_eq!(payload["subject"], subject);
        assert_eq!(payload["receipt_id"], withdrawn.body["receipt_id"]);

        // Tampered: another payload under the same signature, or a flipped
        // signature, fails.
        let parts: Vec<&str> = receipt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let mut forged: Value = serde_json::from_slice(&b64url_decode(parts[1])).expect("payload");
        forged["sections"] = json!(["support_needs", "career_portfolio", "attachments"]);
        let tampered = format!("{}.{}.{}", parts[0], b64url(forged.to_string().as_bytes()), parts[2]);
        assert!(
            josekit::jws::deserialize_compact(&tampered, &verifier).is_err(),
            "a changed payload fails"
        );
        let mut signature = b64url_decode(parts[2]);
        signature[0] ^= 0x01;
        let tampered = format!("{}.{}.{}", parts[0], parts[1], b64url(&signature));
        assert!(
            josekit::jws::deserialize_compact(&tampered, &verifier).is_err(),
            "a changed signature fails"
        );
    })
    .await;
}

// ---- 5. bad input ----

#[tokio::test]
async fn consent_requests_that_break_a_rule_are_refused() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(501);
        let seventeen = born_years_ago(&broker, 17);
        applied(&broker, MBO, &student).await;

        let reply = give(&broker, &consent_body(&student, seventeen, MBO, &["grades"], "student")).await;
        assert_problem(reply.status.as_u16(), &reply.body, 422);

        for section in ["personal_data", "remarks"] {
            let reply = give(&broker, &consent_body(&student, seventeen, MBO, &[section], "student")).await;
            let detail = problem_at(&reply, 422, "/sections");
            assert!(detail.contains("consent"), "{section}: {detail}");
        }
        let reply = give(&broker, &consent_body(&student, seventeen, MBO, &[], "student")).await;
        problem_at(&reply, 422, "/sections");

        let reply = give(
            &broker,
            &consent_body(&student, seventeen, VO, &["support_needs"], "student"),
        )
        .await;
        let detail = problem_at(&reply, 422, "/recipient");
        assert!(detail.contains("mbo"), "{detail}");
        let reply = give(
            &broker,
            &consent_body(&student, seventeen, "99ZZ", &["support_needs"], "student"),
        )
        .await;
        let detail = problem_at(&reply, 422, "/recipient");
        assert!(detail.contains("mbo"), "{detail}");

        let past = with_valid_until(
            support_consent(&broker, &student),
            broker.clock.now() - Duration::hours(1),
        );
        let reply = give(&broker, &past).await;
        problem_at(&reply, 422, "/valid_until");

        // Withdrawing what was never given.
        let reply = withdraw(&broker, &support_consent(&broker, &student)).await;
        assert_problem(reply.status.as_u16(), &reply.body, 404);

        // Withdrawing twice: the second answer is the first receipt.
        give_ok(&broker, &support_consent(&broker, &student)).await;
        let first = withdraw(&broker, &support_consent(&broker, &student)).await;
        assert_eq!(first.status.as_u16(), 201, "{}", first.body);
        let second = withdraw(&broker, &support_consent(&broker, &student)).await;
        assert_eq!(second.status.as_u16(), 200, "{}", second.body);
        assert_eq!(second.body["receipt_id"], first.body["receipt_id"]);
        assert_eq!(second.body["receipt"], first.body["receipt"]);

        // Only an mbo's systems and staff are refused; nothing was recorded.
        let body = support_consent(&broker, &student);
        let reply = post_as(&broker, MBO, "/v1/consents", &body).await;
        assert!(
            matches!(reply.status.as_u16(), 403 | 404),
            "an mbo system: {}",
            reply.body
        );
        let reply = post_as(&broker, MBO, "/v1/consents/withdraw", &body).await;
        assert!(
            matches!(reply.status.as_u16(), 403 | 404),
            "an mbo system: {}",
            reply.body
        );
        let intaker = broker.staff("intaker.bad", Role::Intaker, Some(MBO)).await;
        let reply = intaker
            .fetch(Method::POST, "/v1/consents", Some(&body))
            .await
            .expect("request");
        // A system-only endpoint: a staff token is refused before the policy
        // is asked, as at POST /v1/packages.
        let detail = assert_problem(reply.status.as_u16(), &reply.body, 401);
        assert!(detail.contains("client certificate"), "an intaker: {detail}");

        let privacy_officer = broker.staff("fg.bad", Role::PrivacyOfficer, None).await;
        let history = privacy_officer
            .fetch(Method::POST, "/v1/consents/history", Some(&history_body(&student)))
            .await
            .expect("history");
        let kinds: Vec<&str> = history.body["consents"]
            .as_array()
            .expect("consents")
            .iter()
            .map(|e| e["event"].as_str().expect("event"))
            .collect();
        assert_eq!(
            kinds,
            ["given", "withdrawn"],
            "one withdrawal, nothing from the refusals"
        );
    })
    .await;
}

/// Withdrawing a consent for two sections twice answers the first receipt.
#[tokio::test]
async fn withdrawing_several_sections_twice_answers_the_same_receipt() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(551);
        applied(&broker, MBO, &student).await;
        let body = consent_body(
            &student,
            born_years_ago(&broker, 17),
            MBO,
            &["support_needs", "career_portfolio"],
            "student",
        );
        give_ok(&broker, &body).await;
        let first = withdraw(&broker, &body).await;
        assert_eq!(first.status.as_u16(), 201, "{}", first.body);
        let second = withdraw(&broker, &body).await;
        assert_eq!(second.status.as_u16(), 200, "{}", second.body);
        assert_eq!(second.body["receipt"], first.body["receipt"]);
        assert_eq!(second.body["receipt_id"], first.body["receipt_id"]);
    })
    .await;
}

/// A stored consent event whose kind does not parse (a withdrawal in a
/// spelling the broker does not know, left by a restore or a manual repair)
/// fails every decision on that ledger closed: a 500 whose body says
/// nothing, instead of a ledger without the event, in which the consent
/// given before it would still be in force.
#[tokio::test]
async fn a_consent_event_that_does_not_parse_fails_the_request_closed() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(561);
        let application = register_application(&broker, MBO, &student).await;
        let body = with_valid_until(
            support_consent(&broker, &student),
            broker.clock.now() + Duration::days(90),
        );
        give_ok(&broker, &body).await;
        doorstroom_store::testing::write_past_checks(
            &broker.store,
            "consent_events",
            &format!(
                "INSERT INTO consent_events (id, student, recipient, section, kind, purpose, at, given_by, \
                 student_under_16, method, evidence_ref, notice_version, valid_until, recorded_by, receipt, school) \
                 SELECT '{}', student, recipient, section, 'Withdrawn', purpose, at + 1, given_by, \
                 student_under_16, method, evidence_ref, notice_version, NULL, recorded_by, receipt, school \
                 FROM consent_events WHERE n = (SELECT MAX(n) FROM consent_events)",
                Uuid::new_v4()
            ),
        );

        let submission = seal_package(&broker, application, MBO, &[personal_data(&student), support_needs()]);
        let submitted = submit(&broker.system(VO), &submission).await;
        let withdrawn = withdraw(&broker, &support_consent(&broker, &student)).await;
        for (what, reply) in [("submission", submitted), ("withdrawal", withdrawn)] {
            let detail = assert_problem(reply.status.as_u16(), &reply.body, 500);
            assert_eq!(detail, "internal error", "{what}");
            let text = reply.body.to_string();
            for word in ["consent_events", "kind", "Withdrawn", "corrupt"] {
                assert!(!text.contains(word), "{what}: the body names {word}: {text}");
            }
        }
        assert!(stored_package(&broker, &submission_id(&submission)).is_none());
    })
    .await;
}

/// Each package is listed once in a withdrawal's receipt.
#[tokio::test]
async fn a_withdrawal_lists_each_package_once() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(561);
        let application = register_application(&broker, MBO, &student).await;
        let body = consent_body(
            &student,
            born_years_ago(&broker, 17),
            MBO,
            &["support_needs", "career_portfolio"],
            "student",
        );
        give_ok(&broker, &body).await;
        let portfolio = doorstroom_jose::SectionInput {
            section: Section::CareerPortfolio,
            content: json!({"plusdocument": "stage bij de kinderopvang"}),
        };
        let mut sent = Vec::new();
        for _ in 0..2 {
            let submission = seal_package(&broker, application, MBO, &[support_needs(), portfolio.clone()]);
            let reply = submit(&broker.system(VO), &submission).await;
            assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
            sent.push(reply.body["package_id"].as_str().expect("id").to_owned());
            broker.clock.advance(Duration::seconds(1));
        }
        let reply = withdraw(&broker, &body).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        let mut listed = ids(&reply.body["deleted_from_packages"]);
        assert_eq!(listed.len(), 2, "each package once: {listed:?}");
        listed.sort();
        sent.sort();
        assert_eq!(listed, sent);
    })
    .await;
}

// ---- 6. history ----

#[tokio::test]
async fn the_vo_school_and_privacy_officers_read_the_history() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(601);
        register_application(&broker, MBO, &student).await;
        applied(&broker, OTHER_MBO, &student).await;
        let body = support_consent(&broker, &student);
        give_ok(&broker, &body).await;
        broker.clock.advance(Duration::minutes(5));
        let other = consent_body(
            &student,
            born_years_ago(&broker, 17),
            OTHER_MBO,
            &["career_portfolio"],
            "student",
        );
        give_ok(&broker, &other).await;
        broker.clock.advance(Duration::minutes(5));
        let reply = withdraw(&broker, &body).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);

        let request = history_body(&student);
        let vo = broker
            .system(VO)
            .fetch(Method::POST, "/v1/consents/history", Some(&request))
            .await
            .expect("history");
        assert_eq!(vo.status.as_u16(), 200, "{}", vo.body);
        let events: Vec<(String, String, String)> = vo.body["consents"]
            .as_array()
            .expect("consents")
            .iter()
            .map(|e| {
                (
                    e["event"].as_str().expect("event").to_owned(),
                    e["recipient"].as_str().expect("recipient").to_owned(),
                    e["section"].as_str().expect("section").to_owned(),
                )
            })
            .collect();
        let expected = [
            ("given", MBO, "support_needs"),
            ("given", OTHER_MBO, "career_portfolio"),
            ("withdrawn", MBO, "support_needs"),
        ]
        .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
        assert_eq!(events, expected);
        let first = &vo.body["consents"][0];
        assert_eq!(first["purpose"], doorstroom_domain::CONSENT_PURPOSE);
        assert_eq!(first["given_by"], "student");
        assert_eq!(first["method"], "paper_form");
        assert_eq!(first["evidence_ref"], "formulier 2027-113");
        assert_eq!(first["notice_version"], "privacyverklaring v3");
        let inspections = vo.body["inspections"].as_array().expect("inspections");
        assert_eq!(inspections.len(), 1);
        assert_eq!(inspections[0]["school"], VO);
        assert_eq!(inspections[0]["inspected_by"], "student");

        let broker_fg = broker.staff("fg.broker", Role::PrivacyOfficer, None).await;
        let all = broker_fg
            .fetch(Method::POST, "/v1/consents/history", Some(&request))
            .await
            .expect("history");
        assert_eq!(all.status.as_u16(), 200, "{}", all.body);
        assert_eq!(all.body, vo.body, "the broker's privacy officer sees everything");

        let mbo_fg = broker.staff("fg.mbo", Role::PrivacyOfficer, Some(MBO)).await;
        let own = mbo_fg
            .fetch(Method::POST, "/v1/consents/history", Some(&request))
            .await
            .expect("history");
        assert_eq!(own.status.as_u16(), 200, "{}", own.body);
        let consents = own.body["consents"].as_array().expect("consents");
        assert_eq!(consents.len(), 2);
        assert!(consents.iter().all(|c| c["recipient"] == MBO), "{}", own.body);
        assert!(consents.iter().all(|c| c["school"] == VO), "{}", own.body);
        // The inspection its packages from 07AB waited for.
        let inspections = own.body["inspections"].as_array().expect("inspections");
        assert_eq!(inspections.len(), 1, "{}", own.body);
        assert_eq!(inspections[0]["school"], VO);

        let intaker = broker.staff("intaker.history", Role::Intaker, Some(MBO)).await;
        let refused = intaker
            .fetch(Method::POST, "/v1/consents/history", Some(&request))
            .await
            .expect("history");
        assert!(matches!(refused.status.as_u16(), 403 | 404), "{}", refused.body);
        let refused = broker
            .system(MBO)
            .fetch(Method::POST, "/v1/consents/history", Some(&request))
            .await
            .expect("history");
        assert!(matches!(refused.status.as_u16(), 403 | 404), "{}", refused.body);

        let subject = broker
            .audit_events()
            .into_iter()
            .find(|e| e.action.name == "record_consent")
            .and_then(|e| e.data_subject)
            .expect("consent audited with pseudonym");
        let reads: Vec<_> = broker
            .audit_events()
            .into_iter()
            .filter(|e| e.action.name == "read_consent_history")
            .collect();
        assert_eq!(
            reads.iter().filter(|e| e.outcome == Outcome::Success).count(),
            3,
            "every read is audited"
        );
        assert_eq!(
            reads.iter().filter(|e| e.outcome == Outcome::Denied).count(),
            2,
            "so is every refusal"
        );
        assert!(reads.iter().all(|e| e.data_subject.as_ref() == Some(&subject)));
    })
    .await;
}

// ---- 7. register ----

#[tokio::test]
async fn the_register_of_processing_follows_the_configuration() {
    TestBroker::on_every_backend(|broker| async move {
        let reply = broker
            .anonymous()
            .fetch(Method::GET, "/v1/register", None)
            .await
            .expect("register");
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        assert_eq!(reply.body["inspection_required_before_transfer"], true);
        let bases: Vec<(String, String, bool)> = reply.body["categories"]
            .as_array()
            .expect("categories")
            .iter()
            .map(|c| {
                (
                    c["section"].as_str().expect("section").to_owned(),
                    c["lawful_basis"].as_str().expect("basis").to_owned(),
                    c["needs_consent"].as_bool().expect("needs_consent"),
                )
            })
            .collect();
        let expected = [
            ("personal_data", "legal_obligation", false),
            ("support_needs", "explicit_consent", true),
            ("career_portfolio", "consent", true),
            ("remarks", "student_agreement", false),
            ("attachments", "consent", true),
        ];
        assert_eq!(bases.len(), 5, "{bases:?}");
        for (section, basis, consent) in expected {
            assert!(
                bases.contains(&(section.to_owned(), basis.to_owned(), consent)),
                "{section}: {bases:?}"
            );
        }

        let text = broker
            .anonymous()
            .fetch(Method::GET, "/v1/register?format=text", None)
            .await
            .expect("register");
        assert_eq!(text.status.as_u16(), 200);
        assert!(
            text.content_type
                .as_deref()
                .is_some_and(|t| t.starts_with("text/markdown")),
            "{:?}",
            text.content_type
        );
        let body = String::from_utf8(text.raw).expect("UTF-8");
        assert!(body.contains("art. 30"), "{body}");
        assert!(body.contains("explicit consent"), "{body}");
        assert!(body.contains("support_needs"), "{body}");
    })
    .await;
}

// ---- 8. expiry ----

#[tokio::test]
async fn consent_ends_by_itself_at_valid_until() {
    TestBroker::on_every_backend(|broker| async move {
        let creds = broker.create_staff("intaker.expiry", Role::Intaker, Some(MBO));
        let student = bsn(801);
        let application = register_application(&broker, MBO, &student).await;
        let until = broker.clock.now() + Duration::days(1);
        give_ok(&broker, &with_valid_until(support_consent(&broker, &student), until)).await;
        let package_id = send_ok(
            &broker,
            application,
            &student,
            &[Section::PersonalData, Section::SupportNeeds],
        )
        .await;

        broker.clock.advance(Duration::days(2));
        let submission = seal_package(&broker, application, MBO, &[personal_data(&student), support_needs()]);
        let reply = submit(&broker.system(VO), &submission).await;
        let detail = problem_at(&reply, 422, "/sections/support_needs");
        assert!(detail.contains("consent"), "{detail}");

        // Access tokens live 15 minutes: log in after the two days.
        let intaker = broker.login(&creds).await;
        let pulled = pull(&intaker, &package_id).await;
        assert_eq!(released(&pulled), ["personal_data"]);
        let reason = withheld_reason(&pulled, "support_needs").expect("support_needs is withheld");
        assert!(reason.contains("consent"), "{reason}");

        // The expired consent can still be withdrawn, deleting the copy.
        let reply = withdraw(&broker, &support_consent(&broker, &student)).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        assert_eq!(ids(&reply.body["deleted_from_packages"]), [package_id]);
    })
    .await;
}
