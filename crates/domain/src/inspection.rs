//! Inspection (inzage): before the dossier goes, the student and/or the
//! parents may read it and add remarks. The vo school records that they
//! did — when, by whom, and whether remarks were added — and by default a
//! package cannot be submitted before an inspection is recorded (the rule
//! can be switched off per region; that switch lives in the configuration,
//! this module only answers whether an inspection was recorded in time).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::wire_enum;

wire_enum!(
    /// Who inspected the dossier.
    InspectedBy, "inspected_by" {
        Student => "student",
        Parent => "parent",
        /// A guardian (voogd).
        Guardian => "guardian",
    }
);

/// One recorded inspection of a student's dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InspectionRecord {
    /// When the dossier was inspected.
    pub at: DateTime<Utc>,
    pub by: InspectedBy,
    /// Whether remarks were added (they travel in the `remarks` section).
    pub remarks_added: bool,
}

/// Whether an inspection is recorded strictly before `before` (typically
/// the moment of submission). One inspection by anyone — student, parent
/// or guardian — suffices.
pub fn inspected(records: &[InspectionRecord], before: DateTime<Utc>) -> bool {
    records.iter().any(|r| r.at < before)
}

/// How far ahead of the broker's clock a recorded inspection may lie: the
/// school's clock may run a little ahead.
pub const INSPECTION_CLOCK_SKEW_SECS: i64 = 5 * 60;

/// Whether an inspection said to have taken place `at` can be recorded at
/// `now`: it must not lie in the future (beyond the clocks' skew).
pub fn inspection_time_plausible(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    (at - now).num_seconds() <= INSPECTION_CLOCK_SKEW_SECS
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, 1, hour, 0, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn no_records_means_not_inspected() {
        assert!(!inspected(&[], t(12)));
    }

    #[test]
    fn an_inspection_counts_only_before_the_moment() {
        let records = [InspectionRecord {
            at: t(10),
            by: InspectedBy::Parent,
            remarks_added: true,
        }];
        assert!(inspected(&records, t(11)));
        assert!(!inspected(&records, t(10)), "strictly before");
        assert!(!inspected(&records, t(9)));
    }

    #[test]
    fn any_inspector_suffices() {
        for by in InspectedBy::ALL.iter().copied() {
            let records = [
                InspectionRecord {
                    at: t(15),
                    by: InspectedBy::Student,
                    remarks_added: false,
                },
                InspectionRecord {
                    at: t(8),
                    by,
                    remarks_added: false,
                },
            ];
            assert!(inspected(&records, t(9)), "{by}");
        }
    }

    #[test]
    fn wire_form() {
        assert_eq!(InspectedBy::parse("guardian"), Ok(InspectedBy::Guardian));
        assert!(InspectedBy::parse("teacher").is_err());
        let record = InspectionRecord {
            at: t(10),
            by: InspectedBy::Student,
            remarks_added: true,
        };
        assert_eq!(
            serde_json::to_value(record).ok(),
            Some(serde_json::json!({"at": "2027-03-01T10:00:00Z", "by": "student", "remarks_added": true}))
        );
    }

    #[test]
    fn an_inspection_may_lie_ahead_by_the_skew_only() {
        let now = t(12);
        let skew = chrono::Duration::seconds(INSPECTION_CLOCK_SKEW_SECS);
        assert!(inspection_time_plausible(t(9), now));
        assert!(inspection_time_plausible(now + skew, now));
        assert!(!inspection_time_plausible(
            now + skew + chrono::Duration::seconds(1),
            now
        ));
    }
}
