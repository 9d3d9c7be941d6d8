//! The institutions' event feed (`institution_events`): what happened that
//! concerns an institution, as ids and times only, numbered per
//! institution without gaps.
//!
//! Entries are numbered from the institution's row in
//! `institution_event_heads`, so that an entry commits or rolls back with
//! the change it reports, and a reader that has seen `seq` n never later
//! finds a new entry below n:
//! * SQLite: [`append`] numbers the entry in the caller's write
//!   transaction (a rolled-back savepoint takes its `seq` back with it: no
//!   gap); a write transaction excludes all other writers already.
//! * PostgreSQL: [`append`] commits the entry with a placeholder number
//!   below zero, which no reader asks for, and the writer numbers it right
//!   after its commit, in one short transaction under the audit log's
//!   tail lock for every write waiting (`crate::sequencer`). A head row
//!   is then never locked to a write's commit, so writes about one
//!   institution no longer wait for each other's WAL flush, on any number
//!   of broker nodes.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment};
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::Sqlite;
use doorstroom_domain::safety_net::RiskReason;
use doorstroom_domain::{Brin, FeedEventKind, Section};
use uuid::Uuid;

use crate::schema::{institution_event_heads as heads, institution_events as events};
use crate::{DbConn, StoreError, from_ms, parse_id, parsed, to_ms};

/// What a `student.at_risk` entry says: the cohort's school year (its
/// start year), the school's own reference, the reason and the day. Never
/// the pseudonym.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtRiskDetail {
    pub school_year: i32,
    pub reference: String,
    pub reason: RiskReason,
    pub since: NaiveDate,
}

/// An entry to append.
#[derive(Debug, Clone)]
pub struct NewFeedEvent<'a> {
    pub institution: &'a Brin,
    pub kind: FeedEventKind,
    pub package_id: Option<&'a str>,
    pub application_id: Option<Uuid>,
    pub section: Option<Section>,
    pub occurred_at: DateTime<Utc>,
    /// For `student.at_risk` only.
    pub at_risk: Option<AtRiskDetail>,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    pub seq: i64,
    pub id: Uuid,
    pub kind: FeedEventKind,
    pub package_id: Option<String>,
    pub application_id: Option<Uuid>,
    pub section: Option<Section>,
    pub occurred_at: DateTime<Utc>,
    /// For `student.at_risk` only.
    pub at_risk: Option<AtRiskDetail>,
}

type Row = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    RiskRow,
);

type RiskRow = (Option<i32>, Option<String>, Option<String>, Option<String>);

fn at_risk_detail(row: RiskRow) -> Result<Option<AtRiskDetail>, StoreError> {
    const T: &str = "institution_events";
    let (Some(school_year), Some(reference), Some(reason), Some(since)) = row else {
        return Ok(None);
    };
    Ok(Some(AtRiskDetail {
        school_year,
        reference,
        reason: parsed(RiskReason::parse(&reason), T, "risk_reason")?,
        since: NaiveDate::parse_from_str(&since, "%Y-%m-%d")
            .map_err(|e| StoreError::corrupt(T, "risk_since", e.to_string()))?,
    }))
}

impl FeedEvent {
    fn from_row(
        (seq, id, kind, package_id, application_id, section, occurred_at, risk): Row,
    ) -> Result<Self, StoreError> {
        const T: &str = "institution_events";
        Ok(FeedEvent {
            seq,
            id: parse_id(&id, T, "id")?,
            kind: FeedEventKind::parse(&kind).ok_or_else(|| StoreError::corrupt(T, "kind", "unknown kind"))?,
            package_id,
            application_id: application_id.map(|a| parse_id(&a, T, "application_id")).transpose()?,
            section: section.map(|s| parsed(Section::parse(&s), T, "section")).transpose()?,
            occurred_at: from_ms(occurred_at, T, "occurred_at")?,
            at_risk: at_risk_detail(risk)?,
        })
    }
}

/// Appends `event` to its institution's feed in the caller's transaction
/// and returns the entry's id. Its number is given in the transaction
/// (SQLite) or just after its commit (PostgreSQL), see the module
/// documentation.
pub fn append(conn: &mut DbConn, event: &NewFeedEvent<'_>) -> Result<Uuid, StoreError> {
    let institution = event.institution.as_str();
    let id = Uuid::new_v4();
    let values = (
        events::institution.eq(institution),
        events::id.eq(id.to_string()),
        events::kind.eq(event.kind.as_str()),
        events::package_id.eq(event.package_id),
        events::application_id.eq(event.application_id.map(|a| a.to_string())),
        events::section.eq(event.section.map(Section::as_str)),
        events::occurred_at.eq(to_ms(event.occurred_at)),
        events::risk_school_year.eq(event.at_risk.as_ref().map(|r| r.school_year)),
        events::risk_reference.eq(event.at_risk.as_ref().map(|r| r.reference.as_str())),
        events::risk_reason.eq(event.at_risk.as_ref().map(|r| r.reason.as_str())),
        events::risk_since.eq(event.at_risk.as_ref().map(|r| r.since.to_string())),
    );
    match conn {
        DbConn::Sqlite(c) => {
            let seq = next_number(c, institution)?;
            diesel::insert_into(events::table)
                .values((events::seq.eq(seq), values))
                .execute(c)?;
        }
        // The column's default draws the placeholder: `-nextval(…)` of
        // `institution_events_unnumbered`, below zero and unique, until the
        // numbering round gives the entry its number (`crate::sequencer`).
        DbConn::Postgres(_) => {
            crate::this_write::queued();
            diesel::insert_into(events::table).values(values).execute(conn)?;
        }
    }
    // The webhook outbox, in the same transaction (its deliverer waits for
    // the number).
    crate::webhooks::enqueue(conn, &id.to_string(), event.institution, event.occurred_at)?;
    // Once the write commits, this node's long polls are woken
    // (`Store::on_feed_committed`), whichever use case appended it.
    crate::this_write::feed_entry();
    Ok(id)
}

/// The institution's next number, SQLite's way: in the write's own
/// transaction, under SQLite's one writer, its head moved one on (1 for
/// its first entry). PostgreSQL's numbering round numbers every
/// institution's waiting entries in one statement (`crate::sequencer`).
fn next_number(conn: &mut diesel::SqliteConnection, institution: &str) -> Result<i64, StoreError> {
    let bump = BumpHead { institution };
    if let Some(seq) = bump.get_result(conn).optional()? {
        return Ok(seq);
    }
    // The institution's first entry.
    diesel::insert_into(heads::table)
        .values((heads::institution.eq(institution), heads::seq.eq(0_i64)))
        .execute(conn)?;
    Ok(bump.get_result(conn)?)
}

/// `UPDATE institution_event_heads SET seq = seq + 1 WHERE institution = ?
/// RETURNING seq`, written out under a type of its own so that it is
/// prepared once per connection: diesel marks every `UPDATE` it builds
/// unsafe to cache and compiles it afresh at each execution, which cost a
/// submission on SQLite more than any other statement but its two
/// `INSERT`s (measured 2026-12-07: 36 µs of the batch thread's CPU).
#[derive(Clone, Copy)]
struct BumpHead<'a> {
    institution: &'a str,
}

impl QueryFragment<Sqlite> for BumpHead<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("UPDATE institution_event_heads SET seq = seq + 1 WHERE institution = ");
        out.push_bind_param::<Text, _>(self.institution)?;
        out.push_sql(" RETURNING seq");
        Ok(())
    }
}

impl Query for BumpHead<'_> {
    type SqlType = BigInt;
}

crate::prepared_once!(BumpHead);

/// Deletes the `student.at_risk` entries of `institution`'s feed about
/// the cohort member `reference` of `school_year` (an erasure of their
/// place, `crate::cohorts::erase_student`); their webhook deliveries go by
/// cascade. The numbers stay given out.
pub(crate) fn delete_at_risk(
    conn: &mut DbConn,
    institution: &str,
    school_year: i32,
    reference: &str,
) -> Result<usize, StoreError> {
    Ok(diesel::delete(
        events::table
            .filter(events::institution.eq(institution))
            .filter(events::kind.eq(FeedEventKind::StudentAtRisk.as_str()))
            .filter(events::risk_school_year.eq(school_year))
            .filter(events::risk_reference.eq(reference)),
    )
    .execute(conn)?)
}

/// The last `seq` the institution's feed has given out (0: none yet).
/// Entries deleted by the purge keep their numbers given out.
pub fn head(conn: &mut DbConn, institution: &Brin) -> Result<i64, StoreError> {
    Ok(heads::table
        .find(institution.as_str())
        .select(heads::seq)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

/// Up to `limit` entries of the institution's feed after `after`, oldest
/// first.
pub fn after(conn: &mut DbConn, institution: &Brin, after: i64, limit: i64) -> Result<Vec<FeedEvent>, StoreError> {
    let rows: Vec<Row> = events::table
        .filter(events::institution.eq(institution.as_str()))
        // Never an entry still waiting for its number (below zero).
        .filter(events::seq.gt(after.max(0)))
        .order(events::seq.asc())
        .limit(limit)
        .select((
            events::seq,
            events::id,
            events::kind,
            events::package_id,
            events::application_id,
            events::section,
            events::occurred_at,
            (
                events::risk_school_year,
                events::risk_reference,
                events::risk_reason,
                events::risk_since,
            ),
        ))
        .load(conn)?;
    rows.into_iter().map(FeedEvent::from_row).collect()
}

/// Deletes up to `limit` entries recorded at or before `until`, oldest
/// first; returns how many. The heads stay, so numbering goes on without
/// reuse.
pub fn delete_until(conn: &mut DbConn, until: DateTime<Utc>, limit: i64) -> Result<usize, StoreError> {
    let due: Vec<String> = events::table
        .filter(events::occurred_at.le(to_ms(until)))
        .order(events::occurred_at.asc())
        .limit(limit)
        .select(events::id)
        .load(conn)?;
    if due.is_empty() {
        return Ok(0);
    }
    Ok(diesel::delete(events::table.filter(events::id.eq_any(&due))).execute(conn)?)
}

/// How many entries were recorded at or before `until` (the purge's dry
/// run).
pub fn count_until(conn: &mut DbConn, until: DateTime<Utc>) -> Result<i64, StoreError> {
    Ok(events::table
        .filter(events::occurred_at.le(to_ms(until)))
        .count()
        .get_result(conn)?)
}

/// The entry with id `id`, if it is still kept.
pub fn by_id(conn: &mut DbConn, id: &str) -> Result<Option<FeedEvent>, StoreError> {
    let row: Option<Row> = events::table
        .filter(events::id.eq(id))
        .filter(events::seq.gt(0))
        .select((
            events::seq,
            events::id,
            events::kind,
            events::package_id,
            events::application_id,
            events::section,
            events::occurred_at,
            (
                events::risk_school_year,
                events::risk_reference,
                events::risk_reason,
                events::risk_since,
            ),
        ))
        .first(conn)
        .optional()?;
    row.map(FeedEvent::from_row).transpose()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};

    use super::*;

    /// The head's bump is compiled once per connection and then taken
    /// from its statement cache: a statement diesel will not cache is
    /// compiled without a `CacheQuery` event, every time.
    #[test]
    fn the_heads_bump_is_prepared_once_per_connection() {
        let db = crate::testing::TestDb::sqlite(); // the database lives as long as this
        let mut conn = db.migrated_sqlite_connection();
        // What is measured is the statement cache: the heads' institutions
        // need not be registered.
        conn.batch_execute("PRAGMA foreign_keys = OFF").expect("a pragma");
        let cached = Arc::new(AtomicUsize::new(0));
        let counter = cached.clone();
        let count: Box<dyn Instrumentation> = Box::new(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::CacheQuery { sql, .. } = event
                && sql.starts_with("UPDATE institution_event_heads")
            {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        conn.set_instrumentation(count);

        let numbers: Vec<i64> = ["07AB", "07AB", "25LX", "07AB"]
            .into_iter()
            .map(|institution| next_number(&mut conn, institution).expect("a number"))
            .collect();
        assert_eq!(numbers, [1, 2, 1, 3], "each institution numbered from 1, without gaps");
        assert_eq!(cached.load(Ordering::Relaxed), 1, "compiled once, then reused");
    }
}
