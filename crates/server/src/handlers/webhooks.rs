//! An institution's webhook endpoint, the doors: register or replace it,
//! remove it, and read it with its latest deliveries (`doorstroom_app::webhooks`).

use actix_web::{HttpResponse, delete, get, put, web};
use doorstroom_api::events::{WebhookRequest, WebhookStatus, WebhookView};
use doorstroom_app::webhooks;
use doorstroom_domain::Brin;

use crate::access::run;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{Json, path_param};
use crate::state::AppState;

/// Registers (or replaces) the institution's HTTPS endpoint: the broker
/// then POSTs every entry of the institution's event feed to it, as a JWS
/// (`application/jose`, `typ` `doorstroom-event+jwt`) signed with the
/// broker's key (`GET /v1/broker/jwks`) over `{iss, aud, jti, iat,
/// event}`, with the entry's id in `Idempotency-Key`, until it answers
/// 2xx (no redirect is followed). For the institution's admin (and the
/// broker's); anyone else gets 404.
#[utoipa::path(
    tag = "registry",
    params(("brin" = String, Path)),
    request_body = WebhookRequest,
    responses(
        (status = 200, body = WebhookView),
        (status = 404, description = "no such institution, or not the caller's to manage (the same answer)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "not an https URL, an internal address, or no PEM certificate", body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[put("/v1/institutions/{brin}/webhook")]
pub async fn set(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<WebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    let brin = path_param("brin", &path, Brin::parse)?;
    let allow_internal = state.settings.webhooks.allow_private_addresses;
    let view = run(&state, &caller, move |app, caller| {
        webhooks::set_webhook(app, caller, brin, body.0, allow_internal)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// The institution's endpoint and its latest 100 deliveries with their
/// attempts and outcomes. For those who may read its credentials (its
/// admin, privacy officer and system); anyone else gets 404.
#[utoipa::path(
    tag = "registry",
    params(("brin" = String, Path)),
    responses(
        (status = 200, body = WebhookStatus),
        (status = 404, description = "no such institution, or not the caller's to read (the same answer)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[get("/v1/institutions/{brin}/webhook")]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let brin = path_param("brin", &path, Brin::parse)?;
    let status = run(&state, &caller, move |app, caller| {
        webhooks::read_webhook(app, caller, brin)
    })
    .await?;
    Ok(HttpResponse::Ok().json(status))
}

/// Removes the institution's endpoint: nothing more is queued for it, and
/// deliveries still pending are given up. Answers 204 whether or not one
/// was registered (removing is idempotent). For the institution's admin
/// (and the broker's); anyone else gets 404.
#[utoipa::path(
    tag = "registry",
    params(("brin" = String, Path)),
    responses(
        (status = 204, description = "no endpoint is registered now"),
        (status = 404, description = "no such institution, or not the caller's to manage (the same answer)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[delete("/v1/institutions/{brin}/webhook")]
pub async fn remove(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let brin = path_param("brin", &path, Brin::parse)?;
    run(&state, &caller, move |app, caller| {
        webhooks::remove_webhook(app, caller, brin)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
