//! Audit events, after NEN 7513 (logging of access to personal health
//! data): who did what to which record, on whose behalf, about whom, for
//! what purpose, with what outcome, and when.
//!
//! Events never hold a national student number: the data subject is the
//! broker's keyed [`Pseudonym`]. [`AuditEvent::canonical_json`] is the byte
//! form that the tamper-evident log hashes, so its field order is fixed by
//! the struct definitions below and must not change.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::authz::{Action, DenyReason};
use crate::ids::{Brin, Pseudonym, StaffId};
use crate::principal::Principal;

crate::ids::wire_enum!(
    /// The kind of actor.
    ActorKind, "actor_kind" {
        System => "system",
        Staff => "staff",
        Operator => "operator",
        Broker => "broker",
        /// A student or parent through a transparency link (the student's
        /// own page); `institution` is the school that issued the link,
        /// `id` the link's id.
        StudentLink => "student_link",
        Anonymous => "anonymous",
    }
);

crate::ids::wire_enum!(
    /// The CRUDE class of an action.
    CrudKind, "crud" {
        Create => "create",
        Read => "read",
        Update => "update",
        Delete => "delete",
        Execute => "execute",
    }
);

crate::ids::wire_enum!(
    /// What the access was for.
    Purpose, "purpose" {
        /// Registry and account administration.
        Administration => "administration",
        /// Logging in, checking credentials.
        Authentication => "authentication",
        /// Transfer of the dossier for intake and support at the mbo.
        Intake => "intake",
        /// Privacy supervision (the FG's review of the log).
        Supervision => "supervision",
        /// Broker operations (retention, health).
        Operations => "operations",
        /// The vo school's duty of care for its leavers: the safety net
        /// (vangnet) that no student is lost between vo and mbo.
        Aftercare => "aftercare",
        /// The regional agreement's monitoring: aggregate figures of a
        /// region for its coordinator (RMC region, VSV-overleg, OOGO).
        RegionalMonitoring => "regional_monitoring",
        /// Informing the student (or parents) of what the broker holds and
        /// who accessed it, on the student's own page (GDPR arts. 12-15).
        Transparency => "transparency",
    }
);

crate::ids::wire_enum!(
    /// How the access ended.
    Outcome, "outcome" {
        /// Allowed and carried out.
        Success => "success",
        /// The caller was known but not allowed.
        Denied => "denied",
        /// The caller could not be authenticated.
        Unauthenticated => "unauthenticated",
        /// Allowed, but refused on the merits (bad input, conflict).
        Rejected => "rejected",
    }
);

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    pub institution: Option<Brin>,
    /// Staff id, or the certificate fingerprint of a system.
    pub id: Option<String>,
}

impl Actor {
    pub fn from_principal(principal: &Principal) -> Self {
        match principal {
            Principal::System {
                institution,
                fingerprint,
                ..
            } => Actor {
                kind: ActorKind::System,
                institution: Some(institution.clone()),
                id: Some(fingerprint.as_str().to_owned()),
            },
            Principal::Staff { id, institution, .. } => Actor {
                kind: ActorKind::Staff,
                institution: institution.clone(),
                id: Some(id.to_string()),
            },
            Principal::Operator => Actor {
                kind: ActorKind::Operator,
                institution: None,
                id: None,
            },
            Principal::StudentLink { link, school, .. } => Actor {
                kind: ActorKind::StudentLink,
                institution: Some(school.clone()),
                id: Some(link.to_string()),
            },
            Principal::Anonymous => Actor::anonymous(),
        }
    }

    pub fn anonymous() -> Self {
        Actor {
            kind: ActorKind::Anonymous,
            institution: None,
            id: None,
        }
    }
}

crate::ids::wire_enum!(
    /// The kind of record an audit event names: the one vocabulary of
    /// `resource.kind` in the log (the privacy officers' console and the
    /// subject report read these back).
    ResourceKind, "resource_kind" {
        Actor => "actor",
        Application => "application",
        Applications => "applications",
        AuditCheckpoint => "audit_checkpoint",
        AuditConsistencyProof => "audit_consistency_proof",
        AuditEntries => "audit_entries",
        AuditEvent => "audit_event",
        AuditEvents => "audit_events",
        AuditInclusionProof => "audit_inclusion_proof",
        AuditLog => "audit_log",
        AuditPrunedPrefix => "audit_pruned_prefix",
        ClientCertificate => "client_certificate",
        ClientCertificates => "client_certificates",
        Cohort => "cohort",
        CohortMember => "cohort_member",
        Consent => "consent",
        ConsentEvent => "consent_event",
        ConsentHistory => "consent_history",
        HandoverContact => "handover_contact",
        EventFeed => "event_feed",
        Inbox => "inbox",
        Inspection => "inspection",
        Institution => "institution",
        InstitutionKey => "institution_key",
        InstitutionKeys => "institution_keys",
        Intakers => "intakers",
        Package => "package",
        PackageSection => "package_section",
        Principal => "principal",
        Retention => "retention",
        SafetyNet => "safety_net",
        RegionalFigures => "regional_figures",
        Route => "route",
        StaffAccount => "staff_account",
        StaffAccounts => "staff_accounts",
        StudentData => "student_data",
        SubjectReport => "subject_report",
        TransparencyLink => "transparency_link",
        TransparencyPage => "transparency_page",
        WebhookEndpoint => "webhook_endpoint",
    }
);

/// Everything the log records besides a policy [`Action`]: the events a
/// use case records next to its own access (through the spine's context),
/// and those of the broker's own jobs. One name per event, so a reader of
/// the log (and the console's labels) has one closed list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SideEvent {
    /// A package's entry in an inbox listing, one per package listed.
    ListInboxEntry,
    /// An intaker pulled more packages within the hour than the threshold.
    AnomalyAlert,
    /// A withdrawn section deleted before it was delivered.
    DeleteWithdrawnSection,
    /// A withdrawn section that had already been delivered.
    SectionWithdrawnAfterDelivery,
    /// A staff login (password and second factor).
    Login,
    /// A request whose credentials did not authenticate.
    Authenticate,
    /// The broker signed an audit checkpoint.
    SignCheckpoint,
    /// A retention run that only counted what it would delete.
    PurgeDryRun,
    /// Audit events older than their retention, pruned.
    AuditEventsPruned,
    /// A record deleted by the retention rules.
    Purged(ResourceKind),
    /// All of a student's data erased on request (the summary event).
    StudentErased,
    /// One record deleted by an erasure request.
    Erased(ResourceKind),
}

impl SideEvent {
    pub const fn crud(self) -> CrudKind {
        match self {
            SideEvent::ListInboxEntry | SideEvent::PurgeDryRun => CrudKind::Read,
            SideEvent::AnomalyAlert | SideEvent::Login | SideEvent::Authenticate | SideEvent::SignCheckpoint => {
                CrudKind::Execute
            }
            SideEvent::SectionWithdrawnAfterDelivery => CrudKind::Update,
            SideEvent::DeleteWithdrawnSection
            | SideEvent::AuditEventsPruned
            | SideEvent::Purged(_)
            | SideEvent::StudentErased
            | SideEvent::Erased(_) => CrudKind::Delete,
        }
    }

    /// The event's name in the log.
    pub fn name(self) -> String {
        match self {
            SideEvent::ListInboxEntry => "list_inbox_entry".into(),
            SideEvent::AnomalyAlert => "anomaly_alert".into(),
            SideEvent::DeleteWithdrawnSection => "delete_withdrawn_section".into(),
            SideEvent::SectionWithdrawnAfterDelivery => "section_withdrawn_after_delivery".into(),
            SideEvent::Login => "login".into(),
            SideEvent::Authenticate => "authenticate".into(),
            SideEvent::SignCheckpoint => "sign_checkpoint".into(),
            SideEvent::PurgeDryRun => "purge_dry_run".into(),
            SideEvent::AuditEventsPruned => "audit_events_pruned".into(),
            SideEvent::Purged(kind) => format!("{kind}_purged"),
            SideEvent::StudentErased => "student_erased".into(),
            SideEvent::Erased(kind) => format!("{kind}_erased"),
        }
    }
}

/// What was done: its CRUDE class and a stable name such as
/// `register_institution`. Made from an [`Action`] or a [`SideEvent`];
/// kept as text so that a log written by an older broker still reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditAction {
    pub crud: CrudKind,
    pub name: String,
}

impl AuditAction {
    /// An action read back from the log, or made up by a test.
    pub fn new(crud: CrudKind, name: impl Into<String>) -> Self {
        Self {
            crud,
            name: name.into(),
        }
    }
}

impl From<Action> for AuditAction {
    fn from(action: Action) -> Self {
        AuditAction::new(action.crud(), action.as_str())
    }
}

impl From<SideEvent> for AuditAction {
    fn from(event: SideEvent) -> Self {
        AuditAction::new(event.crud(), event.name())
    }
}

/// Which record was touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRef {
    /// A [`ResourceKind`] (text, so that an older log still reads).
    pub kind: String,
    pub id: Option<String>,
}

impl ResourceRef {
    pub fn new(kind: ResourceKind, id: Option<String>) -> Self {
        Self {
            kind: kind.as_str().to_owned(),
            id,
        }
    }

    /// Whether this names a record of `kind`.
    pub fn is(&self, kind: ResourceKind) -> bool {
        self.kind == kind.as_str()
    }
}

/// One audit record. The sequence number is assigned by the store when the
/// event is appended, in the same transaction as the access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    #[serde(with = "rfc3339_micros")]
    pub time: DateTime<Utc>,
    pub actor: Actor,
    /// The staff member on whose behalf a system acted.
    pub on_behalf_of: Option<StaffId>,
    pub action: AuditAction,
    pub resource: ResourceRef,
    pub data_subject: Option<Pseudonym>,
    pub purpose: Purpose,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub request_id: Option<String>,
}

impl AuditEvent {
    /// A successful access by `principal`.
    pub fn success(
        time: DateTime<Utc>,
        principal: &Principal,
        action: AuditAction,
        resource: ResourceRef,
        purpose: Purpose,
    ) -> Self {
        Self {
            time,
            actor: Actor::from_principal(principal),
            on_behalf_of: None,
            action,
            resource,
            data_subject: None,
            purpose,
            outcome: Outcome::Success,
            reason: None,
            request_id: None,
        }
    }

    /// The same event with another outcome and reason.
    pub fn with_outcome(mut self, outcome: Outcome, reason: impl Into<String>) -> Self {
        self.outcome = outcome;
        self.reason = Some(reason.into());
        self
    }

    /// The same event refused by the policy.
    pub fn denied(self, reason: DenyReason) -> Self {
        let outcome = match reason {
            DenyReason::Unauthenticated => Outcome::Unauthenticated,
            _ => Outcome::Denied,
        };
        self.with_outcome(outcome, reason.as_str())
    }

    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    pub fn with_data_subject(mut self, subject: Option<Pseudonym>) -> Self {
        self.data_subject = subject;
        self
    }

    /// The canonical byte form: compact JSON with the fields in declaration
    /// order and the time in RFC 3339 UTC with microseconds.
    pub fn canonical_json(&self) -> String {
        // Serialising plain strings, enums and options cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Action {
    /// The CRUDE class of a policy action, for its audit event.
    pub const fn crud(self) -> CrudKind {
        match self {
            Action::WhoAmI
            | Action::ListInstitutions
            | Action::ReadInstitution
            | Action::ReadCredentials
            | Action::ListStaff
            | Action::ReadAuditLog
            | Action::ReadApplication
            | Action::FindApplications
            | Action::ReadConsentHistory
            | Action::ListInbox
            | Action::ListIntakers
            | Action::ReadEvents
            | Action::ReadSafetyNet
            | Action::ReadRegionalFigures
            | Action::PullPackage
            | Action::ReadOwnFile => CrudKind::Read,
            Action::RegisterInstitution
            | Action::CreateStaff
            | Action::RegisterApplication
            | Action::SubmitPackage
            | Action::RecordInspection
            | Action::RecordConsent
            | Action::IssueTransparencyLink
            | Action::WithdrawConsentViaLink => CrudKind::Create,
            Action::UpdateInstitution
            | Action::ManageKeys
            | Action::ManageCertificates
            | Action::ManageStaff
            | Action::ReportStatus
            | Action::ManageCohort
            | Action::NotifyAtRisk
            | Action::AcknowledgePackage
            | Action::RevokeTransparencyLink => CrudKind::Update,
            Action::OpenTransparencyLink => CrudKind::Execute,
            Action::PurgeExpired | Action::EraseStudent => CrudKind::Delete,
        }
    }
}

mod rfc3339_micros {
    use super::*;

    pub fn serialize<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let raw = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&raw)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn canonical_json_is_stable_and_round_trips() {
        let time = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().unwrap_or_default();
        let event = AuditEvent::success(
            time,
            &Principal::Operator,
            AuditAction::new(CrudKind::Create, "register_institution"),
            ResourceRef::new(ResourceKind::Institution, Some("25LX".into())),
            Purpose::Administration,
        );
        let json = event.canonical_json();
        assert_eq!(
            json,
            r#"{"time":"2026-03-01T12:00:00.000000Z","actor":{"kind":"operator","institution":null,"id":null},"on_behalf_of":null,"action":{"crud":"create","name":"register_institution"},"resource":{"kind":"institution","id":"25LX"},"data_subject":null,"purpose":"administration","outcome":"success","reason":null,"request_id":null}"#
        );
        let back: Result<AuditEvent, _> = serde_json::from_str(&json);
        assert_eq!(back.ok(), Some(event));
    }
}
