//! Request tracing: every problem the broker answers names the request in
//! its `instance` (`urn:uuid:<request id>`, the `X-Request-Id` of the
//! answer), whichever layer made it, and the request's log lines carry the
//! same id.

use doorstroom_tests::{TestBroker, VO, capture_logs, captured_logs};
use reqwest::Method;
use serde_json::Value;

/// A request answered with a problem.
struct ProblemRequest {
    what: &'static str,
    method: Method,
    url: String,
    body: Option<Vec<u8>>,
    status: u16,
    /// As the vo school's system, or anonymous.
    as_system: bool,
}

/// Answers of every kind of maker: authentication, the router, the
/// method check, a handler's 404, the refusals middleware (control
/// character), the body limit.
fn problem_requests(base: &str) -> Vec<ProblemRequest> {
    let request = |what, method, url, body, status, as_system| ProblemRequest {
        what,
        method,
        url,
        body,
        status,
        as_system,
    };
    let package = "3f0e8f8c-5a1e-4f57-9a53-2f3b8e0a1c11";
    vec![
        request("401", Method::GET, format!("{base}/v1/whoami"), None, 401, false),
        request(
            "unknown route",
            Method::GET,
            format!("{base}/v1/no-such-thing"),
            None,
            404,
            true,
        ),
        request("405", Method::DELETE, format!("{base}/v1/inbox"), None, 405, true),
        request(
            "404 of a handler",
            Method::GET,
            format!("{base}/v1/packages/{package}"),
            None,
            404,
            true,
        ),
        request(
            "control character",
            Method::GET,
            format!("{base}/v1/inbox?status=%01"),
            None,
            400,
            true,
        ),
        request(
            "413",
            Method::POST,
            format!("{base}/v1/consents"),
            Some(format!("{{\"student\":\"{}\"}}", "x".repeat(70_000)).into_bytes()),
            413,
            true,
        ),
    ]
}

#[tokio::test]
async fn every_problem_names_its_request() {
    TestBroker::on_every_backend(|broker| async move {
        let system = broker.http(Some(VO));
        let anonymous = broker.http(None);
        let mut seen = Vec::new();
        for ProblemRequest {
            what,
            method,
            url,
            body,
            status,
            as_system,
        } in problem_requests(&broker.base_url)
        {
            let http = if as_system { &system } else { &anonymous };
            let mut request = http.request(method, url);
            if as_system {
                // The school system acts for an intaker (a made-up one: a
                // package is refused as if it did not exist).
                request = request.header("X-On-Behalf-Of", "9b2d6a1e-0c4f-4b8a-8f3e-5d7c1a2b3c4d");
            }
            if let Some(body) = body {
                request = request.header("content-type", "application/json").body(body);
            }
            let response = request.send().await.expect("request");
            assert_eq!(response.status().as_u16(), status, "{what}");
            let request_id = response
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("{what}: no X-Request-Id"));
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            assert_eq!(content_type.as_deref(), Some("application/problem+json"), "{what}");
            let body: Value = response.json().await.expect("problem json");
            assert_eq!(
                body["instance"].as_str(),
                Some(format!("urn:uuid:{request_id}").as_str()),
                "{what}: {body}"
            );
            assert_eq!(body["status"], status, "{what}: {body}");
            seen.push(request_id);
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), problem_requests("").len(), "a fresh id per request");
    })
    .await;
}

#[tokio::test]
async fn the_log_lines_of_a_request_carry_its_id() {
    capture_logs();
    TestBroker::on_every_backend(|broker| async move {
        let system = broker.http(Some(VO));
        // An audited access (work off the executor, in the audit spine) and
        // a refusal with its audit event.
        for path in ["/v1/inbox", "/v1/packages/3f0e8f8c-5a1e-4f57-9a53-2f3b8e0a1c11"] {
            let response = system
                .get(format!("{}{path}", broker.base_url))
                .send()
                .await
                .expect("request");
            let request_id = response
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .expect("X-Request-Id");
            let logs = String::from_utf8_lossy(&captured_logs()).into_owned();
            let lines: Vec<Value> = logs
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .filter(|line| line["span"]["request_id"].as_str() == Some(request_id.as_str()))
                .collect();
            assert!(
                lines
                    .iter()
                    .any(|line| line["fields"]["message"] == "request" && line["span"]["name"] == "request"),
                "{path}: the access line is written in the request's span: {lines:?}"
            );
            // No line names another request's id inside this one's span.
            for line in &lines {
                if let Some(named) = line["fields"]["request_id"].as_str() {
                    assert_eq!(named, request_id, "{path}: {line}");
                }
            }
        }
    })
    .await;
}
