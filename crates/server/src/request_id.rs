//! Request ids and the access log: every request gets a fresh id that is
//! returned in `X-Request-Id`, written on the log line and in its audit
//! events, linking the two without putting personal data in the log.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, web};

use crate::state::AppState;

#[derive(Clone)]
pub struct RequestId(pub String);

impl RequestId {
    /// The id of this request (set by [`observe`]).
    pub fn of(req: &HttpRequest) -> String {
        req.extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default()
    }
}

/// Middleware: request id, access log line, metrics.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = uuid::Uuid::new_v4().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    let started = Instant::now();
    let method = req.method().to_string();
    let metrics = req.app_data::<web::Data<AppState>>().map(|s| s.metrics.clone());
    let mut res = next.call(req).await?;
    let elapsed = started.elapsed().as_secs_f64();
    // The route pattern, never the path: paths can hold identifiers.
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status().as_u16();
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HeaderName::from_static("x-request-id"), value);
    }
    if let Some(metrics) = metrics {
        metrics.observe(&route, &method, status, elapsed);
    }
    tracing::info!(request_id = %id, %method, %route, status, elapsed_ms = elapsed * 1000.0, "request");
    Ok(res)
}
