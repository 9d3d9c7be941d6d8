//! Transparency links to the student's own page on the wire: issuing one
//! (`POST /v1/transparency-links`) and revoking it (`DELETE
//! /v1/transparency-links/{id}`).

use chrono::{DateTime, Utc};
use doorstroom_domain::StudentNumber;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Asking for a link to a student's own page.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueLink {
    #[schema(value_type = crate::schema::StudentNumber)]
    pub student_number: StudentNumber,
}

/// A link just issued. The URL and the code are shown this once: the
/// broker keeps only their hashes. Hand the code over separately (on
/// paper, or in the school's own portal), never with the URL.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IssuedLink {
    /// The link's id, to revoke it.
    pub id: Uuid,
    /// The student's page.
    pub url: String,
    /// Six digits, asked once when the page is opened.
    #[schema(pattern = "^[0-9]{6}$", example = "042917")]
    pub code: String,
    pub expires_at: DateTime<Utc>,
}
