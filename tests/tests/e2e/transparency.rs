//! The student's own page (issue 17), end to end on both backends: the vo
//! school's system issues and revokes links (another school's link is the
//! 404 of a missing one), bad input is a problem of its class, the page
//! asks the code once and locks after the configured number of wrong
//! codes, a link of student A never shows B (tokens, receipt ids and
//! cookies swapped), every view is in the audit log, and a withdrawal from
//! the page works as a school-recorded one.
//!
//! Assertion messages never name a student number.

use chrono::{Months, NaiveDate};
use doorstroom_client::Reply;
use doorstroom_domain::{ActorKind, AuditEvent, Clock, Outcome};
use doorstroom_tests::{MBO, SECOND_VO, TestBroker, VO, assert_problem, problem_without_instance};
use reqwest::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::exchange_support::{
    application_body, bsn, personal_data, post_application, register_application, seal_package, submit, support_needs,
};

// ---- helpers ----

fn student_body(student: &str) -> Value {
    json!({"student_number": {"type": "bsn", "number": student}})
}

/// `POST /v1/transparency-links` as the system of `school`.
async fn issue(broker: &TestBroker, school: &str, student: &str) -> Reply {
    broker
        .system(school)
        .fetch(Method::POST, "/v1/transparency-links", Some(&student_body(student)))
        .await
        .expect("issue")
}

/// A link issued by 07AB: (id, token, code).
async fn issue_ok(broker: &TestBroker, student: &str) -> (String, String, String) {
    let reply = issue(broker, VO, student).await;
    assert_eq!(reply.status.as_u16(), 201, "issuing a link: {}", reply.body);
    let url = reply.body["url"].as_str().expect("url");
    let token = url.rsplit('/').next().expect("token").to_owned();
    (
        reply.body["id"].as_str().expect("id").to_owned(),
        token,
        reply.body["code"].as_str().expect("code").to_owned(),
    )
}

async fn revoke(broker: &TestBroker, school: &str, id: &str) -> Reply {
    broker
        .system(school)
        .fetch(Method::DELETE, &format!("/v1/transparency-links/{id}"), None)
        .await
        .expect("revoke")
}

/// A browser without a client certificate that does not follow redirects
/// (so that the session cookie can be read) and keeps no cookies itself.
fn browser(broker: &TestBroker) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&broker.ca_pem()).expect("ca"))
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("browser")
}

/// An answer of the page: status, headers we look at, body text.
struct Page {
    status: StatusCode,
    location: Option<String>,
    cookie: Option<String>,
    content_type: String,
    body: String,
}

async fn page_request(
    broker: &TestBroker,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    form: Option<&[(&str, &str)]>,
) -> Page {
    let mut request = browser(broker).request(method, format!("{}{path}", broker.base_url));
    if let Some(cookie) = cookie {
        request = request.header("cookie", format!("__Host-doorstroom-mijn={cookie}"));
    }
    if let Some(form) = form {
        request = request.form(form);
    }
    let response = request.send().await.expect("page request");
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let location = header(LOCATION);
    let content_type = header(CONTENT_TYPE).unwrap_or_default();
    let cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-doorstroom-mijn="))
        .map(|c| {
            c["__Host-doorstroom-mijn=".len()..]
                .split(';')
                .next()
                .unwrap_or_default()
                .to_owned()
        });
    Page {
        status: response.status(),
        location,
        cookie,
        content_type,
        body: response.text().await.expect("page body"),
    }
}

/// Gives the code; answers the session cookie.
async fn open_ok(broker: &TestBroker, token: &str, code: &str) -> String {
    let page = page_request(
        broker,
        Method::POST,
        &format!("/mijn/{token}"),
        None,
        Some(&[("code", code)]),
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "opening: {}", page.body);
    assert_eq!(page.location.as_deref(), Some(format!("/mijn/{token}").as_str()));
    page.cookie.expect("a session cookie")
}

/// A wrong code for `code`: the same length, another value.
fn wrong(code: &str) -> String {
    let n: u32 = code.parse().expect("digits");
    format!("{:06}", (n + 1) % 1_000_000)
}

fn events_of(broker: &TestBroker, action: &str) -> Vec<AuditEvent> {
    broker
        .audit_events()
        .into_iter()
        .filter(|e| e.action.name == action)
        .collect()
}

/// Every pseudonym the audit log holds about anyone.
fn pseudonyms(broker: &TestBroker) -> Vec<String> {
    let mut all: Vec<String> = broker
        .audit_events()
        .into_iter()
        .filter_map(|e| e.data_subject.map(|p| p.as_str().to_owned()))
        .collect();
    all.sort();
    all.dedup();
    all
}

fn born_years_ago(broker: &TestBroker, years: u32) -> NaiveDate {
    broker
        .clock
        .now()
        .date_naive()
        .checked_sub_months(Months::new(years * 12 + 3))
        .expect("date")
}

fn consent_body(broker: &TestBroker, student: &str, years: u32, given_by: &str) -> Value {
    json!({
        "student_number": {"type": "bsn", "number": student},
        "date_of_birth": born_years_ago(broker, years).to_string(),
        "recipient": MBO,
        "sections": ["support_needs"],
        "given_by": given_by,
        "method": "paper_form",
        "evidence_ref": "formulier 17",
        "notice_version": "privacyverklaring v3",
    })
}

// ---- the API ----

/// A raw request and the status it must get: method, path, content type,
/// body.
type BadCall = (Method, &'static str, Option<&'static str>, &'static [u8], u16);

#[tokio::test]
async fn a_school_issues_and_revokes_links_and_another_school_gets_the_404_of_a_missing_one() {
    TestBroker::on_every_backend(|mut broker| async move {
        broker.add_institution(&SECOND_VO);
        let student = bsn(1701);
        register_application(&broker, MBO, &student).await;
        let reply = issue(&broker, VO, &student).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        let url = reply.body["url"].as_str().expect("url");
        assert!(url.starts_with("https://") && url.contains("/mijn/"), "{url}");
        let token = url.rsplit('/').next().expect("token");
        assert!(token.len() >= 22, "at least 128 bits");
        let code = reply.body["code"].as_str().expect("code");
        assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));
        let expires: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(reply.body["expires_at"].clone()).expect("expires_at");
        let days = (expires - broker.clock.now()).num_days();
        assert!((29..=30).contains(&days), "default 30 days, got {days}");
        let id = reply.body["id"].as_str().expect("id").to_owned();
        // Only hashes are stored.
        let dump = broker.database_dump();
        assert!(
            !dump.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token is stored"
        );

        // A school that does not send for the student, an mbo, and a
        // student nobody knows: the same 404.
        let foreign = issue(&broker, SECOND_VO.brin, &student).await;
        let mbo = issue(&broker, MBO, &student).await;
        let unknown = issue(&broker, VO, &bsn(1702)).await;
        assert_problem(foreign.status.as_u16(), &foreign.body, 404);
        for other in [&mbo, &unknown] {
            assert_eq!(
                problem_without_instance(&other.body),
                problem_without_instance(&foreign.body)
            );
        }

        // Another school's link is a missing one.
        let not_mine = revoke(&broker, SECOND_VO.brin, &id).await;
        let missing = revoke(&broker, SECOND_VO.brin, &uuid::Uuid::new_v4().to_string()).await;
        assert_problem(not_mine.status.as_u16(), &not_mine.body, 404);
        assert_eq!(
            problem_without_instance(&not_mine.body),
            problem_without_instance(&missing.body)
        );
        let revokes = events_of(&broker, "revoke_transparency_link");
        assert!(
            revokes
                .iter()
                .any(|e| e.outcome == Outcome::Denied && e.reason.as_deref() == Some("other_institution"))
        );
        assert!(
            revokes
                .iter()
                .any(|e| e.outcome == Outcome::Rejected && e.reason.as_deref() == Some("not-found"))
        );
        // Still usable: the foreign revocation changed nothing.
        open_ok(&broker, token, code).await;

        assert_eq!(revoke(&broker, VO, &id).await.status.as_u16(), 204);
        assert_eq!(revoke(&broker, VO, &id).await.status.as_u16(), 204, "again: the same");
        let gone = page_request(
            &broker,
            Method::POST,
            &format!("/mijn/{token}"),
            None,
            Some(&[("code", code)]),
        )
        .await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND, "a revoked link opens nothing");

        let issued = events_of(&broker, "issue_transparency_link");
        let ok = issued
            .iter()
            .find(|e| e.outcome == Outcome::Success)
            .expect("issue audited");
        assert!(ok.data_subject.is_some(), "about the student");
        assert_eq!(ok.actor.institution.as_ref().map(|b| b.as_str()), Some(VO));
    })
    .await;
}

#[tokio::test]
async fn bad_input_to_the_link_api_is_a_problem_of_its_class() {
    TestBroker::on_every_backend(|broker| async move {
        let http = broker.http(Some(VO));
        let send = |method: Method, path: &str, content_type: Option<&str>, body: &[u8]| {
            let mut request = http
                .request(method, format!("{}{path}", broker.base_url))
                .body(body.to_vec());
            if let Some(ct) = content_type {
                request = request.header(CONTENT_TYPE, ct);
            }
            request.send()
        };
        let cases: Vec<BadCall> = vec![
            (Method::DELETE, "/v1/transparency-links/not-a-uuid", None, b"", 400),
            (
                Method::POST,
                "/v1/transparency-links",
                Some("application/json"),
                b"{\"student_number\":",
                400,
            ),
            (Method::POST, "/v1/transparency-links", Some("text/plain"), b"{}", 415),
            (
                Method::POST,
                "/v1/transparency-links",
                Some("application/json"),
                b"{}",
                422,
            ),
            (
                Method::POST,
                "/v1/transparency-links",
                Some("application/json"),
                b"{\"student_number\":{\"type\":\"bsn\",\"number\":\"123456789\"}}",
                422,
            ),
            (
                Method::POST,
                "/v1/transparency-links",
                Some("application/json"),
                b"{\"student_number\":{\"type\":\"bsn\",\"number\":\"123456782\"},\"code\":\"1\"}",
                422,
            ),
            (
                Method::PUT,
                "/v1/transparency-links",
                Some("application/json"),
                b"{}",
                405,
            ),
        ];
        for (method, path, content_type, body, status) in cases {
            let response = send(method.clone(), path, content_type, body).await.expect("request");
            let got = response.status().as_u16();
            let ct = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let json: Value = response.json().await.unwrap_or(Value::Null);
            assert_eq!(got, status, "{method} {path}: {json}");
            assert_eq!(ct, "application/problem+json", "{method} {path}");
            assert_problem(got, &json, status);
        }
        // Each refusal is on the record.
        let refused = events_of(&broker, "issue_transparency_link");
        assert!(
            refused.iter().filter(|e| e.outcome == Outcome::Rejected).count() >= 4,
            "{refused:?}"
        );
    })
    .await;
}

// ---- the page ----

#[tokio::test]
async fn wrong_codes_lock_the_link_and_every_attempt_is_audited() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(1711);
        register_application(&broker, MBO, &student).await;
        let (_, token, code) = issue_ok(&broker, &student).await;
        let path = format!("/mijn/{token}");
        let form = page_request(&broker, Method::GET, &path, None, None).await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(form.body.contains("Vul je code in"), "{}", form.body);
        let max = broker.settings.transparency.max_code_attempts;
        let bad = wrong(&code);
        for attempt in 1..max {
            let page = page_request(&broker, Method::POST, &path, None, Some(&[("code", &bad)])).await;
            assert_eq!(page.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
            assert!(page.body.contains("code-error"), "attempt {attempt}");
            assert!(page.cookie.is_none());
        }
        let locking = page_request(&broker, Method::POST, &path, None, Some(&[("code", &bad)])).await;
        assert_eq!(locking.status, StatusCode::TOO_MANY_REQUESTS);
        let right = page_request(&broker, Method::POST, &path, None, Some(&[("code", &code)])).await;
        assert_eq!(
            right.status,
            StatusCode::TOO_MANY_REQUESTS,
            "locked: the right code does not open it"
        );
        assert!(right.cookie.is_none());

        let opens = events_of(&broker, "open_transparency_link");
        assert_eq!(opens.len() as i64, max + 1, "{opens:?}");
        assert!(
            opens
                .iter()
                .all(|e| e.actor.kind == ActorKind::StudentLink && e.outcome == Outcome::Rejected)
        );
        assert_eq!(
            opens
                .iter()
                .filter(|e| e.reason.as_deref() == Some("unauthenticated"))
                .count() as i64,
            max - 1
        );
        assert_eq!(
            opens
                .iter()
                .filter(|e| e.reason.as_deref() == Some("too-many-attempts"))
                .count(),
            2
        );
        // An unknown token: the same code form, and "gone" on a code.
        let unknown = page_request(
            &broker,
            Method::POST,
            "/mijn/AAAAAAAAAAAAAAAAAAAAAA",
            None,
            Some(&[("code", &code)]),
        )
        .await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn the_right_code_shows_the_students_file_and_every_view_is_audited() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(1721);
        let application = register_application(&broker, MBO, &student).await;
        let consent = consent_body(&broker, &student, 17, "student");
        let given = broker
            .system(VO)
            .fetch(Method::POST, "/v1/consents", Some(&consent))
            .await
            .expect("consent");
        assert_eq!(given.status.as_u16(), 201, "{}", given.body);
        let receipt_id = given.body["receipt_id"].as_str().expect("receipt id").to_owned();
        let submission = seal_package(&broker, application, MBO, &[personal_data(&student), support_needs()]);
        assert_eq!(submit(&broker.system(VO), &submission).await.status.as_u16(), 201);
        // The school's privacy officer's contact, set by the school's own
        // admin beside its handover contact: the one door for both.
        let admin = broker
            .staff("admin.vo.contact", doorstroom_domain::Role::InstitutionAdmin, Some(VO))
            .await;
        let contact_path = format!("/v1/institutions/{VO}/contact");
        let contact = json!({"privacy": "fg@vo-school.example"});
        let put = admin
            .fetch(Method::PUT, &contact_path, Some(&contact))
            .await
            .expect("put");
        assert_eq!(put.status.as_u16(), 200, "{}", put.body);
        assert_eq!(put.body["privacy"], "fg@vo-school.example");
        // The school keeps the student in its safety-net cohort: the page
        // and both reports say so, with the school's reference.
        let cohort =
            json!({"students": [{"student_number": {"type": "bsn", "number": student}, "reference": "LL-1721"}]});
        let added = broker
            .system(VO)
            .fetch(Method::POST, "/v1/cohorts/2027-2028/students", Some(&cohort))
            .await
            .expect("cohort");
        assert!(added.status.is_success(), "{}", added.body);
        let bad = json!({"privacy": "line\nbreak"});
        let refused = admin.fetch(Method::PUT, &contact_path, Some(&bad)).await.expect("put");
        assert_eq!(refused.status.as_u16(), 422, "{}", refused.body);
        assert_eq!(refused.body["pointer"], "/privacy", "{}", refused.body);
        // The registry's PATCH no longer takes it (there is one door).
        let broker_admin = broker
            .staff("admin.broker", doorstroom_domain::Role::BrokerAdmin, None)
            .await;
        let patched = broker_admin
            .fetch(
                Method::PATCH,
                &format!("/v1/institutions/{VO}"),
                Some(&json!({"privacy_contact": "x@example.nl"})),
            )
            .await
            .expect("patch");
        assert_eq!(patched.status.as_u16(), 422, "{}", patched.body);
        let kept = admin.fetch(Method::GET, &contact_path, None).await.expect("get");
        assert_eq!(
            kept.body["privacy"], "fg@vo-school.example",
            "nothing refused changed it"
        );
        let (_, token, code) = issue_ok(&broker, &student).await;
        let cookie = open_ok(&broker, &token, &code).await;

        let views_before = events_of(&broker, "read_own_file").len();
        let page = page_request(&broker, Method::GET, &format!("/mijn/{token}"), Some(&cookie), None).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.content_type.starts_with("text/html"));
        for part in [
            "Verzorgende IG",
            "2027-2028",
            "Verstuurde dossiers",
            "Wie heeft je dossier bekeken",
            "kan de inhoud van je dossier niet lezen",
            "Trek toestemming in",
            "Extra ondersteuningsbehoefte",
            "Vangnet",
            "LL-1721",
        ] {
            assert!(page.body.contains(part), "the page shows {part}");
        }
        assert!(!page.body.contains(&student), "never the student number");
        for pseudonym in pseudonyms(&broker) {
            assert!(!page.body.contains(&pseudonym), "never a pseudonym");
        }
        let english = page_request(
            &broker,
            Method::GET,
            &format!("/mijn/{token}?lang=en"),
            Some(&cookie),
            None,
        )
        .await;
        assert!(
            english.body.contains("Who looked at your dossier"),
            "the English switch"
        );

        let report = page_request(
            &broker,
            Method::GET,
            &format!("/mijn/{token}/report"),
            Some(&cookie),
            None,
        )
        .await;
        assert_eq!(report.status, StatusCode::OK);
        let json: Value = serde_json::from_str(&report.body).expect("report json");
        assert_eq!(json["applications"].as_array().map(Vec::len), Some(1));
        assert!(json["accesses"].as_array().is_some_and(|a| !a.is_empty()));
        assert_eq!(json["cohorts"][0]["school"], VO);
        assert_eq!(json["cohorts"][0]["reference"], "LL-1721");
        assert_eq!(json["cohorts"][0]["school_year"], "2027-2028");
        // A privacy officer sees the cohort place only in the school's scope.
        for (institution, places) in [(VO, 1), (MBO, 0)] {
            let officer = broker
                .staff(
                    &format!("fg.cohort.{}", institution.to_lowercase()),
                    doorstroom_domain::Role::PrivacyOfficer,
                    Some(institution),
                )
                .await;
            let reply = officer
                .fetch(Method::POST, "/v1/audit/subject-report", Some(&student_body(&student)))
                .await
                .expect("report");
            assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
            assert_eq!(
                reply.body["cohorts"].as_array().map(Vec::len),
                Some(places),
                "{institution}"
            );
        }
        for pseudonym in pseudonyms(&broker) {
            assert!(!report.body.contains(&pseudonym), "never a pseudonym in the download");
        }
        let receipt = page_request(
            &broker,
            Method::GET,
            &format!("/mijn/{token}/receipts/{receipt_id}"),
            Some(&cookie),
            None,
        )
        .await;
        assert_eq!(receipt.status, StatusCode::OK);
        assert_eq!(receipt.body.split('.').count(), 3, "a compact JWS");

        let views = events_of(&broker, "read_own_file");
        assert_eq!(views.len() - views_before, 4, "page, page in English, report, receipt");
        assert!(
            views
                .iter()
                .all(|e| e.actor.kind == ActorKind::StudentLink && e.outcome == Outcome::Success)
        );
        assert!(views.iter().all(|e| e.data_subject.is_some()));
        // The issuing school's privacy officer finds them: related to 07AB.
        let officer = broker
            .staff("fg.vo", doorstroom_domain::Role::PrivacyOfficer, Some(VO))
            .await;
        let found = officer
            .fetch(
                Method::POST,
                "/v1/audit/search",
                Some(&json!({"action": "read_own_file"})),
            )
            .await
            .expect("search");
        assert_eq!(found.status.as_u16(), 200, "{}", found.body);
        assert!(
            found.body["events"].as_array().is_some_and(|e| e.len() >= 4),
            "{}",
            found.body
        );
    })
    .await;
}

#[tokio::test]
async fn a_link_of_one_student_never_shows_another() {
    TestBroker::on_every_backend(|broker| async move {
        let (a, b) = (bsn(1731), bsn(1732));
        for (student, programme) in [(&a, "Kok"), (&b, "Timmerman")] {
            let reply = post_application(&broker, MBO, &application_body(student, programme)).await;
            assert!(reply.status.is_success(), "{}", reply.body);
        }
        let consent = consent_body(&broker, &b, 17, "student");
        let given = broker
            .system(VO)
            .fetch(Method::POST, "/v1/consents", Some(&consent))
            .await
            .expect("consent");
        assert_eq!(given.status.as_u16(), 201, "{}", given.body);
        let receipt_of_b = given.body["receipt_id"].as_str().expect("receipt").to_owned();
        let (_, token_a, code_a) = issue_ok(&broker, &a).await;
        let (_, token_b, code_b) = issue_ok(&broker, &b).await;
        let cookie_a = open_ok(&broker, &token_a, &code_a).await;

        let own = page_request(&broker, Method::GET, &format!("/mijn/{token_a}"), Some(&cookie_a), None).await;
        assert!(own.body.contains("Kok") && !own.body.contains("Timmerman"));
        // A's cookie with B's URL: B's code form, nothing of either.
        let swapped = page_request(&broker, Method::GET, &format!("/mijn/{token_b}"), Some(&cookie_a), None).await;
        assert_eq!(swapped.status, StatusCode::OK);
        assert!(
            swapped.body.contains("Vul je code in")
                && !swapped.body.contains("Timmerman")
                && !swapped.body.contains("Kok")
        );
        for path in [
            format!("/mijn/{token_b}/report"),
            format!("/mijn/{token_b}/receipts/{receipt_of_b}"),
        ] {
            let other = page_request(&broker, Method::GET, &path, Some(&cookie_a), None).await;
            assert_eq!(other.status, StatusCode::SEE_OTHER, "{path}: back to the code form");
        }
        // A's code does not open B's link.
        let code_swap = page_request(
            &broker,
            Method::POST,
            &format!("/mijn/{token_b}"),
            None,
            Some(&[("code", &code_a)]),
        )
        .await;
        assert!(code_a == code_b || code_swap.status == StatusCode::UNAUTHORIZED);
        // B's receipt id through A's own session: not found, audited.
        let foreign = page_request(
            &broker,
            Method::GET,
            &format!("/mijn/{token_a}/receipts/{receipt_of_b}"),
            Some(&cookie_a),
            None,
        )
        .await;
        assert_eq!(foreign.status, StatusCode::NOT_FOUND);
        assert!(!foreign.body.contains('.') || !foreign.body.contains("eyJ"), "no JWS");
        let refused = events_of(&broker, "read_own_file");
        assert!(
            refused
                .iter()
                .any(|e| e.outcome == Outcome::Rejected && e.reason.as_deref() == Some("not-found"))
        );
        // A's report holds nothing of B: B's receipt id only as the id A's
        // own refused attempt asked for.
        let report = page_request(
            &broker,
            Method::GET,
            &format!("/mijn/{token_a}/report"),
            Some(&cookie_a),
            None,
        )
        .await;
        assert!(!report.body.contains("Timmerman"));
        let json: Value = serde_json::from_str(&report.body).expect("report json");
        assert!(
            json["consents"].as_array().is_some_and(Vec::is_empty),
            "no consent of B"
        );
        for access in json["accesses"].as_array().expect("accesses") {
            if access.to_string().contains(&receipt_of_b) {
                assert_eq!(access["event"]["outcome"], "rejected", "{access}");
                assert_eq!(access["event"]["action"]["name"], "read_own_file", "{access}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_withdrawal_on_the_page_works_as_the_schools_and_the_mbo_learns_it() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(1741);
        let application = register_application(&broker, MBO, &student).await;
        let consent = consent_body(&broker, &student, 17, "student");
        let given = broker
            .system(VO)
            .fetch(Method::POST, "/v1/consents", Some(&consent))
            .await
            .expect("consent");
        assert_eq!(given.status.as_u16(), 201, "{}", given.body);
        let submission = seal_package(&broker, application, MBO, &[personal_data(&student), support_needs()]);
        let sent = submit(&broker.system(VO), &submission).await;
        assert_eq!(sent.status.as_u16(), 201, "{}", sent.body);
        let (_, token, code) = issue_ok(&broker, &student).await;
        let cookie = open_ok(&broker, &token, &code).await;
        let page = page_request(&broker, Method::GET, &format!("/mijn/{token}"), Some(&cookie), None).await;
        let csrf = page
            .body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("csrf token")
            .to_owned();
        let path = format!("/mijn/{token}/withdraw");
        let form = |by: &'static str, csrf: String| {
            vec![
                ("csrf", csrf),
                ("recipient", MBO.to_owned()),
                ("section", "support_needs".to_owned()),
                ("by", by.to_owned()),
            ]
        };
        let send = |fields: Vec<(&'static str, String)>| {
            let path = path.clone();
            let cookie = cookie.clone();
            let broker = &broker;
            async move {
                let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                page_request(broker, Method::POST, &path, Some(&cookie), Some(&pairs)).await
            }
        };
        // Without the CSRF token: refused, nothing withdrawn.
        assert_eq!(send(form("student", "nope".into())).await.status, StatusCode::FORBIDDEN);
        // A parent for a student of 17: not allowed (the ledger's flag).
        assert_eq!(
            send(form("parent", csrf.clone())).await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert!(events_of(&broker, "delete_withdrawn_section").is_empty());

        let done = send(form("student", csrf.clone())).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        assert!(done.body.contains("withdrawal-receipt"), "the signed receipt is shown");
        assert_eq!(
            events_of(&broker, "delete_withdrawn_section").len(),
            1,
            "the undelivered copy is deleted"
        );
        let withdrawals = events_of(&broker, "withdraw_consent_via_link");
        assert!(
            withdrawals
                .iter()
                .any(|e| e.outcome == Outcome::Success && e.actor.kind == ActorKind::StudentLink)
        );
        // The mbo learns it through its feed.
        let feed = broker
            .system(MBO)
            .fetch(Method::GET, "/v1/events", None)
            .await
            .expect("feed");
        let kinds: Vec<&str> = feed.body["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["kind"].as_str())
            .collect();
        assert!(kinds.contains(&"section.withdrawn"), "{kinds:?}");
        // The page no longer offers it, and shows the withdrawal.
        let after = page_request(&broker, Method::GET, &format!("/mijn/{token}"), Some(&cookie), None).await;
        assert!(!after.body.contains("withdraw-button"), "nothing left to withdraw");
        assert!(after.body.contains("ingetrokken"));
    })
    .await;
}

// ---- retention ----

/// One purge run at the broker's clock, as the broker's retention job.
fn purge(broker: &TestBroker) -> doorstroom_app::purge::PurgeSummary {
    use doorstroom_app::purge::{self, PurgeOptions};
    let options = PurgeOptions {
        batch_size: 7,
        pause: std::time::Duration::ZERO,
    };
    purge::purge_expired(
        &broker.store,
        &broker.settings.retention.policy,
        &broker.clock,
        &doorstroom_domain::Principal::Operator,
        options,
        &purge::new_run_id(),
    )
    .expect("purge")
}

fn link_stored(broker: &TestBroker, id: &str) -> bool {
    let id = uuid::Uuid::parse_str(id).expect("uuid");
    broker
        .store
        .read(|conn| doorstroom_store::transparency::get(conn, id))
        .expect("read link")
        .is_some()
}

#[tokio::test]
async fn an_ended_link_is_purged_after_its_period_and_the_purge_is_audited() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(1751);
        register_application(&broker, MBO, &student).await;
        let (expiring, _, _) = issue_ok(&broker, &student).await;
        let (revoked, token, code) = issue_ok(&broker, &student).await;
        open_ok(&broker, &token, &code).await;
        assert_eq!(revoke(&broker, VO, &revoked).await.status.as_u16(), 204);
        let days = |n| chrono::Duration::days(n);
        // 30 days on: the revoked link's period is over; the other one has
        // just expired (its own 30 days of retention begin).
        broker.clock.advance(days(30) + chrono::Duration::hours(1));
        let summary = purge(&broker);
        assert_eq!(summary.deleted["transparency_link"]["link_retention"], 1, "{summary:?}");
        assert!(!link_stored(&broker, &revoked) && link_stored(&broker, &expiring));
        broker.clock.advance(days(30));
        purge(&broker);
        assert!(!link_stored(&broker, &expiring));
        // One event per link, about the student, naming the link.
        let purged = events_of(&broker, "transparency_link_purged");
        assert_eq!(purged.len(), 2, "{purged:?}");
        let student_pseudonym = events_of(&broker, "register_application")[0].data_subject.clone();
        assert!(student_pseudonym.is_some());
        let mut ids: Vec<_> = purged.iter().filter_map(|e| e.resource.id.clone()).collect();
        ids.sort();
        let mut expected = vec![expiring.clone(), revoked.clone()];
        expected.sort();
        assert_eq!(ids, expected);
        assert!(
            purged
                .iter()
                .all(|e| e.reason.as_deref() == Some("link_retention") && e.data_subject == student_pseudonym),
            "{purged:?}"
        );
    })
    .await;
}

/// A privacy officer of 07AB makes the student's art. 15 report: an
/// access by a named staff member about the student.
async fn officer_reads_report(broker: &TestBroker, student: &str) {
    let officer = broker
        .staff("fg.names", doorstroom_domain::Role::PrivacyOfficer, Some(VO))
        .await;
    let reply = officer
        .fetch(Method::POST, "/v1/audit/subject-report", Some(&student_body(student)))
        .await
        .expect("report");
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
}

#[tokio::test]
async fn staff_are_named_on_the_page_only_when_configured() {
    for (show, db) in [false, true].into_iter().flat_map(|show| {
        doorstroom_store::testing::TestDb::all()
            .into_iter()
            .map(move |db| (show, db))
    }) {
        let broker = TestBroker::start_with(db, |s| s.transparency.show_staff_names = show).await;
        let student = bsn(1761);
        register_application(&broker, MBO, &student).await;
        officer_reads_report(&broker, &student).await;
        let (_, token, code) = issue_ok(&broker, &student).await;
        let cookie = open_ok(&broker, &token, &code).await;
        let page = page_request(&broker, Method::GET, &format!("/mijn/{token}"), Some(&cookie), None).await;
        assert!(
            page.body.contains("Medewerker, privacyfunctionaris"),
            "the access is listed with the role"
        );
        assert_eq!(page.body.contains("Test Person"), show, "named only when configured");
        let staff_ids: Vec<String> = broker
            .audit_events()
            .into_iter()
            .filter(|e| e.actor.kind == ActorKind::Staff)
            .filter_map(|e| e.actor.id)
            .collect();
        assert!(!staff_ids.is_empty());
        for id in staff_ids {
            assert!(!page.body.contains(&id), "never a staff id");
        }
    }
}

#[tokio::test]
async fn accesses_covered_by_the_latest_signed_checkpoint_are_marked_by_an_inclusion_proof() {
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(1781);
        register_application(&broker, MBO, &student).await;
        let (_, token, code) = issue_ok(&broker, &student).await;
        let cookie = open_ok(&broker, &token, &code).await;
        let path = format!("/mijn/{token}");
        let before = page_request(&broker, Method::GET, &path, Some(&cookie), None).await;
        assert!(
            !before.body.contains("in het ondertekende logboek"),
            "no checkpoint yet"
        );
        assert!(before.body.contains("nog niet ondertekend"));
        let po = broker
            .staff("fg.tlog", doorstroom_domain::Role::PrivacyOfficer, None)
            .await;
        let signed = po
            .fetch(Method::POST, "/v1/audit/checkpoint", None)
            .await
            .expect("sign");
        assert_eq!(signed.status.as_u16(), 200);
        let after = page_request(&broker, Method::GET, &path, Some(&cookie), None).await;
        // The issue, the opening and the first view are in the checkpoint
        // (a view lists the accesses before itself).
        let marked = after.body.matches("in het ondertekende logboek").count();
        assert!(marked >= 3, "{marked} accesses marked");
        assert!(
            !after.body.contains("nog niet ondertekend"),
            "all before the checkpoint"
        );
        let later = page_request(&broker, Method::GET, &path, Some(&cookie), None).await;
        assert_eq!(later.body.matches("in het ondertekende logboek").count(), marked);
        assert!(
            later.body.contains("nog niet ondertekend"),
            "the view after the checkpoint"
        );
    })
    .await;
}

#[tokio::test]
async fn one_address_guessing_across_links_is_refused_for_a_while() {
    for db in doorstroom_store::testing::TestDb::all() {
        let broker = TestBroker::start_with(db, |s| s.transparency.max_codes_per_address = 3).await;
        let student = bsn(1791);
        register_application(&broker, MBO, &student).await;
        let (_, first, first_code) = issue_ok(&broker, &student).await;
        let (_, second, second_code) = issue_ok(&broker, &student).await;
        let bad = wrong(&first_code);
        for _ in 0..3 {
            let page = page_request(
                &broker,
                Method::POST,
                &format!("/mijn/{first}"),
                None,
                Some(&[("code", &bad)]),
            )
            .await;
            assert_eq!(page.status, StatusCode::UNAUTHORIZED, "below the link's own lock");
        }
        // The right code of another link, from the same address: refused
        // until the failures age out.
        let refused = page_request(
            &broker,
            Method::POST,
            &format!("/mijn/{second}"),
            None,
            Some(&[("code", &second_code)]),
        )
        .await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.body.contains("vanaf dit apparaat"), "{}", refused.body);
        assert!(refused.cookie.is_none());
        broker
            .clock
            .advance(broker.settings.auth.login_failure_window + chrono::Duration::seconds(1));
        open_ok(&broker, &second, &second_code).await;
        let opens = events_of(&broker, "open_transparency_link");
        assert_eq!(
            opens
                .iter()
                .filter(|e| e.reason.as_deref() == Some("too-many-attempts"))
                .count(),
            1
        );
    }
}

// ---- the command line ----

#[tokio::test]
async fn the_cli_issues_and_revokes_a_link_with_one_command_each() {
    use doorstroom_cli::commands::common::{StudentArg, Who};
    use doorstroom_cli::commands::link::{self, LinkCommand};
    TestBroker::on_every_backend(|broker| async move {
        let student = bsn(1801);
        register_application(&broker, MBO, &student).await;
        let (url, ca) = (broker.base_url.clone(), broker.pki.ca_cert_path());
        let who = Who {
            as_dir: Some(broker.institution_dir(VO)),
            token: None,
        };
        // The command makes its own runtime: off this test's.
        let run = |command: LinkCommand| {
            let (url, ca) = (url.clone(), ca.clone());
            tokio::task::spawn_blocking(move || link::run(&url, &ca, command))
        };
        let issue = LinkCommand::Issue {
            who: who.clone(),
            student: StudentArg {
                student: format!("bsn:{student}"),
            },
        };
        run(issue).await.expect("join").expect("doorstroom link issue");
        let issued: Vec<AuditEvent> = events_of(&broker, "issue_transparency_link")
            .into_iter()
            .filter(|e| e.outcome == Outcome::Success)
            .collect();
        assert_eq!(issued.len(), 1);
        let id = issued[0].resource.id.clone().expect("link id");
        let revoke = LinkCommand::Revoke {
            who,
            id: id.parse().expect("uuid"),
        };
        run(revoke).await.expect("join").expect("doorstroom link revoke");
        let revoked = events_of(&broker, "revoke_transparency_link");
        assert!(
            revoked
                .iter()
                .any(|e| e.outcome == Outcome::Success && e.resource.id.as_deref() == Some(id.as_str()))
        );
    })
    .await;
}
