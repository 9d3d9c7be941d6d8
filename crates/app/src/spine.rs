//! The audit spine: every use case that reads or changes data runs
//! through [`perform_in`], which locates the target, asks the domain's
//! policy, runs the work and appends the audit event, all in one database
//! transaction. If the event cannot be written the transaction rolls back
//! and the caller gets `AuditUnavailable`: no access without its record.
//! Work that fails on its merits rolls the transaction back too, and its
//! `rejected` event is written right after in one of its own: an access
//! that did not happen, recorded.
//!
//! The work gets a [`Ctx`]: the connection, the one time of the access and
//! [`Ctx::record`] for the events a use case records next to its own (an
//! inbox entry listed, a section withdrawn, an anomaly), so that those carry
//! the same actor, request and purpose and live or die with the work.

use chrono::{DateTime, Utc};
use doorstroom_domain::{
    Action, AuditAction, AuditEvent, Brin, Decision, Outcome, Principal, Pseudonym, Purpose, Resource, ResourceRef,
    SideEvent, StaffId, authorize,
};
use doorstroom_store::{DbConn, Store, audit};

use crate::error::{AppError, AuditFailed};

type Locate = Box<dyn FnOnce(&mut DbConn) -> Result<Option<Located>, AppError> + Send>;

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
    /// About how many bytes the work writes (a package's envelope), so
    /// that a batch of large writes commits early (`Store::write_sized`).
    pub bytes: usize,
    /// Whether the lookup writes what must stay when the work fails
    /// ([`Access::keeping_lookup_writes`]).
    pub lookup_writes: bool,
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
            bytes: 0,
            lookup_writes: false,
        }
    }

    pub fn lookup(
        action: Action,
        locate: impl FnOnce(&mut DbConn) -> Result<Option<Located>, AppError> + Send + 'static,
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
            bytes: 0,
            lookup_writes: false,
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

    /// The same access, writing about `bytes` bytes.
    pub fn sized(mut self, bytes: usize) -> Self {
        self.bytes = bytes;
        self
    }

    /// The same access, whose lookup writes what must stay even when the
    /// work fails: a wrong code counted toward its link's lock. Its work
    /// then runs in a savepoint and its refusal is recorded in the same
    /// transaction (two statements more). Any other failed work is rolled
    /// back with its whole transaction, lookup included ([`Unwound`]).
    pub fn keeping_lookup_writes(mut self) -> Self {
        self.lookup_writes = true;
        self
    }

    /// The same access by a system on behalf of `staff`.
    pub fn on_behalf_of(mut self, staff: Option<StaffId>) -> Self {
        self.on_behalf_of = staff;
        self
    }
}

/// Whether a request's audit event has been written (the HTTP side
/// records a refusal itself only when nothing else did).
#[derive(Debug, Clone, Default)]
pub struct AuditMark(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl AuditMark {
    pub fn set(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Release);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// Who asks, and under which request: what every audit event of one
/// access carries.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub principal: &'a Principal,
    /// The request id (the HTTP request's; `None` from the command line).
    pub request_id: Option<&'a str>,
    /// Set once an access of this request has committed its event.
    pub mark: Option<&'a AuditMark>,
}

impl<'a> Caller<'a> {
    pub fn new(principal: &'a Principal, request_id: Option<&'a str>) -> Self {
        Self {
            principal,
            request_id,
            mark: None,
        }
    }

    /// The same caller, whose request `mark` tells was audited.
    pub fn marking(mut self, mark: &'a AuditMark) -> Self {
        self.mark = Some(mark);
        self
    }
}

/// An event a use case records next to its own access (see
/// [`Ctx::record`]). By default it carries the access's actor, request,
/// purpose and data subject, and relates to no institution.
pub struct Side {
    event: SideEvent,
    resource: ResourceRef,
    data_subject: Option<Option<Pseudonym>>,
    purpose: Option<Purpose>,
    parties: Vec<Brin>,
    reason: Option<String>,
    on_behalf_of: Option<Option<StaffId>>,
}

impl Side {
    pub fn new(event: SideEvent, resource: ResourceRef) -> Self {
        Self {
            event,
            resource,
            data_subject: None,
            purpose: None,
            parties: Vec::new(),
            reason: None,
            on_behalf_of: None,
        }
    }

    /// About `subject` instead of the access's data subject.
    pub fn about(mut self, subject: Option<Pseudonym>) -> Self {
        self.data_subject = Some(subject);
        self
    }

    /// For `purpose` instead of the access's.
    pub fn purpose(mut self, purpose: Purpose) -> Self {
        self.purpose = Some(purpose);
        self
    }

    /// Related to `parties`: their privacy officers find it.
    pub fn related_to(mut self, parties: impl IntoIterator<Item = Brin>) -> Self {
        self.parties.extend(parties);
        self
    }

    /// With a reason (a retention rule, an erasure request).
    pub fn because(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// On behalf of `staff` instead of the access's.
    pub fn on_behalf_of(mut self, staff: Option<StaffId>) -> Self {
        self.on_behalf_of = Some(staff);
        self
    }
}

/// What the work of an access gets: the transaction, the one time of the
/// access, and a way to record side events in it.
pub struct Ctx<'a> {
    pub conn: &'a mut DbConn,
    /// The time of the access, at the precision it is stored with.
    pub now: DateTime<Utc>,
    caller: Caller<'a>,
    purpose: Purpose,
    data_subject: Option<Pseudonym>,
    on_behalf_of: Option<StaffId>,
}

impl<'a> Ctx<'a> {
    /// The context of `event`'s access, on `conn`.
    fn of(conn: &'a mut DbConn, caller: Caller<'a>, event: &AuditEvent) -> Self {
        Ctx {
            conn,
            now: event.time,
            caller,
            purpose: event.purpose,
            data_subject: event.data_subject.clone(),
            on_behalf_of: event.on_behalf_of,
        }
    }

    pub fn principal(&self) -> &Principal {
        self.caller.principal
    }

    pub fn request_id(&self) -> Option<&str> {
        self.caller.request_id
    }

    /// Appends `side` to the audit log in this transaction: it commits
    /// with the work, or not at all.
    pub fn record(&mut self, side: Side) -> Result<(), AuditFailed> {
        let mut event = AuditEvent::success(
            self.now,
            self.caller.principal,
            AuditAction::from(side.event),
            side.resource,
            side.purpose.unwrap_or(self.purpose),
        )
        .with_request_id(self.caller.request_id.map(str::to_owned))
        .with_data_subject(side.data_subject.unwrap_or_else(|| self.data_subject.clone()));
        event.on_behalf_of = side.on_behalf_of.unwrap_or(self.on_behalf_of);
        event.reason = side.reason;
        audit::append_related(self.conn, &event, &side.parties)
            .map(|_| ())
            .map_err(AuditFailed)
    }
}

/// The time an access at `now` is recorded with: stored times have
/// millisecond precision, and an access answers what will be stored. A
/// use case that prepares work before its transaction (a receipt signed
/// for this time) passes this same time to [`perform_in`].
pub fn access_time(now: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

/// Authorizes `access` for `caller`, runs `work` and audits the outcome in
/// one transaction. A denial is audited and answered exactly like a
/// missing resource (not found; forbidden for broker-wide actions, whose
/// target is no secret). Work that fails on the merits is rolled back with
/// its whole transaction and audited as `rejected` in a write of its own
/// ([`Unwound::Rejected`]). If an audit event cannot be written, nothing is
/// committed and the answer is the audit failure.
pub fn perform_in<T, F>(
    store: &Store,
    now: DateTime<Utc>,
    caller: Caller<'_>,
    access: Access,
    work: F,
) -> Result<T, AppError>
where
    F: FnOnce(&mut Ctx<'_>) -> Result<T, AppError>,
{
    let outcome = perform_committed(store, now, caller, access, work)?;
    if let Some(mark) = caller.mark {
        mark.set();
    }
    outcome
}

/// [`perform_in`], telling apart an answer that was committed with its
/// audit event (`Ok`, whatever the work's own outcome) from one where
/// nothing was (`Err`): the HTTP side marks a request audited on `Ok`.
pub fn perform_committed<T, F>(
    store: &Store,
    now: DateTime<Utc>,
    caller: Caller<'_>,
    access: Access,
    work: F,
) -> Result<Result<T, AppError>, AppError>
where
    F: FnOnce(&mut Ctx<'_>) -> Result<T, AppError>,
{
    let now = access_time(now);
    let mut event = AuditEvent::success(
        now,
        caller.principal,
        AuditAction::from(access.action),
        access.record,
        access.purpose,
    )
    .with_request_id(caller.request_id.map(str::to_owned))
    .with_data_subject(access.data_subject);
    event.on_behalf_of = access.on_behalf_of;
    let (action, also_parties, lookup_writes) = (access.action, access.also_parties, access.lookup_writes);

    let written = store.write_sized(access.bytes, |conn| {
        let located = match access.target {
            Target::Known(resource) => Some(Located::from(resource)),
            Target::Lookup(locate) => locate(conn)?,
        };
        let Some(Located { resource, data_subject }) = located else {
            let refusal = AppError::NotFound;
            let event = event.with_outcome(Outcome::Rejected, refusal.slug());
            append(conn, &event, &[])?;
            return Ok(Err(refusal));
        };
        if data_subject.is_some() {
            event.data_subject = data_subject;
        }
        // The event is related to the parties of the record it is about
        // (the privacy officers' scope, `Resource::parties`); a record that
        // was not found has none.
        let mut parties = resource.parties();
        parties.extend(also_parties);
        if let Decision::Deny(reason) = authorize(caller.principal, action, &resource) {
            append(conn, &event.denied(reason), &parties)?;
            return Ok(Err(match resource {
                Resource::Broker => AppError::Forbidden,
                _ => AppError::NotFound,
            }));
        }
        run_audited(conn, caller, event, parties, lookup_writes, work)
    });
    match written {
        Ok(answer) => Ok(answer),
        Err(Unwound::Failed(err)) => Err(err),
        Err(Unwound::Rejected(rejected)) => {
            let Rejected { event, parties, error } = *rejected;
            store.write(|conn| append(conn, &event, &parties))?;
            Ok(Err(error))
        }
    }
}

/// Why an access's write was rolled back.
enum Unwound {
    /// Nothing commits, and this is the answer: the audit event could not
    /// be written, or the database failed.
    Failed(AppError),
    /// The work failed on its merits. Everything it did is undone with the
    /// transaction, and its event is appended as `rejected` in a write of
    /// its own. This costs a failure a second write, but spares every
    /// success the savepoint it would otherwise need: on PostgreSQL a
    /// failed statement poisons its transaction, so work that shares one
    /// with its rejection's record would have to run in a savepoint (two
    /// statements, on PostgreSQL two round trips, for every access).
    Rejected(Box<Rejected>),
}

/// The record of a rejected access, to be written after the rollback.
struct Rejected {
    event: AuditEvent,
    parties: Vec<Brin>,
    error: AppError,
}

impl From<AppError> for Unwound {
    fn from(err: AppError) -> Self {
        Unwound::Failed(err)
    }
}

impl From<doorstroom_store::StoreError> for Unwound {
    fn from(err: doorstroom_store::StoreError) -> Self {
        Unwound::Failed(AppError::from(err))
    }
}

/// Runs allowed `work` and appends `event` with its outcome. Work that
/// fails leaves nothing behind (its side events neither): the write rolls
/// back, and its event is written after ([`Unwound::Rejected`]). Only for
/// an access whose lookup wrote what must stay
/// ([`Access::keeping_lookup_writes`]) the work runs in a savepoint, so
/// that its failure undoes only the work, and the refusal is appended in
/// the same transaction as the lookup's writes.
fn run_audited<T, F>(
    conn: &mut DbConn,
    caller: Caller<'_>,
    event: AuditEvent,
    parties: Vec<Brin>,
    keep_lookup_writes: bool,
    work: F,
) -> Result<Result<T, AppError>, Unwound>
where
    F: FnOnce(&mut Ctx<'_>) -> Result<T, AppError>,
{
    let done = if keep_lookup_writes {
        use diesel::Connection;
        conn.transaction(|conn| work(&mut Ctx::of(conn, caller, &event)))
    } else {
        work(&mut Ctx::of(conn, caller, &event))
    };
    match done {
        Ok(value) => {
            append(conn, &event, &parties)?;
            Ok(Ok(value))
        }
        Err(AppError::AuditUnavailable) => Err(Unwound::Failed(AppError::AuditUnavailable)),
        Err(error) => {
            let event = event.with_outcome(Outcome::Rejected, error.slug());
            if keep_lookup_writes {
                append(conn, &event, &parties)?;
                return Ok(Err(error));
            }
            Err(Unwound::Rejected(Box::new(Rejected { event, parties, error })))
        }
    }
}

/// Appends the event of an access, related to `parties`.
fn append(conn: &mut DbConn, event: &AuditEvent, parties: &[Brin]) -> Result<(), AppError> {
    audit::append_related(conn, event, parties)
        .map(|_| ())
        .map_err(AppError::audit_failed)
}
