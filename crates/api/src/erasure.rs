//! Erasure on request (GDPR art. 17): what a privacy officer sends and what
//! the broker answers.

use chrono::{DateTime, Utc};
use doorstroom_domain::{GivenBy, StudentNumber};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An erasure request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    #[schema(value_type = crate::schema::StudentNumber)]
    pub student_number: StudentNumber,
    /// Who asked for the erasure: the student, or a parent or guardian.
    #[schema(value_type = crate::schema::GivenBy)]
    pub requested_by: GivenBy,
    /// Why, in a few words (1 to 200 characters). Kept in the audit log as
    /// long as the log: name nobody.
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub reason: String,
    /// The privacy officer's own reference for the request (1 to 200
    /// characters), if any.
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub reference: Option<String>,
}

/// What the erasure deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErasureSummary {
    pub erased_at: DateTime<Utc>,
    /// `everything` (the broker's privacy officer) or the BRIN of the
    /// officer's institution.
    pub scope: String,
    pub packages: usize,
    pub applications: usize,
    pub consent_events: usize,
    pub inspections: usize,
    /// Memberships of a vo school's safety-net cohort (the school's
    /// reference for the student goes with it).
    pub cohort_memberships: usize,
}
