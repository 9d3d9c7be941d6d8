//! The audit spine: every access that reads or changes data goes through
//! [`perform`], which locates the target, asks the domain's policy,
//! runs the work and appends the audit event, all in one database
//! transaction. If the event cannot be written the transaction rolls back
//! and the caller gets 503: no access without its record.

use actix_web::web;
use chrono::{DateTime, Utc};
use doorstroom_app::{App, AppError};
use doorstroom_domain::{Action, AuditAction, AuditEvent, Outcome, Principal, Purpose, ResourceRef};
use doorstroom_store::{DbConn, Store, audit};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

/// An access whose work answers in HTTP terms (the handlers that have not
/// moved into a use case yet). New code uses `doorstroom_app::Access`.
pub type Access = doorstroom_app::Access<ApiError>;
pub use doorstroom_app::{Located, Target};

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

/// Authorizes `access` for `caller`, runs `work` and audits the outcome
/// in one transaction (see [`doorstroom_app::perform_in`]), off the async
/// executor.
pub async fn perform<T, F>(state: &web::Data<AppState>, caller: &Caller, access: Access, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, DateTime<Utc>) -> Result<T, ApiError> + Send + 'static,
{
    let state = state.clone();
    let caller = caller.clone();
    crate::request_id::block(move || {
        doorstroom_app::perform_in(&state.store, state.clock.now(), caller.spine(), access, |ctx| {
            work(ctx.conn, ctx.now)
        })
    })
    .await?
}

/// The blocking core of [`perform`], for the operator's command line.
pub fn perform_in<T, F>(
    store: &Store,
    now: DateTime<Utc>,
    principal: &Principal,
    request_id: Option<String>,
    access: Access,
    work: F,
) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConn, DateTime<Utc>) -> Result<T, ApiError>,
{
    let caller = doorstroom_app::Caller::new(principal, request_id.as_deref());
    doorstroom_app::perform_in(store, now, caller, access, |ctx| work(ctx.conn, ctx.now))
}

/// Records that an authenticated caller's request was refused before it
/// reached [`perform`] (a body, parameter or header that does not parse,
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
