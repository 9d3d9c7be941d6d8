//! Operations endpoints: liveness, readiness, metrics and the API document.
//! None of them touches personal data, so none is audited.

use actix_web::{HttpResponse, get, web};
use doorstroom_api::ops::Health;
use doorstroom_store::health::WriteOutcome;

use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// The process is up.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok".into() })
}

/// A write can succeed: 503 while the last write attempt failed within
/// `database.write_failure_window_secs` (database down, disk full), or
/// when a small write of the probe's own fails; 200 otherwise.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Problem, content_type = "application/problem+json"))
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let window = state.settings.database.write_failure_window();
    match state.store.last_write() {
        Some((ago, WriteOutcome::Failed)) if ago < window => return Err(ApiError::Unavailable),
        // A write just succeeded: that is the probe.
        Some((ago, WriteOutcome::Succeeded)) if ago < PROBE_REUSE => {}
        _ => {
            let state = state.clone();
            crate::request_id::block(move || state.store.probe_write(state.clock.now())).await??;
        }
    }
    Ok(HttpResponse::Ok().json(Health { status: "ok".into() }))
}

/// A successful write this recent stands in for the probe's own, so that
/// frequent probing adds no writes to a busy broker.
const PROBE_REUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// Prometheus text format: requests and latencies by route and status.
#[utoipa::path(tag = "operations", responses((status = 200, content_type = "text/plain; version=0.0.4", body = String)))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(tag = "operations", responses((status = 200, content_type = "application/json", body = Object)))]
#[get("/openapi.json")]
pub async fn openapi(document: web::Data<utoipa::openapi::OpenApi>) -> HttpResponse {
    HttpResponse::Ok().json(&**document)
}
