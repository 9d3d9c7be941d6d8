//! The one place where Doorstroom decides who may do what.
//!
//! Handlers never reason about roles or institutions themselves: they build
//! the [`Action`] and [`Resource`] they are about to touch and ask
//! [`authorize`]. Every decision, allow or deny, is audited by the caller.

use crate::ids::Brin;
use crate::principal::{Principal, Role};

/// What a caller wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read one's own identity (`GET /v1/whoami`).
    WhoAmI,
    /// List the institution registry (names, sectors, status).
    ListInstitutions,
    /// Read one institution's registry entry.
    ReadInstitution,
    /// Register a new institution.
    RegisterInstitution,
    /// Change an institution's name, OIN or status.
    UpdateInstitution,
    /// List an institution's JOSE keys and bound client certificates.
    ReadCredentials,
    /// Add, retire or revoke an institution's JOSE keys.
    ManageKeys,
    /// Bind or revoke an institution's client certificates.
    ManageCertificates,
    /// List an institution's staff accounts.
    ListStaff,
    /// Create a staff account.
    CreateStaff,
    /// Deactivate a staff account or reset its second factor.
    ManageStaff,
    /// Read the audit log (of an institution, or all of it).
    ReadAuditLog,
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::WhoAmI,
        Action::ListInstitutions,
        Action::ReadInstitution,
        Action::RegisterInstitution,
        Action::UpdateInstitution,
        Action::ReadCredentials,
        Action::ManageKeys,
        Action::ManageCertificates,
        Action::ListStaff,
        Action::CreateStaff,
        Action::ManageStaff,
        Action::ReadAuditLog,
    ];

    /// Stable name, used in audit events.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::WhoAmI => "whoami",
            Action::ListInstitutions => "list_institutions",
            Action::ReadInstitution => "read_institution",
            Action::RegisterInstitution => "register_institution",
            Action::UpdateInstitution => "update_institution",
            Action::ReadCredentials => "read_credentials",
            Action::ManageKeys => "manage_keys",
            Action::ManageCertificates => "manage_certificates",
            Action::ListStaff => "list_staff",
            Action::CreateStaff => "create_staff",
            Action::ManageStaff => "manage_staff",
            Action::ReadAuditLog => "read_audit_log",
        }
    }
}

/// What the action touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// The broker as a whole (the registry, the whole audit log).
    Broker,
    /// One institution and what belongs to it.
    Institution(Brin),
    /// One staff account, described by the institution and role it has or
    /// will have (`None`: broker staff).
    StaffAccount { institution: Option<Brin>, role: Role },
}

/// Why access was refused. The text goes into the audit log; callers see a
/// uniform answer so that "not allowed" cannot be told from "not found".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    Unauthenticated,
    RoleNotPermitted,
    OtherInstitution,
    SecondFactorRequired,
    /// Broker-level roles and accounts can only be managed by broker admins,
    /// and privacy officers' accounts not by the institution they supervise.
    BrokerScopeOnly,
    /// The action does not apply to this kind of resource, or the staff
    /// account described has a role that cannot be bound that way.
    ResourceMismatch,
    /// The caller's own account has a role and institution that do not fit
    /// together (only possible through tampering).
    InvalidAccount,
}

impl DenyReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            DenyReason::Unauthenticated => "unauthenticated",
            DenyReason::RoleNotPermitted => "role_not_permitted",
            DenyReason::OtherInstitution => "other_institution",
            DenyReason::SecondFactorRequired => "second_factor_required",
            DenyReason::BrokerScopeOnly => "broker_scope_only",
            DenyReason::ResourceMismatch => "resource_mismatch",
            DenyReason::InvalidAccount => "invalid_account",
        }
    }
}

/// The outcome of [`authorize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny(DenyReason),
}

impl Decision {
    pub const fn is_allowed(self) -> bool {
        matches!(self, Decision::Allow)
    }
}

use Decision::{Allow, Deny};
use DenyReason::*;

/// Decides whether `principal` may perform `action` on `resource`.
///
/// The rules, in order: nobody unauthenticated; the resource must be of the
/// kind the action applies to; then per principal:
/// - the operator (shell access to the broker's host and its secrets) may do
///   anything; refusing them would protect nothing, and they are audited;
/// - a school system reads the registry and reads and rotates its own JOSE
///   keys (each key still needs an x5c chain to the trust anchor);
/// - staff need the second factor, whatever their role (the design brief:
///   personal accounts, second factor, short-lived tokens);
/// - broker admins administer everything but cannot read the audit log
///   (separation of duties);
/// - institution admins manage their own institution's keys, certificates,
///   intakers and admins; privacy officers' accounts are the broker admins'
///   to manage, so that an institution cannot take over its own supervisor;
/// - privacy officers read their own institution's audit log, credentials
///   and staff list; the broker's privacy officer reads all.
pub fn authorize(principal: &Principal, action: Action, resource: &Resource) -> Decision {
    if matches!(principal, Principal::Anonymous) {
        return Deny(Unauthenticated);
    }
    if !applies_to(action, resource) {
        return Deny(ResourceMismatch);
    }
    match principal {
        Principal::Anonymous => Deny(Unauthenticated),
        Principal::Operator => Allow,
        Principal::System { institution, .. } => system(institution, action, resource),
        Principal::Staff {
            role,
            institution,
            second_factor,
            ..
        } => {
            if !role.fits_institution(institution.as_ref()) {
                Deny(InvalidAccount)
            } else if !second_factor {
                Deny(SecondFactorRequired)
            } else {
                staff(*role, institution.as_ref(), action, resource)
            }
        }
    }
}

/// Whether `action` can be applied to this kind of resource at all.
fn applies_to(action: Action, resource: &Resource) -> bool {
    match action {
        Action::WhoAmI | Action::ListInstitutions | Action::RegisterInstitution => {
            matches!(resource, Resource::Broker)
        }
        Action::ReadInstitution
        | Action::UpdateInstitution
        | Action::ReadCredentials
        | Action::ManageKeys
        | Action::ManageCertificates => matches!(resource, Resource::Institution(_)),
        Action::ListStaff | Action::ReadAuditLog => {
            matches!(resource, Resource::Broker | Resource::Institution(_))
        }
        Action::CreateStaff | Action::ManageStaff => match resource {
            Resource::StaffAccount { institution, role } => role.fits_institution(institution.as_ref()),
            _ => false,
        },
    }
}

/// The institution a resource belongs to, if any.
fn owner(resource: &Resource) -> Option<&Brin> {
    match resource {
        Resource::Broker => None,
        Resource::Institution(brin) => Some(brin),
        Resource::StaffAccount { institution, .. } => institution.as_ref(),
    }
}

/// Allows what lies inside the caller's own institution.
fn own_institution_only(own: Option<&Brin>, resource: &Resource) -> Decision {
    match (own, owner(resource)) {
        (_, None) => Deny(BrokerScopeOnly),
        (Some(own), Some(target)) if own == target => Allow,
        _ => Deny(OtherInstitution),
    }
}

fn system(own: &Brin, action: Action, resource: &Resource) -> Decision {
    match action {
        Action::WhoAmI | Action::ListInstitutions | Action::ReadInstitution => Allow,
        Action::ReadCredentials | Action::ManageKeys => own_institution_only(Some(own), resource),
        _ => Deny(RoleNotPermitted),
    }
}

fn staff(role: Role, own: Option<&Brin>, action: Action, resource: &Resource) -> Decision {
    match (role, action) {
        (_, Action::WhoAmI | Action::ListInstitutions | Action::ReadInstitution) => Allow,
        (Role::BrokerAdmin, Action::ReadAuditLog) => Deny(RoleNotPermitted),
        (Role::BrokerAdmin, _) => Allow,

        (
            Role::InstitutionAdmin,
            Action::ReadCredentials | Action::ManageKeys | Action::ManageCertificates | Action::ListStaff,
        ) => own_institution_only(own, resource),
        (Role::InstitutionAdmin, Action::CreateStaff | Action::ManageStaff) => match resource {
            Resource::StaffAccount {
                role: Role::Intaker | Role::InstitutionAdmin,
                ..
            } => own_institution_only(own, resource),
            _ => Deny(BrokerScopeOnly),
        },

        (Role::PrivacyOfficer, Action::ReadAuditLog | Action::ReadCredentials | Action::ListStaff) => match own {
            None => Allow,
            Some(_) => own_institution_only(own, resource),
        },

        _ => Deny(RoleNotPermitted),
    }
}
