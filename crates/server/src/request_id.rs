//! Request ids, the request's tracing span and the access log: every
//! request gets a fresh id that is returned in `X-Request-Id`, carried by
//! the `request` span that every log line of the request is written in
//! (blocking work included, see [`block`]), written in its audit events
//! and in the `instance` of every problem document it is answered with
//! (`urn:uuid:<id>`), linking all of them without putting personal data in
//! the log.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::BlockingError;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, web};
use tracing::Instrument;

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

pub use crate::instance::{current_instance, problem_instance};

/// Middleware: request id, the request's span, access log line, metrics;
/// the id is current (see [`current_instance`]) while the request is served.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = uuid::Uuid::new_v4().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    // At ERROR level so that it is enabled whenever any line of the
    // request is: a filter of `warn` still sees the id on the warnings.
    let span = tracing::error_span!("request", request_id = %id);
    let started = Instant::now();
    let method = req.method().to_string();
    let metrics = req.app_data::<web::Data<AppState>>().map(|s| s.metrics.clone());
    let mut res = crate::instance::serving(id.clone(), next.call(req))
        .instrument(span.clone())
        .await?;
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
    span.in_scope(|| {
        tracing::info!(request_id = %id, %method, %route, status, elapsed_ms = elapsed * 1000.0, "request");
    });
    Ok(res)
}

/// [`web::block`] that carries the current span (the request's) into the
/// blocking thread, so what is logged there names the request too.
pub async fn block<F, R>(work: F) -> Result<R, BlockingError>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let span = tracing::Span::current();
    web::block(move || span.in_scope(work)).await
}
