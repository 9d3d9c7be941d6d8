//! Storage limitation and erasure: finding what is due for deletion under
//! the retention rules ([`doorstroom_domain::retention`]) and deleting it.
//!
//! The rules themselves are the domain's; the store supplies their facts
//! and pre-selects candidates in SQL with exactly the rules' conditions
//! (each rule is "a moment plus a period has passed", an index-friendly
//! `moment <= now - period`), so the caller can confirm each candidate with
//! the domain's `*_purge_reason` and write the reason into the audit event.
//! Nothing here writes audit events: the caller ([`doorstroom_server`'s
//! purge and erasure]) appends one per deleted record in the same
//! transaction (one per batch for pruned audit events, see below).
//!
//! # The append-only ledger
//! `consent_events` and `inspections` refuse `DELETE` by trigger unless a
//! row in `deletion_permits` names the table (migration
//! `2026-03-06-000000_retention`). [`with_permit`] inserts that row, runs the
//! deletion and removes the row again, all in the caller's transaction, so
//! no other transaction ever sees a permit. Only the functions of this
//! module use it.
//!
//! # The audit log
//! [`prune_audit`] deletes audit events after the audit period, through a
//! door of its own (migration `2026-03-08-000000_audit_prune`): a DELETE on
//! `audit_events` passes only while a row in `audit_prune_permits` lies
//! above the event's seq and the event lies within the latest checkpoint.
//! It prunes a prefix of the log and records the new boundary in
//! `audit_prunes`; `audit_hashes` and `audit_checkpoints` have no door (see
//! [`crate::merkle`] for how the log stays verifiable).
//!
//! # Several broker nodes
//! [`try_lock_purge`] takes a transaction-level PostgreSQL advisory lock, so
//! only one node purges at a time (the others skip their turn instead of
//! deleting the same rows twice); SQLite serialises writers anyway.
//!
//! # Layout
//! One file per kind of record: [`packages`](self) (`packages.rs`),
//! applications and the "last application gone" marks (`applications.rs`),
//! the consent and inspection ledger (`ledger.rs`), erasure on request
//! (`erasure.rs`) and the audit log's prune (`audit.rs`); this file holds
//! what they share: the purge lock, the ledger's deletion permit and the
//! cut-off arithmetic.

mod applications;
mod audit;
mod erasure;
mod ledger;
mod packages;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use doorstroom_domain::ApplicationStatus;
use doorstroom_domain::retention::has_ended;

use crate::schema::deletion_permits;
use crate::{DbConn, StoreError, from_ms, to_ms};

pub use applications::{ApplicationCandidate, application_facts, delete_application, due_applications};
pub use audit::{PrunedAudit, due_audit_prefix, prune_audit};
pub use erasure::{Erased, ErasureScope, erase, rows_about};
pub use ledger::{
    LedgerCandidate, LedgerGroup, LedgerKind, delete_ledger_group, due_ledger_groups, forget_gone_marks, ledger_facts,
    ledger_ids,
};
pub use packages::{
    PackageCandidate, delete_package, due_packages, mark_announced, package_facts, packages_of, unannounced_expiring,
};

/// Key of the transaction-level advisory lock that one purge batch holds
/// on PostgreSQL.
const PG_PURGE_LOCK: i64 = 0x646f_6f72_7075_7267; // "doorpurg"

/// Takes the purge lock for the rest of the current transaction: `false`
/// when another node's purge holds it (PostgreSQL); always `true` on SQLite,
/// whose `BEGIN IMMEDIATE` already makes this the only writer.
pub fn try_lock_purge(conn: &mut DbConn) -> Result<bool, StoreError> {
    match conn {
        DbConn::Sqlite(_) => Ok(true),
        DbConn::Postgres(pg) => {
            #[derive(QueryableByName)]
            struct Locked {
                #[diesel(sql_type = diesel::sql_types::Bool)]
                locked: bool,
            }
            let row: Locked = diesel::sql_query(format!("SELECT pg_try_advisory_xact_lock({PG_PURGE_LOCK}) AS locked"))
                .get_result(pg)?;
            Ok(row.locked)
        }
    }
}

/// Waits for the purge lock and holds it for the rest of the current
/// transaction (PostgreSQL; SQLite serialises writers anyway), so that an
/// erasure and a purge batch never work on the same records at once.
fn lock_purge(conn: &mut DbConn) -> Result<(), StoreError> {
    if let DbConn::Postgres(pg) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({PG_PURGE_LOCK})")).execute(pg)?;
    }
    Ok(())
}

/// An append-only ledger table that [`with_permit`] opens for deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ledger {
    ConsentEvents,
    Inspections,
}

impl Ledger {
    const fn table(self) -> &'static str {
        match self {
            Ledger::ConsentEvents => "consent_events",
            Ledger::Inspections => "inspections",
        }
    }
}

/// Runs `delete` while a deletion permit for `ledger` exists, inside the
/// caller's transaction, and removes the permit again before returning
/// (also when `delete` failed: the caller's transaction then rolls back).
fn with_permit<T>(
    conn: &mut DbConn,
    ledger: Ledger,
    delete: impl FnOnce(&mut DbConn) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    diesel::insert_into(deletion_permits::table)
        .values(deletion_permits::table_name.eq(ledger.table()))
        .execute(conn)?;
    let result = delete(conn);
    let removed =
        diesel::delete(deletion_permits::table.filter(deletion_permits::table_name.eq(ledger.table()))).execute(conn);
    let value = result?;
    removed?;
    Ok(value)
}

/// `now - period` in stored milliseconds, saturating.
fn cutoff(now: DateTime<Utc>, period: Duration) -> i64 {
    to_ms(now).saturating_sub(period.num_milliseconds())
}

/// The spellings of the statuses in which an application has ended, for
/// retention ([`has_ended`]).
fn ended_statuses() -> Vec<&'static str> {
    ApplicationStatus::ALL
        .iter()
        .copied()
        .filter(|s| has_ended(*s))
        .map(|s| s.as_str())
        .collect()
}

fn status_of(raw: &str, table: &'static str, column: &'static str) -> Result<ApplicationStatus, StoreError> {
    crate::parsed(ApplicationStatus::parse(raw), table, column)
}

/// The moment the application's current status was reported, if it is an
/// end status: `updated_at` changes only with the status
/// ([`crate::applications::set_status`]).
fn ended_at(status: ApplicationStatus, updated_at: i64) -> Result<Option<DateTime<Utc>>, StoreError> {
    if has_ended(status) {
        from_ms(updated_at, "applications", "updated_at").map(Some)
    } else {
        Ok(None)
    }
}
