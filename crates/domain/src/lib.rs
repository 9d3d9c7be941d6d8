//! The vocabulary of Doorstroom: identifiers that parse instead of validate,
//! principals, the one authorization policy, the audit event types, the
//! student number, applications and their status machine, the lawful
//! basis of each dossier section, the consent ledger and inspection (inzage),
//! and the retention rules (storage limitation).
//!
//! This crate knows nothing of HTTP, databases or OpenSSL (a test in
//! `tests/layering.rs` of the workspace proves it) and never reads the clock:
//! time is always passed in by the caller.

pub mod application;
pub mod audit;
pub mod audit_scope;
pub mod authz;
pub mod clock;
pub mod consent;
pub mod consent_request;
pub mod contact;
pub mod dossier;
pub mod exchange;
pub mod feed;
pub mod ids;
pub mod inspection;
pub mod lawful;
pub mod ledger_scope;
pub mod own_scope;
pub mod principal;
pub mod regional;
pub mod retention;
pub mod safety_net;
pub mod staff;
pub mod student;
pub mod transparency;

pub use application::{Crebo, Programme, SchoolYear, StatusReport, TransitionError, is_late};
pub use audit::{
    Actor, ActorKind, AuditAction, AuditEvent, CrudKind, Outcome, Purpose, ResourceKind, ResourceRef, SideEvent,
};
pub use audit_scope::AuditScope;
pub use authz::{Action, Decision, DenyReason, NamedCoordinator, Resource, authorize};
pub use clock::Clock;
pub use consent::{
    AGE_OF_CONSENT, CONSENT_PURPOSE, ConsentEvent, ConsentEventKind, ConsentLedger, ConsentMethod, ConsentRuleError,
    ConsentStatus, GivenBy, MAX_PLAUSIBLE_AGE, MIN_PLAUSIBLE_AGE, RecipientConsent, UnderSixteen, WithdrawOutcome,
    check_consent_giver, check_consent_recipient,
};
pub use consent_request::{
    CheckedConsent, ConsentAsk, ConsentRequestError, check_consent_request, sections_to_withdraw,
};
pub use contact::{ContactError, HandoverContact, RawContact};
pub use dossier::{ApplicationStatus, Section};
pub use feed::FeedEventKind;
pub use ids::{
    Brin, CertFingerprint, InstitutionStatus, KeyStatus, KeyUse, Oin, ParseError, Pseudonym, Sector, StaffId,
    short_text,
};
pub use inspection::{INSPECTION_CLOCK_SKEW_SECS, InspectedBy, InspectionRecord, inspected, inspection_time_plausible};
pub use lawful::{ConsentState, LawfulBases, LawfulBasis, NoConsentLedger, SectionRefusal, section_allowed};
pub use ledger_scope::{LedgerParties, LedgerRecord, OfficerScope};
pub use own_scope::{OwnScopeRights, may_create_staff, own_scope_rights};
pub use principal::{ActorRef, Principal, Role};
pub use retention::{
    ApplicationFacts, LedgerFacts, PACKAGE_MAX_LIMIT, PackageFacts, PurgeReason, RetentionError, RetentionPeriods,
    RetentionPolicy,
};
pub use staff::{Password, StaffStatus, Username};
pub use student::{StudentNumber, StudentNumberKind};
pub use transparency::{LinkFacts, LinkRefusal, link_usable};
