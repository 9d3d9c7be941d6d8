//! An outage is not an attack (issue 11): PostgreSQL stopped under a
//! running broker and started again. While it is down, requests with good
//! credentials (a school system's certificate, a staff member's token) get
//! 503 problem+json with `Retry-After`, never 401, and no `unauthenticated`
//! event is invented; `/readyz` says 503 and `/healthz` 200. After the
//! database is back, the same broker (not restarted) serves again.
//!
//! The test runs its own PostgreSQL ([`ThrowawayPostgres`]), since the
//! shared test server must not be stopped. The pool's checkout timeout is
//! set short so that the test stays quick.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use doorstroom_domain::{Outcome, Role};
use doorstroom_tests::throwaway_pg::ThrowawayPostgres;
use doorstroom_tests::{MBO, TestBackend, TestBroker, TestDb};
use reqwest::StatusCode;
use serde_json::Value;

/// One request as it was answered.
struct Answer {
    what: &'static str,
    status: StatusCode,
    retry_after: Option<String>,
    content_type: Option<String>,
    body: Value,
}

/// A GET of `url`: with `credential` a bearer token for a staff client, or
/// the intaker's id that a school system (client certificate) acts for.
async fn call(client: &reqwest::Client, url: String, credential: Option<&str>, what: &'static str) -> Answer {
    let mut request = client.get(url);
    if let Some(credential) = credential {
        request = if what.starts_with("inbox") {
            request.header("X-On-Behalf-Of", credential)
        } else {
            request.bearer_auth(credential)
        };
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
    let header = |name: reqwest::header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let retry_after = header(reqwest::header::RETRY_AFTER);
    let content_type = header(reqwest::header::CONTENT_TYPE);
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        what,
        status,
        retry_after,
        content_type,
        body,
    }
}

fn assert_outage_answer(answer: &Answer) {
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}: {}",
        answer.what,
        answer.body
    );
    assert!(
        answer.retry_after.as_deref().is_some_and(|v| v.parse::<u32>().is_ok()),
        "{}: Retry-After {:?}",
        answer.what,
        answer.retry_after
    );
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/problem+json"),
        "{}",
        answer.what
    );
    assert_eq!(answer.body["status"], 503, "{}: {}", answer.what, answer.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_and_started_under_the_broker() {
    // Declared first, dropped last: after the broker that uses it.
    let postgres = ThrowawayPostgres::start();
    let db = TestDb::existing(postgres.url("postgres"), TestBackend::Postgres);
    let broker = TestBroker::start_with(db, |settings| {
        settings.database.checkout_timeout = std::time::Duration::from_millis(500);
        settings.database.write_failure_window = std::time::Duration::from_secs(2);
    })
    .await;
    let base = broker.base_url.clone();
    let mbo_system = broker.http(Some(MBO));
    let anonymous = broker.http(None);
    let admin = broker.create_staff("beheer.outage", Role::BrokerAdmin, None);
    let intaker = broker.create_staff("intaker.outage", Role::Intaker, Some(MBO)).id;
    let login: Value = anonymous
        .post(format!("{base}/v1/auth/login"))
        .json(&serde_json::json!({
            "username": admin.username,
            "password": admin.password,
            "totp": broker.totp(&admin.totp_secret),
        }))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login answer");
    let token = login["access_token"].as_str().expect("access token").to_owned();

    // Up: both kinds of caller are served.
    let inbox = call(&mbo_system, format!("{base}/v1/inbox"), Some(&intaker), "inbox").await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.body);
    let whoami = call(&anonymous, format!("{base}/v1/whoami"), Some(&token), "whoami").await;
    assert_eq!(whoami.status, StatusCode::OK, "{}", whoami.body);
    let events_before = broker.audit_events();
    assert!(
        events_before.iter().all(|e| e.outcome != Outcome::Unauthenticated),
        "no failed authentication so far"
    );

    // Requests keep coming while the database goes down and comes back:
    // each ends as a success or 503, never as 401 or 500. (Those that fail
    // to look up their credentials just before the database is back, and
    // then write, are the ones that used to get 401.)
    let running = Arc::new(AtomicBool::new(true));
    let in_flight: Vec<_> = (0..6)
        .map(|i| {
            let (client, credential, what) = if i % 2 == 0 {
                (mbo_system.clone(), intaker.clone(), "inbox in flight")
            } else {
                (anonymous.clone(), token.clone(), "whoami in flight")
            };
            let path = if i % 2 == 0 { "/v1/inbox" } else { "/v1/whoami" };
            let url = format!("{base}{path}");
            let running = running.clone();
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while running.load(Ordering::SeqCst) {
                    answers.push(call(&client, url.clone(), Some(&credential), what).await);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                answers
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // pg_ctl blocks until the server is down.
    tokio::task::block_in_place(|| postgres.stop());

    // Down: good credentials are not bad credentials.
    for _ in 0..3 {
        assert_outage_answer(
            &call(
                &mbo_system,
                format!("{base}/v1/inbox"),
                Some(&intaker),
                "inbox while down",
            )
            .await,
        );
        assert_outage_answer(
            &call(
                &anonymous,
                format!("{base}/v1/whoami"),
                Some(&token),
                "whoami while down",
            )
            .await,
        );
    }
    assert_outage_answer(&call(&anonymous, format!("{base}/readyz"), None, "readyz while down").await);
    let health = call(&anonymous, format!("{base}/healthz"), None, "healthz while down").await;
    assert_eq!(health.status, StatusCode::OK);

    // Back: the same broker recovers by itself.
    tokio::task::block_in_place(|| postgres.start_again());
    let mut ready = false;
    for _ in 0..120 {
        let answer = call(&anonymous, format!("{base}/readyz"), None, "readyz after restart").await;
        if answer.status == StatusCode::OK {
            ready = true;
            break;
        }
        assert_outage_answer(&answer);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        ready,
        "the broker did not become ready again after PostgreSQL came back"
    );
    running.store(false, Ordering::SeqCst);
    let mut outages = 0;
    for task in in_flight {
        for answer in task.await.expect("requests") {
            if answer.status != StatusCode::OK {
                assert_outage_answer(&answer);
                outages += 1;
            }
        }
    }
    assert!(outages > 0, "no request met the outage");
    let inbox = call(
        &mbo_system,
        format!("{base}/v1/inbox"),
        Some(&intaker),
        "inbox after restart",
    )
    .await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.body);
    let whoami = call(
        &anonymous,
        format!("{base}/v1/whoami"),
        Some(&token),
        "whoami after restart",
    )
    .await;
    assert_eq!(whoami.status, StatusCode::OK, "{}", whoami.body);

    // Nobody failed to authenticate, so the log says nobody did.
    let events = broker.audit_events();
    let false_alarms: Vec<_> = events
        .iter()
        .filter(|e| e.outcome == Outcome::Unauthenticated)
        .map(|e| e.reason.clone())
        .collect();
    assert!(false_alarms.is_empty(), "unauthenticated events: {false_alarms:?}");
    drop(broker);
}
