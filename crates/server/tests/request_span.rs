//! Every line a request logs carries its request id: in the handler, in
//! blocking work off the executor, and the internal-error line; and the
//! problem's `instance` names the same request.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::sync::Mutex;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, test, web};
use doorstroom_server::error::ApiError;
use doorstroom_server::request_id::{block, observe};
use serde_json::Value;

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Buffer;

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Logs in the handler and in blocking work, then fails with a fault of
/// ours (which logs its cause).
async fn fails_after_blocking_work() -> Result<HttpResponse, ApiError> {
    block(|| tracing::warn!("inside blocking work")).await?;
    tracing::info!("in the handler");
    Err(ApiError::Internal("a fault of ours".into()))
}

#[actix_web::test]
async fn every_line_of_a_request_carries_its_id() {
    // Global, not per thread: the blocking work runs on another thread.
    let subscriber = tracing_subscriber::fmt().json().with_writer(|| Buffer).finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this test binary");
    let app = test::init_service(
        App::new()
            .wrap(from_fn(observe))
            .route("/fails", web::get().to(fails_after_blocking_work)),
    )
    .await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let response = test::call_service(&app, test::TestRequest::get().uri("/fails").to_request()).await;
        assert_eq!(response.status().as_u16(), 500);
        let id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .expect("X-Request-Id")
            .to_owned();
        let body: Value = test::read_body_json(response).await;
        assert_eq!(body["instance"], format!("urn:uuid:{id}"), "{body}");
        assert_eq!(body["detail"], "internal error", "a 500 says nothing: {body}");
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1]);
    let logs = String::from_utf8(LOGS.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    for id in &ids {
        for message in ["inside blocking work", "in the handler", "internal error", "request"] {
            let carrying: Vec<&Value> = lines
                .iter()
                .filter(|l| l["fields"]["message"] == message)
                .filter(|l| l["span"]["request_id"] == id.as_str())
                .collect();
            assert_eq!(carrying.len(), 1, "{message:?} of request {id}, in its span: {logs}");
        }
    }
    // Every line of the test was written in one request's span.
    for line in &lines {
        assert!(
            line["span"]["request_id"].is_string(),
            "a line outside a request: {line}"
        );
    }
}
