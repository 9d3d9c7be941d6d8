//! Who is calling. Principals are made by the server's extractors after the
//! caller has been authenticated; the domain only reasons about them.

use crate::ids::{Brin, CertFingerprint, Pseudonym, Sector, StaffId};

crate::ids::wire_enum!(
    /// The one role of a staff account.
    Role, "role" {
        BrokerAdmin => "broker_admin",
        InstitutionAdmin => "institution_admin",
        Intaker => "intaker",
        PrivacyOfficer => "privacy_officer",
        /// Reads the aggregate figures of one region (bound to it in the
        /// configuration's `[[regions]]`); belongs to no institution.
        RegionalCoordinator => "regional_coordinator",
        CareCoordinator => "care_coordinator",
    }
);

impl Role {
    /// Whether an account of this role may be bound to `institution`:
    /// broker admins belong to no institution, institution admins and
    /// intakers to exactly one, privacy officers to one or (the broker's own)
    /// to none. A care coordinator (zorgcoördinator) belongs to exactly one
    /// school (that it is a vo, vso or pro school: [`Role::fits_sector`],
    /// checked against the registry when the account is created).
    pub fn fits_institution(self, institution: Option<&Brin>) -> bool {
        match self {
            Role::BrokerAdmin | Role::RegionalCoordinator => institution.is_none(),
            Role::InstitutionAdmin | Role::Intaker | Role::CareCoordinator => institution.is_some(),
            Role::PrivacyOfficer => true,
        }
    }

    /// Whether an account of this role may belong to an institution of
    /// `sector`: a care coordinator only to a school that sends (the
    /// safety net is the sending school's); every other role to any.
    pub fn fits_sector(self, sector: Sector) -> bool {
        match self {
            Role::CareCoordinator => sector.is_sending(),
            Role::BrokerAdmin
            | Role::InstitutionAdmin
            | Role::Intaker
            | Role::PrivacyOfficer
            | Role::RegionalCoordinator => true,
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
    /// A student (or, under 16, a parent) on the student's own page, through
    /// a transparency link that a sending school issued and whose code was
    /// given: sees that one student's file, nothing else, and acts for no
    /// institution.
    StudentLink {
        /// The link (its id, never its token).
        link: uuid::Uuid,
        /// The school that issued the link.
        school: Brin,
        /// The student the link was issued for.
        student: Pseudonym,
    },
    /// Nobody we know.
    Anonymous,
}

impl Principal {
    /// The institution the principal acts for, if any.
    pub fn institution(&self) -> Option<&Brin> {
        match self {
            Principal::System { institution, .. } => Some(institution),
            Principal::Staff { institution, .. } => institution.as_ref(),
            // The student does not act for the school that issued the link.
            Principal::Operator | Principal::StudentLink { .. } | Principal::Anonymous => None,
        }
    }
}

/// Who recorded something, as the broker's own records name them (a
/// status event's `reported_by`, a consent event's `recorded_by`): a
/// system by its certificate fingerprint, a staff member by account id,
/// never a name, a student through a link by the link's id. Text form
/// `system:<fingerprint>`, `staff:<uuid>`, `link:<uuid>`, `operator`,
/// `anonymous`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ActorRef {
    System(CertFingerprint),
    Staff(StaffId),
    /// A student or parent through a transparency link.
    Link(uuid::Uuid),
    Operator,
    Anonymous,
}

impl ActorRef {
    /// How `principal` is named in the records it makes.
    pub fn of(principal: &Principal) -> Self {
        match principal {
            Principal::System { fingerprint, .. } => ActorRef::System(fingerprint.clone()),
            Principal::Staff { id, .. } => ActorRef::Staff(*id),
            Principal::StudentLink { link, .. } => ActorRef::Link(*link),
            Principal::Operator => ActorRef::Operator,
            Principal::Anonymous => ActorRef::Anonymous,
        }
    }

    pub fn parse(raw: &str) -> Result<Self, crate::ParseError> {
        let refuse = || {
            crate::ParseError::new(
                "actor",
                "must be system:<fingerprint>, staff:<id>, link:<id>, operator or anonymous",
            )
        };
        match raw.split_once(':') {
            Some(("system", fingerprint)) => CertFingerprint::parse(fingerprint)
                .map(ActorRef::System)
                .map_err(|_| refuse()),
            Some(("staff", id)) => id.parse().map(ActorRef::Staff).map_err(|_| refuse()),
            Some(("link", id)) => uuid::Uuid::parse_str(id)
                .ok()
                .filter(|u| u.hyphenated().to_string() == id)
                .map(ActorRef::Link)
                .ok_or_else(refuse),
            None if raw == "operator" => Ok(ActorRef::Operator),
            None if raw == "anonymous" => Ok(ActorRef::Anonymous),
            _ => Err(refuse()),
        }
    }
}

impl std::fmt::Display for ActorRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActorRef::System(fingerprint) => write!(f, "system:{fingerprint}"),
            ActorRef::Staff(id) => write!(f, "staff:{id}"),
            ActorRef::Link(id) => write!(f, "link:{id}"),
            ActorRef::Operator => f.write_str("operator"),
            ActorRef::Anonymous => f.write_str("anonymous"),
        }
    }
}

impl std::str::FromStr for ActorRef {
    type Err = crate::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActorRef::parse(s)
    }
}

#[cfg(test)]
mod actor_ref_tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn refuses_what_it_never_writes() {
        for bad in [
            "",
            "staff:",
            "staff:nope",
            "link:",
            "link:nope",
            "system:",
            "teacher:1",
            "operator:x",
            "Operator",
        ] {
            assert!(ActorRef::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn reads_back_what_it_writes(bytes in any::<u128>(), pick in 0u8..5) {
            let actor = match pick {
                0 => ActorRef::Staff(StaffId(uuid::Uuid::from_u128(bytes))),
                1 => ActorRef::System(CertFingerprint::parse(&format!("{bytes:064x}")).map_err(|e| TestCaseError::fail(e.to_string()))?),
                2 => ActorRef::Operator,
                3 => ActorRef::Link(uuid::Uuid::from_u128(bytes)),
                _ => ActorRef::Anonymous,
            };
            prop_assert_eq!(ActorRef::parse(&actor.to_string()), Ok(actor));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_sending_school_has_care_coordinators() {
        for sector in [Sector::Vo, Sector::Vso, Sector::Pro, Sector::Mbo] {
            assert_eq!(
                Role::CareCoordinator.fits_sector(sector),
                sector.is_sending(),
                "{sector:?}"
            );
            for role in [Role::InstitutionAdmin, Role::Intaker, Role::PrivacyOfficer] {
                assert!(role.fits_sector(sector), "{role:?} at {sector:?}");
            }
        }
    }
}
