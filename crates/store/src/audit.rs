//! The audit log's storage.
//!
//! Each event is one row. `seq` is assigned here as `max(seq) + 1` inside
//! the caller's write transaction, so sequence numbers start at 1, have no
//! gaps and follow commit order, even with several broker nodes on one
//! PostgreSQL (which first takes `LOCK TABLE audit_events IN SHARE ROW
//! EXCLUSIVE MODE`, held to commit; SQLite's `BEGIN IMMEDIATE` already
//! serialises writers). `entry` holds the event's
//! [`AuditEvent::canonical_json`]: the exact bytes a Merkle log (RFC 9162)
//! will hash as leaf `seq - 1`, so the log can be added later without
//! rewriting any row. The other columns are copies for querying. The table
//! is append-only: triggers refuse `UPDATE` and `DELETE`.
//!
//! Append the event as the last statement of the transaction: on PostgreSQL
//! the table lock is held until commit, and every audited writer queues on
//! it.

use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::dsl::max;
use diesel::prelude::*;
use doorstroom_domain::{AuditEvent, Brin, Outcome, Pseudonym};

use crate::schema::audit_events;
use crate::{DbConn, StoreError, to_ms};

/// The most events one [`list`] call returns.
pub const MAX_LIST_LIMIT: i64 = 1000;

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
struct NewRow<'a> {
    seq: i64,
    time: i64,
    actor_kind: &'static str,
    actor_institution: Option<&'a str>,
    actor_id: Option<&'a str>,
    on_behalf_of: Option<String>,
    action_crud: &'static str,
    action_name: &'a str,
    resource_kind: &'a str,
    resource_id: Option<&'a str>,
    data_subject: Option<&'a str>,
    purpose: &'static str,
    outcome: &'static str,
    reason: Option<&'a str>,
    request_id: Option<&'a str>,
    entry: String,
}

/// Appends `event` in the current transaction and returns its sequence
/// number (the first event is 1). Must run inside [`crate::Store::write`]:
/// outside a transaction it fails with `NotInTransaction`. If this fails,
/// the caller must return the error so the whole transaction, and with it
/// the access being audited, rolls back.
pub fn append(conn: &mut DbConn, event: &AuditEvent) -> Result<i64, StoreError> {
    let depth = <DbConn as TransactionManager<DbConn>>::transaction_manager_status_mut(conn).transaction_depth()?;
    if depth.is_none() {
        return Err(StoreError::Database(diesel::result::Error::NotInTransaction));
    }
    if let DbConn::Postgres(c) = conn {
        c.batch_execute("LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE")?;
    }
    let last: Option<i64> = audit_events::table.select(max(audit_events::seq)).first(conn)?;
    let seq = last
        .unwrap_or(0)
        .checked_add(1)
        .ok_or_else(|| StoreError::Corrupt("audit_events.seq: out of range".into()))?;
    let row = NewRow {
        seq,
        time: to_ms(event.time),
        actor_kind: event.actor.kind.as_str(),
        actor_institution: event.actor.institution.as_ref().map(Brin::as_str),
        actor_id: event.actor.id.as_deref(),
        on_behalf_of: event.on_behalf_of.map(|id| id.to_string()),
        action_crud: event.action.crud.as_str(),
        action_name: &event.action.name,
        resource_kind: &event.resource.kind,
        resource_id: event.resource.id.as_deref(),
        data_subject: event.data_subject.as_ref().map(Pseudonym::as_str),
        purpose: event.purpose.as_str(),
        outcome: event.outcome.as_str(),
        reason: event.reason.as_deref(),
        request_id: event.request_id.as_deref(),
        entry: event.canonical_json(),
    };
    diesel::insert_into(audit_events::table).values(&row).execute(conn)?;
    Ok(seq)
}

/// A page of the audit log: events after `after_seq` (all if `None`),
/// matching every filter that is set, at most `limit` of them (clamped to
/// `0..=MAX_LIST_LIMIT`), in sequence order. Page on with the last seq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub after_seq: Option<i64>,
    pub limit: i64,
    pub actor_institution: Option<Brin>,
    pub data_subject: Option<Pseudonym>,
    pub outcome: Option<Outcome>,
}

impl Default for AuditQuery {
    fn default() -> Self {
        Self {
            after_seq: None,
            limit: MAX_LIST_LIMIT,
            actor_institution: None,
            data_subject: None,
            outcome: None,
        }
    }
}

/// The events matching `query`, with their sequence numbers, parsed back
/// from the stored canonical entry.
pub fn list(conn: &mut DbConn, query: &AuditQuery) -> Result<Vec<(i64, AuditEvent)>, StoreError> {
    let mut q = audit_events::table
        .select((audit_events::seq, audit_events::entry))
        .order(audit_events::seq.asc())
        .limit(query.limit.clamp(0, MAX_LIST_LIMIT))
        .into_boxed();
    if let Some(after) = query.after_seq {
        q = q.filter(audit_events::seq.gt(after));
    }
    if let Some(brin) = &query.actor_institution {
        q = q.filter(audit_events::actor_institution.eq(brin.as_str()));
    }
    if let Some(subject) = &query.data_subject {
        q = q.filter(audit_events::data_subject.eq(subject.as_str()));
    }
    if let Some(outcome) = query.outcome {
        q = q.filter(audit_events::outcome.eq(outcome.as_str()));
    }
    q.load::<(i64, String)>(conn)?
        .into_iter()
        .map(|(seq, entry)| {
            serde_json::from_str::<AuditEvent>(&entry)
                .map(|event| (seq, event))
                .map_err(|_| StoreError::Corrupt(format!("audit_events.entry: event {seq} does not parse")))
        })
        .collect()
}

/// The number of events in the log (equal to the highest seq).
pub fn count(conn: &mut DbConn) -> Result<i64, StoreError> {
    Ok(audit_events::table.count().get_result(conn)?)
}
