//! The audit log's storage.
//!
//! Each event is one row. `seq` is assigned here as `max(seq) + 1` inside
//! the caller's write transaction, so sequence numbers start at 1, have no
//! gaps and follow commit order, even with several broker nodes on one
//! PostgreSQL (which first takes `LOCK TABLE audit_events IN SHARE ROW
//! EXCLUSIVE MODE`, held to commit; SQLite's `BEGIN IMMEDIATE` already
//! serialises writers). `entry` holds the event's
//! [`AuditEvent::canonical_json`]: the exact bytes the Merkle log (RFC 9162,
//! [`crate::merkle`]) hashes as leaf `seq - 1`; [`append`] adds that leaf's
//! stored hashes in the same transaction. The other columns are copies for
//! querying, checked against the entry by [`verify_log`]. The tables are
//! append-only: triggers refuse `UPDATE` and `DELETE`, with one narrow
//! exception: the retention purge may delete events that are due and lie
//! below the latest signed checkpoint, their stored hashes staying
//! (`crate::retention::prune_audit`). The Merkle log's API
//! (tree hashes, proofs, checkpoints, verification) is re-exported here.
//!
//! Append the event as the last statement of the transaction: on PostgreSQL
//! the table lock is held until commit, and every audited writer queues on
//! it.
//!
//! # Relations
//! With an event about a student, [`append`] records in
//! `audit_event_relations` the institutions the student is tied to at that
//! moment: where they have an application (the mbo and the sending school
//! named in it) and who sent or received a package for them. When a tie is
//! new (the previous event about the student lacks it), the student's
//! earlier events are related to that institution too, so the scope is the
//! one the search had when it joined the applications and packages at query
//! time: every event about a student tied to the institution. An
//! institution's privacy officer finds events by these rows
//! ([`AuditQuery::related_to`]), so the tie outlives the applications and
//! packages, which the purge and erasure delete years before the events go.
//! The rows are not part of the Merkle leaf; they are only ever inserted
//! (and go with their event when old events are pruned).
//!
//! A deletion (the purge's and the erasure's events, [`CrudKind::Delete`])
//! removes the very rows the relation is read from, before its event is
//! appended. So a successful deletion event also takes the relations of the
//! student's previous event: every change to a student's applications and packages
//! is audited about the student, so that event recorded the ties as they
//! were just before the deletion (in a purge batch or erasure with several
//! events, the first one passes them on to the next).

use chrono::{DateTime, Utc};
use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::dsl::{exists, max, not};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use doorstroom_domain::{AuditEvent, Brin, CrudKind, Outcome, Pseudonym};

use crate::merkle;
use crate::schema::{applications, audit_event_relations, audit_events, packages};
use crate::{DbConn, StoreError, to_ms};

pub use crate::merkle::{
    Checkpoint, MAX_ENTRIES, ProofError, TamperError, TreeBuilder, VerifiedLog, check_consistency, check_inclusion,
    checkpoint, consistency_proof, entries, inclusion_proof, latest_checkpoint, leaf_hash, record_checkpoint,
    tree_hash, tree_size, verify_entries, verify_log,
};

/// The most events one [`list`] call returns.
pub const MAX_LIST_LIMIT: i64 = 1000;

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

/// Appends `event` in the current transaction and returns its sequence
/// number (the first event is 1), together with its leaf and the stored
/// hashes it completes in the Merkle log ([`crate::merkle`]), in the same
/// transaction. Must run inside [`crate::Store::write`]:
/// outside a transaction it fails with `NotInTransaction`. If this fails,
/// the caller must return the error so the whole transaction, and with it
/// the access being audited, rolls back. It also fails if the stored hashes
/// it builds on are missing or unreadable: a damaged log stops the accesses
/// it would record (fail closed).
pub fn append(conn: &mut DbConn, event: &AuditEvent) -> Result<i64, StoreError> {
    let depth = <DbConn as TransactionManager<DbConn>>::transaction_manager_status_mut(conn).transaction_depth()?;
    if depth.is_none() {
        return Err(StoreError::Database(diesel::result::Error::NotInTransaction));
    }
    lock_tail(conn)?;
    let last: Option<i64> = audit_events::table.select(max(audit_events::seq)).first(conn)?;
    let seq = last
        .unwrap_or(0)
        .checked_add(1)
        .ok_or_else(|| StoreError::Corrupt("audit_events.seq: out of range".into()))?;
    let row = Row::new(seq, event);
    diesel::insert_into(audit_events::table).values(&row).execute(conn)?;
    merkle::append_leaf(conn, seq, row.entry.as_bytes())?;
    if let Some(subject) = &event.data_subject {
        // Only a deletion that happened took the rows away.
        let deletion = event.action.crud == CrudKind::Delete && event.outcome == Outcome::Success;
        relate(conn, seq, subject, deletion)?;
    }
    Ok(seq)
}

/// Records the institutions event `seq` about `subject` is related to (see
/// the module documentation), in one deduplicating `INSERT … SELECT`. A
/// `deletion` also takes the relations of the subject's previous event.
/// Then relates the subject's earlier events to the institutions the
/// subject is newly tied to ([`catch_up`]).
fn relate(conn: &mut DbConn, seq: i64, subject: &Pseudonym, deletion: bool) -> Result<(), StoreError> {
    let student = subject.as_str();
    let previous_of_subject = |conn: &mut DbConn| -> Result<Option<i64>, StoreError> {
        Ok(audit_events::table
            .filter(audit_events::data_subject.eq(student))
            .filter(audit_events::seq.lt(seq))
            .select(max(audit_events::seq))
            .first(conn)?)
    };
    // Only a deletion inherits, so only a deletion needs the previous event
    // before its own relations are written.
    let inherit_from: Option<i64> = if deletion { previous_of_subject(conn)? } else { None };
    let this = || seq.into_sql::<BigInt>();
    let receiving = applications::table
        .filter(applications::student.eq(student))
        .select((this(), applications::receiving));
    let sending = applications::table
        .filter(applications::student.eq(student))
        .filter(applications::sending.is_not_null())
        .select((this(), applications::sending.assume_not_null()));
    let sender = packages::table
        .filter(packages::student.eq(student))
        .select((this(), packages::sender));
    let recipient = packages::table
        .filter(packages::student.eq(student))
        .select((this(), packages::recipient));
    let inherited = audit_event_relations::table
        .filter(audit_event_relations::seq.eq_any(inherit_from.into_iter().collect::<Vec<_>>()))
        .select((this(), audit_event_relations::institution));
    // UNION (not UNION ALL) removes the duplicates the primary key refuses.
    let related = receiving.union(sending).union(sender).union(recipient).union(inherited);
    let insert = diesel::insert_into(audit_event_relations::table)
        .values(related)
        .into_columns((audit_event_relations::seq, audit_event_relations::institution));
    // Both backends have UNION; diesel's MultiConnection does not pass it
    // through, so the statement runs on the inner connection.
    let related = match conn {
        DbConn::Sqlite(c) => insert.execute(c)?,
        DbConn::Postgres(c) => insert.execute(c)?,
    };
    // An event related to no institution has no new tie to catch up on:
    // the usual case for a student not yet applied anywhere (consents,
    // inspections at the school) costs one statement, not three.
    if related == 0 {
        return Ok(());
    }
    let previous = if deletion {
        inherit_from
    } else {
        previous_of_subject(conn)?
    };
    match previous {
        Some(previous) => catch_up(conn, seq, previous, student),
        None => Ok(()),
    }
}

diesel::alias!(audit_event_relations as previous_event: PreviousEvent);

/// The institutions of event `seq` that the subject's `previous` event does
/// not have are ties that just appeared (an application, a package):
/// relates the subject's earlier events to them too, as the search did when
/// it joined at query time, so that the mbo's officer also finds what
/// happened to the student's file before it applied there (the vo's
/// inspections and consents).
///
/// The new ties are found first, from the two events' relations alone; in
/// the usual case there are none and that one query is all. (A single
/// `INSERT … SELECT` over the earlier events made SQLite walk every earlier
/// event of the student on every append.)
fn catch_up(conn: &mut DbConn, seq: i64, previous: i64, student: &str) -> Result<(), StoreError> {
    use audit_event_relations::{institution, seq as relation_seq};
    let known_before = previous_event
        .filter(previous_event.field(relation_seq).eq(previous))
        .filter(previous_event.field(institution).eq(institution));
    let new_ties: Vec<String> = audit_event_relations::table
        .filter(relation_seq.eq(seq))
        .filter(not(exists(known_before)))
        .select(institution)
        .load(conn)?;
    for tie in new_ties {
        let related_already = audit_event_relations::table
            .filter(relation_seq.eq(audit_events::seq))
            .filter(institution.eq(tie.as_str()));
        let earlier = audit_events::table
            .filter(audit_events::data_subject.eq(student))
            .filter(audit_events::seq.lt(seq))
            .filter(not(exists(related_already)))
            .select((audit_events::seq, tie.as_str().into_sql::<Text>()));
        diesel::insert_into(audit_event_relations::table)
            .values(earlier)
            .into_columns((relation_seq, institution))
            .execute(conn)?;
    }
    Ok(())
}

/// On PostgreSQL, takes the lock that serialises appenders (held to
/// commit); SQLite's `BEGIN IMMEDIATE` already has.
pub(crate) fn lock_tail(conn: &mut DbConn) -> Result<(), StoreError> {
    if let DbConn::Postgres(c) = conn {
        c.batch_execute("LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE")?;
    }
    Ok(())
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
    /// The staff id or certificate fingerprint of the actor.
    pub actor_id: Option<String>,
    /// The action's name, e.g. `pull_package`.
    pub action: Option<String>,
    /// Events at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Events before this time.
    pub until: Option<DateTime<Utc>>,
    /// An institution's privacy officer's scope: events in which the
    /// institution acted, or whose data subject has or had an application
    /// there, or a package sent by or to it (the event's relations, kept
    /// after those are deleted; see the module documentation).
    pub related_to: Option<Brin>,
}

impl Default for AuditQuery {
    fn default() -> Self {
        Self {
            after_seq: None,
            limit: MAX_LIST_LIMIT,
            actor_institution: None,
            data_subject: None,
            outcome: None,
            actor_id: None,
            action: None,
            from: None,
            until: None,
            related_to: None,
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
    if let Some(actor) = &query.actor_id {
        q = q.filter(audit_events::actor_id.eq(actor.as_str()));
    }
    if let Some(action) = &query.action {
        q = q.filter(audit_events::action_name.eq(action.as_str()));
    }
    if let Some(from) = query.from {
        q = q.filter(audit_events::time.ge(to_ms(from)));
    }
    if let Some(until) = query.until {
        q = q.filter(audit_events::time.lt(to_ms(until)));
    }
    if let Some(brin) = &query.related_to {
        // One probe of the relations' primary key per candidate event.
        let related = audit_event_relations::table
            .filter(audit_event_relations::institution.eq(brin.as_str()))
            .filter(audit_event_relations::seq.eq(audit_events::seq));
        q = q.filter(audit_events::actor_institution.eq(brin.as_str()).or(exists(related)));
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

/// How many successful `action`s the actor with `actor_id` performed since
/// `since` (for the anomaly signal).
pub fn count_actions_since(
    conn: &mut DbConn,
    actor_id: &str,
    action: &str,
    since: DateTime<Utc>,
) -> Result<i64, StoreError> {
    Ok(audit_events::table
        .filter(audit_events::actor_id.eq(actor_id))
        .filter(audit_events::action_name.eq(action))
        .filter(audit_events::outcome.eq(Outcome::Success.as_str()))
        .filter(audit_events::time.ge(to_ms(since)))
        .count()
        .get_result(conn)?)
}

/// The number of events the table holds: the highest seq less the events
/// pruned under the retention policy.
pub fn count(conn: &mut DbConn) -> Result<i64, StoreError> {
    Ok(audit_events::table.count().get_result(conn)?)
}
