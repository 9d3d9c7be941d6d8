//! Telling an outage from a fault, and remembering the last one.
//!
//! An outage is the database being unreachable, shutting down, out of disk
//! space or failing I/O: nothing the caller or the code did wrong, and
//! something a retry later can cure. The server answers it with 503 and
//! `Retry-After` ([`StoreError::is_outage`]); everything else that goes
//! wrong in the store is a fault (500), so a real bug never hides behind a
//! 503.
//!
//! `Health` is what one [`crate::Store`] remembers about its recent
//! outages:
//! * the last failed pool checkout, so that while the database is known to
//!   be unreachable a request does not wait the whole checkout timeout
//!   again (a request waits for it at most once: the first checkout that
//!   times out marks the database down for one timeout period, and every
//!   checkout in that period takes an idle connection or fails at once);
//! * the outcome of the last write attempt, or the last outage a read met,
//!   for the readiness probe.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::StoreError;

/// The messages of outage conditions, as the databases word them. Neither
/// backend's error type carries the code through diesel (SQLite: only
/// `sqlite3_errmsg`; PostgreSQL: the SQLSTATE is not exposed), so the
/// fixed texts are matched, lower-cased:
/// * SQLite's `sqlite3_errstr` texts of `SQLITE_FULL`, `SQLITE_IOERR`,
///   `SQLITE_CANTOPEN`, `SQLITE_BUSY`/`SQLITE_LOCKED` (after `busy_timeout`)
///   and `SQLITE_NOMEM`;
/// * PostgreSQL's texts (in the server's `lc_messages`, English by default)
///   of SQLSTATE classes 53 (insufficient resources, e.g. 53100 disk full),
///   57P01–57P03 (shutting down, starting up) and 58 (I/O), and libpq's
///   own texts for a lost connection.
const OUTAGE_MESSAGES: &[&str] = &[
    // SQLite
    "database or disk is full",
    "disk i/o error",
    "unable to open database file",
    "database is locked",
    "database table is locked",
    "out of memory",
    // PostgreSQL server
    "no space left on device",
    "could not extend file",
    "could not write to file",
    "could not fsync file",
    "terminating connection due to administrator command",
    "the database system is shutting down",
    "the database system is starting up",
    "the database system is in recovery mode",
    "too many connections",
    "remaining connection slots are reserved",
    // libpq
    "server closed the connection unexpectedly",
    "no connection to the server",
    "could not receive data from server",
    "could not send data to server",
    "connection to server",
];

impl StoreError {
    /// Whether this error is an outage of the database (unreachable, shut
    /// down, disk full, I/O failure) rather than a fault of the caller or
    /// of the code. Outages are answered with 503 and are worth a retry;
    /// everything else is not.
    pub fn is_outage(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Database(err) => is_outage(err),
            _ => false,
        }
    }
}

/// The same for a diesel error.
pub fn is_outage(err: &DieselError) -> bool {
    match err {
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        DieselError::DatabaseError(DatabaseErrorKind::Unknown | DatabaseErrorKind::UnableToSendCommand, info) => {
            let message = info.message().to_ascii_lowercase();
            OUTAGE_MESSAGES.iter().any(|m| message.contains(m))
        }
        _ => false,
    }
}

/// The outcome of the last write attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Succeeded,
    Failed,
}

/// What a store remembers about recent outages (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Health {
    /// When a checkout last timed out, while no checkout has succeeded since.
    down_since: Mutex<Option<Instant>>,
    /// The last write attempt (or outage met by a read): when, and how it ended.
    last_write: Mutex<Option<(Instant, WriteOutcome)>>,
}

impl Health {
    /// Whether a checkout timed out less than `period` ago, with no
    /// successful checkout since.
    pub(crate) fn known_down(&self, period: Duration) -> bool {
        let down_since = *self.down_since.lock().unwrap_or_else(|e| e.into_inner());
        down_since.is_some_and(|since| since.elapsed() < period)
    }

    pub(crate) fn checkout_failed(&self) {
        *self.down_since.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    pub(crate) fn checkout_succeeded(&self) {
        let mut down_since = self.down_since.lock().unwrap_or_else(|e| e.into_inner());
        if down_since.is_some() {
            *down_since = None;
        }
    }

    pub(crate) fn record_write(&self, outcome: WriteOutcome) {
        *self.last_write.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), outcome));
    }

    /// The last write attempt, with how long ago it ended.
    pub(crate) fn last_write(&self) -> Option<(Duration, WriteOutcome)> {
        let last = *self.last_write.lock().unwrap_or_else(|e| e.into_inner());
        last.map(|(at, outcome)| (at.elapsed(), outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_error(kind: DatabaseErrorKind, message: &str) -> StoreError {
        StoreError::Database(DieselError::DatabaseError(kind, Box::new(message.to_owned())))
    }

    #[test]
    fn outages_are_told_from_faults() {
        for outage in [
            db_error(DatabaseErrorKind::Unknown, "database or disk is full"),
            db_error(DatabaseErrorKind::Unknown, "disk I/O error"),
            db_error(
                DatabaseErrorKind::Unknown,
                "could not extend file \"base/16384/2619\": No space left on device",
            ),
            db_error(
                DatabaseErrorKind::ClosedConnection,
                "terminating connection due to administrator command",
            ),
            db_error(
                DatabaseErrorKind::UnableToSendCommand,
                "server closed the connection unexpectedly",
            ),
            StoreError::Unavailable("timed out waiting for connection".into()),
        ] {
            assert!(outage.is_outage(), "{outage}");
        }
        for fault in [
            db_error(DatabaseErrorKind::Unknown, "no such table: audit_events"),
            db_error(DatabaseErrorKind::Unknown, "syntax error at or near \"SELEC\""),
            db_error(DatabaseErrorKind::UniqueViolation, "duplicate key value"),
            db_error(DatabaseErrorKind::CheckViolation, "CHECK constraint failed"),
            db_error(
                DatabaseErrorKind::UnableToSendCommand,
                "number of parameters must be between 0 and 65535",
            ),
            StoreError::Database(DieselError::NotFound),
            StoreError::Database(DieselError::BrokenTransactionManager),
            StoreError::corrupt("t", "c", "x"),
            StoreError::Conflict("x"),
        ] {
            assert!(!fault.is_outage(), "{fault}");
        }
    }

    #[test]
    fn a_checkout_failure_is_remembered_for_one_period_or_until_a_success() {
        let health = Health::default();
        assert!(!health.known_down(Duration::from_secs(60)));
        health.checkout_failed();
        assert!(health.known_down(Duration::from_secs(60)));
        assert!(!health.known_down(Duration::ZERO));
        health.checkout_succeeded();
        assert!(!health.known_down(Duration::from_secs(60)));
    }
}
