//! Failed login attempts, for throttling. The server keys them by an HMAC
//! of the account or client address, so no username or IP address is
//! stored here. Scopes are the server's choice (`account`, `address`).

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
