//! The audit spine: every access that reads or changes data goes through
//! [`perform`], which locates the target, asks the domain's policy,
//! runs the work and appends the audit event, all in one database
//! transaction. If the event cannot be written the transaction rolls back
//! and the caller gets 503: no access without its record.

use actix_web::web;
use chrono::{DateTime, Utc};
use diesel::Connection;
use doorstroom_domain::{
    Action, AuditAction, AuditEvent, Brin, Decision, Outcome, Principal, Pseudonym, Purpose, Resource, ResourceRef,
    StaffId, authorize,
};
use doorstroom_store::{DbConn, Store, audit};

use crate::auth::{AuditMark, Caller};
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

type Locate = Box<dyn FnOnce(&mut DbConn) -> Result<Option<Located>, ApiError> + Send>;

/// A resource found by a [`Target::Lookup`], with the student it is about.
pub struct Located {
    pub resource: Resource,
    pub data_subject: Option<Pseudonym>,
}

impl From<Resource> for Located {
    fn from(resource: Resource) -> Self {
        Located {
            resource,
            data_subject: None,
        }
    }
}

/// What the policy is asked about.
pub enum Target {
    /// A resource whose attributes the request itself names.
    Known(Resource),
    /// A resource whose attributes (owner institution, role) must be read
    /// first; `None` when it does not exist.
    Lookup(Locate),
}

/// One access: what is done, to what, for what purpose.
pub struct Access {
    pub action: Action,
    pub target: Target,
    /// The record as named in the audit log.
    pub record: ResourceRef,
    pub purpose: Purpose,
    pub data_subject: Option<Pseudonym>,
    /// The staff member on whose behalf a school system acts.
    pub on_behalf_of: Option<StaffId>,
    /// Institutions party to the record that its [`Resource`] does not
    /// name (the mbo a consent is given for).
    pub also_parties: Vec<Brin>,
}

impl Access {
    pub fn new(action: Action, resource: Resource, record: ResourceRef, purpose: Purpose) -> Self {
        Self {
            action,
            target: Target::Known(resource),
            record,
            purpose,
            data_subject: None,
            on_behalf_of: None,
            also_parties: Vec::new(),
        }
    }

    pub fn lookup(
        action: Action,
        locate: impl FnOnce(&mut DbConn) -> Result<Option<Located>, ApiError> + Send + 'static,
        record: ResourceRef,
        purpose: Purpose,
    ) -> Self {
        Self {
            action,
            target: Target::Lookup(Box::new(locate)),
            record,
            purpose,
            data_subject: None,
            on_behalf_of: None,
            also_parties: Vec::new(),
        }
    }

    /// The same access about `subject`.
    pub fn about(mut self, subject: Pseudonym) -> Self {
        self.data_subject = Some(subject);
        self
    }

    /// The same access to a record that `party` is also party to.
    pub fn also_party(mut self, party: Brin) -> Self {
        self.also_parties.push(party);
        self
    }

    /// The same access by a system on behalf of `staff`.
    pub fn on_behalf_of(mut self, staff: Option<StaffId>) -> Self {
        self.on_behalf_of = staff;
        self
    }
}

/// Authorizes `access` for `caller`, runs `work` and audits the outcome
/// in one transaction (see [`perform_in`]), off the async executor.
pub async fn perform<T, F>(state: &web::Data<AppState>, caller: &Caller, access: Access, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, DateTime<Utc>) -> Result<T, ApiError> + Send + 'static,
{
    let state = state.clone();
    let principal = caller.principal.clone();
    let request_id = caller.request_id.clone();
    let mark = caller.audited.clone();
    crate::request_id::block(move || {
        perform_marked(
            &state.store,
            state.clock.now(),
            &principal,
            Some(request_id),
            access,
            work,
            Some(&mark),
        )
    })
    .await?
}

/// The blocking core of [`perform`], also used by the operator's command
/// line. A denial is audited and answered exactly like a missing resource
/// (404; 403 for broker-wide actions, whose target is no secret). Work that
/// fails on the merits is rolled back to a savepoint and audited as
/// `rejected`. If an audit event cannot be written, nothing is committed
/// and the answer is [`ApiError::AuditUnavailable`].
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
    perform_marked(store, now, principal, request_id, access, work, None)
}

/// [`perform_in`], setting `mark` once the transaction with the event has
/// committed.
fn perform_marked<T, F>(
    store: &Store,
    now: DateTime<Utc>,
    principal: &Principal,
    request_id: Option<String>,
    access: Access,
    work: F,
    mark: Option<&AuditMark>,
) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConn, DateTime<Utc>) -> Result<T, ApiError>,
{
    // Stored times have millisecond precision; answer what will be stored.
    let now = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
    let mut event = AuditEvent::success(
        now,
        principal,
        AuditAction::new(access.action.crud(), access.action.as_str()),
        access.record,
        access.purpose,
    )
    .with_request_id(request_id)
    .with_data_subject(access.data_subject);
    event.on_behalf_of = access.on_behalf_of;
    // The event is related to the parties of the record it is about (the
    // privacy officers' scope, `Resource::parties`); a record that was not
    // found has none.
    let append = |conn: &mut DbConn, event: &AuditEvent, parties: &[Brin]| {
        audit::append_related(conn, event, parties)
            .map(|_| ())
            .map_err(ApiError::audit_failed)
    };

    let outcome = store.write(|conn| {
        let located = match access.target {
            Target::Known(resource) => Some(Located::from(resource)),
            Target::Lookup(locate) => locate(conn)?,
        };
        let Some(Located { resource, data_subject }) = located else {
            append(
                conn,
                &event.with_outcome(Outcome::Rejected, ApiError::NotFound.audit_reason()),
                &[],
            )?;
            return Ok(Err(ApiError::NotFound));
        };
        if data_subject.is_some() {
            event.data_subject = data_subject;
        }
        let mut parties = resource.parties();
        parties.extend(access.also_parties);
        if let Decision::Deny(reason) = authorize(principal, access.action, &resource) {
            append(conn, &event.denied(reason), &parties)?;
            return Ok(Err(match resource {
                Resource::Broker => ApiError::Forbidden,
                _ => ApiError::NotFound,
            }));
        }
        // A nested transaction is a savepoint: failed work leaves nothing
        // behind, while its audit event stays.
        match conn.transaction(|conn| work(conn, now)) {
            Ok(value) => {
                append(conn, &event, &parties)?;
                Ok(Ok(value))
            }
            Err(ApiError::AuditUnavailable) => Err(ApiError::AuditUnavailable),
            Err(err) => {
                append(
                    conn,
                    &event.with_outcome(Outcome::Rejected, err.audit_reason()),
                    &parties,
                )?;
                Ok(Err(err))
            }
        }
    });
    let outcome = outcome?;
    if let Some(mark) = mark {
        mark.set();
    }
    outcome
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
        AuditAction::new(action.crud(), action.as_str()),
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
