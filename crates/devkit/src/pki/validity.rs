//! Certificate times: how long what the dev CA issues lives, and the
//! conversions between chrono, `time` (rcgen) and ASN.1 (x509-parser).

use chrono::{DateTime, Duration, Months, Utc};
use x509_parser::time::ASN1Time;

use super::error::PkiError;

/// The CA lives five years; everything it issues in `ensure_dev_pki` two.
pub(super) const CA_VALIDITY_MONTHS: u32 = 60;
const LEAF_VALIDITY_MONTHS: u32 = 24;
/// Certificates start a day before `now`, to tolerate clock skew.
const BACKDATE_DAYS: i64 = 1;

pub(super) fn backdate(now: DateTime<Utc>) -> Result<DateTime<Utc>, PkiError> {
    now.checked_sub_signed(Duration::days(BACKDATE_DAYS))
        .ok_or(PkiError::TimeOutOfRange)
}

pub(super) fn leaf_not_after(now: DateTime<Utc>) -> Result<DateTime<Utc>, PkiError> {
    now.checked_add_months(Months::new(LEAF_VALIDITY_MONTHS))
        .ok_or(PkiError::TimeOutOfRange)
}

pub(super) fn to_offset(t: DateTime<Utc>) -> Result<time::OffsetDateTime, PkiError> {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp()).map_err(|_| PkiError::TimeOutOfRange)
}

pub(super) fn asn1_to_chrono(t: ASN1Time) -> Result<DateTime<Utc>, PkiError> {
    DateTime::from_timestamp(t.timestamp(), 0).ok_or(PkiError::TimeOutOfRange)
}
