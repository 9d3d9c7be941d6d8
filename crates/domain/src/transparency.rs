//! The rules of a transparency link to the student's own page: when a
//! link can be used, what a code looks like, who may withdraw consent from
//! the page. Pure functions; the time is passed in.

use chrono::{DateTime, Duration, Utc};

use crate::consent::GivenBy;
use crate::ids::ParseError;

/// How many digits the code has.
pub const CODE_DIGITS: usize = 6;

/// The longest a link may be valid: a school year. Longer would outlive
/// what it shows (applications end, packages go).
pub const MAX_LINK_VALIDITY: Duration = Duration::days(366);

/// The state of a link as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkFacts {
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub locked_at: Option<DateTime<Utc>>,
}

/// Why a link cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// The school revoked it.
    Revoked,
    /// Its period is over.
    Expired,
    /// Too many wrong codes.
    Locked,
}

impl LinkRefusal {
    pub const fn as_str(self) -> &'static str {
        match self {
            LinkRefusal::Revoked => "link_revoked",
            LinkRefusal::Expired => "link_expired",
            LinkRefusal::Locked => "link_locked",
        }
    }
}

/// Whether a link with `facts` can be used at `now`: not revoked, not
/// expired (`expires_at` itself is too late), not locked.
pub fn link_usable(facts: &LinkFacts, now: DateTime<Utc>) -> Result<(), LinkRefusal> {
    if facts.revoked_at.is_some_and(|at| at <= now) {
        Err(LinkRefusal::Revoked)
    } else if now >= facts.expires_at {
        Err(LinkRefusal::Expired)
    } else if facts.locked_at.is_some() {
        Err(LinkRefusal::Locked)
    } else {
        Ok(())
    }
}

/// A typed code: exactly six digits, spaces around and between them
/// ignored (a code on paper is often read as "123 456").
pub fn parse_code(raw: &str) -> Result<String, ParseError> {
    let digits: String = raw.chars().filter(|c| *c != ' ').collect();
    if digits.len() == CODE_DIGITS && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(ParseError::new("code", "must be 6 digits"))
    }
}

/// Who may withdraw consent on the student's page, by the ledger's
/// under-16 flag of the consent concerned: from 16 the student, under 16 a
/// parent or guardian (the same rule as for a school-recorded withdrawal,
/// GDPR art. 8 and UAVG art. 5).
pub fn may_withdraw(under_16: bool, by: GivenBy) -> bool {
    match by {
        GivenBy::Student => !under_16,
        GivenBy::Parent | GivenBy::Guardian => under_16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap_or_default()
    }

    #[test]
    fn a_link_is_usable_until_it_expires_is_revoked_or_locks() {
        let facts = LinkFacts {
            expires_at: at(100),
            revoked_at: None,
            locked_at: None,
        };
        assert_eq!(link_usable(&facts, at(99)), Ok(()));
        assert_eq!(link_usable(&facts, at(100)), Err(LinkRefusal::Expired));
        let revoked = LinkFacts {
            revoked_at: Some(at(50)),
            ..facts
        };
        assert_eq!(link_usable(&revoked, at(49)), Ok(()));
        assert_eq!(link_usable(&revoked, at(50)), Err(LinkRefusal::Revoked));
        let locked = LinkFacts {
            locked_at: Some(at(10)),
            ..facts
        };
        assert_eq!(link_usable(&locked, at(20)), Err(LinkRefusal::Locked));
    }

    #[test]
    fn a_code_is_six_digits() {
        assert_eq!(parse_code("123456").ok().as_deref(), Some("123456"));
        assert_eq!(parse_code(" 123 456 ").ok().as_deref(), Some("123456"));
        for bad in ["", "12345", "1234567", "12345a", "١٢٣٤٥٦", "123\u{0}56"] {
            assert!(parse_code(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_under_16_flag_decides_who_withdraws() {
        assert!(may_withdraw(false, GivenBy::Student));
        assert!(!may_withdraw(false, GivenBy::Parent));
        assert!(!may_withdraw(true, GivenBy::Student));
        assert!(may_withdraw(true, GivenBy::Parent));
        assert!(may_withdraw(true, GivenBy::Guardian));
    }
}
