//! The clock is injected: production passes the system clock, tests a fixed
//! or advancing one, so that expiry and retention rules can be tested exactly.

use chrono::{DateTime, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}
