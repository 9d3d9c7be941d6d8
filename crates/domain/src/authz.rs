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
    StaffAccount {
        institution: Option<Brin>,
        role: Role,
    },
}

/// Why access was refused. The text goes into the audit log; callers see a
/// uniform answer so that "not allowed" cannot be told from "not found".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    Unauthenticated,
    RoleNotPermitted,
    OtherInstitution,
    SecondFactorRequired,
    /// Broker-level roles and accounts can only be managed by broker admins.
    BrokerScopeOnly,
    /// The action does not apply to this kind of resource.
    ResourceMismatch,
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
pub fn authorize(principal: &Principal, action: Action, resource: &Resource) -> Decision {
    match principal {
        Principal::Anonymous => Deny(Unauthenticated),
        // The operator has shell access to the broker's host and its
        // secrets; refusing them here would protect nothing. Their actions
        // are still audited.
        Principal::Operator => Allow,
        Principal::System { institution, .. } => system(institution, action, resource),
        Principal::Staff {
            role,
            institution,
            second_factor,
            ..
        } => staff(*role, institution.as_ref(), *second_factor, action, resource),
    }
}

/// Whether `resource` belongs to `own` (the caller's institution).
fn is_own(own: Option<&Brin>, resource: &Resource) -> bool {
    match (own, resource) {
        (Some(own), Resource::Institution(brin)) => own == brin,
        (Some(own), Resource::StaffAccount { institution: Some(brin), .. }) => own == brin,
        _ => false,
    }
}

fn system(own: &Brin, action: Action, resource: &Resource) -> Decision {
    match action {
        Action::WhoAmI | Action::ListInstitutions => Allow,
        Action::ReadInstitution => match resource {
            Resource::Institution(_) => Allow,
            _ => Deny(ResourceMismatch),
        },
        // A school's system rotates its own JOSE keys (each key still needs
        // an x5c chain to the trust anchor, so the broker adds no trust).
        Action::ReadCredentials | Action::ManageKeys => match resource {
            Resource::Institution(_) if is_own(Some(own), resource) => Allow,
            Resource::Institution(_) => Deny(OtherInstitution),
            _ => Deny(ResourceMismatch),
        },
        _ => Deny(RoleNotPermitted),
    }
}

fn staff(
    role: Role,
    own: Option<&Brin>,
    second_factor: bool,
    action: Action,
    resource: &Resource,
) -> Decision {
    if role.requires_second_factor() && !second_factor {
        return Deny(SecondFactorRequired);
    }
    let own_scope = is_own(own, resource);
    match (role, action) {
        (_, Action::WhoAmI | Action::ListInstitutions) => Allow,
        (_, Action::ReadInstitution) => match resource {
            Resource::Institution(_) => Allow,
            _ => Deny(ResourceMismatch),
        },
        (Role::BrokerAdmin, Action::ReadAuditLog) => Deny(RoleNotPermitted),
        (Role::BrokerAdmin, _) => Allow,

        (Role::InstitutionAdmin, Action::ReadCredentials | Action::ManageKeys | Action::ManageCertificates | Action::ListStaff) => {
            institution_scoped(own_scope, resource)
        }
        (Role::InstitutionAdmin, Action::CreateStaff | Action::ManageStaff) => match resource {
            Resource::StaffAccount { institution: None, .. } => Deny(BrokerScopeOnly),
            Resource::StaffAccount { .. } if own_scope => Allow,
            Resource::StaffAccount { .. } => Deny(OtherInstitution),
            _ => Deny(ResourceMismatch),
        },

        (Role::PrivacyOfficer, Action::ReadAuditLog) => match (own, resource) {
            // The broker's own privacy officer reviews the whole log.
            (None, Resource::Broker | Resource::Institution(_)) => Allow,
            (Some(_), Resource::Broker) => Deny(BrokerScopeOnly),
            (Some(_), _) => institution_scoped(own_scope, resource),
            (None, _) => Deny(ResourceMismatch),
        },
        (Role::PrivacyOfficer, Action::ReadCredentials | Action::ListStaff) => match own {
            None => match resource {
                Resource::Institution(_) => Allow,
                _ => Deny(ResourceMismatch),
            },
            Some(_) => institution_scoped(own_scope, resource),
        },

        _ => Deny(RoleNotPermitted),
    }
}

fn institution_scoped(own_scope: bool, resource: &Resource) -> Decision {
    match resource {
        Resource::Institution(_) if own_scope => Allow,
        Resource::Institution(_) => Deny(OtherInstitution),
        Resource::Broker => Deny(BrokerScopeOnly),
        Resource::StaffAccount { .. } => Deny(ResourceMismatch),
    }
}
