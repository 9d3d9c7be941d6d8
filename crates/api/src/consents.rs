//! The consent and inspection ledger on the wire: recording an inspection
//! (`POST /v1/inspections`), giving and withdrawing consent (`POST
//! /v1/consents`, `/v1/consents/withdraw`) with the signed receipt each
//! answers, and a student's history (`POST /v1/consents/history`).

use chrono::{DateTime, NaiveDate, Utc};
use doorstroom_domain::{Brin, ConsentEventKind, ConsentMethod, GivenBy, InspectedBy, Section, StudentNumber};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Recording an inspection (inzage).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordInspection {
    #[schema(value_type = crate::schema::StudentNumber)]
    pub student_number: StudentNumber,
    pub inspected_at: DateTime<Utc>,
    #[schema(value_type = crate::schema::InspectedBy)]
    pub inspected_by: InspectedBy,
    /// Whether the student or parents added remarks afterwards.
    pub remarks_added: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InspectionView {
    pub id: Uuid,
    pub school: String,
    pub inspected_at: DateTime<Utc>,
    pub inspected_by: String,
    pub remarks_added: bool,
    pub recorded_at: DateTime<Utc>,
}

/// Consent given (or, at `/v1/consents/withdraw`, withdrawn) for sections
/// of the dossier to go to one mbo.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    #[schema(value_type = crate::schema::StudentNumber)]
    pub student_number: StudentNumber,
    /// Used to check who may decide (16 or older: the student; under 16: a
    /// parent or guardian), then dropped.
    pub date_of_birth: NaiveDate,
    /// BRIN of the mbo the consent is for.
    #[schema(value_type = String, pattern = "^[0-9]{2}[A-Z]{2}$", example = "25LX")]
    pub recipient: Brin,
    /// Sections that travel on consent (see `GET /v1/register`).
    #[schema(value_type = Vec<crate::schema::Section>)]
    pub sections: Vec<Section>,
    #[schema(value_type = crate::schema::GivenBy)]
    pub given_by: GivenBy,
    #[schema(value_type = crate::schema::ConsentMethod)]
    pub method: ConsentMethod,
    /// Where the school keeps the evidence (form number, file reference); never the evidence itself.
    /// 1 to 200 characters, no control characters.
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub evidence_ref: String,
    /// The version of the privacy notice the student or parents were shown.
    /// 1 to 200 characters, no control characters.
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub notice_version: String,
    /// When a given consent ends by itself (only when giving).
    #[serde(default)]
    pub valid_until: Option<DateTime<Utc>>,
}

/// The signed receipt of a consent event (fields after ISO/IEC TS 27560).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsentReceipt {
    pub receipt_id: Uuid,
    #[schema(value_type = crate::schema::ConsentEventKind)]
    pub event: ConsentEventKind,
    #[schema(value_type = Vec<crate::schema::Section>)]
    pub sections: Vec<Section>,
    pub recorded_at: DateTime<Utc>,
    /// A JWS (EdDSA, `typ` `doorstroom-consent-receipt+jwt`) by the broker's
    /// key at `/v1/broker/jwks` over `{receipt_id, version, subject,
    /// controller, recipient, purpose, sections, lawful_basis, event, time,
    /// given_by, student_under_16, method, notice_version, valid_until}`;
    /// the claims and their types are in PACKAGE-FORMAT.md §9.3.
    pub receipt: String,
    /// For a withdrawal: the packages whose copy of a section was deleted
    /// before delivery, and those that had already received it.
    #[serde(default)]
    pub deleted_from_packages: Vec<String>,
    #[serde(default)]
    pub delivered_before_withdrawal: Vec<String>,
}

/// Asking for a student's history.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryRequest {
    #[schema(value_type = crate::schema::StudentNumber)]
    pub student_number: StudentNumber,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsentEventView {
    pub receipt_id: Uuid,
    pub recipient: String,
    /// The school that recorded the event (its owner).
    pub school: String,
    #[schema(value_type = crate::schema::Section)]
    pub section: Section,
    pub event: String,
    pub purpose: String,
    pub at: DateTime<Utc>,
    pub given_by: String,
    pub student_under_16: bool,
    pub method: String,
    pub evidence_ref: String,
    pub notice_version: String,
    pub valid_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct History {
    pub consents: Vec<ConsentEventView>,
    pub inspections: Vec<InspectionView>,
}
