//! The consent and inspection ledger has an owner (issue 11, item 1): a
//! second vo school cannot withdraw, give, inspect or read for a student
//! another school sends, a withdrawal is no oracle, and two schools that
//! both send for one student each keep their own ledger. Every attempt is
//! in the audit log.
//!
//! 07AB is the demo vo school; 08CD (`SECOND_VO`) a second one registered
//! by the test with its own certificate and keys.
//!
//! Assertion messages never name a student number.

use chrono::{Duration, Months, NaiveDate};
use doorstroom_client::{Client, Reply};
use doorstroom_domain::{Clock, Outcome, Pseudonym, Role, Section};
use doorstroom_jose::{PackageMeta, SectionInput};
use doorstroom_store::packages;
use doorstroom_tests::{MBO, SECOND_VO, TestBroker, VO, without_instance};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::exchange_support::{
    application_body, audit_mark, audited_since, brin, bsn, encryption_key, personal_data, post_application,
    register_application, seal_package, seal_with, signing_key, stored_package, submit, support_needs,
};

const SECOND: &str = SECOND_VO.brin;

// ---- helpers ----

/// A date of birth that makes the student 17 (and a quarter) today.
fn seventeen(broker: &TestBroker) -> NaiveDate {
    broker
        .clock
        .now()
        .date_naive()
        .checked_sub_months(Months::new(17 * 12 + 3))
        .expect("a date in range")
}

/// Consent (or its withdrawal) for `support_needs` to go to 25LX.
fn support_consent(broker: &TestBroker, student: &str) -> Value {
    json!({
        "student_number": {"type": "bsn", "number": student},
        "date_of_birth": seventeen(broker).to_string(),
        "recipient": MBO,
        "sections": ["support_needs"],
        "given_by": "student",
        "method": "paper_form",
        "evidence_ref": "formulier 2027-113",
        "notice_version": "privacyverklaring v3",
    })
}

fn inspection(broker: &TestBroker, student: &str) -> Value {
    json!({
        "student_number": {"type": "bsn", "number": student},
        "inspected_at": (broker.clock.now() - Duration::hours(1)).to_rfc3339(),
        "inspected_by": "parent",
        "remarks_added": true,
    })
}

fn history_body(student: &str) -> Value {
    json!({"student_number": {"type": "bsn", "number": student}})
}

async fn post(broker: &TestBroker, school: &str, path: &str, body: &Value) -> Reply {
    broker
        .system(school)
        .fetch(Method::POST, path, Some(body))
        .await
        .expect("request")
}

/// Registers, as 25LX's system, that the student applied there for
/// `programme` naming `school` as the sending school.
async fn applied_from(broker: &TestBroker, school: &str, student: &str, programme: &str) -> Uuid {
    let mut body = application_body(student, programme);
    body["sending_school"] = json!(school);
    let reply = post_application(broker, MBO, &body).await;
    assert!(
        matches!(reply.status.as_u16(), 200 | 201),
        "application: {}",
        reply.body
    );
    reply.body["id"]
        .as_str()
        .and_then(|id| Uuid::parse_str(id).ok())
        .expect("application id")
}

/// 07AB sends for the student: 25LX registers the application, 07AB
/// records the inspection and consent for `support_needs`, and submits a
/// package with it. Answers the package id.
async fn first_school_sends(broker: &TestBroker, student: &str) -> String {
    let application = register_application(broker, MBO, student).await;
    let given = post(broker, VO, "/v1/consents", &support_consent(broker, student)).await;
    assert_eq!(given.status.as_u16(), 201, "07AB's consent: {}", given.body);
    let submission = seal_package(broker, application, MBO, &[personal_data(student), support_needs()]);
    let reply = submit(&broker.system(VO), &submission).await;
    assert_eq!(reply.status.as_u16(), 201, "07AB's package: {}", reply.body);
    reply.body["package_id"].as_str().expect("package id").to_owned()
}

/// Seals and submits a package from `school` for `application` at 25LX.
async fn submit_from(broker: &TestBroker, school: &str, application: Uuid, sections: &[SectionInput]) -> Reply {
    let meta = PackageMeta {
        package_id: Uuid::new_v4().to_string(),
        sender: brin(school),
        recipient: brin(MBO),
        application: application.to_string(),
        jti: format!("{school}-{}", Uuid::new_v4().simple()),
        iat: broker.clock.now().timestamp(),
    };
    let submission = seal_with(
        &meta,
        sections,
        &signing_key(broker, school),
        &encryption_key(broker, MBO),
    );
    submit(&broker.system(school), &submission).await
}

async fn pull(intaker: &Client, package_id: &str) -> Value {
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

/// The ciphertext the broker still holds for a section of a package.
fn stored_ciphertext(broker: &TestBroker, package_id: &str, section: Section) -> String {
    broker
        .store
        .read(|c| packages::sections(c, package_id))
        .expect("sections")
        .into_iter()
        .find(|s| s.section == section)
        .map(|s| s.ciphertext)
        // A withdrawn section keeps its row with an empty ciphertext; no
        // row at all is a wrong package or section, not a withdrawal.
        .unwrap_or_else(|| panic!("package {package_id} stores no {section} section"))
}

fn pseudonym_of_package(broker: &TestBroker, package_id: &str) -> Pseudonym {
    stored_package(broker, package_id).expect("stored").student
}

/// Asserts that the answer is exactly the broker's "nothing there": the
/// status and body bytes of `reference`, a 404.
fn assert_nothing_there(reply: &Reply, reference: &Reply, what: &str) {
    assert_eq!(reference.status.as_u16(), 404, "reference: {}", reference.body);
    assert_eq!(reply.status, reference.status, "{what}: {}", reply.body);
    assert_eq!(
        without_instance(&reply.raw),
        without_instance(&reference.raw),
        "{what}: the body, byte for byte"
    );
}

/// Asserts that since `mark`, `school`'s attempts at `action` were audited
/// `count` times with `outcome`, all about `subject`.
fn assert_attempts_audited(
    broker: &TestBroker,
    mark: usize,
    school: &str,
    action: &str,
    outcome: Outcome,
    subject: &Pseudonym,
    count: usize,
) {
    let events: Vec<_> = audited_since(broker, mark)
        .into_iter()
        .filter(|e| e.action.name == action && e.actor.institution.as_ref() == Some(&brin(school)))
        .collect();
    let described: Vec<String> = events
        .iter()
        .map(|e| format!("{} {}", e.action.name, e.outcome.as_str()))
        .collect();
    assert_eq!(events.len(), count, "{school}'s attempts at {action}: {described:?}");
    for event in events {
        assert_eq!(event.outcome, outcome, "{described:?}");
        assert_eq!(event.data_subject.as_ref(), Some(subject), "audited with the pseudonym");
    }
}

// ---- the leaks of item 1, each its own test ----

/// A second school's withdrawal neither deletes the first school's
/// undelivered section nor names its package: it answers "nothing there".
#[tokio::test]
async fn a_second_schools_withdrawal_leaves_the_first_schools_package_alone() {
    TestBroker::on_every_backend(|mut broker| async move {
        broker.add_institution(&SECOND_VO);
        let student = bsn(1101);
        let package = first_school_sends(&broker, &student).await;
        let subject = pseudonym_of_package(&broker, &package);
        let before = stored_ciphertext(&broker, &package, Section::SupportNeeds);
        assert!(!before.is_empty());

        let nobody = post(
            &broker,
            SECOND,
            "/v1/consents/withdraw",
            &support_consent(&broker, &bsn(1199)),
        )
        .await;
        let mark = audit_mark(&broker);
        let reply = post(
            &broker,
            SECOND,
            "/v1/consents/withdraw",
            &support_consent(&broker, &student),
        )
        .await;
        assert_nothing_there(&reply, &nobody, "08CD withdrawing 07AB's consent");
        assert!(
            !reply.body.to_string().contains(&package),
            "no package id in the answer"
        );
        assert_attempts_audited(&broker, mark, SECOND, "record_consent", Outcome::Denied, &subject, 1);
        assert!(
            audited_since(&broker, mark)
                .iter()
                .all(|e| e.action.name != "delete_withdrawn_section"),
            "nothing was deleted"
        );

        assert_eq!(
            stored_ciphertext(&broker, &package, Section::SupportNeeds),
            before,
            "the ciphertext is still there"
        );
        let intaker = broker.staff("intaker.ledger1", Role::Intaker, Some(MBO)).await;
        let pulled = pull(&intaker, &package).await;
        assert!(
            released(&pulled).contains(&"support_needs".to_owned()),
            "the pull still releases it: {pulled}"
        );
    })
    .await;
}

/// A second school's consent and inspection do not let the first school's
/// package with `support_needs` through: not while the second school sends
/// nothing for the student (refused as "nothing there"), and not when it
/// sends too (its records are its own ledger) — at submission nor at pull.
#[tokio::test]
async fn a_second_schools_consent_and_inspection_do_not_let_the_first_schools_package_through() {
    TestBroker::on_every_backend(|mut broker| async move {
        broker.add_institution(&SECOND_VO);
        let student = bsn(1201);
        // 25LX registers the application from 07AB; 07AB records nothing yet.
        let application = applied_from(&broker, VO, &student, "Verzorgende IG").await;

        let nobody_inspection = post(&broker, SECOND, "/v1/inspections", &inspection(&broker, &bsn(1299))).await;
        let nobody_consent = post(&broker, SECOND, "/v1/consents", &support_consent(&broker, &bsn(1299))).await;
        let mark = audit_mark(&broker);
        let reply = post(&broker, SECOND, "/v1/inspections", &inspection(&broker, &student)).await;
        assert_nothing_there(&reply, &nobody_inspection, "08CD recording an inspection");
        let reply = post(&broker, SECOND, "/v1/consents", &support_consent(&broker, &student)).await;
        assert_nothing_there(&reply, &nobody_consent, "08CD giving consent");

        let sections = [personal_data(&student), support_needs()];
        let reply = submit_from(&broker, VO, application, &sections).await;
        assert_eq!(reply.status.as_u16(), 422, "no inspection of 07AB's: {}", reply.body);
        let subject = broker
            .store
            .read(|c| doorstroom_store::applications::get(c, application))
            .expect("read")
            .expect("application")
            .student;
        assert_attempts_audited(&broker, mark, SECOND, "record_inspection", Outcome::Denied, &subject, 1);
        assert_attempts_audited(&broker, mark, SECOND, "record_consent", Outcome::Denied, &subject, 1);

        // A change of school: 25LX also registers an application from 08CD.
        // Its inspection and consent now count — for its own packages.
        applied_from(&broker, SECOND, &student, "Zorg en welzijn").await;
        let reply = post(&broker, SECOND, "/v1/inspections", &inspection(&broker, &student)).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        let reply = post(&broker, SECOND, "/v1/consents", &support_consent(&broker, &student)).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        let reply = submit_from(&broker, VO, application, &sections).await;
        assert_eq!(
            reply.status.as_u16(),
            422,
            "still no inspection of 07AB's: {}",
            reply.body
        );
        let reply = post(&broker, VO, "/v1/inspections", &inspection(&broker, &student)).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        let reply = submit_from(&broker, VO, application, &sections).await;
        assert_eq!(reply.status.as_u16(), 422, "no consent of 07AB's: {}", reply.body);
        assert!(
            reply.body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("support_needs")
                || reply.body.to_string().contains("/sections/support_needs"),
            "{}",
            reply.body
        );

        // At pull: 07AB's consent ran out; 08CD's, in force, does not count.
        let mut given = support_consent(&broker, &student);
        given["valid_until"] = json!((broker.clock.now() + Duration::days(1)).to_rfc3339());
        let reply = post(&broker, VO, "/v1/consents", &given).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        let reply = submit_from(&broker, VO, application, &sections).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        let package = reply.body["package_id"].as_str().expect("id").to_owned();
        broker.clock.advance(Duration::days(2));
        let reply = post(&broker, SECOND, "/v1/consents", &support_consent(&broker, &student)).await;
        assert_eq!(
            reply.status.as_u16(),
            201,
            "08CD renews its own consent: {}",
            reply.body
        );
        let intaker = broker.staff("intaker.ledger2", Role::Intaker, Some(MBO)).await;
        let pulled = pull(&intaker, &package).await;
        assert_eq!(released(&pulled), ["personal_data"], "{pulled}");
    })
    .await;
}

/// A second school reads nothing of the first school's history: "nothing
/// there" while it does not send for the student, and only its own records
/// once it does and has recorded an inspection of its own.
#[tokio::test]
async fn a_second_school_reads_nothing_of_the_first_schools_history() {
    TestBroker::on_every_backend(|mut broker| async move {
        broker.add_institution(&SECOND_VO);
        let student = bsn(1301);
        let package = first_school_sends(&broker, &student).await;
        let subject = pseudonym_of_package(&broker, &package);

        let nobody = post(&broker, SECOND, "/v1/consents/history", &history_body(&bsn(1399))).await;
        let mark = audit_mark(&broker);
        let reply = post(&broker, SECOND, "/v1/consents/history", &history_body(&student)).await;
        assert_nothing_there(&reply, &nobody, "08CD reading 07AB's history");
        assert_attempts_audited(
            &broker,
            mark,
            SECOND,
            "read_consent_history",
            Outcome::Denied,
            &subject,
            1,
        );

        applied_from(&broker, SECOND, &student, "Zorg en welzijn").await;
        let reply = post(&broker, SECOND, "/v1/inspections", &inspection(&broker, &student)).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        let mark = audit_mark(&broker);
        let reply = post(&broker, SECOND, "/v1/consents/history", &history_body(&student)).await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        assert_eq!(
            reply.body["consents"],
            json!([]),
            "none of 07AB's consent: {}",
            reply.body
        );
        let inspections = reply.body["inspections"].as_array().expect("inspections");
        assert_eq!(inspections.len(), 1, "{}", reply.body);
        assert_eq!(inspections[0]["school"], SECOND);
        assert_attempts_audited(
            &broker,
            mark,
            SECOND,
            "read_consent_history",
            Outcome::Success,
            &subject,
            1,
        );

        // 07AB still sees its own.
        let reply = post(&broker, VO, "/v1/consents/history", &history_body(&student)).await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        assert_eq!(reply.body["consents"].as_array().expect("consents").len(), 1);
        let inspections = reply.body["inspections"].as_array().expect("inspections");
        assert!(inspections.iter().all(|i| i["school"] == VO), "{}", reply.body);
    })
    .await;
}

/// The second school withdraws consent for both students: one whose first
/// school recorded consent and one whose school did not. Both answers must
/// be the same 404 (but for the request's own `instance`), and both attempts
/// are audited with `outcome`.
async fn second_schools_withdrawals_look_alike(
    broker: &TestBroker,
    consented: &str,
    not_consented: &str,
    outcome: Outcome,
    what: &str,
) {
    let mark = audit_mark(broker);
    let with = post(
        broker,
        SECOND,
        "/v1/consents/withdraw",
        &support_consent(broker, consented),
    )
    .await;
    let without = post(
        broker,
        SECOND,
        "/v1/consents/withdraw",
        &support_consent(broker, not_consented),
    )
    .await;
    assert_eq!(with.status.as_u16(), 404, "{}", with.body);
    assert_eq!(
        (with.status, without_instance(&with.raw)),
        (without.status, without_instance(&without.raw)),
        "{what}"
    );
    let attempts = audited_since(broker, mark);
    assert_eq!(
        attempts
            .iter()
            .filter(|e| e.action.name == "record_consent" && e.outcome == outcome)
            .count(),
        2,
        "both attempts audited ({what})"
    );
}

/// A withdrawal is no oracle: another school's answer is the same, byte for
/// byte, whether or not the first school recorded consent — also once that
/// school sends for the student itself. The owner learns its own ledger.
#[tokio::test]
async fn withdrawal_answers_do_not_tell_whether_the_first_school_got_consent() {
    TestBroker::on_every_backend(|mut broker| async move {
        broker.add_institution(&SECOND_VO);
        let consented = bsn(1401);
        let not_consented = bsn(1420);
        assert_ne!(consented, not_consented, "two students");
        first_school_sends(&broker, &consented).await;
        register_application(&broker, MBO, &not_consented).await;

        second_schools_withdrawals_look_alike(&broker, &consented, &not_consented, Outcome::Denied, "not party").await;

        // 08CD sends for both students too: its own (empty) ledger decides.
        for student in [&consented, &not_consented] {
            applied_from(&broker, SECOND, student, "Zorg en welzijn").await;
        }
        second_schools_withdrawals_look_alike(
            &broker,
            &consented,
            &not_consented,
            Outcome::Rejected,
            "party, own ledger empty",
        )
        .await;

        // 07AB learns its own ledger.
        let reply = post(
            &broker,
            VO,
            "/v1/consents/withdraw",
            &support_consent(&broker, &consented),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        let reply = post(
            &broker,
            VO,
            "/v1/consents/withdraw",
            &support_consent(&broker, &not_consented),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 404, "{}", reply.body);
    })
    .await;
}

/// Two schools sending for one student (a change of school) each keep
/// their own ledger: each package is checked against its sender's consent,
/// a withdrawal deletes only the withdrawing school's sections, each school
/// reads only its own history, and the mbo's privacy officer sees both.
#[tokio::test]
async fn two_schools_sending_for_one_student_each_keep_their_own_ledger() {
    TestBroker::on_every_backend(|mut broker| async move {
        broker.add_institution(&SECOND_VO);
        let student = bsn(1501);
        let first = first_school_sends(&broker, &student).await;

        let application = applied_from(&broker, SECOND, &student, "Zorg en welzijn").await;
        for path in ["/v1/inspections", "/v1/consents"] {
            let body = if path == "/v1/inspections" {
                inspection(&broker, &student)
            } else {
                support_consent(&broker, &student)
            };
            let reply = post(&broker, SECOND, path, &body).await;
            assert_eq!(reply.status.as_u16(), 201, "08CD at {path}: {}", reply.body);
        }
        let reply = submit_from(
            &broker,
            SECOND,
            application,
            &[personal_data(&student), support_needs()],
        )
        .await;
        assert_eq!(reply.status.as_u16(), 201, "08CD's package: {}", reply.body);
        let second = reply.body["package_id"].as_str().expect("id").to_owned();

        // 08CD withdraws: its own package loses the section, 07AB's keeps it.
        let reply = post(
            &broker,
            SECOND,
            "/v1/consents/withdraw",
            &support_consent(&broker, &student),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        assert_eq!(reply.body["deleted_from_packages"], json!([second]), "{}", reply.body);
        assert!(stored_ciphertext(&broker, &second, Section::SupportNeeds).is_empty());
        assert!(!stored_ciphertext(&broker, &first, Section::SupportNeeds).is_empty());

        let intaker = broker.staff("intaker.ledger5", Role::Intaker, Some(MBO)).await;
        assert!(released(&pull(&intaker, &first).await).contains(&"support_needs".to_owned()));
        assert_eq!(released(&pull(&intaker, &second).await), ["personal_data"]);

        // Each school's history is its own.
        for (school, events) in [(VO, vec!["given"]), (SECOND, vec!["given", "withdrawn"])] {
            let reply = post(&broker, school, "/v1/consents/history", &history_body(&student)).await;
            assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
            let consents = reply.body["consents"].as_array().expect("consents");
            let kinds: Vec<&str> = consents.iter().map(|c| c["event"].as_str().unwrap_or("")).collect();
            assert_eq!(kinds, events, "{school}");
            assert!(consents.iter().all(|c| c["school"] == school), "{}", reply.body);
            let inspections = reply.body["inspections"].as_array().expect("inspections");
            assert_eq!(inspections.len(), 1, "{}", reply.body);
            assert_eq!(inspections[0]["school"], school);
        }

        // The mbo's privacy officer sees what was recorded for it, by both.
        let officer = broker.staff("fg.ledger5", Role::PrivacyOfficer, Some(MBO)).await;
        let reply = officer
            .fetch(Method::POST, "/v1/consents/history", Some(&history_body(&student)))
            .await
            .expect("history");
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        let mut schools: Vec<&str> = reply.body["consents"]
            .as_array()
            .expect("consents")
            .iter()
            .map(|c| c["school"].as_str().unwrap_or(""))
            .collect();
        schools.sort_unstable();
        assert_eq!(schools, [VO, SECOND, SECOND]);
        assert_eq!(reply.body["inspections"].as_array().expect("inspections").len(), 2);
    })
    .await;
}
