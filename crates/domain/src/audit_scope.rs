//! The scope of a privacy officer over the audit log: which events an
//! officer may read.
//!
//! The broker's privacy officer reads the whole log, or the part of one
//! institution they name. An institution's privacy officer reads their own
//! institution's part, whatever they ask for: the events in which the
//! institution acted, and the events about a student that concern a record
//! the institution was party to when the event was written (its
//! applications, packages it sent or received, its consent and inspection
//! records; [`crate::Resource::parties`]). An event is never widened
//! afterwards: what happened between others before the institution became
//! party stays out of its scope.
//!
//! The store filters by the same rule in SQL (the actor's institution, or a
//! relation row written with the event); a test in the app crate
//! (`tests/audit_scope.rs`) runs both on every combination of actor,
//! subject and parties and finds them equal.

use crate::{AuditEvent, Brin, Principal, Resource};

/// The part of the audit log a reading covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditScope {
    /// The whole log (the broker's privacy officer).
    Whole,
    /// One institution's part.
    Institution(Brin),
}

impl AuditScope {
    /// The scope `requested` names, as asked: whether the caller may read
    /// it is the policy's to decide ([`crate::authorize`] on
    /// [`AuditScope::resource`]).
    pub fn named(requested: Option<Brin>) -> Self {
        requested.map_or(AuditScope::Whole, AuditScope::Institution)
    }

    /// The scope of a search by `principal` that asks for `requested`: a
    /// principal of an institution is held to that institution whatever it
    /// asks; the broker's side reads what it names, or the whole log.
    pub fn of_search(principal: &Principal, requested: Option<Brin>) -> Self {
        AuditScope::named(principal.institution().cloned().or(requested))
    }

    /// The institution whose part this is; `None` for the whole log.
    pub fn institution(&self) -> Option<&Brin> {
        match self {
            AuditScope::Whole => None,
            AuditScope::Institution(brin) => Some(brin),
        }
    }

    /// What the policy is asked about: the institution, or the broker.
    pub fn resource(&self) -> Resource {
        match self {
            AuditScope::Whole => Resource::Broker,
            AuditScope::Institution(brin) => Resource::Institution(brin.clone()),
        }
    }

    /// Whether `event`, written with `parties` (the institutions party to
    /// the record it is about, as known then), lies in this scope. Parties
    /// count only for an event about a student: other events belong to the
    /// institution that acted alone.
    pub fn covers(&self, event: &AuditEvent, parties: &[Brin]) -> bool {
        match self {
            AuditScope::Whole => true,
            AuditScope::Institution(brin) => {
                event.actor.institution.as_ref() == Some(brin)
                    || (event.data_subject.is_some() && parties.contains(brin))
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{
        Actor, ActorKind, AuditAction, CertFingerprint, CrudKind, Outcome, Pseudonym, Purpose, ResourceKind,
        ResourceRef, Role, Sector, StaffId,
    };

    fn brin(code: &str) -> Brin {
        Brin::parse(code).unwrap()
    }

    fn event(actor: Option<&str>, about_student: bool) -> AuditEvent {
        AuditEvent {
            time: chrono::DateTime::from_timestamp(1_772_366_400, 0).unwrap(),
            actor: Actor {
                kind: if actor.is_some() {
                    ActorKind::System
                } else {
                    ActorKind::Broker
                },
                institution: actor.map(brin),
                id: None,
            },
            on_behalf_of: None,
            action: AuditAction::new(CrudKind::Read, "pull_package"),
            resource: ResourceRef::new(ResourceKind::Package, None),
            data_subject: about_student.then(|| Pseudonym::parse(&"ab".repeat(32)).unwrap()),
            purpose: Purpose::Supervision,
            outcome: Outcome::Success,
            reason: None,
            request_id: None,
        }
    }

    fn officer(institution: Option<&str>) -> Principal {
        Principal::Staff {
            id: StaffId(uuid::Uuid::nil()),
            role: Role::PrivacyOfficer,
            institution: institution.map(brin),
            second_factor: true,
        }
    }

    #[test]
    fn an_institutions_officer_is_held_to_their_own_institution() {
        let own = officer(Some("30AB"));
        assert_eq!(
            AuditScope::of_search(&own, Some(brin("31CD"))),
            AuditScope::Institution(brin("30AB"))
        );
        assert_eq!(AuditScope::of_search(&own, None), AuditScope::Institution(brin("30AB")));
        let system = Principal::System {
            institution: brin("25LX"),
            sector: Sector::Vo,
            fingerprint: CertFingerprint::parse(&"0".repeat(64)).unwrap(),
        };
        assert_eq!(
            AuditScope::of_search(&system, None),
            AuditScope::Institution(brin("25LX"))
        );
    }

    #[test]
    fn the_brokers_officer_reads_what_they_name_or_all() {
        let broker = officer(None);
        assert_eq!(AuditScope::of_search(&broker, None), AuditScope::Whole);
        assert_eq!(
            AuditScope::of_search(&broker, Some(brin("31CD"))),
            AuditScope::Institution(brin("31CD"))
        );
        assert_eq!(AuditScope::of_search(&Principal::Operator, None), AuditScope::Whole);
        assert_eq!(AuditScope::Whole.resource(), Resource::Broker);
        assert_eq!(
            AuditScope::named(Some(brin("31CD"))).resource(),
            Resource::Institution(brin("31CD"))
        );
    }

    #[test]
    fn an_institution_sees_what_it_did_and_what_concerned_its_records() {
        let scope = AuditScope::Institution(brin("30AB"));
        // It acted.
        assert!(scope.covers(&event(Some("30AB"), false), &[]));
        assert!(scope.covers(&event(Some("30AB"), true), &[brin("31CD")]));
        // Another acted on a record it was party to, about a student.
        assert!(scope.covers(&event(Some("25LX"), true), &[brin("25LX"), brin("30AB")]));
        assert!(scope.covers(&event(None, true), &[brin("30AB")]));
        // Not party, or not about a student: not its business.
        assert!(!scope.covers(&event(Some("25LX"), true), &[brin("25LX"), brin("31CD")]));
        assert!(!scope.covers(&event(Some("25LX"), false), &[brin("30AB")]));
        assert!(!scope.covers(&event(None, false), &[]));
        // The whole log covers everything.
        assert!(AuditScope::Whole.covers(&event(None, false), &[]));
    }
}
