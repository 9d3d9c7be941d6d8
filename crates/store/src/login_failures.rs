//! Failed login attempts, for throttling. The server keys them by an HMAC
//! of the account or client address, so no username or IP address is
//! stored here. Scopes are the server's choice (`account`, `address`).
//!
//! Counting and recording must be one step, or concurrent attempts all read
//! the same count and all get through: the server takes [`lock_bucket`] for
//! each bucket, counts, and records the attempt as a failure in the same
//! write transaction, before it checks the password (a success takes the
//! record back with [`clear`] and [`forget_one`]).

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::schema::login_failures;
use crate::{DbConn, StoreError, to_ms};

/// Records one failure at `now`.
pub fn record(conn: &mut DbConn, scope: &str, key: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::scope.eq(scope),
            login_failures::key.eq(key),
            login_failures::at.eq(to_ms(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Serialises, until the end of the current write transaction, everyone
/// who counts and records failures of one bucket. PostgreSQL: a
/// transaction-level advisory lock on a hash of scope and key (several
/// broker nodes on one database share it; a hash collision only makes two
/// buckets wait for each other). SQLite: nothing to do, a write transaction
/// (`BEGIN IMMEDIATE`) already excludes every other writer of the file.
/// Take the locks of several buckets in one fixed order (account, then
/// address), so that two attempts cannot wait for each other.
pub fn lock_bucket(conn: &mut DbConn, scope: &str, key: &str) -> Result<(), StoreError> {
    match conn {
        DbConn::Postgres(pg) => {
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind::<diesel::sql_types::Text, _>(format!("login_failures\u{1f}{scope}\u{1f}{key}"))
                .execute(pg)?;
            Ok(())
        }
        DbConn::Sqlite(_) => Ok(()),
    }
}

/// Forgets one failure of `key` recorded at `at` (the record of an attempt
/// that turned out not to be a failure). Failures of one key at one instant
/// are interchangeable; any one of them goes.
pub fn forget_one(conn: &mut DbConn, scope: &str, key: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
    let id: Option<i64> = login_failures::table
        .filter(login_failures::scope.eq(scope))
        .filter(login_failures::key.eq(key))
        .filter(login_failures::at.eq(to_ms(at)))
        .select(login_failures::id)
        .first(conn)
        .optional()?;
    if let Some(id) = id {
        diesel::delete(login_failures::table.find(id)).execute(conn)?;
    }
    Ok(())
}

/// The number of failures at or after `since`.
pub fn count_since(conn: &mut DbConn, scope: &str, key: &str, since: DateTime<Utc>) -> Result<i64, StoreError> {
    Ok(login_failures::table
        .filter(login_failures::scope.eq(scope))
        .filter(login_failures::key.eq(key))
        .filter(login_failures::at.ge(to_ms(since)))
        .count()
        .get_result(conn)?)
}

/// Forgets all failures of one key (after a successful login).
pub fn clear(conn: &mut DbConn, scope: &str, key: &str) -> Result<(), StoreError> {
    diesel::delete(
        login_failures::table
            .filter(login_failures::scope.eq(scope))
            .filter(login_failures::key.eq(key)),
    )
    .execute(conn)?;
    Ok(())
}

/// Deletes all failures before `before`; returns how many.
pub fn prune_before(conn: &mut DbConn, before: DateTime<Utc>) -> Result<usize, StoreError> {
    Ok(diesel::delete(login_failures::table.filter(login_failures::at.lt(to_ms(before)))).execute(conn)?)
}
