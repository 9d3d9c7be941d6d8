//! PostgreSQL: numbering the audit log and the institutions' feeds just
//! after commit, for many writes at once.
//!
//! # Why
//! The audit log's `seq` and each feed's `seq` are gapless and follow
//! commit order. A write used to draw them inside its own transaction,
//! under the audit log's tail lock (`LOCK TABLE audit_events`) held to its
//! `COMMIT`: every audited write on every broker node then waited for the
//! one before it to flush its WAL, so PostgreSQL could never gather
//! commits, and a second node added nothing (issue 14).
//!
//! # How
//! A write takes no lock for them. In its own transaction it commits its
//! audit events into `audit_pending` (the exact Merkle leaf entry and the
//! related institutions) and its feed entries with a placeholder `seq`
//! below zero, which no reader asks for. So the rule "the audit event
//! commits with the access, or the access does not happen" holds as
//! before: a write that cannot queue its event rolls back.
//!
//! Right after its `COMMIT`, before it answers, a write that queued
//! anything needs a *numbering round* that began after that commit
//! ([`Rounds`]): one short transaction under the tail lock that takes
//! everything committed and waiting, from any node, and numbers it in
//! queue order: audit events get the next `seq`s, their Merkle stored
//! hashes and their relations, and leave `audit_pending`; feed entries get
//! their institutions' next numbers. A node runs one round at a time; the
//! writes that commit meanwhile wait for the next, which the first of them
//! runs for all (one WAL flush for the lot).
//!
//! # What still holds
//! * Every answered write is in the numbered log and the feeds: its writer
//!   numbered it or saw it numbered before answering.
//! * Order: events are numbered in the order they were queued. Two writes
//!   of which one saw the other's effects keep their order (the queue id
//!   is drawn at the append, which comes after the transaction's reads);
//!   a pull and a withdrawal about one student are such a pair, because
//!   both take the student's advisory lock first.
//! * A crash between a write's commit and the numbering leaves its rows
//!   waiting; the next round on any node, or [`crate::Store::open`],
//!   numbers them. The writer that crashed never answered.
//! * A damaged Merkle log (missing stored hashes) fails the numbering: the
//!   write has committed with its event queued, and its caller gets the
//!   error (503), as does every later writer that queued something, until
//!   the log is repaired; nothing is numbered past the damage.
//!
//! What a write no longer sees in its own transaction: its own events in
//! `audit_events` (nothing in the broker reads them back there), and other
//! writes' events that are committed but not yet numbered (the pull's
//! anomaly count may miss a few milliseconds' worth).
//!
//! SQLite has one writer at a time and group commit already
//! ([`crate::commit`]), so there `audit::append` and `events::append`
//! number in the write's own transaction as before.

use std::sync::{Condvar, Mutex, PoisonError};

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use doorstroom_domain::AuditEvent;

use crate::audit_rows::{Row, lock_tail};
use crate::schema::{audit_event_relations, audit_events, audit_pending};
use crate::{DbConn, StoreError, merkle};

/// The most events (and, separately, feed entries) one numbering
/// transaction takes; more wait for the next round of the same call.
const BATCH: i64 = 2000;

/// Queues an audit event's entry and related institutions (see the module
/// documentation), in the caller's transaction. Refuses an entry that a
/// round could not number: it would stay first in the queue and fail every
/// round after it, where now it fails only the write that made it (as the
/// `INSERT` into `audit_events` did when a write numbered its own).
pub(crate) fn queue_event(conn: &mut PgConnection, entry: &str, parties: &[&str]) -> Result<(), StoreError> {
    numbered_row(0, entry)?;
    diesel::insert_into(audit_pending::table)
        .values((
            audit_pending::entry.eq(entry),
            audit_pending::parties.eq(parties.join(" ")),
        ))
        .execute(conn)?;
    crate::this_write::queued();
    Ok(())
}

/// The numbering rounds of one store (one broker node): one at a time,
/// each for every write committed before it began.
///
/// After its commit a writer needs a round that *begins* after that
/// commit (one already running may have looked before it). If none is
/// running, it runs the next round itself, on its own connection;
/// otherwise it waits, and when the running round ends the first writer
/// to wake runs the next one for all who wait. So a node runs one
/// numbering transaction per round, not per write, and its writers add no
/// statements of their own.
#[derive(Debug, Default)]
pub(crate) struct Rounds {
    state: Mutex<RoundState>,
    ended: Condvar,
}

#[derive(Debug, Default)]
struct RoundState {
    /// The last round begun (rounds count from 1).
    begun: u64,
    /// The last round ended, and the last one that succeeded.
    ended: u64,
    succeeded: u64,
    running: bool,
}

impl Rounds {
    /// Returns once what the caller committed on `conn` is numbered (see
    /// [`Rounds`]); the error if the round that should have numbered it
    /// failed. A no-op on SQLite.
    pub(crate) fn after_commit(&self, conn: &mut DbConn) -> Result<(), StoreError> {
        if !crate::this_write::marks().queued {
            return Ok(());
        }
        self.catch_up(conn)
    }

    /// Numbers everything committed and waiting now, whoever queued it
    /// (at start: what a crash left). A no-op on SQLite.
    pub(crate) fn catch_up(&self, conn: &mut DbConn) -> Result<(), StoreError> {
        if !matches!(conn, DbConn::Postgres(_)) {
            return Ok(());
        }
        let mut state = self.lock();
        let needed = state.begun + 1;
        loop {
            if state.succeeded >= needed {
                return Ok(());
            }
            if state.ended >= needed {
                return Err(StoreError::Unavailable(
                    "the audit log could not be numbered (see the broker's log)".into(),
                ));
            }
            if !state.running {
                break;
            }
            state = self.ended.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        state.begun += 1;
        state.running = true;
        let round = EndOfRound {
            rounds: self,
            number: state.begun,
            succeeded: false,
        };
        drop(state);
        let result = integrate(conn);
        if let Err(error) = &result {
            tracing::error!(%error, "numbering the audit log and the feeds failed; the events wait");
        }
        round.end(result.is_ok());
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RoundState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Ends a round and wakes its waiters, also when the leader panicked (the
/// round then counts as failed).
struct EndOfRound<'a> {
    rounds: &'a Rounds,
    number: u64,
    succeeded: bool,
}

impl EndOfRound<'_> {
    fn end(mut self, succeeded: bool) {
        self.succeeded = succeeded;
    }
}

impl Drop for EndOfRound<'_> {
    fn drop(&mut self) {
        let mut state = self.rounds.lock();
        state.running = false;
        state.ended = self.number;
        if self.succeeded {
            state.succeeded = self.number;
        }
        drop(state);
        self.rounds.ended.notify_all();
    }
}

/// Numbers every audit event and feed entry committed and waiting (see
/// the module documentation), in as many transactions as it takes. Call
/// outside a transaction, after a write's commit.
fn integrate(conn: &mut DbConn) -> Result<(), StoreError> {
    while conn.transaction(number_batch)? {}
    Ok(())
}

/// The PostgreSQL connection; this module is not for SQLite.
fn pg(conn: &mut DbConn) -> Result<&mut PgConnection, StoreError> {
    match conn {
        DbConn::Postgres(c) => Ok(c),
        DbConn::Sqlite(_) => Err(StoreError::Database(diesel::result::Error::QueryBuilderError(
            "numbering after commit is for PostgreSQL only".into(),
        ))),
    }
}

/// One numbering transaction; whether it left more waiting than it took.
fn number_batch(conn: &mut DbConn) -> Result<bool, StoreError> {
    lock_tail(conn)?;
    // Taken off the queue and read in one statement, with the log's last
    // number (no rows when nothing waits).
    let mut taken: Vec<Queued> = diesel::sql_query(
        "WITH taken AS (DELETE FROM audit_pending WHERE id IN \
           (SELECT id FROM audit_pending ORDER BY id LIMIT $1) RETURNING id, entry, parties) \
         SELECT id, entry, parties, (SELECT max(seq) FROM audit_events) AS last FROM taken",
    )
    .bind::<BigInt, _>(BATCH)
    .load(pg(conn)?)?;
    taken.sort_unstable_by_key(|queued| queued.id);
    number_events(conn, &taken)?;
    let entries = number_entries(conn)?;
    Ok(taken.len() as i64 == BATCH || entries == BATCH)
}

/// An audit event as taken off the queue.
#[derive(QueryableByName)]
struct Queued {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    entry: String,
    #[diesel(sql_type = Text)]
    parties: String,
    /// The log's last `seq` before this round (`None`: the log is empty).
    #[diesel(sql_type = Nullable<BigInt>)]
    last: Option<i64>,
}

/// Appends the queued events to the log, in queue order, with their
/// Merkle stored hashes and relations.
fn number_events(conn: &mut DbConn, queued: &[Queued]) -> Result<(), StoreError> {
    let Some(last) = queued.first().map(|q| q.last.unwrap_or(0)) else {
        return Ok(());
    };
    let mut seq = last;
    let mut rows = Vec::with_capacity(queued.len());
    let mut relations = Vec::new();
    for Queued { entry, parties, .. } in queued {
        seq = seq
            .checked_add(1)
            .ok_or_else(|| StoreError::corrupt("audit_events", "seq", "out of range"))?;
        let row = numbered_row(seq, entry)?;
        relations.extend(parties.split_whitespace().map(|institution| {
            (
                audit_event_relations::seq.eq(seq),
                audit_event_relations::institution.eq(institution.to_owned()),
            )
        }));
        rows.push(row);
    }
    // Chunks within PostgreSQL's 65,535 parameters a statement.
    for chunk in rows.chunks(1000) {
        diesel::insert_into(audit_events::table)
            .values(chunk)
            .execute(pg(conn)?)?;
    }
    for chunk in relations.chunks(10_000) {
        diesel::insert_into(audit_event_relations::table)
            .values(chunk)
            .execute(pg(conn)?)?;
    }
    let entries: Vec<&[u8]> = rows.iter().map(|row| row.entry.as_bytes()).collect();
    merkle::append_leaves(conn, last + 1, &entries)
}

/// The `audit_events` row of a queued entry as event `seq`: parsed back,
/// and only if it is in canonical form (the leaf must hash exactly what
/// the writer queued) and PostgreSQL can store its columns.
fn numbered_row(seq: i64, entry: &str) -> Result<Row, StoreError> {
    const T: &str = "audit_pending";
    // serde_json's message can quote the entry: the error names the rule only.
    let event: AuditEvent =
        serde_json::from_str(entry).map_err(|_| StoreError::corrupt(T, "entry", "not an audit event"))?;
    let row = Row::new(seq, &event);
    if row.entry != entry {
        return Err(StoreError::corrupt(T, "entry", "not in canonical form"));
    }
    if row.has_nul() {
        return Err(StoreError::Database(diesel::result::Error::QueryBuilderError(
            "an audit event's text holds a NUL character, which PostgreSQL cannot store".into(),
        )));
    }
    Ok(row)
}

/// Gives the waiting feed entries (at most [`BATCH`]) their institutions'
/// next numbers, in queue order, and moves the heads on; in one statement.
/// Returns how many it numbered.
fn number_entries(conn: &mut DbConn) -> Result<i64, StoreError> {
    let numbered = diesel::sql_query(
        // Placeholders count down: the first queued is the highest.
        "WITH waiting AS ( \
           SELECT institution, seq AS placeholder, \
                  row_number() OVER (PARTITION BY institution ORDER BY seq DESC) AS k, \
                  count(*) OVER (PARTITION BY institution) AS n \
           FROM (SELECT institution, seq FROM institution_events WHERE seq < 0 \
                 ORDER BY seq DESC LIMIT $1) AS w), \
         heads AS ( \
           INSERT INTO institution_event_heads AS h (institution, seq) \
           SELECT institution, max(n) FROM waiting GROUP BY institution \
           ON CONFLICT (institution) DO UPDATE SET seq = h.seq + EXCLUDED.seq \
           RETURNING h.institution, h.seq AS head) \
         UPDATE institution_events AS e SET seq = heads.head - waiting.n + waiting.k \
         FROM waiting JOIN heads ON heads.institution = waiting.institution \
         WHERE e.institution = waiting.institution AND e.seq = waiting.placeholder",
    )
    .bind::<BigInt, _>(BATCH)
    .execute(pg(conn)?)?;
    Ok(i64::try_from(numbered).unwrap_or(i64::MAX))
}
