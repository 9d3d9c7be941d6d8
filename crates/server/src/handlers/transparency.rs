//! The doors of transparency links for the vo school's system: issuing a
//! link to a student's own page and revoking it (`doorstroom_app::transparency`).

use actix_web::{HttpRequest, HttpResponse, delete, post, web};
use doorstroom_api::transparency::{IssueLink, IssuedLink};
use doorstroom_app::transparency;
use doorstroom_domain::{Action, Purpose, ResourceKind, ResourceRef};
use uuid::Uuid;

use crate::access::{body_or_reject, run};
use crate::auth::SystemCaller;
use crate::error::{ApiError, Problem};
use crate::extract::{Json, path_param};
use crate::state::AppState;

/// Issues a link to the student's own page, where the student (or, under
/// 16, a parent) sees the applications, what was sent to whom, consent and
/// who accessed the file. The answer holds the URL and a 6-digit code,
/// shown this once (the broker keeps their hashes only): hand the code
/// over separately. Only a school an mbo named as the student's sending
/// school (or that recorded about the student) may; any other gets 404,
/// as for a student nobody knows.
#[utoipa::path(
    tag = "privacy",
    request_body = IssueLink,
    responses(
        (status = 201, body = IssuedLink),
        (status = 404, description = "this school does not send for the student", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []))
)]
#[post("/v1/transparency-links")]
pub async fn issue(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: SystemCaller,
    body: Result<Json<IssueLink>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let record = ResourceRef::new(ResourceKind::TransparencyLink, None);
    let action = Action::IssueTransparencyLink;
    let request = body_or_reject(&state, &caller, action, record, Purpose::Transparency, body).await?;
    let settings = state.settings.transparency;
    let issued = run(&state, &caller, move |app, caller| {
        transparency::issue_link(app, caller, &request.student_number, &settings)
    })
    .await?;
    // The page is served by this broker, under the name the school's
    // system reached it by.
    let host = req.connection_info().host().to_owned();
    Ok(HttpResponse::Created().json(IssuedLink {
        id: issued.id,
        url: format!("https://{host}/mijn/{}", issued.token),
        code: issued.code,
        expires_at: issued.expires_at,
    }))
}

/// Revokes a link: it opens nothing from now on, and open sessions end.
/// Only the school that issued it may; another school's link is 404,
/// exactly as one that does not exist. Revoking again is 204 too.
#[utoipa::path(
    tag = "privacy",
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "revoked"),
        (status = 400, description = "the id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such link, or another school's (the same answer)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []))
)]
#[delete("/v1/transparency-links/{id}")]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: SystemCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_param("id", &path, |s| {
        Uuid::parse_str(s).map_err(|_| doorstroom_domain::ParseError::new("id", "must be a UUID"))
    })?;
    run(&state, &caller.0, move |app, caller| {
        transparency::revoke_link(app, caller, id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
