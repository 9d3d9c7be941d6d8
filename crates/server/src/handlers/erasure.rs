//! Erasure on request (GDPR art. 17): the door of
//! [`doorstroom_app::erasure::erase_student`], whose documentation says
//! who may erase what and what is recorded.
//!
//! The student number arrives in the body, never in the URL (URLs end up
//! in logs).

use actix_web::{HttpResponse, post, web};
use doorstroom_api::erasure::{ErasureRequest, ErasureSummary};
use doorstroom_app::erasure::{RECORD, erase_student};
use doorstroom_domain::{Action, Purpose, ResourceRef};

use crate::access::{self, body_or_reject};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::state::AppState;

/// Erases a student's data within the caller's scope.
#[utoipa::path(
    tag = "privacy",
    request_body = ErasureRequest,
    responses(
        (status = 200, body = ErasureSummary),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/erasures")]
pub async fn erase(
    state: web::Data<AppState>,
    caller: Caller,
    body: Result<Json<ErasureRequest>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let record = ResourceRef::new(RECORD, None);
    let request = body_or_reject(
        &state,
        &caller,
        Action::EraseStudent,
        record,
        Purpose::Supervision,
        body,
    )
    .await?;
    let summary = access::run(&state, &caller, move |app, caller| erase_student(app, caller, request)).await?;
    Ok(HttpResponse::Ok().json(summary))
}
