//! Web console sessions (server-side). The cookie carries a random session
//! id; only its SHA-256 (`id_hash`, computed by the server) is stored, so a
//! copy of this table logs nobody in. A session belongs to one staff
//! account, whose status and role the server re-reads on every request.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use doorstroom_domain::StaffId;

use crate::schema::console_sessions;
use crate::{DbConn, StoreError, from_ms, to_ms};

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub staff_id: StaffId,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// Stores a new session.
pub fn insert(conn: &mut DbConn, id_hash: &str, staff: StaffId, now: DateTime<Utc>) -> Result<(), StoreError> {
    diesel::insert_into(console_sessions::table)
        .values((
            console_sessions::id_hash.eq(id_hash),
            console_sessions::staff_id.eq(staff.to_string()),
            console_sessions::created_at.eq(to_ms(now)),
            console_sessions::last_seen_at.eq(to_ms(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The session with this id hash, if any.
pub fn get(conn: &mut DbConn, id_hash: &str) -> Result<Option<ConsoleSession>, StoreError> {
    let row: Option<(String, i64, i64)> = console_sessions::table
        .filter(console_sessions::id_hash.eq(id_hash))
        .select((
            console_sessions::staff_id,
            console_sessions::created_at,
            console_sessions::last_seen_at,
        ))
        .first(conn)
        .optional()?;
    row.map(|(staff, created, seen)| {
        Ok(ConsoleSession {
            staff_id: staff
                .parse()
                .map_err(|_| StoreError::corrupt("console_sessions", "staff_id", "not a UUID"))?,
            created_at: from_ms(created, "console_sessions", "created_at")?,
            last_seen_at: from_ms(seen, "console_sessions", "last_seen_at")?,
        })
    })
    .transpose()
}

/// Marks the session as used at `now` (the idle timeout counts from here).
pub fn touch(conn: &mut DbConn, id_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
    diesel::update(console_sessions::table.filter(console_sessions::id_hash.eq(id_hash)))
        .set(console_sessions::last_seen_at.eq(to_ms(now)))
        .execute(conn)?;
    Ok(())
}

/// Ends one session (logout, or found expired); true if it existed.
pub fn delete(conn: &mut DbConn, id_hash: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(console_sessions::table.filter(console_sessions::id_hash.eq(id_hash))).execute(conn)? > 0)
}

/// Ends every session of one account (deactivated, or second factor reset).
pub fn delete_for_staff(conn: &mut DbConn, staff: StaffId) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(console_sessions::table.filter(console_sessions::staff_id.eq(staff.to_string())))
            .execute(conn)?,
    )
}

/// Deletes sessions idle since before `idle_before` or created before
/// `created_before`; returns how many.
pub fn prune(
    conn: &mut DbConn,
    idle_before: DateTime<Utc>,
    created_before: DateTime<Utc>,
) -> Result<usize, StoreError> {
    Ok(diesel::delete(
        console_sessions::table.filter(
            console_sessions::last_seen_at
                .lt(to_ms(idle_before))
                .or(console_sessions::created_at.lt(to_ms(created_before))),
        ),
    )
    .execute(conn)?)
}
