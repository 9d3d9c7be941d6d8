//! The data-subject report (GDPR art. 15): the request and the report.

use chrono::{DateTime, Utc};
use doorstroom_domain::{AuditEvent, StudentNumber};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::applications::ApplicationView;
use crate::consents::{ConsentEventView, InspectionView};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    #[schema(value_type = crate::schema::StudentNumber)]
    pub student_number: StudentNumber,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `json` (default) or `text` (a readable document in Dutch, Markdown).
    #[param(pattern = "^(json|text)$")]
    pub format: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SectionTransfer {
    pub section: String,
    pub delivered_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PackageTransfer {
    #[schema(format = Uuid)]
    pub package_id: String,
    pub sender: String,
    pub recipient: String,
    pub submitted_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub sections: Vec<SectionTransfer>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccessRecord {
    pub seq: i64,
    #[schema(value_type = Object)]
    pub event: AuditEvent,
}

/// A place in a vo school's leaving cohort, which the safety net (vangnet)
/// watches.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CohortPlace {
    pub school: String,
    #[schema(example = "2027-2028")]
    pub school_year: String,
    /// The school's own reference for the student.
    pub reference: String,
    pub added_at: DateTime<Utc>,
}

/// What the broker holds about one student, and every access to it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubjectReport {
    pub generated_at: DateTime<Utc>,
    /// The scope: the privacy officer's institution, or none (the broker's).
    pub institution: Option<String>,
    pub applications: Vec<ApplicationView>,
    pub packages: Vec<PackageTransfer>,
    pub accesses: Vec<AccessRecord>,
    pub consents: Vec<ConsentEventView>,
    pub inspections: Vec<InspectionView>,
    /// The safety-net cohorts the student is in.
    #[serde(default)]
    pub cohorts: Vec<CohortPlace>,
}
