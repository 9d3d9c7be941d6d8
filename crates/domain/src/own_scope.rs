//! What a principal may do within its own scope, asked before any record
//! is named: which pages a menu offers, which roles a form offers.
//!
//! The answers are [`authorize`]'s, about a resource of the principal's
//! own: its institution (the broker, for broker staff), an account of its
//! institution, a region that names it among its coordinators. Broker staff
//! act on every institution; for them the policy is asked about a stand-in
//! institution, which it does not look up. So the web side never builds a
//! resource to ask about, and a rule that changes here changes the menu
//! with it. These answers only choose what to show: each page and each
//! action is decided again, and audited, on the real record.

use crate::authz::{Action, NamedCoordinator, Resource, authorize};
use crate::ids::Brin;
use crate::principal::{Principal, Role};
use crate::regional::RegionName;
use crate::staff::StaffStatus;

/// What a principal may do within its own scope (see the module
/// documentation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OwnScopeRights {
    /// Read the audit log and its report of its own scope.
    pub read_audit_log: bool,
    /// Read students' consent and inspection history.
    pub read_consent_history: bool,
    /// List its institution's staff and manage their accounts.
    pub manage_staff: bool,
    /// Manage its institution's keys and webhooks (who manages staff and
    /// may manage keys).
    pub manage_keys: bool,
    /// Read its institution's safety net.
    pub read_safety_net: bool,
    /// Set its institution's handover contact (who manages its
    /// certificates).
    pub manage_contact: bool,
    /// Read the figures of a region that names it among its coordinators.
    pub read_regional_figures: bool,
}

impl OwnScopeRights {
    /// Whether any of these is allowed.
    pub fn any(&self) -> bool {
        *self != OwnScopeRights::default()
    }
}

/// What `principal` may do within its own scope.
pub fn own_scope_rights(principal: &Principal) -> OwnScopeRights {
    let scope = scope_of(principal);
    let own = principal.institution().cloned().map(Resource::Institution);
    let institution = institution_or_stand_in(principal);
    let manage_staff = allowed(principal, Action::ListStaff, &scope)
        && allowed(
            principal,
            Action::ManageStaff,
            &Resource::StaffAccount {
                institution: institution.clone(),
                role: Role::Intaker,
            },
        );
    let credentials = institution.map(Resource::Institution);
    OwnScopeRights {
        read_audit_log: allowed(principal, Action::ReadAuditLog, &scope),
        read_consent_history: allowed(principal, Action::ReadConsentHistory, &scope),
        manage_staff,
        manage_keys: manage_staff && credentials.is_some_and(|c| allowed(principal, Action::ManageKeys, &c)),
        read_safety_net: own
            .as_ref()
            .is_some_and(|own| allowed(principal, Action::ReadSafetyNet, own)),
        manage_contact: own.is_some_and(|own| allowed(principal, Action::ManageCertificates, &own)),
        read_regional_figures: reads_own_region(principal),
    }
}

/// Whether `principal` may create an account of `role` in its own scope
/// (an institution's account in its institution; broker staff: in any).
pub fn may_create_staff(principal: &Principal, role: Role) -> bool {
    let institution = match role {
        Role::BrokerAdmin => None,
        _ => institution_or_stand_in(principal),
    };
    allowed(
        principal,
        Action::CreateStaff,
        &Resource::StaffAccount { institution, role },
    )
}

fn allowed(principal: &Principal, action: Action, resource: &Resource) -> bool {
    authorize(principal, action, resource).is_allowed()
}

/// The resource of "its own scope": its institution, or the broker for
/// broker staff.
fn scope_of(principal: &Principal) -> Resource {
    principal
        .institution()
        .cloned()
        .map(Resource::Institution)
        .unwrap_or(Resource::Broker)
}

/// Its institution, or for broker staff (who may act on any institution) a
/// stand-in: a well-formed code that the policy does not look up.
fn institution_or_stand_in(principal: &Principal) -> Option<Brin> {
    principal.institution().cloned().or_else(|| Brin::parse("00AA").ok())
}

/// Whether a region that names this (signed-in, so active) account among
/// its coordinators would let it read its figures; the page finds the
/// region itself.
fn reads_own_region(principal: &Principal) -> bool {
    let Principal::Staff { id, role, .. } = principal else {
        return false;
    };
    let Ok(name) = RegionName::parse("own") else {
        return false;
    };
    allowed(
        principal,
        Action::ReadRegionalFigures,
        &Resource::Region {
            name,
            coordinators: vec![NamedCoordinator {
                id: *id,
                role: *role,
                status: StaffStatus::Active,
            }],
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CertFingerprint, Sector, StaffId};

    fn brin(raw: &str) -> Brin {
        Brin::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    fn staff(role: Role, institution: Option<&str>) -> Principal {
        Principal::Staff {
            id: StaffId(uuid::Uuid::from_u128(7)),
            role,
            institution: institution.map(brin),
            second_factor: true,
        }
    }

    fn rights(
        read_audit_log: bool,
        read_consent_history: bool,
        manage_staff: bool,
        manage_keys: bool,
        read_safety_net: bool,
        manage_contact: bool,
        read_regional_figures: bool,
    ) -> OwnScopeRights {
        OwnScopeRights {
            read_audit_log,
            read_consent_history,
            manage_staff,
            manage_keys,
            read_safety_net,
            manage_contact,
            read_regional_figures,
        }
    }

    /// Each role's rights within its own scope, as the policy gives them.
    #[test]
    fn each_role_gets_the_rights_the_policy_gives_it_in_its_own_scope() {
        let none = OwnScopeRights::default();
        let cases = [
            (staff(Role::Intaker, Some("25LX")), none),
            (
                staff(Role::InstitutionAdmin, Some("25LX")),
                rights(false, false, true, true, false, true, false),
            ),
            (
                staff(Role::PrivacyOfficer, Some("25LX")),
                rights(true, true, false, false, false, false, false),
            ),
            (
                staff(Role::CareCoordinator, Some("07AB")),
                rights(false, false, false, false, true, false, false),
            ),
            (
                staff(Role::BrokerAdmin, None),
                rights(false, false, true, true, false, false, false),
            ),
            (
                staff(Role::PrivacyOfficer, None),
                rights(true, true, false, false, false, false, false),
            ),
            (
                staff(Role::RegionalCoordinator, None),
                rights(false, false, false, false, false, false, true),
            ),
        ];
        for (principal, expected) in cases {
            assert_eq!(own_scope_rights(&principal), expected, "{principal:?}");
        }
    }

    /// Nobody has no rights; a school's system has only its safety net
    /// (which it reads over the API), none of the staff's.
    #[test]
    fn who_is_not_staff_gets_what_the_policy_gives_it() {
        assert!(!own_scope_rights(&Principal::Anonymous).any());
        let system = Principal::System {
            institution: brin("07AB"),
            sector: Sector::Vo,
            fingerprint: CertFingerprint::from_digest([7; 32]),
        };
        assert_eq!(
            own_scope_rights(&system),
            OwnScopeRights {
                read_safety_net: true,
                ..OwnScopeRights::default()
            }
        );
    }

    /// An institution's admin creates its institution's accounts, never a
    /// broker admin; a broker admin creates broker admins and institutions'
    /// accounts.
    #[test]
    fn who_may_create_which_accounts() {
        let admin = staff(Role::InstitutionAdmin, Some("25LX"));
        assert!(may_create_staff(&admin, Role::Intaker));
        assert!(!may_create_staff(&admin, Role::BrokerAdmin));
        let broker = staff(Role::BrokerAdmin, None);
        assert!(may_create_staff(&broker, Role::BrokerAdmin));
        assert!(may_create_staff(&broker, Role::InstitutionAdmin));
        let intaker = staff(Role::Intaker, Some("25LX"));
        assert!(!may_create_staff(&intaker, Role::Intaker));
    }
}
