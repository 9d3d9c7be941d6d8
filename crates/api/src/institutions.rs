//! The institution registry on the wire: institutions, their published
//! JOSE keys and the client certificates bound to them.

use chrono::{DateTime, Utc};
use doorstroom_domain::{Brin, InstitutionStatus, KeyStatus, KeyUse, Oin, Sector};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A registered institution.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstitutionView {
    #[schema(example = "25LX")]
    pub brin: String,
    #[schema(example = "00000001000000250000")]
    pub oin: Option<String>,
    pub name: String,
    #[schema(value_type = crate::schema::Sector)]
    pub sector: Sector,
    #[schema(value_type = crate::schema::InstitutionStatus)]
    pub status: InstitutionStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Registering an institution.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterInstitution {
    #[schema(value_type = String, pattern = "^[0-9]{2}[A-Z]{2}$", example = "25LX")]
    pub brin: Brin,
    #[schema(value_type = Option<String>, pattern = "^[0-9]{20}$")]
    #[serde(default)]
    pub oin: Option<Oin>,
    /// 1 to 200 characters, no control characters.
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
    #[schema(value_type = crate::schema::Sector)]
    pub sector: Sector,
}

/// Changing an institution's name, OIN or status. Absent fields stay.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateInstitution {
    /// 1 to 200 characters, no control characters.
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: Option<String>,
    #[schema(value_type = Option<String>, pattern = "^[0-9]{20}$")]
    #[serde(default)]
    pub oin: Option<Oin>,
    #[serde(default)]
    #[schema(value_type = Option<crate::schema::InstitutionStatus>)]
    pub status: Option<InstitutionStatus>,
}

/// A published key as the registry keeps it.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    pub kid: String,
    #[serde(rename = "use")]
    #[schema(value_type = crate::schema::KeyUse)]
    pub key_use: KeyUse,
    pub alg: String,
    #[schema(value_type = crate::schema::KeyStatus)]
    pub status: KeyStatus,
    /// Expiry of the key's certificate (the first in its `x5c`).
    pub not_after: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The public JWK as published.
    #[schema(value_type = Object)]
    pub jwk: serde_json::Value,
}

/// Publishing a new key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddKey {
    /// A public JWK with `kid`, `use`, `alg` and an `x5c` chain to the
    /// broker's configured trust anchor.
    #[schema(value_type = Object)]
    pub jwk: serde_json::Value,
}

/// A client certificate bound to an institution.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateView {
    /// SHA-256 of the SubjectPublicKeyInfo, hex.
    pub fingerprint: String,
    pub subject: String,
    pub not_after: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Binding a client certificate to an institution.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindCertificate {
    /// The certificate, PEM. It must chain to the configured client CA and
    /// allow client authentication.
    pub certificate: String,
}

/// The contact for the warm handover: the member of staff an mbo intaker
/// calls about a student's dossier before the intake (e.g. the
/// zorgcoördinator). A name and at least an e-mail address or a phone
/// number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoverContactBody {
    /// 1 to 200 characters.
    #[schema(example = "J. de Boer")]
    pub name: String,
    /// Their role at the school, 1 to 200 characters.
    #[schema(example = "zorgcoördinator")]
    pub role: Option<String>,
    #[schema(example = "j.deboer@school.example")]
    pub email: Option<String>,
    /// Digits, spaces and `+ - ( )`, 6 to 20 digits.
    #[schema(example = "030 123 45 67")]
    pub phone: Option<String>,
}

/// Setting an institution's contacts, both at once (`PUT` replaces the
/// resource: an absent or `null` contact is removed).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetContact {
    pub handover: Option<HandoverContactBody>,
    /// How students and parents reach the institution's privacy officer
    /// (shown on the student's own page for objection, correction and
    /// erasure): an e-mail address, phone number or web page. 1 to 200
    /// characters, no control characters.
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub privacy: Option<String>,
}

/// An institution's contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContactView {
    /// The contact for the warm handover; `null` when none is set.
    pub handover: Option<HandoverContactBody>,
    /// How students and parents reach the institution's privacy officer;
    /// `null` when none is set.
    pub privacy: Option<String>,
    /// When the handover contact was last set.
    pub updated_at: Option<DateTime<Utc>>,
}
