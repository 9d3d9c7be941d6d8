//! Staff accounts, login and "who am I" on the wire.

use chrono::{DateTime, Utc};
use doorstroom_domain::{Brin, Password, Role, Sector, StaffId, StaffStatus, Username};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Logging in.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The current 6-digit code of the account's authenticator app.
    pub totp: String,
}

/// A short-lived access token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires (at most 900).
    pub expires_in: i64,
    pub expires_at: DateTime<Utc>,
}

/// The authenticated caller.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WhoAmI {
    /// `system` (client certificate) or `staff` (access token).
    pub kind: String,
    pub institution: Option<String>,
    #[schema(value_type = Option<crate::schema::Sector>)]
    pub sector: Option<Sector>,
    #[schema(value_type = Option<crate::schema::Role>)]
    pub role: Option<Role>,
    #[schema(value_type = Option<crate::schema::StaffId>)]
    pub staff_id: Option<StaffId>,
    /// SPKI SHA-256 of the client certificate, for systems.
    pub fingerprint: Option<String>,
}

/// A staff account (never its password hash or TOTP secret).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StaffView {
    #[schema(value_type = crate::schema::StaffId)]
    pub id: StaffId,
    pub username: String,
    pub display_name: String,
    #[schema(value_type = crate::schema::Role)]
    pub role: Role,
    pub institution: Option<String>,
    #[schema(value_type = crate::schema::StaffStatus)]
    pub status: StaffStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Creating a staff account. Every account gets a TOTP second factor; its
/// provisioning URI is returned once, in the response.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaff {
    #[schema(value_type = String, example = "j.devries")]
    pub username: Username,
    /// 1 to 200 characters, no control characters.
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub display_name: String,
    #[schema(value_type = crate::schema::Role)]
    pub role: Role,
    /// Required for institution admins and intakers; absent for broker admins
    /// and the broker's own privacy officer.
    #[schema(value_type = Option<String>, pattern = "^[0-9]{2}[A-Z]{2}$", example = "25LX")]
    #[serde(default)]
    pub institution: Option<Brin>,
    /// The initial password, 12 to 256 characters.
    #[schema(value_type = String, min_length = 12, max_length = 256)]
    pub password: Password,
}

/// A new account or second factor, with the one-time TOTP enrolment.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Enrolment {
    pub account: StaffView,
    /// `otpauth://` URI for the authenticator app; shown only now.
    pub totp_uri: String,
}

/// The filter of the staff list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StaffQuery {
    /// BRIN of the institution; absent lists every account (broker staff only).
    #[param(pattern = "^[0-9]{2}[A-Z]{2}$")]
    pub institution: Option<String>,
}
