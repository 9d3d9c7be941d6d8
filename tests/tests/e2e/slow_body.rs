//! Request bodies are held to a deadline and an idle timeout (issue 11,
//! "no timeout on request bodies"): a login whose body never comes, or
//! comes a byte every 2 s, is cut with 408 problem+json, and so is a console
//! form; meanwhile the broker answers `/healthz`.
//!
//! The requests go over raw TLS connections (tokio-rustls), since an HTTP
//! client sends its body at once. The broker's limits are set short here
//! (deadline 4 s, idle 3 s), so that "nothing" is cut by the idle timeout
//! and "a byte every 2 s" (never idle for 3 s) by the deadline: the detail
//! of each 408 says which limit cut it.

use std::sync::Arc;
use std::time::Duration;

use doorstroom_tests::{TestBroker, TestDb};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

const DEADLINE_SECS: u64 = 4;
const IDLE_SECS: u64 = 3;

/// A hang guard, far beyond both limits: a body that is not cut fails the
/// test instead of hanging it.
const GIVE_UP: Duration = Duration::from_secs(60);

#[derive(Clone, Copy)]
enum Pace {
    /// The head, then nothing.
    Silent,
    /// The head, then one byte of the body every two seconds.
    ByteEveryTwoSeconds,
}

/// An answer read off the wire.
struct RawAnswer {
    status: u16,
    head: String,
    body: Value,
}

/// Sends the head of a POST with a 200-byte body to `path`, signals `sent`,
/// then feeds the body at `pace` until the broker answers; returns the
/// answer.
async fn slow_post(
    broker: &TestBroker,
    path: &str,
    content_type: &str,
    pace: Pace,
    sent: oneshot::Sender<()>,
) -> RawAnswer {
    let stream = broker.raw_tls().await;
    let (mut reader, mut writer) = tokio::io::split(stream);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\nContent-Length: 200\r\n\r\n"
    );
    writer.write_all(head.as_bytes()).await.expect("send the head");
    writer.flush().await.expect("flush");
    let _ = sent.send(());
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    tick.tick().await;
    let read_all = async {
        loop {
            tokio::select! {
                read = reader.read(&mut buf) => match read {
                    Ok(0) | Err(_) => break,
                    Ok(n) => received.extend_from_slice(&buf[..n]),
                },
                _ = tick.tick(), if matches!(pace, Pace::ByteEveryTwoSeconds) => {
                    // The broker may have closed already: a failed write is
                    // not the test's business, the answer is.
                    let _ = writer.write_all(b" ").await;
                    let _ = writer.flush().await;
                }
            }
        }
    };
    tokio::time::timeout(GIVE_UP, read_all)
        .await
        .unwrap_or_else(|_| panic!("the broker did not cut the slow body of {path} within {GIVE_UP:?}"));
    parse_answer(&received)
}

fn parse_answer(raw: &[u8]) -> RawAnswer {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete answer: {text:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head:?}"));
    let body = serde_json::from_str(body.trim()).unwrap_or(Value::Null);
    RawAnswer {
        status,
        head: head.to_ascii_lowercase(),
        body,
    }
}

fn assert_timeout_problem(answer: &RawAnswer, expected_detail: &str) {
    assert_eq!(answer.status, 408, "{}\n{}", answer.head, answer.body);
    assert!(
        answer.head.contains("content-type: application/problem+json"),
        "{}",
        answer.head
    );
    assert_eq!(
        answer.body["type"], "urn:doorstroom:problem:request-timeout",
        "{}",
        answer.body
    );
    assert_eq!(answer.body["status"], 408, "{}", answer.body);
    assert_eq!(answer.body["detail"], expected_detail, "{}", answer.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_body_is_cut_with_408_while_healthz_answers() {
    for db in TestDb::all() {
        eprintln!("-- on {}", db.backend.name());
        let broker = TestBroker::start_with(db, |settings| {
            settings.server.body_timeouts.deadline = std::time::Duration::from_secs(DEADLINE_SECS);
            settings.server.body_timeouts.idle = std::time::Duration::from_secs(IDLE_SECS);
        })
        .await;
        let broker = Arc::new(broker);
        let mut pending = Vec::new();
        let mut started = Vec::new();
        for (path, content_type, pace) in [
            ("/v1/auth/login", "application/json", Pace::Silent),
            ("/v1/auth/login", "application/json", Pace::ByteEveryTwoSeconds),
            ("/console/login", "application/x-www-form-urlencoded", Pace::Silent),
        ] {
            let (sent, is_sent) = oneshot::channel();
            let b = broker.clone();
            pending.push(tokio::spawn(async move {
                slow_post(&b, path, content_type, pace, sent).await
            }));
            started.push(is_sent);
        }
        for is_sent in started {
            is_sent.await.expect("the slow request's head was sent");
        }

        // The slow requests hold their connections; the broker serves others.
        let health = broker
            .http(None)
            .get(format!("{}/healthz", broker.base_url))
            .send()
            .await
            .expect("healthz");
        assert_eq!(health.status(), 200);

        let mut answers = Vec::new();
        for task in pending {
            answers.push(task.await.expect("slow request task"));
        }
        let idle = format!("no part of the request body arrived for {IDLE_SECS} seconds");
        let deadline = format!("the request body did not arrive in full within {DEADLINE_SECS} seconds");
        assert_timeout_problem(&answers[0], &idle);
        assert_timeout_problem(&answers[1], &deadline);
        assert_timeout_problem(&answers[2], &idle);
        for answer in &answers {
            assert!(answer.head.contains("connection: close"), "{}", answer.head);
        }

        // A body that arrives in time is still read as before.
        let ok = broker
            .http(None)
            .post(format!("{}/v1/auth/login", broker.base_url))
            .json(&serde_json::json!({"username": "nobody", "password": "wrong-password", "totp": "000000"}))
            .send()
            .await
            .expect("login");
        assert_eq!(ok.status(), 401);
    }
}
