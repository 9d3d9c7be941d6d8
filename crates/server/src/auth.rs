//! Authentication: turning a request into a [`Principal`] before any handler
//! logic runs. A failure is a 401 problem document and an audit event with
//! outcome `unauthenticated`.
//!
//! An outage is not an attack: when the credentials cannot be checked
//! because the store fails (database down, pool exhausted), the answer is
//! 503 with `Retry-After` and nothing is recorded, since nobody failed to
//! authenticate. Only a credential that was checked and found wanting is a
//! 401 with its `unauthenticated` event.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use doorstroom_domain::{
    Actor, ActorKind, AuditEvent, InstitutionStatus, Outcome, Principal, Purpose, ResourceRef, Sector, StaffId,
    StaffStatus,
};
use doorstroom_store::staff::StaffAccount;
use doorstroom_store::{DbConn, StoreError, audit, staff};

use crate::error::ApiError;
use crate::request_id::RequestId;
use crate::state::AppState;
use crate::tls::PeerCertificates;
use doorstroom_domain::{ResourceKind, SideEvent};

/// An authenticated caller of any kind: a school system (client
/// certificate) or a staff member (bearer token).
#[derive(Clone)]
pub struct Caller {
    pub principal: Principal,
    pub request_id: String,
    /// Set once an audit event of this request is written; shared by every
    /// copy of the caller, so that [`crate::refusals`] knows whether a
    /// refusal is already on the record.
    pub audited: AuditMark,
}

pub use doorstroom_app::AuditMark;

/// A caller that must be a school system (client certificate).
pub struct SystemCaller(pub Caller);

/// A caller that must be a staff member (bearer token).
pub struct StaffCaller(pub Caller);

/// The credentials a route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accept {
    Any,
    System,
    Staff,
}

/// Why authentication failed: the message for the caller and the reason
/// recorded in the audit log.
struct Failure {
    message: &'static str,
    actor_id: Option<String>,
}

fn failure(message: &'static str) -> Failure {
    Failure {
        message,
        actor_id: None,
    }
}

/// Establishes who calls. The caller is also kept in the request's
/// extensions, so that a refusal answered before the handler could record
/// it is still audited in the caller's name ([`crate::refusals`]).
pub(crate) async fn authenticate(req: HttpRequest, accept: Accept) -> Result<Caller, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))?;
    let request_id = RequestId::of(&req);
    let certs = req.conn_data::<PeerCertificates>().cloned();
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| t.trim().to_owned());

    let outcome = match (accept, certs, bearer) {
        (Accept::Any | Accept::System, Some(certs), _) => system(&state, certs).await?,
        (Accept::Any | Accept::Staff, _, Some(token)) => staff_member(&state, &token).await?,
        (Accept::System, None, _) => Err(failure("a client certificate bound to an institution is required")),
        (Accept::Staff, _, None) => Err(failure("a bearer access token is required")),
        (Accept::Any, None, None) => Err(failure("a client certificate or a bearer access token is required")),
    };
    match outcome {
        Ok(principal) => {
            let caller = Caller {
                principal,
                request_id,
                audited: AuditMark::default(),
            };
            req.extensions_mut().insert(caller.clone());
            Ok(caller)
        }
        Err(fail) => {
            record_failure(&state, &req, &request_id, &fail).await?;
            Err(ApiError::Unauthenticated(fail.message))
        }
    }
}

/// The result of a credential check that could be carried out: the
/// principal, or why the credential is not good. A check that could not be
/// carried out is the outer `Err` (503).
type Checked = Result<Result<Principal, Failure>, ApiError>;

/// A store error while looking up a credential: an outage, not a failed
/// authentication.
/// Even an error that the store does not call an outage gives no verdict
/// on the credential, so the caller must not be told it is bad: 503 too
/// (the cause is logged, as a 500's would be).
fn lookup_failed(err: ApiError) -> ApiError {
    match &err {
        ApiError::Internal(cause) => tracing::error!(cause = %cause, "credentials could not be checked"),
        other => tracing::warn!(error = %other, "credentials could not be checked"),
    }
    ApiError::Unavailable
}

async fn system(state: &web::Data<AppState>, certs: PeerCertificates) -> Checked {
    let now = state.clock.now();
    // The chain's check is kept with the TLS connection (its parsing and
    // signatures do not change within it); see `ClientRoots::verify_peer`.
    let fingerprint = match state.client_roots.verify_peer(&certs, now) {
        Ok(fingerprint) => fingerprint,
        Err(rejection) => return Ok(Err(failure(rejection.as_str()))),
    };
    // The binding is read on every request, never kept with the
    // connection: a revocation (on any node, or by the operator's command
    // line) must stop the very next request of an open keep-alive
    // connection, and nothing tells this node of a revocation elsewhere
    // but the database. The read is one indexed SELECT by the fingerprint.
    let lookup = {
        let state = state.clone();
        let fingerprint = fingerprint.clone();
        crate::request_id::block(move || state.store.certificate_binding(&fingerprint).map_err(ApiError::from))
            .await
            .map_err(ApiError::from)
            .and_then(|found| found)
            .map_err(lookup_failed)?
    };
    let unknown = || Failure {
        message: "client certificate is not bound to an active institution",
        actor_id: Some(fingerprint.as_str().to_owned()),
    };
    Ok(match lookup {
        Some((binding, institution))
            if binding.revoked_at.is_none() && institution.status == InstitutionStatus::Active =>
        {
            Ok(Principal::System {
                institution: institution.brin,
                sector: institution.sector,
                fingerprint,
            })
        }
        _ => Err(unknown()),
    })
}

async fn staff_member(state: &web::Data<AppState>, token: &str) -> Checked {
    let claims = match state.tokens.verify(token, state.clock.now()) {
        Ok(claims) => claims,
        Err(crate::tokens::TokenError::Expired) => return Ok(Err(failure("access token has expired"))),
        Err(crate::tokens::TokenError::Invalid) => return Ok(Err(failure("access token is invalid"))),
    };
    let lookup = {
        let state = state.clone();
        let id = claims.staff;
        crate::request_id::block(move || {
            state
                .store
                .read(|conn| current_account(conn, id).map_err(ApiError::from))
                .map(|found| found.map(|current| current.account))
        })
        .await
        .map_err(ApiError::from)
        .and_then(|found| found)
        .map_err(lookup_failed)?
    };
    let revoked = || Failure {
        message: "access token is no longer valid",
        actor_id: Some(claims.staff.to_string()),
    };
    Ok(match lookup {
        Some(account) if account.role == claims.role && account.institution == claims.institution => {
            Ok(Principal::Staff {
                id: account.id,
                role: account.role,
                institution: account.institution,
                second_factor: claims.second_factor,
            })
        }
        _ => Err(revoked()),
    })
}

/// A staff account as it is now, with its institution's sector (`None`
/// for the broker's own staff), which decides the roles the console offers
/// an institution's admin ([`doorstroom_domain::Role::fits_sector`]).
pub struct CurrentAccount {
    pub account: StaffAccount,
    pub sector: Option<Sector>,
}

/// The staff account behind a token or a console session as it is now:
/// `None` when it is gone or deactivated, or its institution is no longer
/// active. Read on every request, so a deactivation takes effect at once.
pub fn current_account(conn: &mut DbConn, id: StaffId) -> Result<Option<CurrentAccount>, StoreError> {
    let Some(account) = staff::get(conn, id)? else {
        return Ok(None);
    };
    let (institution_active, sector) = match &account.institution {
        Some(brin) => match doorstroom_store::institutions::get(conn, brin)? {
            Some(i) => (i.status == InstitutionStatus::Active, Some(i.sector)),
            None => (false, None),
        },
        None => (true, None),
    };
    Ok((account.status == StaffStatus::Active && institution_active).then_some(CurrentAccount { account, sector }))
}

/// Records an unauthenticated attempt. If even that cannot be written, the
/// answer is 503 rather than 401: fail closed.
async fn record_failure(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    request_id: &str,
    fail: &Failure,
) -> Result<(), ApiError> {
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let event = AuditEvent {
        time: state.clock.now(),
        actor: Actor {
            kind: ActorKind::Anonymous,
            institution: None,
            id: fail.actor_id.clone(),
        },
        on_behalf_of: None,
        action: SideEvent::Authenticate.into(),
        resource: ResourceRef::new(ResourceKind::Route, Some(format!("{} {route}", req.method()))),
        data_subject: None,
        purpose: Purpose::Authentication,
        outcome: Outcome::Unauthenticated,
        reason: Some(fail.message.to_owned()),
        request_id: Some(request_id.to_owned()),
    };
    let state = state.clone();
    crate::request_id::block(move || {
        state
            .store
            .write(|conn| audit::append(conn, &event).map_err(ApiError::audit_failed))
    })
    .await?
    .map(|_| ())
}

macro_rules! caller_extractor {
    ($ty:ty, $accept:expr, $wrap:expr) => {
        impl FromRequest for $ty {
            type Error = ApiError;
            type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

            fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
                let req = req.clone();
                Box::pin(async move {
                    let caller = authenticate(req, $accept).await?;
                    Ok($wrap(caller))
                })
            }
        }
    };
}

caller_extractor!(Caller, Accept::Any, |c| c);
caller_extractor!(SystemCaller, Accept::System, SystemCaller);
caller_extractor!(StaffCaller, Accept::Staff, StaffCaller);
