//! The audit log's storage.
//!
//! Each event is one row. `seq` is `max(seq) + 1` when the event is
//! numbered, so sequence numbers start at 1, have no gaps and follow
//! commit order, even with several broker nodes on one PostgreSQL. SQLite
//! numbers it in the caller's write transaction (`BEGIN IMMEDIATE`
//! excludes other writers); PostgreSQL queues it in that transaction and
//! numbers it under the tail lock (`LOCK TABLE audit_events IN SHARE ROW
//! EXCLUSIVE MODE`) just after the commit, for every write waiting at
//! once (`crate::sequencer`). `entry` holds the event's
//! [`AuditEvent::canonical_json`]: the exact bytes the Merkle log (RFC 9162,
//! [`crate::merkle`]) hashes as leaf `seq - 1`; numbering adds that leaf's
//! stored hashes in the same transaction. The other columns are copies for
//! querying, checked against the entry by [`verify_log`]. The tables are
//! append-only: triggers refuse `UPDATE` and `DELETE`, with one narrow
//! exception: the retention purge may delete events that are due and lie
//! below the latest signed checkpoint, their stored hashes staying
//! (`crate::retention::prune_audit`). The Merkle log's API
//! (tree hashes, proofs, checkpoints, verification) is re-exported here.
//!
//! # Relations
//! With an event about a student, [`append_related`] records in
//! `audit_event_relations` the institutions party to the record the event
//! is about, as the caller knows them at that moment (the domain's
//! `Resource::parties`: an application's receiving mbo and sending school,
//! a package's sender and recipient, the school whose ledger it is). The
//! actor's own institution needs no row: [`AuditQuery::related_to`] also
//! matches the actor. An institution's privacy officer finds events by
//! these rows, so the tie outlives the applications and packages, which the
//! purge and erasure delete years before the events go; the purge and
//! erasure name the parties of the records they delete themselves, read
//! before the deletion.
//!
//! Relations are never added afterwards: a later application or package
//! ties the institution to the events about *that* record from then on, not
//! to the student's earlier events (an earlier "catch-up" did, so that an
//! mbo registering an application for any student number saw another
//! mbo's intake; migration `2026-03-11-000000_audit_scope` removed what it
//! had added). The rows are not part of the Merkle leaf; they are
//! only ever inserted in the event's transaction (and go with their event
//! when old events are pruned).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use diesel::backend::Backend;
use diesel::connection::TransactionManager;
use diesel::dsl::{exists, max};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType, Text};
use doorstroom_domain::{AuditEvent, Brin, Outcome, Pseudonym};

use crate::audit_rows::Row;
use crate::merkle;
use crate::schema::{audit_event_relations, audit_events};
use crate::{DbConn, StoreError, to_ms};

pub use crate::merkle::{
    Checkpoint, MAX_ENTRIES, ProofError, TamperError, TreeBuilder, VerifiedLog, check_consistency, check_inclusion,
    checkpoint, consistency_proof, entries, inclusion_proof, latest_checkpoint, leaf_hash, record_checkpoint,
    tree_hash, tree_size, verify_entries, verify_log,
};

/// The most events one [`list`] call returns.
pub const MAX_LIST_LIMIT: i64 = 1000;

/// Appends `event` in the current transaction, with its leaf and the
/// stored hashes it completes in the Merkle log ([`crate::merkle`]). Must
/// run inside [`crate::Store::write`]: outside a transaction it fails with
/// `NotInTransaction`. If this fails, the caller must return the error so
/// the whole transaction, and with it the access being audited, rolls
/// back.
///
/// Where the sequence number is given:
/// * SQLite: here, in the transaction (`max(seq) + 1`; the write
///   transaction excludes other writers). It also fails if the stored
///   hashes it builds on are missing or unreadable: a damaged log stops
///   the accesses it would record (fail closed).
/// * PostgreSQL: the event is queued in the transaction and numbered just
///   after its commit, before [`crate::Store::write`] returns, for many
///   writes at once (`crate::sequencer`); a damaged log fails that step,
///   and with it the write's answer.
///
/// The event is related to no institution but its actor's: for an event
/// about a student's record, use [`append_related`] with the record's
/// parties.
pub fn append(conn: &mut DbConn, event: &AuditEvent) -> Result<(), StoreError> {
    append_related(conn, event, &[])
}

/// [`append`], and relates the event to `parties`: the institutions party
/// to the record it is about (see the module documentation). Only an event
/// about a student is related: an institution's privacy officer supervises
/// what happens to personal data; other events are in the scope of the
/// institution that acted alone. Duplicates are dropped.
pub fn append_related(conn: &mut DbConn, event: &AuditEvent, parties: &[Brin]) -> Result<(), StoreError> {
    let depth = <DbConn as TransactionManager<DbConn>>::transaction_manager_status_mut(conn).transaction_depth()?;
    if depth.is_none() {
        return Err(StoreError::Database(diesel::result::Error::NotInTransaction));
    }
    let related: Vec<&str> = match event.data_subject {
        // A record has at most two parties.
        Some(_) => parties
            .iter()
            .map(Brin::as_str)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        None => Vec::new(),
    };
    match conn {
        DbConn::Postgres(c) => crate::sequencer::queue_event(c, &event.canonical_json(), &related),
        DbConn::Sqlite(c) => {
            let seq = next_seq(c)?;
            let row = Row::new(seq, event);
            diesel::insert_into(audit_events::table).values(&row).execute(c)?;
            merkle::append_leaves(conn, seq, &[row.entry.as_bytes()])?;
            let rows: Vec<_> = related
                .into_iter()
                .map(|institution| {
                    (
                        audit_event_relations::seq.eq(seq),
                        audit_event_relations::institution.eq(institution),
                    )
                })
                .collect();
            crate::insert_all!(conn, audit_event_relations::table, &rows)?;
            Ok(())
        }
    }
}

/// The next sequence number, in a write transaction that excludes other
/// appenders (SQLite).
fn next_seq(conn: &mut diesel::SqliteConnection) -> Result<i64, StoreError> {
    let last: Option<i64> = audit_events::table.select(max(audit_events::seq)).first(conn)?;
    last.unwrap_or(0)
        .checked_add(1)
        .ok_or_else(|| StoreError::corrupt("audit_events", "seq", "out of range"))
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
    /// An institution's privacy officer's scope, the one rule the search,
    /// the export, the art. 15 report and the console share: events in
    /// which the institution acted, and events related to it when they
    /// were written because it was party to the record they are about
    /// (kept after the record is deleted; see the module documentation).
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
                .map_err(|_| StoreError::corrupt("audit_events", "entry", format!("event {seq} does not parse")))
        })
        .collect()
}

/// How many successful `action`s the actor with `actor_id` performed since
/// `since`, counted up to `at_most` (the anomaly signal only asks whether a
/// threshold is reached, so the count stops there: its cost does not grow
/// with the volume of the hour).
pub fn count_actions_since(
    conn: &mut DbConn,
    actor_id: &str,
    action: &str,
    since: DateTime<Utc>,
    at_most: i64,
) -> Result<i64, StoreError> {
    let count = CountActionsSince {
        actor_id,
        action,
        since_ms: to_ms(since),
        at_most: at_most.max(0),
    };
    Ok(crate::on_backend!(conn, |c| count.get_result(c))?)
}

/// `SELECT COUNT(*) FROM (SELECT 1 FROM audit_events WHERE actor_id = ? AND
/// action_name = ? AND time >= ? AND outcome = ? LIMIT ?) AS counted`,
/// written out: the database counts, instead of handing every row it
/// visits to diesel (a pull counts up to `anomaly_pulls_per_hour` + 1 of
/// them, inside the group-commit batch). Every column it reads is in the
/// index `audit_events_actor_action_time`, so it visits no table row (test
/// `the_anomaly_count_reads_its_index_alone`).
struct CountActionsSince<'a> {
    actor_id: &'a str,
    action: &'a str,
    since_ms: i64,
    at_most: i64,
}

impl<DB> QueryFragment<DB> for CountActionsSince<'_>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Text>,
    i64: ToSql<BigInt, DB>,
    str: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("SELECT COUNT(*) FROM (SELECT 1 FROM audit_events WHERE actor_id = ");
        out.push_bind_param::<Text, _>(self.actor_id)?;
        out.push_sql(" AND action_name = ");
        out.push_bind_param::<Text, _>(self.action)?;
        out.push_sql(" AND time >= ");
        out.push_bind_param::<BigInt, _>(&self.since_ms)?;
        out.push_sql(" AND outcome = ");
        out.push_bind_param::<Text, _>(Outcome::Success.as_str())?;
        out.push_sql(" LIMIT ");
        out.push_bind_param::<BigInt, _>(&self.at_most)?;
        out.push_sql(") AS counted");
        Ok(())
    }
}

impl Query for CountActionsSince<'_> {
    type SqlType = BigInt;
}

crate::prepared_once!(CountActionsSince);

/// The number of events the table holds: the highest seq less the events
/// pruned under the retention policy.
pub fn count(conn: &mut DbConn) -> Result<i64, StoreError> {
    Ok(audit_events::table.count().get_result(conn)?)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use diesel::connection::{Instrumentation, InstrumentationEvent};

    use super::*;
    use crate::testing::TestDb;

    #[derive(Debug, QueryableByName)]
    struct PlanStep {
        #[diesel(sql_type = Text)]
        detail: String,
    }

    /// The pull's anomaly count runs inside the group-commit batch: it must
    /// read the index alone, not look each pull it counts up in the table
    /// (SQLite's plan says `COVERING INDEX`). The statement planned is the
    /// one the store runs, taken from diesel's instrumentation.
    #[test]
    fn the_anomaly_count_reads_its_index_alone() {
        let db = TestDb::sqlite(); // the database lives as long as this
        let mut conn = DbConn::Sqlite(db.migrated_sqlite_connection());
        let ran = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen = ran.clone();
        let capture: Box<dyn Instrumentation> = Box::new(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { query, .. } = event {
                seen.lock().unwrap_or_else(|e| e.into_inner()).push(query.to_string());
            }
        });
        conn.set_instrumentation(capture);
        let counted =
            count_actions_since(&mut conn, "some actor", "pull_package", DateTime::UNIX_EPOCH, 101).expect("the count");
        assert_eq!(counted, 0);

        let ran = ran.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let [statement] = ran.as_slice() else {
            panic!("one statement, not {ran:?}")
        };
        let sql = statement.split(" -- binds").next().unwrap_or_default();
        let DbConn::Sqlite(sqlite) = &mut conn else {
            unreachable!("opened as SQLite")
        };
        let plan: Vec<PlanStep> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
            .load(sqlite)
            .expect("the plan");
        assert!(
            plan.iter().any(|step| step
                .detail
                .contains("USING COVERING INDEX audit_events_actor_action_time")),
            "{sql}\n{plan:?}"
        );
    }
}
