//! What the broker operator does at the command line, on the broker's host:
//! the same checks and the same audit spine as the API, with the operator
//! as principal.

use chrono::{DateTime, Utc};
use doorstroom_domain::ResourceKind;
use doorstroom_domain::{
    Action, Brin, InstitutionStatus, Oin, Password, Principal, Purpose, Resource, ResourceRef, Role, Sector, StaffId,
    StaffStatus, Username,
};
use doorstroom_jose::TrustAnchors;
use doorstroom_server::access::{Access, perform_in};
use doorstroom_server::credentials::{hash_password, new_totp};
use doorstroom_server::error::ApiError;
use doorstroom_server::handlers::institutions::{checked_key, parse_client_certificate};
use doorstroom_server::handlers::staff::manage_access;
use doorstroom_server::secrets::TotpKey;
use doorstroom_server::tls::ClientRoots;
use doorstroom_store::institutions::Institution;
use doorstroom_store::staff::StaffAccount;
use doorstroom_store::{Store, certificates, institutions, keys, staff};

fn registry_access(action: Action, resource: Resource, kind: ResourceKind, id: String) -> Access {
    Access::new(
        action,
        resource,
        ResourceRef::new(kind, Some(id)),
        Purpose::Administration,
    )
}

/// Registers an institution.
pub fn register_institution(
    store: &Store,
    now: DateTime<Utc>,
    brin: Brin,
    oin: Option<Oin>,
    name: &str,
    sector: Sector,
) -> Result<Institution, ApiError> {
    let access = registry_access(
        Action::RegisterInstitution,
        Resource::Broker,
        ResourceKind::Institution,
        brin.to_string(),
    );
    let name = name.trim().to_owned();
    perform_in(store, now, &Principal::Operator, None, access, |conn, now| {
        let institution = Institution {
            brin,
            oin,
            name,
            sector,
            status: InstitutionStatus::Active,
            created_at: now,
            updated_at: now,
        };
        institutions::insert(conn, &institution)?;
        Ok(institution)
    })
}

/// Lists the registry.
pub fn list_institutions(store: &Store, now: DateTime<Utc>) -> Result<Vec<Institution>, ApiError> {
    let access = Access::new(
        Action::ListInstitutions,
        Resource::Broker,
        ResourceRef::new(ResourceKind::Institution, None),
        Purpose::Administration,
    );
    perform_in(store, now, &Principal::Operator, None, access, |conn, _| {
        Ok(institutions::list(conn)?)
    })
}

/// Suspends or reactivates an institution.
pub fn set_institution_status(
    store: &Store,
    now: DateTime<Utc>,
    brin: Brin,
    status: InstitutionStatus,
) -> Result<Institution, ApiError> {
    let access = registry_access(
        Action::UpdateInstitution,
        Resource::Institution(brin.clone()),
        ResourceKind::Institution,
        brin.to_string(),
    );
    perform_in(store, now, &Principal::Operator, None, access, |conn, now| {
        institutions::update(conn, &brin, None, None, Some(status), now)?.ok_or(ApiError::NotFound)
    })
}

/// Binds a client certificate (PEM) to an institution.
pub fn bind_certificate(
    store: &Store,
    now: DateTime<Utc>,
    roots: &ClientRoots,
    brin: Brin,
    pem: &str,
) -> Result<certificates::CertificateBinding, ApiError> {
    let access = registry_access(
        Action::ManageCertificates,
        Resource::Institution(brin.clone()),
        ResourceKind::ClientCertificate,
        brin.to_string(),
    );
    perform_in(store, now, &Principal::Operator, None, access, |conn, now| {
        let binding = parse_client_certificate(roots, pem, &brin, now)?;
        certificates::bind(conn, &binding)?;
        Ok(binding)
    })
}

/// Publishes a JOSE key (public JWK with x5c) for an institution.
pub fn add_key(
    store: &Store,
    now: DateTime<Utc>,
    anchors: &TrustAnchors,
    brin: Brin,
    jwk: &serde_json::Value,
) -> Result<keys::InstitutionKey, ApiError> {
    let kid = jwk.get("kid").and_then(|k| k.as_str()).unwrap_or_default().to_owned();
    let access = registry_access(
        Action::ManageKeys,
        Resource::Institution(brin.clone()),
        ResourceKind::InstitutionKey,
        kid,
    );
    perform_in(store, now, &Principal::Operator, None, access, |conn, now| {
        let key = checked_key(jwk, anchors, brin, now)?;
        keys::insert(conn, &key)?;
        Ok(key)
    })
}

/// A new staff account with its TOTP secret and provisioning URI, shown once.
pub struct NewStaff {
    pub account: StaffAccount,
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
) -> Result<NewStaff, ApiError> {
    if !role.fits_institution(institution.as_ref()) {
        return Err(ApiError::invalid(
            "/institution",
            "institution: broker admins have none; institution admins and intakers need one",
        ));
    }
    let password_hash = hash_password(password)?;
    let (totp_secret, totp_uri) = new_totp(username.as_str())?;
    let access = Access::new(
        Action::CreateStaff,
        Resource::StaffAccount {
            institution: institution.clone(),
            role,
        },
        ResourceRef::new(ResourceKind::StaffAccount, None),
        Purpose::Administration,
    );
    let display_name = display_name.trim().to_owned();
    let secret = totp_secret.clone();
    let account = perform_in(store, now, &Principal::Operator, None, access, |conn, now| {
        let id = StaffId(uuid::Uuid::new_v4());
        let sealed = totp_key
            .seal(id, &secret)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let account = StaffAccount {
            id,
            username,
            display_name,
            role,
            institution,
            password_hash,
            totp_secret: Some(sealed),
            status: StaffStatus::Active,
            created_at: now,
            updated_at: now,
        };
        staff::insert(conn, &account)?;
        Ok(account)
    })?;
    Ok(NewStaff {
        account,
        totp_secret,
        totp_uri,
    })
}

/// Lists staff accounts, of one institution or all.
pub fn list_staff(store: &Store, now: DateTime<Utc>, institution: Option<Brin>) -> Result<Vec<StaffAccount>, ApiError> {
    let resource = institution
        .clone()
        .map(Resource::Institution)
        .unwrap_or(Resource::Broker);
    let access = Access::new(
        Action::ListStaff,
        resource,
        ResourceRef::new(ResourceKind::StaffAccounts, institution.as_ref().map(|b| b.to_string())),
        Purpose::Administration,
    );
    perform_in(store, now, &Principal::Operator, None, access, |conn, _| {
        Ok(staff::list(conn, institution.as_ref())?)
    })
}

/// Deactivates a staff account.
pub fn deactivate_staff(store: &Store, now: DateTime<Utc>, id: StaffId) -> Result<StaffAccount, ApiError> {
    let access = manage_access(id);
    perform_in(store, now, &Principal::Operator, None, access, |conn, now| {
        staff::set_status(conn, id, StaffStatus::Deactivated, now)?.ok_or(ApiError::NotFound)
    })
}
