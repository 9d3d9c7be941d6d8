//! The one place where Doorstroom decides who may do what.
//!
//! Handlers never reason about roles or institutions themselves: they build
//! the [`Action`] and [`Resource`] they are about to touch and ask
//! [`authorize`]. Every decision, allow or deny, is audited by the caller.
//!
//! # The consent and inspection ledger
//!
//! Every consent event and every inspection belongs to the sending school
//! that recorded it (its *owner*), and every school keeps its own ledger of
//! a student. The policy decides on that ownership, found in the database
//! inside the audited transaction and handed to [`authorize`] as
//! [`Resource::StudentLedger`]:
//!
//! * A school is **party** to a student's ledger when an mbo registered an
//!   application of the student that names the school as sending school
//!   (for consent: an application *at the recipient the consent is for*),
//!   or when it recorded in that ledger before (for consent: for that
//!   recipient). The first record therefore always needs an application;
//!   a school that recorded once may go on withdrawing and reading after
//!   the application closed or was purged (withdrawing must stay as easy
//!   as giving, GDPR art. 7(3)), and anything more it records lands only
//!   in its own ledger.
//! * Only a party records an inspection, gives or withdraws consent, or
//!   reads the history; a party reads **only its own records**.
//! * A school that is not party — one that did not send for the student —
//!   sees nothing of it and changes nothing: it gets exactly the answer of
//!   a student nobody knows (the same 404 problem, byte for byte), and the
//!   attempt is audited (denied, with the student's pseudonym). So a
//!   withdrawal is no oracle: its answer depends only on the caller's own
//!   ledger.
//! * **Two schools may both send for one student** (after a change of
//!   school, each named in its own application). Each then has its own
//!   ledger: a package is checked only against its **sender's** inspections
//!   and consent (at submission and at every pull), and a withdrawal deletes
//!   sections only of packages the withdrawing school sent.
//! * An mbo's privacy officer reads what was recorded for the mbo as
//!   recipient: consent given for it, and the inspections of the schools
//!   that send for the student to it (those that gate its packages). The
//!   broker's privacy officer reads all of it.

use crate::ids::{Brin, Sector, StaffId};
use crate::principal::{Principal, Role};
use crate::regional::RegionName;
use crate::staff::StaffStatus;

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
    /// Register that a student applied (on [`Resource::Application`]).
    RegisterApplication,
    /// Read an application and its status (on [`Resource::Application`]).
    ReadApplication,
    /// Report the course of an application (on [`Resource::Application`]).
    ReportStatus,
    /// Find the applications of one's own students by student number (on
    /// [`Resource::Institution`], the sending school itself).
    FindApplications,
    /// Submit a dossier package (on [`Resource::Package`]).
    SubmitPackage,
    /// List the packages waiting for an institution (on
    /// [`Resource::Institution`]); metadata only.
    ListInbox,
    /// List an mbo's active intakers (id, username, display name; on
    /// [`Resource::Institution`]): what the mbo's own system needs to name
    /// the intaker it acts for in `X-On-Behalf-Of`.
    ListIntakers,
    /// Read the feed of what concerns an institution (`GET /v1/events`:
    /// ids and times only; on [`Resource::Institution`], the institution
    /// whose feed it is).
    ReadEvents,
    /// Take a package out: its envelope and releasable sections (on
    /// [`Resource::Package`]).
    PullPackage,
    /// Acknowledge receipt of a package (on [`Resource::Package`]).
    AcknowledgePackage,
    /// Record that a student and/or parents inspected the dossier (on
    /// [`Resource::StudentLedger`]: the schools party to the student).
    RecordInspection,
    /// Record a student's consent given or withdrawn (on
    /// [`Resource::StudentLedger`]: the schools party to the student at the
    /// recipient).
    RecordConsent,
    /// Read a student's consent and inspection history (on
    /// [`Resource::StudentLedger`] for a school's system;
    /// [`Resource::Institution`] for an institution's privacy officer,
    /// [`Resource::Broker`] for the broker's).
    ReadConsentHistory,
    /// Delete what the retention rules say must go (on
    /// [`Resource::Broker`]): the broker's retention job, run by the
    /// operator's side of the broker (schedule or command line).
    PurgeExpired,
    /// Erase a student's data on request, GDPR art. 17 (on
    /// [`Resource::Institution`]: what that institution is party to; on
    /// [`Resource::Broker`]: everything about the student).
    EraseStudent,
    /// Add students to, or remove them from, a vo school's leaving cohort
    /// for the safety net (on [`Resource::Institution`], the school).
    ManageCohort,
    /// Read which students of a vo school's cohort are at risk, and why
    /// (on [`Resource::Institution`], the school).
    ReadSafetyNet,
    /// Record that a student of a vo school's cohort became at risk (or
    /// the reason changed) and tell the school in its feed (on
    /// [`Resource::Institution`], the school): the broker's own daily job,
    /// the operator's alone.
    NotifyAtRisk,
    /// Issue a transparency link to the student's own page (on
    /// [`Resource::StudentLedger`]: a sending school party to the student).
    IssueTransparencyLink,
    /// Revoke a transparency link (on [`Resource::TransparencyLink`]: the
    /// school that issued it).
    RevokeTransparencyLink,
    /// Open a transparency link with its code (on
    /// [`Resource::TransparencyLink`]: that link's own holder).
    OpenTransparencyLink,
    /// Read one's own file on the student's page (on
    /// [`Resource::TransparencyLink`]: that link's own holder).
    ReadOwnFile,
    /// Withdraw consent from the student's page (on
    /// [`Resource::StudentLedger`]: the link's school must own consent
    /// records for the recipient).
    WithdrawConsentViaLink,
    /// Read a region's aggregate figures (on [`Resource::Region`]: only a
    /// coordinator bound to that region).
    ReadRegionalFigures,
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
        Action::RegisterApplication,
        Action::ReadApplication,
        Action::ReportStatus,
        Action::FindApplications,
        Action::SubmitPackage,
        Action::ListInbox,
        Action::ListIntakers,
        Action::ReadEvents,
        Action::PullPackage,
        Action::AcknowledgePackage,
        Action::RecordInspection,
        Action::RecordConsent,
        Action::ReadConsentHistory,
        Action::PurgeExpired,
        Action::EraseStudent,
        Action::ManageCohort,
        Action::ReadSafetyNet,
        Action::NotifyAtRisk,
        Action::IssueTransparencyLink,
        Action::RevokeTransparencyLink,
        Action::OpenTransparencyLink,
        Action::ReadOwnFile,
        Action::WithdrawConsentViaLink,
        Action::ReadRegionalFigures,
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
            Action::RegisterApplication => "register_application",
            Action::ReadApplication => "read_application",
            Action::ReportStatus => "report_status",
            Action::FindApplications => "find_applications",
            Action::SubmitPackage => "submit_package",
            Action::ListInbox => "list_inbox",
            Action::ListIntakers => "list_intakers",
            Action::ReadEvents => "read_events",
            Action::PullPackage => "pull_package",
            Action::AcknowledgePackage => "acknowledge_package",
            Action::RecordInspection => "record_inspection",
            Action::RecordConsent => "record_consent",
            Action::ReadConsentHistory => "read_consent_history",
            Action::PurgeExpired => "purge_expired",
            Action::EraseStudent => "erase_student",
            Action::ManageCohort => "manage_cohort",
            Action::ReadSafetyNet => "read_safety_net",
            Action::NotifyAtRisk => "notify_at_risk",
            Action::IssueTransparencyLink => "issue_transparency_link",
            Action::RevokeTransparencyLink => "revoke_transparency_link",
            Action::OpenTransparencyLink => "open_transparency_link",
            Action::ReadOwnFile => "read_own_file",
            Action::WithdrawConsentViaLink => "withdraw_consent_via_link",
            Action::ReadRegionalFigures => "read_regional_figures",
        }
    }

    /// Whether the action is part of the dossier exchange (applications and
    /// packages). These are for the schools' systems and the mbo's intakers
    /// only: never for the broker's or an institution's administrators or
    /// privacy officers.
    pub const fn is_exchange(self) -> bool {
        matches!(
            self,
            Action::RegisterApplication
                | Action::ReadApplication
                | Action::ReportStatus
                | Action::FindApplications
                | Action::SubmitPackage
                | Action::ListInbox
                | Action::ListIntakers
                | Action::ReadEvents
                | Action::PullPackage
                | Action::AcknowledgePackage
        )
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
    /// A student's application at an mbo: the receiving mbo and, if the mbo
    /// named it, the vo school the student comes from.
    Application { receiving: Brin, sending: Option<Brin> },
    /// A dossier package from a sending school to a receiving mbo.
    Package { sender: Brin, recipient: Brin },
    /// A student's consent and inspection ledger, described by who is party
    /// to it (see the [module documentation](self)); for consent, the
    /// ledgers for the one recipient concerned.
    StudentLedger {
        /// The schools named as sending school in the student's
        /// applications (for consent: at the recipient).
        sending_schools: Vec<Brin>,
        /// The schools that own records in it (for consent: for the
        /// recipient).
        owners: Vec<Brin>,
    },
    /// A transparency link to a student's own page, and the school that
    /// issued it.
    TransparencyLink { id: uuid::Uuid, owner: Brin },
    /// A region's aggregate figures, and the accounts its settings name as
    /// its coordinators, as found (the policy decides which of them count).
    Region {
        name: RegionName,
        coordinators: Vec<NamedCoordinator>,
    },
}

/// An account a region's settings name as its coordinator, as the store
/// holds it. Only an active regional coordinator's account counts: a name
/// that now belongs to another role, or to a deactivated account, gives
/// nobody the region's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamedCoordinator {
    pub id: StaffId,
    pub role: Role,
    pub status: StaffStatus,
}

impl NamedCoordinator {
    /// Whether this account is the region's coordinator `id`.
    fn is(&self, id: StaffId) -> bool {
        self.id == id && self.role == Role::RegionalCoordinator && self.status == StaffStatus::Active
    }
}

impl Resource {
    /// The institutions party to this record, besides whoever acts on it:
    /// an application's receiving mbo and the sending school it names, a
    /// package's sender and recipient, an institution itself (its own
    /// ledger, inbox and registry entry), a staff account's institution.
    /// The broker as a whole is nobody's, and a student's ledger adds no
    /// party beyond the school that acts on it.
    ///
    /// This is the privacy officer's scope, decided when an event is
    /// written: an event about a student is related to the parties of the
    /// record it is about *at that moment* (the audit log stores them
    /// with the event, `audit_event_relations`), and an institution's
    /// privacy officer sees the events its institution acted in and the
    /// events related to it, nothing else. A later record never widens an
    /// earlier event: an mbo that registers an application for a student
    /// becomes party to what happens to that application from then on, not
    /// to what happened between the student's school and another mbo
    /// before (their intake, their packages), nor to events about records
    /// it is not party to later. Because the parties are stored with the
    /// event, the scope outlives the records (purge, erasure).
    pub fn parties(&self) -> Vec<Brin> {
        match self {
            Resource::Broker => Vec::new(),
            Resource::Institution(brin) => vec![brin.clone()],
            Resource::StaffAccount { institution, .. } => institution.iter().cloned().collect(),
            Resource::Application { receiving, sending } => {
                std::iter::once(receiving).chain(sending).cloned().collect()
            }
            Resource::Package { sender, recipient } => vec![sender.clone(), recipient.clone()],
            // Each school's ledger is its own: the event is related to the
            // recording school (the actor) and, for consent, the mbo it is
            // for (named by the caller), never to the other schools that
            // send the student or recorded before.
            Resource::StudentLedger { .. } => Vec::new(),
            // The issuing school's privacy officer sees the link's use.
            Resource::TransparencyLink { owner, .. } => vec![owner.clone()],
            // Aggregates of a region: no institution's privacy officer
            // needs to see the coordinator's reading.
            Resource::Region { .. } => Vec::new(),
        }
    }
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
    /// The caller's institution is in the wrong sector for the action: only
    /// mbo systems register applications and receive packages, only vo, vso
    /// and pro systems send them.
    WrongSector,
    /// The caller's school is not party to the student's ledger: no
    /// application names it as sending school, and it recorded nothing.
    NotParty,
    /// A transparency link used for another link's resource (another
    /// student's page).
    OtherLink,
    /// A regional coordinator asking for another region's figures.
    OtherRegion,
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
            DenyReason::WrongSector => "wrong_sector",
            DenyReason::NotParty => "not_party",
            DenyReason::OtherLink => "other_link",
            DenyReason::OtherRegion => "other_region",
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
///   and staff list; the broker's privacy officer reads all;
/// - erasure on request (`erase_student`, GDPR art. 17) is for privacy
///   officers only: an institution's for what it is party to (resource: its
///   own institution), the broker's for everything (resource: the broker);
///   the retention job (`purge_expired`) only for the operator's side of the
///   broker, never for staff or systems;
/// - the dossier exchange ([`Action::is_exchange`]) is for the schools'
///   systems and the mbo's intakers alone; the broker's staff never handle
///   dossiers, nor do institution admins or privacy officers:
///
/// | action                 | resource    | system (its sector)                                 | intaker               |
/// |------------------------|-------------|-----------------------------------------------------|-----------------------|
/// | `register_application` | application | of `receiving` (mbo)                                | —                     |
/// | `read_application`     | application | of `receiving` (mbo), or of `sending` (vo/vso/pro)  | of `receiving`        |
/// | `report_status`        | application | of `receiving` (mbo)                                | of `receiving`        |
/// | `submit_package`       | package     | of `sender` (vo/vso/pro)                            | —                     |
/// | `list_inbox`           | institution | of that institution (mbo)                           | of that institution   |
/// | `list_intakers`        | institution | of that institution (mbo)                           | —                     |
/// | `read_events`          | institution | of that institution (any sector)                    | —                     |
/// | `pull_package`         | package     | of `recipient` (mbo)                                | of `recipient`        |
/// | `acknowledge_package`  | package     | of `recipient` (mbo)                                | of `recipient`        |
///
/// The ledger (see the [module documentation](self)) is the sending
/// schools' alone, and each school's own:
///
/// | action                 | resource       | system (vo/vso/pro)                    | privacy officer                      |
/// |------------------------|----------------|----------------------------------------|--------------------------------------|
/// | `record_inspection`    | student ledger | in `sending_schools` or `owners`       | —                                    |
/// | `record_consent`       | student ledger | in `sending_schools` or `owners`       | —                                    |
/// | `read_consent_history` | student ledger | in `sending_schools` or `owners`       | —                                    |
/// | `read_consent_history` | institution    | —                                      | of that institution                  |
/// | `read_consent_history` | broker         | —                                      | the broker's                         |
///
/// The student's own page ([`Principal::StudentLink`]; no staff member
/// ever):
///
/// | action                      | resource          | system (vo/vso/pro)                 | student link                              |
/// |-----------------------------|-------------------|-------------------------------------|-------------------------------------------|
/// | `issue_transparency_link`   | student ledger    | in `sending_schools` or `owners`    | —                                         |
/// | `revoke_transparency_link`  | transparency link | of `owner`                          | —                                         |
/// | `open_transparency_link`    | transparency link | —                                   | that link only (else `other_link`)        |
/// | `read_own_file`             | transparency link | —                                   | that link only (else `other_link`)        |
/// | `withdraw_consent_via_link` | student ledger    | —                                   | its school in `owners` (else `not_party`) |
///
/// A school that is not party is refused with [`DenyReason::NotParty`].
///
/// The regional figures (aggregates only, see [`crate::regional`]):
/// `read_regional_figures` on a region is allowed to a regional
/// coordinator named among the region's coordinators, refused with
/// [`DenyReason::OtherRegion`] for any other coordinator and with
/// `role_not_permitted` for every other principal (broker staff included).
///
/// A caller of another institution is refused with
/// [`DenyReason::OtherInstitution`], a system of the right institution but
/// the wrong sector with [`DenyReason::WrongSector`], any other role with
/// [`DenyReason::RoleNotPermitted`]. Whether an application is open, and
/// which sections may be released, is decided with the stored state (see
/// [`crate::ApplicationStatus::is_open`] and [`crate::section_allowed`]).
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
        Principal::StudentLink { link, school, .. } => student_link(*link, school, action, resource),
        Principal::System {
            institution, sector, ..
        } => system(institution, *sector, action, resource),
        Principal::Staff {
            id,
            role,
            institution,
            second_factor,
        } => {
            if !role.fits_institution(institution.as_ref()) {
                Deny(InvalidAccount)
            } else if !second_factor {
                Deny(SecondFactorRequired)
            } else if action == Action::ReadRegionalFigures || *role == Role::RegionalCoordinator {
                coordinator(*id, *role, action, resource)
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
        Action::RegisterApplication | Action::ReadApplication | Action::ReportStatus => {
            matches!(resource, Resource::Application { .. })
        }
        Action::SubmitPackage | Action::PullPackage | Action::AcknowledgePackage => {
            matches!(resource, Resource::Package { .. })
        }
        Action::ListInbox
        | Action::ListIntakers
        | Action::FindApplications
        | Action::ReadEvents
        | Action::ManageCohort
        | Action::ReadSafetyNet
        | Action::NotifyAtRisk => {
            matches!(resource, Resource::Institution(_))
        }
        Action::RecordInspection | Action::RecordConsent => matches!(resource, Resource::StudentLedger { .. }),
        Action::ReadConsentHistory => matches!(
            resource,
            Resource::Broker | Resource::Institution(_) | Resource::StudentLedger { .. }
        ),
        Action::EraseStudent => matches!(resource, Resource::Broker | Resource::Institution(_)),
        Action::PurgeExpired => matches!(resource, Resource::Broker),
        Action::IssueTransparencyLink | Action::WithdrawConsentViaLink => {
            matches!(resource, Resource::StudentLedger { .. })
        }
        Action::RevokeTransparencyLink | Action::OpenTransparencyLink | Action::ReadOwnFile => {
            matches!(resource, Resource::TransparencyLink { .. })
        }
        Action::ReadRegionalFigures => matches!(resource, Resource::Region { .. }),
    }
}

/// The institution a resource belongs to, if any.
fn owner(resource: &Resource) -> Option<&Brin> {
    match resource {
        Resource::Broker => None,
        Resource::Institution(brin) => Some(brin),
        Resource::StaffAccount { institution, .. } => institution.as_ref(),
        Resource::Application { receiving, .. } => Some(receiving),
        Resource::Package { recipient, .. } => Some(recipient),
        // Owned by several schools, each its own part: decided by
        // [`ledger_party`], never by one owner.
        Resource::StudentLedger { .. } => None,
        Resource::TransparencyLink { owner, .. } => Some(owner),
        // A region is no institution's.
        Resource::Region { .. } => None,
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

fn system(own: &Brin, sector: Sector, action: Action, resource: &Resource) -> Decision {
    match (action, resource) {
        (Action::WhoAmI | Action::ListInstitutions | Action::ReadInstitution, _) => Allow,
        (Action::ReadCredentials | Action::ManageKeys, _) => own_institution_only(Some(own), resource),

        (Action::RegisterApplication | Action::ReportStatus, Resource::Application { receiving, .. }) => {
            receiving_system(own, sector, receiving)
        }
        (Action::ReadApplication, Resource::Application { receiving, sending }) => {
            if own == receiving {
                receiving_system(own, sector, receiving)
            } else {
                match sending {
                    Some(sending) => sending_system(own, sector, sending),
                    None => Deny(OtherInstitution),
                }
            }
        }
        (Action::SubmitPackage, Resource::Package { sender, .. }) => sending_system(own, sector, sender),
        (Action::FindApplications, Resource::Institution(brin)) => sending_system(own, sector, brin),
        // The safety net is a vo school's duty of care for its own leavers:
        // its system registers the cohort and reads who is at risk; no
        // other institution sees anything of it.
        (Action::ManageCohort | Action::ReadSafetyNet, Resource::Institution(brin)) => {
            sending_system(own, sector, brin)
        }
        (
            Action::RecordInspection | Action::RecordConsent | Action::ReadConsentHistory,
            Resource::StudentLedger {
                sending_schools,
                owners,
            },
        ) => ledger_party(own, sector, sending_schools, owners),
        (
            Action::IssueTransparencyLink,
            Resource::StudentLedger {
                sending_schools,
                owners,
            },
        ) => ledger_party(own, sector, sending_schools, owners),
        (Action::RevokeTransparencyLink, Resource::TransparencyLink { owner, .. }) => {
            sending_system(own, sector, owner)
        }
        (Action::ListInbox, Resource::Institution(brin)) => receiving_system(own, sector, brin),
        // The mbo's own system learns whom it may name in `X-On-Behalf-Of`;
        // nobody else needs the list (staff have `list_staff`).
        (Action::ListIntakers, Resource::Institution(brin)) => receiving_system(own, sector, brin),
        // Every school learns what concerns it (an mbo: packages arriving;
        // a vo school: acknowledgements, statuses, withdrawals), each only
        // its own feed.
        (Action::ReadEvents, Resource::Institution(brin)) if own == brin => Allow,
        (Action::ReadEvents, Resource::Institution(_)) => Deny(OtherInstitution),
        (Action::PullPackage | Action::AcknowledgePackage, Resource::Package { recipient, .. }) => {
            receiving_system(own, sector, recipient)
        }

        _ => Deny(RoleNotPermitted),
    }
}

/// A student or parent through a transparency link: opens and reads only
/// that link's own page, and withdraws consent only from the ledger of the
/// school that issued the link (which must hold records for the
/// recipient). Nothing else, whatever the resource.
fn student_link(link: uuid::Uuid, school: &Brin, action: Action, resource: &Resource) -> Decision {
    match (action, resource) {
        (Action::OpenTransparencyLink | Action::ReadOwnFile, Resource::TransparencyLink { id, .. }) => {
            if *id == link {
                Allow
            } else {
                Deny(OtherLink)
            }
        }
        (Action::WithdrawConsentViaLink, Resource::StudentLedger { owners, .. }) => {
            if owners.contains(school) {
                Allow
            } else {
                Deny(NotParty)
            }
        }
        _ => Deny(RoleNotPermitted),
    }
}

/// The regional figures are the region's coordinators' alone (broker
/// staff included: nobody else reads them); a coordinator reads nothing
/// but its own region's figures and the public registry.
fn coordinator(id: StaffId, role: Role, action: Action, resource: &Resource) -> Decision {
    match (role, action, resource) {
        (Role::RegionalCoordinator, Action::WhoAmI | Action::ListInstitutions | Action::ReadInstitution, _) => Allow,
        (Role::RegionalCoordinator, Action::ReadRegionalFigures, Resource::Region { coordinators, .. }) => {
            if coordinators.iter().any(|named| named.is(id)) {
                Allow
            } else {
                Deny(OtherRegion)
            }
        }
        _ => Deny(RoleNotPermitted),
    }
}

/// A system acting on a student's ledger: a sending school that is party
/// to it (named as sending school, or owner of records in it).
fn ledger_party(own: &Brin, sector: Sector, sending_schools: &[Brin], owners: &[Brin]) -> Decision {
    if !sector.is_sending() {
        Deny(WrongSector)
    } else if sending_schools.contains(own) || owners.contains(own) {
        Allow
    } else {
        Deny(NotParty)
    }
}

/// A system acting for the receiving side: of `target`, and an mbo.
fn receiving_system(own: &Brin, sector: Sector, target: &Brin) -> Decision {
    if own != target {
        Deny(OtherInstitution)
    } else if !sector.is_receiving() {
        Deny(WrongSector)
    } else {
        Allow
    }
}

/// A system acting for the sending side: of `target`, and a vo, vso or pro
/// school.
fn sending_system(own: &Brin, sector: Sector, target: &Brin) -> Decision {
    if own != target {
        Deny(OtherInstitution)
    } else if !sector.is_sending() {
        Deny(WrongSector)
    } else {
        Allow
    }
}

/// The exchange for staff: only intakers, only for their own institution's
/// applications, inbox and received packages.
fn exchange_staff(role: Role, own: Option<&Brin>, action: Action, resource: &Resource) -> Decision {
    let target = match (action, resource) {
        (Action::ReadApplication | Action::ReportStatus, Resource::Application { receiving, .. }) => receiving,
        (Action::ListInbox, Resource::Institution(brin)) => brin,
        (Action::PullPackage | Action::AcknowledgePackage, Resource::Package { recipient, .. }) => recipient,
        _ => return Deny(RoleNotPermitted),
    };
    match (role, own) {
        (Role::Intaker, Some(own)) if own == target => Allow,
        (Role::Intaker, _) => Deny(OtherInstitution),
        _ => Deny(RoleNotPermitted),
    }
}

fn staff(role: Role, own: Option<&Brin>, action: Action, resource: &Resource) -> Decision {
    match (role, action) {
        (_, Action::WhoAmI | Action::ListInstitutions | Action::ReadInstitution) => Allow,
        (_, action) if action.is_exchange() => exchange_staff(role, own, action, resource),
        // The retention job is the broker's own (operator) work: no staff
        // member runs it, broker admins included.
        // So is the safety net's daily assessment.
        (_, Action::PurgeExpired | Action::NotifyAtRisk) => Deny(RoleNotPermitted),
        // Erasure on request is the privacy officers' alone: the broker's
        // erases everything about a student, an institution's what that
        // institution is party to. Broker admins administer, they do not
        // decide about a student's data.
        (Role::PrivacyOfficer, Action::EraseStudent) => match own {
            None => Allow,
            Some(_) => own_institution_only(own, resource),
        },
        (_, Action::EraseStudent) => Deny(RoleNotPermitted),
        // The safety net is the vo school's: its system registers the
        // cohort; its care coordinator (zorgcoördinator) reads who of its
        // own leavers is at risk, the person whose work that is. Not the
        // institution admin (who administers accounts and keys, not
        // students' care), no other role, broker staff never.
        (Role::CareCoordinator, Action::ReadSafetyNet) => own_institution_only(own, resource),
        (_, Action::ManageCohort | Action::ReadSafetyNet) => Deny(RoleNotPermitted),
        // The student's page and its links are the sending schools' and the
        // student's own: no staff member issues, opens or reads them.
        (
            _,
            Action::IssueTransparencyLink
            | Action::RevokeTransparencyLink
            | Action::OpenTransparencyLink
            | Action::ReadOwnFile
            | Action::WithdrawConsentViaLink,
        ) => Deny(RoleNotPermitted),
        // Broker admins administer; they never see who saw or agreed to what.
        (
            Role::BrokerAdmin,
            Action::ReadAuditLog | Action::ReadConsentHistory | Action::RecordInspection | Action::RecordConsent,
        ) => Deny(RoleNotPermitted),
        (Role::BrokerAdmin, _) => Allow,

        (
            Role::InstitutionAdmin,
            Action::ReadCredentials | Action::ManageKeys | Action::ManageCertificates | Action::ListStaff,
        ) => own_institution_only(own, resource),
        (Role::InstitutionAdmin, Action::CreateStaff | Action::ManageStaff) => match resource {
            Resource::StaffAccount {
                role: Role::Intaker | Role::InstitutionAdmin | Role::CareCoordinator,
                ..
            } => own_institution_only(own, resource),
            _ => Deny(BrokerScopeOnly),
        },

        (
            Role::PrivacyOfficer,
            Action::ReadAuditLog | Action::ReadCredentials | Action::ListStaff | Action::ReadConsentHistory,
        ) => match own {
            None => Allow,
            Some(_) => own_institution_only(own, resource),
        },

        _ => Deny(RoleNotPermitted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::CertFingerprint;

    fn brin(raw: &str) -> Brin {
        Brin::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    fn system(raw: &str, sector: Sector) -> Principal {
        Principal::System {
            institution: brin(raw),
            sector,
            fingerprint: CertFingerprint::from_digest([7; 32]),
        }
    }

    /// A region's figures are read only by an account its settings name
    /// that is, as stored, an active regional coordinator: a name that now
    /// belongs to a deactivated account, or was given to another role,
    /// counts for nobody (the store hands over the accounts as found).
    #[test]
    fn only_an_active_coordinator_named_by_the_region_reads_its_figures() {
        let id = StaffId(uuid::Uuid::from_u128(41));
        let caller = Principal::Staff {
            id,
            role: Role::RegionalCoordinator,
            institution: None,
            second_factor: true,
        };
        let region = |role, status| Resource::Region {
            name: RegionName::parse("twente").unwrap_or_else(|e| panic!("{e}")),
            coordinators: vec![NamedCoordinator { id, role, status }],
        };
        let decide = |resource: &Resource| authorize(&caller, Action::ReadRegionalFigures, resource);
        assert_eq!(
            decide(&region(Role::RegionalCoordinator, StaffStatus::Active)),
            Decision::Allow
        );
        assert_eq!(
            decide(&region(Role::RegionalCoordinator, StaffStatus::Deactivated)),
            Decision::Deny(DenyReason::OtherRegion)
        );
        assert_eq!(
            decide(&region(Role::BrokerAdmin, StaffStatus::Active)),
            Decision::Deny(DenyReason::OtherRegion)
        );
    }

    /// The sector checks that the matrix's institutions cannot reach: a
    /// system whose institution is named in the resource, but on the wrong
    /// side of the transfer (only possible with inconsistent registry data).
    #[test]
    fn right_institution_wrong_sector() {
        let mbo = system("25LX", Sector::Mbo);
        let vso = system("20VO", Sector::Vso);
        let (m, v) = (brin("25LX"), brin("20VO"));
        let cases = [
            (
                &mbo,
                Action::SubmitPackage,
                Resource::Package {
                    sender: m.clone(),
                    recipient: m.clone(),
                },
            ),
            (
                &vso,
                Action::RegisterApplication,
                Resource::Application {
                    receiving: v.clone(),
                    sending: None,
                },
            ),
            (
                &vso,
                Action::ReportStatus,
                Resource::Application {
                    receiving: v.clone(),
                    sending: None,
                },
            ),
            (
                &vso,
                Action::PullPackage,
                Resource::Package {
                    sender: v.clone(),
                    recipient: v.clone(),
                },
            ),
            (
                &vso,
                Action::AcknowledgePackage,
                Resource::Package {
                    sender: m.clone(),
                    recipient: v.clone(),
                },
            ),
            (
                &mbo,
                Action::ReadApplication,
                Resource::Application {
                    receiving: brin("31AB"),
                    sending: Some(m.clone()),
                },
            ),
        ];
        for (principal, action, resource) in cases {
            assert_eq!(
                authorize(principal, action, &resource),
                Deny(WrongSector),
                "{action:?} {resource:?}"
            );
        }
        // vso and pro send just like vo.
        for sector in [Sector::Vso, Sector::Pro] {
            let sender = system("20VO", sector);
            let package = Resource::Package {
                sender: v.clone(),
                recipient: m.clone(),
            };
            assert_eq!(authorize(&sender, Action::SubmitPackage, &package), Allow);
            let application = Resource::Application {
                receiving: m.clone(),
                sending: Some(v.clone()),
            };
            assert_eq!(authorize(&sender, Action::ReadApplication, &application), Allow);
        }
    }

    #[test]
    fn exchange_actions_apply_to_their_resource_only() {
        let mbo = system("25LX", Sector::Mbo);
        let m = brin("25LX");
        for action in Action::ALL.iter().copied().filter(|a| a.is_exchange()) {
            assert_eq!(
                authorize(&mbo, action, &Resource::Broker),
                Deny(ResourceMismatch),
                "{action:?}"
            );
        }
        assert_eq!(
            authorize(
                &mbo,
                Action::ListInbox,
                &Resource::Package {
                    sender: m.clone(),
                    recipient: m.clone()
                }
            ),
            Deny(ResourceMismatch)
        );
        assert_eq!(
            authorize(
                &mbo,
                Action::ReadCredentials,
                &Resource::Application {
                    receiving: m,
                    sending: None
                }
            ),
            Deny(ResourceMismatch)
        );
    }
}
