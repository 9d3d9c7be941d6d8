//! The safety net (vangnet) on the wire: a vo school's leaving cohort, and
//! which of its students are at risk of being lost between vo and mbo.

use chrono::NaiveDate;
use doorstroom_domain::StudentNumber;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One leaver of the cohort.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CohortStudent {
    /// `{"type": "bsn" | "onderwijsnummer", "number": "…"}`, each checked by
    /// its own 11-proef; turned into the student's pseudonym at once and
    /// never stored.
    #[schema(value_type = crate::schema::StudentNumber)]
    pub student_number: StudentNumber,
    /// The school's own reference for the student (e.g. its internal
    /// student id): 1 to 64 letters, digits, `.`, `_` or `-`. The broker
    /// answers with it and nothing else about the student.
    #[schema(example = "LL-2027-0042", pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub reference: String,
}

/// Students to add to the cohort (at most 500 per call).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddToCohort {
    pub students: Vec<CohortStudent>,
}

/// What adding did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CohortAdded {
    pub added: usize,
    /// Already in the cohort with the same reference.
    pub unchanged: usize,
    /// The cohort's size now.
    pub cohort_size: usize,
}

/// Why a student is at risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RiskReason {
    /// No (open) application after the application deadline (1 April).
    NoApplication,
    /// No intake scheduled or held after the intake deadline (1 July).
    NoIntake,
    /// No place offered after the place deadline (1 August).
    NoPlace,
    /// Not enrolled after the enrolment deadline (1 October).
    NotEnrolled,
    /// Did not show up at the mbo, and is not enrolled elsewhere.
    NoShow,
}

impl RiskReason {
    /// The wire name (as in JSON), for the CSV export.
    pub const fn as_str(self) -> &'static str {
        match self {
            RiskReason::NoApplication => "no_application",
            RiskReason::NoIntake => "no_intake",
            RiskReason::NoPlace => "no_place",
            RiskReason::NotEnrolled => "not_enrolled",
            RiskReason::NoShow => "no_show",
        }
    }
}

impl From<doorstroom_domain::safety_net::RiskReason> for RiskReason {
    fn from(reason: doorstroom_domain::safety_net::RiskReason) -> Self {
        use doorstroom_domain::safety_net::RiskReason as R;
        match reason {
            R::NoApplication => RiskReason::NoApplication,
            R::NoIntake => RiskReason::NoIntake,
            R::NoPlace => RiskReason::NoPlace,
            R::NotEnrolled => RiskReason::NotEnrolled,
            R::NoShow => RiskReason::NoShow,
        }
    }
}

/// A student of the cohort at risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AtRisk {
    /// The school's own reference.
    pub reference: String,
    pub reason: RiskReason,
    /// The day the student became at risk for this reason.
    pub since: NaiveDate,
}

/// The students of a cohort at risk on a day, by reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AtRiskList {
    /// `2027-2028`: the mbo school year the cohort leaves for.
    pub school_year: String,
    /// The day (in the Netherlands) the list is for.
    pub as_of: NaiveDate,
    pub cohort_size: usize,
    pub at_risk: Vec<AtRisk>,
}

#[cfg(test)]
mod tests {
    use super::RiskReason;

    #[test]
    fn the_csv_name_is_the_json_name() {
        for reason in doorstroom_domain::safety_net::RiskReason::ALL {
            let wire = RiskReason::from(reason);
            assert_eq!(serde_json::to_value(wire).ok(), Some(serde_json::json!(wire.as_str())));
            assert_eq!(wire.as_str(), reason.as_str());
        }
    }
}
