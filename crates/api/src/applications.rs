//! Applications (aanmelding) on the wire: registering one, finding one's
//! students' applications, reading one with its course, reporting the
//! course. The student number only ever travels in a request body.

use chrono::{DateTime, NaiveDate, Utc};
use doorstroom_domain::{ApplicationStatus, Brin, Programme, SchoolYear, StudentNumber};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// An application as its parties see it (never the student number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApplicationView {
    pub id: Uuid,
    /// The mbo where the student applied.
    pub receiving: String,
    /// The student's vo school, if the mbo named it.
    pub sending: Option<String>,
    pub programme: String,
    pub crebo: Option<String>,
    #[schema(example = "2027-2028")]
    pub school_year: String,
    pub applied_on: NaiveDate,
    /// Applied after 1 April of the school year's start year.
    pub late: bool,
    #[schema(value_type = crate::schema::ApplicationStatus)]
    pub status: ApplicationStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

// `Debug` (through `StudentNumber`) never shows the student number; the
// wire form carries it, for the broker only, over TLS. (A comment, not a
// doc comment: the doc comment is the schema's description.)
/// Registering an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterApplication {
    /// `{"type": "bsn" | "onderwijsnummer", "number": "…"}`, each checked by its own 11-proef.
    #[schema(value_type = crate::schema::StudentNumber)]
    pub student_number: StudentNumber,
    /// BRIN of the student's vo school, if known; only that school can find the application.
    #[schema(value_type = Option<String>, pattern = "^[0-9]{2}[A-Z]{2}$", example = "07AB")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sending_school: Option<Brin>,
    #[schema(value_type = crate::schema::Programme)]
    pub programme: Programme,
    #[schema(value_type = crate::schema::SchoolYear)]
    pub school_year: SchoolYear,
    pub applied_on: NaiveDate,
}

/// Finding one's own students' applications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindApplications {
    #[schema(value_type = crate::schema::StudentNumber)]
    pub student_number: StudentNumber,
}

/// An application with its course, for the sending school's aftercare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApplicationDetail {
    #[serde(flatten)]
    pub application: ApplicationView,
    pub history: Vec<StatusEventView>,
    /// When the broker will delete the application under the retention
    /// rules as things stand now.
    pub delete_after: DateTime<Utc>,
    /// The packages sent for it, each with its own deletion moment.
    pub packages: Vec<PackageExpiry>,
}

/// A package of an application and when the broker will delete it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PackageExpiry {
    #[schema(format = Uuid)]
    pub package_id: String,
    pub submitted_at: DateTime<Utc>,
    pub delete_after: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusEventView {
    #[schema(value_type = crate::schema::ApplicationStatus)]
    pub status: ApplicationStatus,
    pub reported_at: DateTime<Utc>,
    /// With `intake_scheduled`: the day of the intake conversation, if the
    /// mbo gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intake_on: Option<NaiveDate>,
}

/// Reporting an application's course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportStatus {
    #[schema(value_type = crate::schema::ApplicationStatus)]
    pub status: ApplicationStatus,
    /// With `intake_scheduled` only (optional there): the day of the intake
    /// conversation (`YYYY-MM-DD`), so that the vo school can prepare the
    /// warm handover with the student. Reporting the schedule again with
    /// another day records that the intake moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intake_on: Option<NaiveDate>,
}
