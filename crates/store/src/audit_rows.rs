//! What the audit log (module `audit`) and its Merkle tree (module
//! `merkle`) both need of the `audit_events` table: its row as
//! written and read back, and the lock that serialises appenders. Kept
//! apart so that `audit` depends on `merkle` and not the other way round
//! (`merkle` verifies rows against their entries and takes the tail lock
//! to write hashes; `audit` appends rows and their leaves).

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use doorstroom_domain::AuditEvent;

use crate::schema::audit_events;
use crate::{DbConn, StoreError, to_ms};

/// One `audit_events` row, as written and as read back (all columns in
/// table order).
#[derive(Debug, Clone, PartialEq, Eq, Insertable, Queryable)]
#[diesel(table_name = audit_events)]
pub(crate) struct Row {
    pub(crate) seq: i64,
    pub(crate) time: i64,
    pub(crate) actor_kind: String,
    pub(crate) actor_institution: Option<String>,
    pub(crate) actor_id: Option<String>,
    pub(crate) on_behalf_of: Option<String>,
    pub(crate) action_crud: String,
    pub(crate) action_name: String,
    pub(crate) resource_kind: String,
    pub(crate) resource_id: Option<String>,
    pub(crate) data_subject: Option<String>,
    pub(crate) purpose: String,
    pub(crate) outcome: String,
    pub(crate) reason: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) entry: String,
}

impl Row {
    /// The row that stores `event` as event `seq`.
    pub(crate) fn new(seq: i64, event: &AuditEvent) -> Row {
        Row {
            seq,
            time: to_ms(event.time),
            actor_kind: event.actor.kind.as_str().to_owned(),
            actor_institution: event.actor.institution.as_ref().map(|b| b.as_str().to_owned()),
            actor_id: event.actor.id.clone(),
            on_behalf_of: event.on_behalf_of.map(|id| id.to_string()),
            action_crud: event.action.crud.as_str().to_owned(),
            action_name: event.action.name.clone(),
            resource_kind: event.resource.kind.clone(),
            resource_id: event.resource.id.clone(),
            data_subject: event.data_subject.as_ref().map(|p| p.as_str().to_owned()),
            purpose: event.purpose.as_str().to_owned(),
            outcome: event.outcome.as_str().to_owned(),
            reason: event.reason.clone(),
            request_id: event.request_id.clone(),
            entry: event.canonical_json(),
        }
    }

    /// Whether a text column holds a NUL character, which PostgreSQL's
    /// `TEXT` cannot store (the entry escapes it, the copies do not).
    pub(crate) fn has_nul(&self) -> bool {
        let texts = [
            Some(&self.actor_kind),
            self.actor_institution.as_ref(),
            self.actor_id.as_ref(),
            self.on_behalf_of.as_ref(),
            Some(&self.action_crud),
            Some(&self.action_name),
            Some(&self.resource_kind),
            self.resource_id.as_ref(),
            self.data_subject.as_ref(),
            Some(&self.purpose),
            Some(&self.outcome),
            self.reason.as_ref(),
            self.request_id.as_ref(),
            Some(&self.entry),
        ];
        texts.into_iter().flatten().any(|text| text.contains('\0'))
    }

    /// The name of the first column in which `self` and `other` differ.
    pub(crate) fn first_difference(&self, other: &Row) -> Option<&'static str> {
        let columns = [
            ("seq", self.seq == other.seq),
            ("time", self.time == other.time),
            ("actor_kind", self.actor_kind == other.actor_kind),
            ("actor_institution", self.actor_institution == other.actor_institution),
            ("actor_id", self.actor_id == other.actor_id),
            ("on_behalf_of", self.on_behalf_of == other.on_behalf_of),
            ("action_crud", self.action_crud == other.action_crud),
            ("action_name", self.action_name == other.action_name),
            ("resource_kind", self.resource_kind == other.resource_kind),
            ("resource_id", self.resource_id == other.resource_id),
            ("data_subject", self.data_subject == other.data_subject),
            ("purpose", self.purpose == other.purpose),
            ("outcome", self.outcome == other.outcome),
            ("reason", self.reason == other.reason),
            ("request_id", self.request_id == other.request_id),
            ("entry", self.entry == other.entry),
        ];
        columns.into_iter().find(|(_, same)| !same).map(|(name, _)| name)
    }
}

/// On PostgreSQL, takes the lock that serialises appenders (held to
/// commit); SQLite's `BEGIN IMMEDIATE` already has.
pub(crate) fn lock_tail(conn: &mut DbConn) -> Result<(), StoreError> {
    if let DbConn::Postgres(c) = conn {
        c.batch_execute("LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE")?;
    }
    Ok(())
}
