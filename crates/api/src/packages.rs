//! The dossier exchange on the wire: the receipt of a submission, the
//! intakers a system may act for, the inbox, a pulled package and its
//! acknowledgement. The submission itself (`Submission`) is the JOSE
//! crate's, as PACKAGE-FORMAT.md defines it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use doorstroom_domain::{Section, StaffId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The broker's signed acknowledgement of a submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubmissionReceipt {
    #[schema(format = Uuid)]
    pub package_id: String,
    pub received_at: DateTime<Utc>,
    /// A JWS (EdDSA, `typ` `doorstroom-receipt+jwt`) by the broker's key,
    /// published at `/v1/broker/jwks`, over `{pid, jti, iss, aud,
    /// application, envelope_sha256, sections, received_at}`.
    pub receipt: String,
    /// When the broker will delete the package under the retention rules as
    /// things stand now (it moves earlier once the package is acknowledged
    /// or its application ends; see `GET /v1/applications/{id}`).
    pub delete_after: DateTime<Utc>,
}

/// An intaker a school system may name in `X-On-Behalf-Of`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IntakerView {
    /// The staff id to put in `X-On-Behalf-Of`.
    #[schema(value_type = crate::schema::StaffId)]
    pub id: StaffId,
    pub username: String,
    pub display_name: String,
}

/// A package in the inbox: metadata only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InboxEntry {
    #[schema(format = Uuid)]
    pub package_id: String,
    pub application_id: Uuid,
    pub sender: String,
    pub submitted_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub sections: Vec<InboxSection>,
    /// When the broker will delete the package under the retention rules as
    /// things stand now: pull it before then.
    pub delete_after: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InboxSection {
    #[schema(value_type = crate::schema::Section)]
    pub section: Section,
    pub size: i64,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Set when the section was withdrawn (consent withdrawn) and deleted.
    pub withdrawn_at: Option<DateTime<Utc>>,
}

/// The query of `GET /v1/inbox`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    /// Keyset pagination: packages after this package id.
    pub after: Option<String>,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// A section that was not released, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Withheld {
    #[schema(value_type = crate::schema::Section)]
    pub section: Section,
    pub reason: String,
}

/// A pulled package: the sender's envelope and the sections releasable now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PulledPackage {
    #[schema(format = Uuid)]
    pub package_id: String,
    pub application_id: Uuid,
    pub sender: String,
    pub submitted_at: DateTime<Utc>,
    /// The sender's signed envelope, as submitted.
    pub envelope: String,
    /// Section name to its token (JWE), for the sections released now.
    #[schema(value_type = std::collections::HashMap<String, String>)]
    pub sections: BTreeMap<Section, String>,
    pub withheld: Vec<Withheld>,
}

/// The acknowledgement as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Acknowledgement {
    #[schema(format = Uuid)]
    pub package_id: String,
    pub acknowledged_at: DateTime<Utc>,
}
