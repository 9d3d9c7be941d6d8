//! What the broker operator does at the command line, on the broker's host:
//! the registry and staff use cases of `doorstroom_app`, the very ones the
//! API calls, with the operator as principal (audited as `operator`, no
//! request id).

use chrono::{DateTime, Utc};
use doorstroom_api::institutions::{CertificateView, InstitutionView, KeyView, RegisterInstitution, UpdateInstitution};
use doorstroom_api::staff::{CreateStaff, StaffView};
use doorstroom_app::registry::{self, ClientCertificateCheck};
use doorstroom_app::secrets::TotpKey;
use doorstroom_app::{AppError, Caller, staff};
use doorstroom_domain::{Brin, InstitutionStatus, Oin, Password, Principal, Role, Sector, StaffId, Username};
use doorstroom_jose::TrustAnchors;
use doorstroom_store::Store;

/// The operator at the command line: no request.
fn operator() -> Caller<'static> {
    Caller::new(&Principal::Operator, None)
}

/// Registers an institution.
pub fn register_institution(
    store: &Store,
    now: DateTime<Utc>,
    brin: Brin,
    oin: Option<Oin>,
    name: &str,
    sector: Sector,
) -> Result<InstitutionView, AppError> {
    let command = RegisterInstitution {
        brin,
        oin,
        name: name.to_owned(),
        sector,
    };
    registry::register_institution(store, now, operator(), command)
}

/// Lists the registry.
pub fn list_institutions(store: &Store, now: DateTime<Utc>) -> Result<Vec<InstitutionView>, AppError> {
    registry::list_institutions(store, now, operator())
}

/// Suspends or reactivates an institution.
pub fn set_institution_status(
    store: &Store,
    now: DateTime<Utc>,
    brin: Brin,
    status: InstitutionStatus,
) -> Result<InstitutionView, AppError> {
    let command = UpdateInstitution {
        status: Some(status),
        ..UpdateInstitution::default()
    };
    registry::update_institution(store, now, operator(), brin, command)
}

/// Binds a client certificate (PEM) to an institution, once `roots` (the
/// broker's client CA) accept it.
pub fn bind_certificate(
    store: &Store,
    now: DateTime<Utc>,
    roots: &dyn ClientCertificateCheck,
    brin: Brin,
    pem: &str,
) -> Result<CertificateView, AppError> {
    registry::bind_certificate(store, now, operator(), roots, brin, pem.to_owned())
}

/// Publishes a JOSE key (public JWK with x5c) for an institution.
pub fn add_key(
    store: &Store,
    now: DateTime<Utc>,
    anchors: &TrustAnchors,
    brin: Brin,
    jwk: &serde_json::Value,
) -> Result<KeyView, AppError> {
    registry::add_key(store, now, operator(), anchors, brin, jwk.clone())
}

/// A new staff account with its TOTP secret and provisioning URI, shown once.
pub struct NewStaff {
    pub account: StaffView,
    pub totp_secret: String,
    pub totp_uri: String,
}

/// Creates a staff account (how the first broker admin comes to be). The
/// TOTP secret is stored sealed under `totp_key`; the plaintext is returned
/// once, for enrolment.
// The fields of the account come one by one from the command line and the
// demo seeding; a struct for them would only be unpacked here.
#[allow(clippy::too_many_arguments)]
pub fn create_staff(
    store: &Store,
    totp_key: &TotpKey,
    now: DateTime<Utc>,
    username: Username,
    display_name: &str,
    role: Role,
    institution: Option<Brin>,
    password: &Password,
) -> Result<NewStaff, AppError> {
    let command = CreateStaff {
        username,
        display_name: display_name.to_owned(),
        role,
        institution,
        password: password.clone(),
    };
    let created = staff::create_staff(store, now, operator(), totp_key, command)?;
    Ok(NewStaff {
        account: created.enrolment.account,
        totp_secret: created.totp_secret,
        totp_uri: created.enrolment.totp_uri,
    })
}

/// Lists staff accounts, of one institution or all.
pub fn list_staff(store: &Store, now: DateTime<Utc>, institution: Option<Brin>) -> Result<Vec<StaffView>, AppError> {
    staff::list_staff(store, now, operator(), institution)
}

/// Deactivates a staff account.
pub fn deactivate_staff(store: &Store, now: DateTime<Utc>, id: StaffId) -> Result<StaffView, AppError> {
    staff::deactivate_staff(store, now, operator(), id)
}
