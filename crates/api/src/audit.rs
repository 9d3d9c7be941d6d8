//! The audit log on the wire: a page of events, the search (also the
//! export's body) and the query parameters of both.

use doorstroom_domain::{AuditEvent, Brin, Outcome};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Only events in which this institution acted or that are about a
    /// record it was party to when they were written (its applications,
    /// packages it sent or received, its consent and inspection records).
    /// Required for an institution's privacy officer.
    #[param(pattern = "^[0-9]{2}[A-Z]{2}$")]
    pub institution: Option<String>,
    /// Only events with this outcome.
    #[param(value_type = Option<crate::schema::Outcome>)]
    pub outcome: Option<Outcome>,
    /// Keyset pagination: events after this sequence number.
    pub after: Option<i64>,
    /// At most this many events (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// One page of audit events.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<SequencedEvent>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SequencedEvent {
    pub seq: i64,
    #[schema(value_type = Object)]
    pub event: AuditEvent,
}

/// Searching the log. The student number travels in the body, never in a
/// URL, and is turned into the pseudonym at once.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditSearch {
    #[serde(default)]
    #[schema(value_type = Option<crate::schema::StudentNumber>)]
    pub student_number: Option<doorstroom_domain::StudentNumber>,
    /// Staff id or certificate fingerprint of the actor.
    #[serde(default)]
    pub actor: Option<String>,
    /// For the broker's privacy officer: events related to this institution.
    /// An institution's privacy officer always sees their own scope.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^[0-9]{2}[A-Z]{2}$")]
    pub institution: Option<Brin>,
    /// The action's name, e.g. `pull_package`.
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<crate::schema::Outcome>)]
    pub outcome: Option<Outcome>,
    /// Only events at or after this time.
    #[serde(default)]
    #[schema(example = "2027-03-01T00:00:00Z")]
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Only events before this time; must lie after `from`.
    #[serde(default)]
    #[schema(example = "2027-04-01T00:00:00Z")]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Keyset pagination: events after this sequence number.
    #[serde(default, deserialize_with = "optional_integer")]
    pub after: Option<i64>,
    /// 1 to 1000, default 100.
    #[serde(default, deserialize_with = "optional_integer")]
    #[schema(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// An optional integer, also when written with a fraction of zero (`77.0`):
/// JSON has one kind of number, and JSON Schema's `integer` is any number
/// without a fractional part, so a client may send either.
fn optional_integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::de::Error;
    let Some(number) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some(n) = number.as_i64() {
        return Ok(Some(n));
    }
    // A number with a fraction or exponent, or an integer beyond i64 (which
    // serde_json reads as f64, rounded): taken only up to 2^53 in magnitude,
    // where an f64 holds every integer exactly, so that nothing out of
    // range is rounded into range.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match number.as_f64() {
        #[allow(clippy::cast_possible_truncation)]
        Some(f) if f.fract() == 0.0 && (-EXACT..=EXACT).contains(&f) => Ok(Some(f as i64)),
        _ => Err(D::Error::custom("must be an integer from -2^63 to 2^63-1")),
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportFormat {
    /// `json` (default) or `csv`.
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod integer_tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Numbers {
        #[serde(default, deserialize_with = "optional_integer")]
        n: Option<i64>,
    }

    fn n(json: &str) -> Result<Option<i64>, String> {
        serde_json::from_str::<Numbers>(json)
            .map(|v| v.n)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn an_integer_may_be_written_with_a_zero_fraction() {
        assert_eq!(n(r#"{"n": 77}"#), Ok(Some(77)));
        assert_eq!(n(r#"{"n": 77.0}"#), Ok(Some(77)));
        assert_eq!(n(r#"{"n": -1e3}"#), Ok(Some(-1000)));
        assert_eq!(n(r#"{"n": -9223372036854775808}"#), Ok(Some(i64::MIN)));
        assert_eq!(n(r#"{"n": null}"#), Ok(None));
        assert_eq!(n("{}"), Ok(None));
        assert_eq!(n(r#"{"n": 9007199254740992.0}"#), Ok(Some(9_007_199_254_740_992)));
        for refused in [
            r#"{"n": 77.5}"#,
            r#"{"n": 1e300}"#,
            r#"{"n": 9223372036854775808}"#,
            r#"{"n": -9223372036854775809}"#,
            r#"{"n": 9007199254740994.0}"#,
            r#"{"n": "7"}"#,
        ] {
            assert!(n(refused).is_err(), "{refused}");
        }
    }
}
