//! Control characters in any string input (path segments, query values,
//! JSON body strings) are refused at the edge with a problem document, the
//! same on SQLite and PostgreSQL (which cannot store a NUL and used to
//! answer 500 or 503), and every refusal is in the audit log under the
//! route's action — also when another institution makes the attempt, and
//! as `unauthenticated` when nobody identifies.

use doorstroom_client::Reply;
use doorstroom_domain::{Outcome, Role};
use doorstroom_tests::{MBO, OTHER_MBO, TestBroker, VO};
use reqwest::Method;
use serde_json::json;

use crate::exchange_support::{As, PROBLEM_JSON, audit_mark, audited_since, raw_request};

/// One of each class: NUL, another C0 control, DEL and a C1 control; as
/// percent-escapes (for URLs) and as JSON escapes.
const CLASSES: &[(&str, &str, &str)] = &[
    ("NUL", "%00", "\\u0000"),
    ("ESC", "%1B", "\\u001b"),
    ("DEL", "%7F", "\\u007f"),
    ("NEL (C1)", "%C2%85", "\\u0085"),
];

/// Asserts `reply` is a `status` problem and that exactly the attempt's
/// audit event was written since `mark`: `action`, `outcome`.
fn refused_and_audited(broker: &TestBroker, mark: usize, reply: &Reply, status: u16, action: &str, outcome: Outcome) {
    assert_eq!(
        reply.status.as_u16(),
        status,
        "{action}: {}",
        String::from_utf8_lossy(&reply.raw)
    );
    assert_eq!(reply.content_type.as_deref(), Some(PROBLEM_JSON), "{action}");
    let events = audited_since(broker, mark);
    let described: Vec<String> = events
        .iter()
        .map(|e| format!("{} {}", e.action.name, e.outcome.as_str()))
        .collect();
    assert_eq!(events.len(), 1, "{action}: one event; got {described:?}");
    assert_eq!(events[0].action.name, action, "{described:?}");
    assert_eq!(events[0].outcome, outcome, "{described:?}");
}

#[tokio::test]
async fn control_characters_in_paths_and_queries_are_400_and_audited() {
    TestBroker::on_every_backend(|broker| async move {
        let creds = broker.create_staff("intaker.ctl", Role::Intaker, Some(MBO));
        let token = bearer_token(&broker, &creds).await;
        for (class, escaped, _) in CLASSES {
            let cases: Vec<(As<'_>, Method, String, &str)> = vec![
                // A `kid`, a `brin`, a `fingerprint`, an `id` in the path.
                (
                    As::System(VO),
                    Method::POST,
                    format!("/v1/institutions/{VO}/keys/k{escaped}1/retire"),
                    "manage_keys",
                ),
                (
                    As::System(VO),
                    Method::GET,
                    format!("/v1/institutions/07{escaped}B"),
                    "read_institution",
                ),
                (
                    As::System(VO),
                    Method::POST,
                    format!("/v1/institutions/{VO}/certificates/ab{escaped}/revoke"),
                    "manage_certificates",
                ),
                (
                    As::System(MBO),
                    Method::GET,
                    format!("/v1/packages/{escaped}"),
                    "pull_package",
                ),
                // Another institution trying the same.
                (
                    As::System(OTHER_MBO),
                    Method::GET,
                    format!("/v1/packages/{escaped}"),
                    "pull_package",
                ),
                // `after` in the inbox's query, by a staff member.
                (
                    As::Token(&token),
                    Method::GET,
                    format!("/v1/inbox?after={escaped}"),
                    "list_inbox",
                ),
            ];
            for (who, method, path, action) in cases {
                let mark = audit_mark(&broker);
                let reply = raw_request(&broker, who, method, &path, &[], None).await;
                refused_and_audited(&broker, mark, &reply, 400, action, Outcome::Rejected);
                assert!(
                    reply.body["detail"]
                        .as_str()
                        .is_some_and(|d| d.contains("control character")),
                    "{class} {path}: {}",
                    reply.body
                );
            }
            // Nobody identified: 401, audited as such, naming the route.
            let mark = audit_mark(&broker);
            let reply = raw_request(
                &broker,
                As::Nobody,
                Method::GET,
                &format!("/v1/packages/{escaped}"),
                &[],
                None,
            )
            .await;
            refused_and_audited(&broker, mark, &reply, 401, "authenticate", Outcome::Unauthenticated);
            let event = audited_since(&broker, mark).remove(0);
            assert_eq!(event.resource.id.as_deref(), Some("GET /v1/packages/{id}"));
        }
    })
    .await;
}

#[tokio::test]
async fn control_characters_in_json_strings_are_422_and_audited() {
    TestBroker::on_every_backend(|broker| async move {
        let po = broker.create_staff("fg.ctl", Role::PrivacyOfficer, None);
        let po_token = bearer_token(&broker, &po).await;
        for (class, _, escaped) in CLASSES {
            // `action` in an audit search.
            let mark = audit_mark(&broker);
            let body = format!(r#"{{"action":"pull{escaped}_package"}}"#);
            let reply = raw_request(
                &broker,
                As::Token(&po_token),
                Method::POST,
                "/v1/audit/search",
                &[("content-type", "application/json")],
                Some(body.into_bytes()),
            )
            .await;
            refused_and_audited(&broker, mark, &reply, 422, "read_audit_log", Outcome::Rejected);
            assert_eq!(reply.body["pointer"], "/action", "{class}: {}", reply.body);

            // A `kid` in a key's JWK, by the institution itself and by
            // another one.
            for who in [VO, OTHER_MBO] {
                let mark = audit_mark(&broker);
                let body = format!(r#"{{"jwk":{{"kty":"EC","kid":"k{escaped}1"}}}}"#);
                let reply = raw_request(
                    &broker,
                    As::System(who),
                    Method::POST,
                    &format!("/v1/institutions/{VO}/keys"),
                    &[("content-type", "application/json")],
                    Some(body.into_bytes()),
                )
                .await;
                refused_and_audited(&broker, mark, &reply, 422, "manage_keys", Outcome::Rejected);
                assert_eq!(reply.body["pointer"], "/jwk/kid", "{class}: {}", reply.body);
            }

            // A student number in a consent request, by a school system.
            let mark = audit_mark(&broker);
            let body = json!({"student_number": {"type": "bsn", "number": "x"}})
                .to_string()
                .replace("\"x\"", &format!("\"1234{escaped}5678\""));
            let reply = raw_request(
                &broker,
                As::System(VO),
                Method::POST,
                "/v1/consents/history",
                &[("content-type", "application/json")],
                Some(body.into_bytes()),
            )
            .await;
            refused_and_audited(&broker, mark, &reply, 422, "read_consent_history", Outcome::Rejected);
            assert_eq!(
                reply.body["pointer"], "/student_number/number",
                "{class}: {}",
                reply.body
            );
        }

        // Tab, line feed and carriage return are allowed in free text: the
        // same search with them is no control-character refusal.
        let reply = raw_request(
            &broker,
            As::Token(&po_token),
            Method::POST,
            "/v1/audit/search",
            &[("content-type", "application/json")],
            Some(br#"{"action":"pull\t\n\r_package"}"#.to_vec()),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    })
    .await;
}

/// Logs `creds` in and answers the bearer token.
async fn bearer_token(broker: &TestBroker, creds: &doorstroom_tests::StaffCredentials) -> String {
    let (status, body) = broker
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
        .expect("login");
    assert_eq!(status.as_u16(), 200, "{body}");
    body["access_token"].as_str().expect("token").to_owned()
}
