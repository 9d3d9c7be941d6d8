//! An institution's contact for the warm handover, the doors: read it and
//! set or remove it (`doorstroom_app::registry::{read_contact,
//! set_contact}`).

use actix_web::{HttpResponse, get, put, web};
use doorstroom_api::institutions::{ContactView, SetContact};
use doorstroom_app::registry;
use doorstroom_domain::Brin;

use crate::access::run;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{Json, path_param};
use crate::state::AppState;

/// The institution's contact for the warm handover: the member of staff
/// an mbo intaker calls about a student's dossier before the intake. For
/// everyone in the exchange who may read the institution (its staff and
/// every school system and staff member); `handover` is `null` when none
/// is set.
#[utoipa::path(
    tag = "registry",
    params(("brin" = String, Path)),
    responses(
        (status = 200, body = ContactView),
        (status = 404, description = "no such institution", body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[get("/v1/institutions/{brin}/contact")]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let brin = path_param("brin", &path, Brin::parse)?;
    let view = run(&state, &caller, move |app, caller| {
        registry::read_contact(&app.store, app.clock.now(), caller, brin)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Sets (or, with `handover: null`, removes) the institution's contact for
/// the warm handover. For the institution's admin (and the broker's);
/// anyone else gets 404.
#[utoipa::path(
    tag = "registry",
    params(("brin" = String, Path)),
    request_body = SetContact,
    responses(
        (status = 200, body = ContactView),
        (status = 404, description = "no such institution, or not the caller's to manage (the same answer)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a name that is empty or too long, an e-mail address or phone number that is not one, or neither given", body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[put("/v1/institutions/{brin}/contact")]
pub async fn set(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<SetContact>,
) -> Result<HttpResponse, ApiError> {
    let brin = path_param("brin", &path, Brin::parse)?;
    let view = run(&state, &caller, move |app, caller| {
        registry::set_contact(&app.store, app.clock.now(), caller, brin, body.0)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
