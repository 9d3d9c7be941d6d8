//! Reading the audit log: a page of events, and the search (the API's,
//! its CSV export and the web console's). Reading is itself an access:
//! audited, for the purpose of supervision, within the reader's scope
//! ([`AuditScope`], the domain's rule; the store filters by it).

use doorstroom_api::audit::{AuditSearch, EventPage, SequencedEvent};
use doorstroom_domain::{Action, AuditScope, Brin, Outcome, Purpose, ResourceKind, ResourceRef};
use doorstroom_store::DbConn;
use doorstroom_store::audit::{self, AuditQuery};

use crate::{Access, App, AppError, Caller, perform_in};

/// Events on a page unless the reader asks for another number.
const DEFAULT_LIMIT: i64 = 100;
/// The most events on one page.
const MAX_LIMIT: i64 = 1000;
const LIMIT_RULE: &str = "limit: must be between 1 and 1000";

/// A page of the log, as `GET /v1/audit/events` asks for it.
#[derive(Debug, Clone, Default)]
pub struct ReadAuditEvents {
    /// Only this institution's part ([`AuditScope::named`]).
    pub institution: Option<Brin>,
    pub outcome: Option<Outcome>,
    /// Keyset pagination: events after this sequence number.
    pub after: Option<i64>,
    /// 1 to 1000, default 100.
    pub limit: Option<i64>,
}

/// Reads a page of the audit log in the part `query` names. Who may: the
/// broker's privacy officer (all of it, or any institution's part), an
/// institution's privacy officer (their own institution's part, which
/// they must name). Records `read_audit_log` on the part read.
pub fn read_audit_events(app: &App, caller: Caller<'_>, query: ReadAuditEvents) -> Result<EventPage, AppError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::Malformed {
            detail: LIMIT_RULE.into(),
            pointer: None,
        });
    }
    let scope = AuditScope::named(query.institution);
    let filter = AuditQuery {
        after_seq: query.after,
        limit,
        related_to: scope.institution().cloned(),
        outcome: query.outcome,
        ..Default::default()
    };
    perform_in(&app.store, app.clock.now(), caller, access(&scope), |ctx| {
        page(ctx.conn, &filter)
    })
}

/// Searches the audit log by student, actor, institution, action, outcome
/// and period, a page at a time (keyset on `seq`): the one search of the
/// API, its export and the web console. Checks the period and page size,
/// turns the student number into the pseudonym and holds an institution's
/// principal to their own institution ([`AuditScope::of_search`]). Who
/// may: the privacy officers (see [`read_audit_events`]). Records
/// `read_audit_log` on the scope read, about the student if one was named.
pub fn search_audit_log(app: &App, caller: Caller<'_>, search: AuditSearch) -> Result<EventPage, AppError> {
    let limit = search.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::invalid("/limit", LIMIT_RULE));
    }
    if let (Some(from), Some(until)) = (search.from, search.until)
        && from >= until
    {
        return Err(AppError::invalid("/until", "until: must lie after from"));
    }
    let scope = AuditScope::of_search(caller.principal, search.institution);
    let subject = search.student_number.as_ref().map(|n| app.pseudonym_of(n));
    let mut access = access(&scope);
    if let Some(subject) = &subject {
        access = access.about(subject.clone());
    }
    let filter = AuditQuery {
        after_seq: search.after,
        limit,
        data_subject: subject,
        outcome: search.outcome,
        actor_id: search.actor,
        action: search.action,
        from: search.from,
        until: search.until,
        related_to: scope.institution().cloned(),
        ..Default::default()
    };
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        page(ctx.conn, &filter)
    })
}

/// Reading the log in `scope`, as the policy is asked and the log names it.
fn access(scope: &AuditScope) -> Access {
    Access::new(
        Action::ReadAuditLog,
        scope.resource(),
        ResourceRef::new(ResourceKind::AuditLog, scope.institution().map(Brin::to_string)),
        Purpose::Supervision,
    )
}

/// The events `filter` selects, with the seq to page on from when the page
/// is full.
fn page(conn: &mut DbConn, filter: &AuditQuery) -> Result<EventPage, AppError> {
    let rows = audit::list(conn, filter)?;
    let next_after = if rows.len() as i64 == filter.limit {
        rows.last().map(|(seq, _)| *seq)
    } else {
        None
    };
    Ok(EventPage {
        events: rows
            .into_iter()
            .map(|(seq, event)| SequencedEvent { seq, event })
            .collect(),
        next_after,
    })
}
