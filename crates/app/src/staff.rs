//! Staff accounts and "who am I". The API, the web console and the
//! operator's command line (with `Principal::Operator`) call the same
//! functions; like the registry's they take the store and the time (see
//! [`crate::registry`]), and the TOTP key where a second factor is sealed.

use chrono::{DateTime, Utc};
use doorstroom_api::staff::{CreateStaff, Enrolment, StaffView, WhoAmI};
use doorstroom_domain::{
    Action, Brin, InstitutionStatus, Principal, Purpose, Resource, ResourceKind, ResourceRef, Role, StaffId,
    StaffStatus,
};
use doorstroom_store::staff::StaffAccount;
use doorstroom_store::{DbConn, Store, console_sessions, institutions, staff};

use crate::credentials::{hash_password, new_totp};
use crate::secrets::TotpKey;
use crate::{Access, AppError, Caller, Located, perform_in};

/// How an account is shown (never its password hash or TOTP secret).
pub fn staff_view(a: StaffAccount) -> StaffView {
    StaffView {
        id: a.id,
        username: a.username.as_str().to_owned(),
        display_name: a.display_name,
        role: a.role,
        institution: a.institution.map(|b| b.to_string()),
        status: a.status,
        created_at: a.created_at,
        updated_at: a.updated_at,
    }
}

/// A new account or second factor: what the API answers, and the TOTP
/// secret by itself for the doors that show it for typing in.
pub struct Enrolled {
    pub enrolment: Enrolment,
    pub totp_secret: String,
}

/// The authenticated caller: a school system or a staff member (the
/// operator and anonymous callers are refused). Audited as `whoami`.
pub fn whoami(store: &Store, now: DateTime<Utc>, caller: Caller<'_>) -> Result<WhoAmI, AppError> {
    let access = Access::new(
        Action::WhoAmI,
        Resource::Broker,
        ResourceRef::new(ResourceKind::Principal, None),
        Purpose::Authentication,
    );
    perform_in(store, now, caller, access, |ctx| {
        Ok(match ctx.principal() {
            Principal::System {
                institution,
                sector,
                fingerprint,
            } => WhoAmI {
                kind: "system".into(),
                institution: Some(institution.to_string()),
                sector: Some(*sector),
                role: None,
                staff_id: None,
                fingerprint: Some(fingerprint.to_string()),
            },
            Principal::Staff {
                id, role, institution, ..
            } => WhoAmI {
                kind: "staff".into(),
                institution: institution.as_ref().map(|b| b.to_string()),
                sector: None,
                role: Some(*role),
                staff_id: Some(*id),
                fingerprint: None,
            },
            Principal::Operator | Principal::StudentLink { .. } | Principal::Anonymous => {
                return Err(AppError::Forbidden);
            }
        })
    })
}

/// The staff accounts of one institution, or of all (broker staff and the
/// operator only); audited as `list_staff`.
pub fn list_staff(
    store: &Store,
    now: DateTime<Utc>,
    caller: Caller<'_>,
    institution: Option<Brin>,
) -> Result<Vec<StaffView>, AppError> {
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
    perform_in(store, now, caller, access, |ctx| {
        Ok(staff::list(ctx.conn, institution.as_ref())?
            .into_iter()
            .map(staff_view)
            .collect())
    })
}

/// Creates a staff account: checks the role against the institution and
/// the display name, hashes the password (before the transaction opens: it
/// is slow), enrols a TOTP second factor sealed under `totp_key`. Who may
/// create which role is the policy's; audited as `create_staff`. A role
/// that does not fit the institution, or a bad display name, is refused
/// before anything is looked at (not audited, as before).
pub fn create_staff(
    store: &Store,
    now: DateTime<Utc>,
    caller: Caller<'_>,
    totp_key: &TotpKey,
    command: CreateStaff,
) -> Result<Enrolled, AppError> {
    if !command.role.fits_institution(command.institution.as_ref()) {
        return Err(AppError::invalid(
            "/institution",
            "institution: broker admins have none; institution admins and intakers need one",
        ));
    }
    let display_name = doorstroom_domain::short_text("display_name", &command.display_name)
        .map_err(|e| AppError::field("/display_name", e))?;
    let access: Access = Access::new(
        Action::CreateStaff,
        Resource::StaffAccount {
            institution: command.institution.clone(),
            role: command.role,
        },
        ResourceRef::new(ResourceKind::StaffAccount, None),
        Purpose::Administration,
    );
    let password_hash = hash_password(&command.password)?;
    let (totp_secret, totp_uri) = new_totp(command.username.as_str())?;
    let account = perform_in(store, now, caller, access, |ctx| {
        if let Some(brin) = &command.institution {
            active_institution(ctx.conn, brin, command.role)?;
        }
        let id = StaffId(uuid::Uuid::new_v4());
        let account = StaffAccount {
            id,
            username: command.username,
            display_name,
            role: command.role,
            institution: command.institution,
            password_hash,
            totp_secret: Some(sealed(totp_key, id, &totp_secret)?),
            status: StaffStatus::Active,
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        staff::insert(ctx.conn, &account)?;
        Ok(account)
    })?;
    Ok(enrolled(account, totp_secret, totp_uri))
}

fn enrolled(account: StaffAccount, totp_secret: String, totp_uri: String) -> Enrolled {
    Enrolled {
        enrolment: Enrolment {
            account: staff_view(account),
            totp_uri,
        },
        totp_secret,
    }
}

/// 422 at `/institution` unless `brin` is a registered, active institution.
/// The account's institution must be active; a care coordinator's must
/// be a school that sends (vo, vso, pro): the safety net is theirs.
fn active_institution(conn: &mut DbConn, brin: &Brin, role: Role) -> Result<(), AppError> {
    match institutions::get(conn, brin)? {
        Some(i) if !role.fits_sector(i.sector) => Err(AppError::invalid(
            "/role",
            "role: a care coordinator belongs to a vo, vso or pro school",
        )),
        Some(i) if i.status == InstitutionStatus::Active => Ok(()),
        _ => Err(AppError::invalid(
            "/institution",
            "institution: not a registered active institution",
        )),
    }
}

fn sealed(totp_key: &TotpKey, id: StaffId, secret: &str) -> Result<String, AppError> {
    totp_key.seal(id, secret).map_err(|e| AppError::Internal(e.to_string()))
}

/// Access to one existing account, whose institution and role decide who
/// may manage it.
fn manage_access(id: StaffId) -> Access {
    Access::lookup(
        Action::ManageStaff,
        move |conn| {
            Ok(staff::get(conn, id)?.map(|a| {
                Located::from(Resource::StaffAccount {
                    institution: a.institution,
                    role: a.role,
                })
            }))
        },
        ResourceRef::new(ResourceKind::StaffAccount, Some(id.to_string())),
        Purpose::Administration,
    )
}

/// Deactivates an account: its tokens stop working at once and its
/// console sessions end. Audited as `manage_staff`.
pub fn deactivate_staff(
    store: &Store,
    now: DateTime<Utc>,
    caller: Caller<'_>,
    id: StaffId,
) -> Result<StaffView, AppError> {
    perform_in(store, now, caller, manage_access(id), |ctx| {
        let view = staff::set_status(ctx.conn, id, StaffStatus::Deactivated, ctx.now)?
            .map(staff_view)
            .ok_or(AppError::NotFound)?;
        console_sessions::delete_for_staff(ctx.conn, id)?;
        Ok(view)
    })
}

/// Enrols a new second factor for an account (a lost phone); its console
/// sessions end, since whoever held the old factor may be the one logged
/// in. Audited as `manage_staff`.
pub fn reset_second_factor(
    store: &Store,
    now: DateTime<Utc>,
    caller: Caller<'_>,
    totp_key: &TotpKey,
    id: StaffId,
) -> Result<Enrolled, AppError> {
    perform_in(store, now, caller, manage_access(id), |ctx| {
        let Some(account) = staff::get(ctx.conn, id)? else {
            return Err(AppError::NotFound);
        };
        let (totp_secret, totp_uri) = new_totp(account.username.as_str())?;
        let sealed = sealed(totp_key, id, &totp_secret)?;
        let account = staff::set_totp_secret(ctx.conn, id, Some(&sealed), ctx.now)?.ok_or(AppError::NotFound)?;
        console_sessions::delete_for_staff(ctx.conn, id)?;
        Ok(enrolled(account, totp_secret, totp_uri))
    })
}
