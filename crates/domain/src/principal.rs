//! Who is calling. Principals are made by the server's extractors after the
//! caller has been authenticated; the domain only reasons about them.

use crate::ids::{Brin, CertFingerprint, Sector, StaffId};

crate::ids::wire_enum!(
    /// The one role of a staff account.
    Role, "role" {
        BrokerAdmin => "broker_admin",
        InstitutionAdmin => "institution_admin",
        Intaker => "intaker",
        PrivacyOfficer => "privacy_officer",
    }
);

impl Role {
    /// Whether an account of this role may be bound to `institution`:
    /// broker admins belong to no institution, institution admins and
    /// intakers to exactly one, privacy officers to one or (the broker's own)
    /// to none.
    pub fn fits_institution(self, institution: Option<&Brin>) -> bool {
        match self {
            Role::BrokerAdmin => institution.is_none(),
            Role::InstitutionAdmin | Role::Intaker => institution.is_some(),
            Role::PrivacyOfficer => true,
        }
    }
}

/// An authenticated (or not) caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A school's system, authenticated by a client certificate whose key is
    /// bound to an active institution.
    System {
        institution: Brin,
        sector: Sector,
        fingerprint: CertFingerprint,
    },
    /// A person with a staff account and a valid access token.
    Staff {
        id: StaffId,
        role: Role,
        /// `None` for the broker's own staff.
        institution: Option<Brin>,
        /// Whether the login that issued the token included the second factor.
        second_factor: bool,
    },
    /// The broker operator at the command line on the broker's host.
    Operator,
    /// Nobody we know.
    Anonymous,
}

impl Principal {
    /// The institution the principal acts for, if any.
    pub fn institution(&self) -> Option<&Brin> {
        match self {
            Principal::System { institution, .. } => Some(institution),
            Principal::Staff { institution, .. } => institution.as_ref(),
            Principal::Operator | Principal::Anonymous => None,
        }
    }
}
