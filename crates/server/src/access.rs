//! The web side of the audit spine: a handler hands its parsed command to
//! a use case through [`run`] (which runs `doorstroom_app`'s
//! `perform_in` off the async executor: locate, the domain's policy, the
//! work and its audit event in one transaction; 503 when the event cannot
//! be written), and a request refused before it reaches its use case is
//! recorded through [`reject`].

use actix_web::web;
use doorstroom_app::{App, AppError};
use doorstroom_domain::{Action, AuditAction, AuditEvent, Outcome, Purpose, ResourceRef};
use doorstroom_store::audit;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

impl Caller {
    /// The caller as the use cases know it: principal, request id and the
    /// request's audit mark.
    pub fn spine(&self) -> doorstroom_app::Caller<'_> {
        doorstroom_app::Caller::new(&self.principal, Some(&self.request_id)).marking(&self.audited)
    }
}

/// Runs `use_case` for `caller` off the async executor, in the request's
/// span, and maps its failure to the problem it answers with.
pub async fn run<T, F>(state: &web::Data<AppState>, caller: &Caller, use_case: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&App, doorstroom_app::Caller<'_>) -> Result<T, AppError> + Send + 'static,
{
    let state = state.clone();
    let caller = caller.clone();
    crate::request_id::block(move || use_case(&state.app, caller.spine()))
        .await?
        .map_err(ApiError::from)
}

/// Records that an authenticated caller's request was refused before it
/// reached its use case (a body, parameter or header that does not parse,
/// or a caller the route is not for), and returns the refusal. A 403 is
/// recorded as `denied`, anything else as `rejected`, with the problem's
/// slug as the reason. If even the record cannot be written the answer is
/// 503.
pub async fn reject(
    state: &web::Data<AppState>,
    caller: &Caller,
    action: Action,
    record: ResourceRef,
    purpose: Purpose,
    refusal: ApiError,
) -> ApiError {
    let state = state.clone();
    let outcome = match refusal {
        ApiError::Forbidden => Outcome::Denied,
        _ => Outcome::Rejected,
    };
    let event = AuditEvent::success(
        state.clock.now(),
        &caller.principal,
        AuditAction::from(action),
        record,
        purpose,
    )
    .with_request_id(Some(caller.request_id.clone()))
    .with_outcome(outcome, refusal.audit_reason());
    let written = crate::request_id::block(move || {
        state
            .store
            .write(|conn| audit::append(conn, &event).map(|_| ()).map_err(ApiError::audit_failed))
    })
    .await;
    match written {
        Ok(Ok(())) => {
            caller.audited.set();
            refusal
        }
        Ok(Err(err)) => err,
        Err(_) => ApiError::AuditUnavailable,
    }
}

/// The parsed body, or the parse failure audited (see [`reject`]) and
/// returned. Handlers take their body as `Result<Json<T>, ApiError>` so that
/// a caller's malformed request is on the record too.
pub async fn body_or_reject<T>(
    state: &web::Data<AppState>,
    caller: &Caller,
    action: Action,
    record: ResourceRef,
    purpose: Purpose,
    body: Result<Json<T>, ApiError>,
) -> Result<T, ApiError> {
    match body {
        Ok(body) => Ok(body.0),
        Err(err) => Err(reject(state, caller, action, record, purpose, err).await),
    }
}
