//! Human labels for the wire codes that the console shows: audit actions,
//! purposes, outcomes, actor and record kinds, application statuses,
//! dossier sections, consent and inspection values, keys and lawful bases.
//!
//! Every label is one [`Label`], a Dutch and an English text written side
//! by side, so a label missing in either language does not compile. Codes
//! that are a domain enum are labelled by a function that matches the enum
//! exhaustively: a new variant without a label does not compile either.
//! Record kinds are the domain's [`ResourceKind`], matched the same way.
//! Action names beyond the domain's [`Action`] are looked up in a table of
//! the known ones; a code the record holds that is not known (an older
//! log's) has no label and is shown as it is.
//!
//! Pages show the label first and keep the code at hand (in a `<code>` or
//! a `title`), so a privacy officer can match a row against the API and the
//! CSV/JSON exports, which keep the codes: they are the API's format.

use doorstroom_api::safety_net::RiskReason;
use doorstroom_domain::{
    Action, ActorKind, ApplicationStatus, ConsentEventKind, ConsentMethod, GivenBy, InspectedBy, KeyStatus, KeyUse,
    LawfulBasis, Outcome, Purpose, ResourceKind, Section,
};

use super::i18n::Lang;

/// One text in Dutch and in English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    pub nl: &'static str,
    pub en: &'static str,
}

impl Label {
    pub fn of(self, lang: Lang) -> &'static str {
        match lang {
            Lang::Nl => self.nl,
            Lang::En => self.en,
        }
    }
}

const fn l(nl: &'static str, en: &'static str) -> Label {
    Label { nl, en }
}

/// What an access was: the domain's actions, as the audit log names them.
pub fn action(action: Action) -> Label {
    match action {
        Action::WhoAmI => l("Eigen identiteit opgevraagd", "Own identity read"),
        Action::ListInstitutions => l("Instellingenregister geraadpleegd", "Institution registry listed"),
        Action::ReadInstitution => l("Instelling geraadpleegd", "Institution read"),
        Action::RegisterInstitution => l("Instelling geregistreerd", "Institution registered"),
        Action::UpdateInstitution => l("Instelling gewijzigd", "Institution updated"),
        Action::ReadCredentials => l("Sleutels en certificaten geraadpleegd", "Keys and certificates read"),
        Action::ManageKeys => l("Sleutels beheerd", "Keys managed"),
        Action::ManageCertificates => l("Certificaten beheerd", "Certificates managed"),
        Action::ListStaff => l("Medewerkers geraadpleegd", "Staff listed"),
        Action::CreateStaff => l("Medewerker aangemaakt", "Staff account created"),
        Action::ManageStaff => l("Medewerkeraccount beheerd", "Staff account managed"),
        Action::ReadAuditLog => l("Auditlog geraadpleegd", "Audit log read"),
        Action::RegisterApplication => l("Aanmelding geregistreerd", "Application registered"),
        Action::ReadApplication => l("Aanmelding geraadpleegd", "Application read"),
        Action::ReportStatus => l("Status teruggekoppeld", "Status reported"),
        Action::FindApplications => l("Aanmeldingen opgezocht", "Applications looked up"),
        Action::SubmitPackage => l("Dossier aangeleverd", "Dossier submitted"),
        Action::ListInbox => l("Postvak geraadpleegd", "Inbox listed"),
        Action::ListIntakers => l("Intakers geraadpleegd", "Intakers listed"),
        Action::ReadEvents => l("Gebeurtenissenfeed geraadpleegd", "Event feed read"),
        Action::PullPackage => l("Dossier opgehaald", "Dossier retrieved"),
        Action::AcknowledgePackage => l("Ontvangst dossier bevestigd", "Dossier receipt acknowledged"),
        Action::RecordInspection => l("Inzage vastgelegd", "Inspection recorded"),
        Action::RecordConsent => l("Toestemming vastgelegd", "Consent recorded"),
        Action::ReadConsentHistory => l(
            "Toestemming en inzage geraadpleegd",
            "Consent and inspection history read",
        ),
        Action::PurgeExpired => l("Bewaartermijnen toegepast", "Retention rules applied"),
        Action::EraseStudent => l("Verzoek tot wissen uitgevoerd", "Erasure request carried out"),
        Action::ManageCohort => l("Cohort (vangnet) bijgewerkt", "Cohort (safety net) updated"),
        Action::ReadSafetyNet => l("Vangnetlijst geraadpleegd", "Safety-net list read"),
        Action::ReadRegionalFigures => l("Regionale cijfers geraadpleegd", "Regional figures read"),
        Action::NotifyAtRisk => l("Risico in het vangnet gemeld", "Safety-net risk notified"),
        Action::IssueTransparencyLink => l("Link naar eigen pagina uitgegeven", "Link to own page issued"),
        Action::RevokeTransparencyLink => l("Link naar eigen pagina ingetrokken", "Link to own page revoked"),
        Action::OpenTransparencyLink => l("Eigen pagina geopend met code", "Own page opened with code"),
        Action::ReadOwnFile => l("Eigen pagina bekeken", "Own page viewed"),
        Action::WithdrawConsentViaLink => l(
            "Toestemming ingetrokken op eigen pagina",
            "Consent withdrawn on own page",
        ),
    }
}

/// Action names the audit log holds besides the domain's [`Action`]s: the
/// events a handler writes for one step of a larger access (one per
/// deleted record, per withdrawn section, …). Free strings in the record,
/// hence a table rather than a match.
const OTHER_ACTIONS: &[(&str, Label)] = &[
    ("login", l("Inloggen beheeromgeving", "Console login")),
    ("authenticate", l("Authenticatie API", "API authentication")),
    (
        "list_inbox_entry",
        l("Dossier in postvak getoond", "Inbox entry listed"),
    ),
    (
        "anomaly_alert",
        l("Afwijkend gebruik gesignaleerd", "Unusual use flagged"),
    ),
    ("sign_checkpoint", l("Controlepunt ondertekend", "Checkpoint signed")),
    ("purge_dry_run", l("Proefrun bewaartermijnen", "Retention dry run")),
    (
        "audit_events_pruned",
        l(
            "Auditgebeurtenissen verwijderd (bewaartermijn)",
            "Audit events deleted (retention)",
        ),
    ),
    (
        "section_withdrawn_after_delivery",
        l("Onderdeel ingetrokken na levering", "Section withdrawn after delivery"),
    ),
    (
        "delete_withdrawn_section",
        l("Ingetrokken onderdeel verwijderd", "Withdrawn section deleted"),
    ),
    ("student_erased", l("Gegevens leerling gewist", "Student's data erased")),
    (
        "package_purged",
        l("Dossier verwijderd (bewaartermijn)", "Dossier deleted (retention)"),
    ),
    (
        "application_purged",
        l(
            "Aanmelding verwijderd (bewaartermijn)",
            "Application deleted (retention)",
        ),
    ),
    (
        "consent_event_purged",
        l(
            "Toestemming verwijderd (bewaartermijn)",
            "Consent record deleted (retention)",
        ),
    ),
    (
        "inspection_purged",
        l(
            "Inzage verwijderd (bewaartermijn)",
            "Inspection record deleted (retention)",
        ),
    ),
    (
        "event_feed_purged",
        l(
            "Feedregels verwijderd (bewaartermijn)",
            "Event feed entries deleted (retention)",
        ),
    ),
    (
        "package_erased",
        l("Dossier gewist (verzoek)", "Dossier erased (request)"),
    ),
    (
        "application_erased",
        l("Aanmelding gewist (verzoek)", "Application erased (request)"),
    ),
    (
        "consent_event_erased",
        l("Toestemming gewist (verzoek)", "Consent record erased (request)"),
    ),
    (
        "inspection_erased",
        l("Inzage gewist (verzoek)", "Inspection record erased (request)"),
    ),
];

/// Every action name with a label: the domain's actions, then the others.
pub fn known_actions() -> impl Iterator<Item = (&'static str, Label)> {
    Action::ALL
        .iter()
        .map(|a| (a.as_str(), action(*a)))
        .chain(OTHER_ACTIONS.iter().copied())
}

/// The label of an action name as the audit record holds it, if known.
pub fn action_name(name: &str) -> Option<Label> {
    known_actions().find(|(code, _)| *code == name).map(|(_, label)| label)
}

/// The kinds of record ("resource") that audit events name.
pub fn resource_kind_label(kind: ResourceKind) -> Label {
    match kind {
        ResourceKind::Institution => l("Instelling", "Institution"),
        ResourceKind::InstitutionKeys => l("Sleutels van instelling", "Institution keys"),
        ResourceKind::InstitutionKey => l("Sleutel", "Key"),
        ResourceKind::ClientCertificates => l("Clientcertificaten", "Client certificates"),
        ResourceKind::ClientCertificate => l("Clientcertificaat", "Client certificate"),
        ResourceKind::AuditLog => l("Auditlog", "Audit log"),
        ResourceKind::AuditEntries => l("Regels van het auditlog", "Audit log entries"),
        ResourceKind::AuditInclusionProof => l("Opnamebewijs auditlog", "Audit log inclusion proof"),
        ResourceKind::AuditConsistencyProof => l("Consistentiebewijs auditlog", "Audit log consistency proof"),
        ResourceKind::AuditCheckpoint => l("Controlepunt auditlog", "Audit log checkpoint"),
        ResourceKind::AuditEvent => l("Auditgebeurtenis", "Audit event"),
        ResourceKind::AuditEvents => l("Auditgebeurtenissen", "Audit events"),
        ResourceKind::AuditPrunedPrefix => l("Verwijderd begin van het auditlog", "Pruned start of the audit log"),
        ResourceKind::Inspection => l("Inzage", "Inspection"),
        ResourceKind::Consent => l("Toestemming", "Consent"),
        ResourceKind::ConsentEvent => l("Vastgelegde toestemming", "Consent record"),
        ResourceKind::ConsentHistory => l("Toestemming- en inzagegeschiedenis", "Consent and inspection history"),
        ResourceKind::Package => l("Dossier", "Dossier"),
        ResourceKind::PackageSection => l("Dossieronderdeel", "Dossier section"),
        ResourceKind::SubjectReport => l("Inzageverslag (art. 15 AVG)", "Subject access report (GDPR art. 15)"),
        ResourceKind::Application => l("Aanmelding", "Application"),
        ResourceKind::Applications => l("Aanmeldingen", "Applications"),
        ResourceKind::StudentData => l("Gegevens van leerling", "Student's data"),
        ResourceKind::Inbox => l("Postvak", "Inbox"),
        ResourceKind::EventFeed => l("Gebeurtenissenfeed", "Event feed"),
        ResourceKind::WebhookEndpoint => l("Webhook-adres", "Webhook endpoint"),
        ResourceKind::HandoverContact => l("Contactpersoon warme overdracht", "Contact for the warm handover"),
        ResourceKind::Cohort => l("Cohort (vangnet)", "Cohort (safety net)"),
        ResourceKind::CohortMember => l("Leerling in cohort (vangnet)", "Cohort member (safety net)"),
        ResourceKind::RegionalFigures => l("Regionale cijfers", "Regional figures"),
        ResourceKind::SafetyNet => l("Leerlingen in het vangnet", "Students at risk (safety net)"),
        ResourceKind::Intakers => l("Intakemedewerkers", "Intakers"),
        ResourceKind::Actor => l("Gebruiker of systeem", "User or system"),
        ResourceKind::StaffAccount => l("Medewerkeraccount", "Staff account"),
        ResourceKind::StaffAccounts => l("Medewerkeraccounts", "Staff accounts"),
        ResourceKind::Principal => l("Eigen identiteit", "Own identity"),
        ResourceKind::Route => l("API-adres", "API route"),
        ResourceKind::Retention => l("Bewaartermijnen", "Retention"),
        ResourceKind::TransparencyLink => l("Link naar eigen pagina", "Link to own page"),
        ResourceKind::TransparencyPage => l("Eigen pagina van leerling", "Student's own page"),
    }
}

/// The label of a record kind as the audit record holds it, if known (an
/// older log may hold a kind the broker no longer writes).
pub fn resource_kind(kind: &str) -> Option<Label> {
    ResourceKind::parse(kind).ok().map(resource_kind_label)
}

pub fn actor_kind(kind: ActorKind) -> Label {
    match kind {
        ActorKind::System => l("Systeem", "System"),
        ActorKind::Staff => l("Medewerker", "Staff member"),
        ActorKind::Operator => l("Beheer (server)", "Operator"),
        ActorKind::Broker => l("Broker", "Broker"),
        ActorKind::StudentLink => l("Leerling of ouder (via link)", "Student or parent (via link)"),
        ActorKind::Anonymous => l("Anoniem", "Anonymous"),
    }
}

pub fn purpose(purpose: Purpose) -> Label {
    match purpose {
        Purpose::Administration => l("beheer", "administration"),
        Purpose::Authentication => l("authenticatie", "authentication"),
        Purpose::Intake => l("intake", "intake"),
        Purpose::Supervision => l("toezicht", "supervision"),
        Purpose::Aftercare => l("nazorg (vangnet)", "aftercare (safety net)"),
        Purpose::RegionalMonitoring => l("regionale monitoring", "regional monitoring"),
        Purpose::Operations => l("bedrijfsvoering", "operations"),
        Purpose::Transparency => l("informatie aan leerling", "informing the student"),
    }
}

pub fn outcome(outcome: Outcome) -> Label {
    match outcome {
        Outcome::Success => l("geslaagd", "succeeded"),
        Outcome::Denied => l("geweigerd", "denied"),
        Outcome::Unauthenticated => l("niet geauthenticeerd", "not authenticated"),
        Outcome::Rejected => l("afgewezen", "rejected"),
    }
}

pub fn application_status(status: ApplicationStatus) -> Label {
    match status {
        ApplicationStatus::Registered => l("aangemeld", "registered"),
        ApplicationStatus::Received => l("dossier ontvangen", "dossier received"),
        ApplicationStatus::IntakeScheduled => l("intake gepland", "intake scheduled"),
        ApplicationStatus::IntakeHeld => l("intake gehouden", "intake held"),
        ApplicationStatus::PlaceOffered => l("plaats aangeboden", "place offered"),
        ApplicationStatus::Enrolled => l("ingeschreven", "enrolled"),
        ApplicationStatus::NotEnrolling => l("niet ingeschreven", "not enrolling"),
        ApplicationStatus::Withdrawn => l("teruggetrokken", "withdrawn"),
        ApplicationStatus::NoShow => l("niet verschenen", "no-show"),
    }
}

/// Why a student of a safety-net cohort is at risk, in plain words (the
/// wire reason: the page shows what the API answers).
pub fn risk_reason(reason: RiskReason) -> Label {
    match reason {
        RiskReason::NoApplication => l("niet aangemeld bij een mbo", "no application at any mbo"),
        RiskReason::NoIntake => l("geen intake gepland of gehouden", "no intake scheduled or held"),
        RiskReason::NoPlace => l("geen plaats aangeboden", "no place offered"),
        RiskReason::NotEnrolled => l("niet ingeschreven", "not enrolled"),
        RiskReason::NoShow => l("niet verschenen op het mbo", "did not show up at the mbo"),
    }
}

pub fn section(section: Section) -> Label {
    match section {
        Section::PersonalData => l("Persoonsgegevens", "Personal data"),
        Section::SupportNeeds => l("Extra ondersteuningsbehoefte", "Support needs"),
        Section::CareerPortfolio => l("Loopbaandossier", "Career portfolio"),
        Section::Remarks => l("Opmerkingen na inzage", "Remarks after inspection"),
        Section::Attachments => l("Bijlagen", "Attachments"),
    }
}

pub fn consent_event(kind: ConsentEventKind) -> Label {
    match kind {
        ConsentEventKind::Given => l("gegeven", "given"),
        ConsentEventKind::Withdrawn => l("ingetrokken", "withdrawn"),
        ConsentEventKind::Expired => l("verlopen", "expired"),
    }
}

pub fn given_by(by: GivenBy) -> Label {
    match by {
        GivenBy::Student => l("leerling", "student"),
        GivenBy::Parent => l("ouder", "parent"),
        GivenBy::Guardian => l("voogd", "guardian"),
    }
}

pub fn inspected_by(by: InspectedBy) -> Label {
    match by {
        InspectedBy::Student => l("leerling", "student"),
        InspectedBy::Parent => l("ouder", "parent"),
        InspectedBy::Guardian => l("voogd", "guardian"),
    }
}

pub fn consent_method(method: ConsentMethod) -> Label {
    match method {
        ConsentMethod::PaperForm => l("papieren formulier", "paper form"),
        ConsentMethod::InPerson => l("persoonlijk", "in person"),
        ConsentMethod::Digital => l("digitaal", "digital"),
    }
}

pub fn key_use(key_use: KeyUse) -> Label {
    match key_use {
        KeyUse::Sig => l("ondertekenen", "signing"),
        KeyUse::Enc => l("versleutelen", "encryption"),
    }
}

pub fn key_status(status: KeyStatus) -> Label {
    match status {
        KeyStatus::Active => l("actief", "active"),
        KeyStatus::Retired => l("uitgefaseerd", "retired"),
        KeyStatus::Revoked => l("ingetrokken", "revoked"),
    }
}

pub fn lawful_basis(basis: LawfulBasis) -> Label {
    match basis {
        LawfulBasis::LegalObligation => l(
            "wettelijke verplichting (art. 6 lid 1 sub c AVG)",
            "legal obligation (GDPR art. 6(1)(c))",
        ),
        LawfulBasis::ExplicitConsent => l(
            "uitdrukkelijke toestemming (art. 9 lid 2 sub a AVG)",
            "explicit consent (GDPR art. 9(2)(a))",
        ),
        LawfulBasis::Consent => l("toestemming (art. 6 lid 1 sub a AVG)", "consent (GDPR art. 6(1)(a))"),
        LawfulBasis::StudentAgreement => l(
            "instemming van de leerling na inzage",
            "the student's agreement after inspection",
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::HashSet;

    use doorstroom_domain::{Action, ResourceKind, Role, SideEvent};

    use super::*;
    use crate::console::i18n::{EN, NL};
    use crate::console::pages::role_label;

    /// Every code of a family has a label in both languages, no two codes
    /// share one (a privacy officer could not tell them apart), and no code
    /// is listed twice.
    fn distinct(family: &str, labelled: impl IntoIterator<Item = (String, Label)>) {
        let (mut codes, mut nl, mut en) = (HashSet::new(), HashSet::new(), HashSet::new());
        for (code, label) in labelled {
            assert!(codes.insert(code.clone()), "{family}: {code} listed twice");
            for (lang, text, seen) in [("nl", label.nl, &mut nl), ("en", label.en, &mut en)] {
                assert!(!text.trim().is_empty(), "{family}: {code} has no {lang} label");
                assert!(
                    seen.insert(text),
                    "{family}: {code}'s {lang} label {text:?} is another code's too"
                );
            }
        }
        assert!(!codes.is_empty(), "{family}: no codes");
    }

    fn each<T: Copy>(all: &[T], code: fn(T) -> &'static str, label: fn(T) -> Label) -> Vec<(String, Label)> {
        all.iter().map(|v| (code(*v).to_owned(), label(*v))).collect()
    }

    #[test]
    fn every_variant_of_every_family_has_a_distinct_label_in_both_languages() {
        distinct("action", known_actions().map(|(code, label)| (code.to_owned(), label)));
        distinct(
            "resource kind",
            each(ResourceKind::ALL, ResourceKind::as_str, resource_kind_label),
        );
        distinct("actor kind", each(ActorKind::ALL, ActorKind::as_str, actor_kind));
        distinct("purpose", each(Purpose::ALL, Purpose::as_str, purpose));
        distinct("outcome", each(Outcome::ALL, Outcome::as_str, outcome));
        distinct(
            "application status",
            each(ApplicationStatus::ALL, ApplicationStatus::as_str, application_status),
        );
        distinct("section", each(Section::ALL, Section::as_str, section));
        distinct(
            "consent event",
            each(ConsentEventKind::ALL, ConsentEventKind::as_str, consent_event),
        );
        distinct("given by", each(GivenBy::ALL, GivenBy::as_str, given_by));
        distinct(
            "inspected by",
            each(InspectedBy::ALL, InspectedBy::as_str, inspected_by),
        );
        distinct(
            "method",
            each(ConsentMethod::ALL, ConsentMethod::as_str, consent_method),
        );
        distinct("key use", each(KeyUse::ALL, KeyUse::as_str, key_use));
        distinct("key status", each(KeyStatus::ALL, KeyStatus::as_str, key_status));
        distinct(
            "lawful basis",
            each(LawfulBasis::ALL, LawfulBasis::as_str, lawful_basis),
        );
        distinct(
            "role",
            Role::ALL.iter().map(|r| {
                let label = Label {
                    nl: role_label(&NL, *r),
                    en: role_label(&EN, *r),
                };
                (r.as_str().to_owned(), label)
            }),
        );
    }

    #[test]
    fn labels_are_looked_up_by_the_code_the_audit_record_holds() {
        let registered = action_name("register_application").unwrap();
        assert_eq!(registered.of(Lang::Nl), "Aanmelding geregistreerd");
        assert_eq!(registered.of(Lang::En), "Application registered");
        assert_eq!(
            action_name(Action::ReadAuditLog.as_str()).map(|l| l.nl),
            Some("Auditlog geraadpleegd")
        );
        assert_eq!(resource_kind("application").map(|l| l.nl), Some("Aanmelding"));
        assert_eq!(action_name("no_such_action"), None);
        assert_eq!(resource_kind("no_such_kind"), None);
    }

    #[test]
    fn every_name_the_broker_writes_into_the_log_has_a_label() {
        // A new kind, action or side event without a label here would
        // silently show its raw code in the console.
        for kind in ResourceKind::ALL {
            assert!(resource_kind(kind.as_str()).is_some(), "{kind}");
        }
        for action in Action::ALL {
            assert!(action_name(action.as_str()).is_some(), "{}", action.as_str());
        }
        let deletable = [
            ResourceKind::Package,
            ResourceKind::Application,
            ResourceKind::ConsentEvent,
            ResourceKind::Inspection,
        ];
        let side_events = [
            SideEvent::ListInboxEntry,
            SideEvent::AnomalyAlert,
            SideEvent::DeleteWithdrawnSection,
            SideEvent::SectionWithdrawnAfterDelivery,
            SideEvent::Login,
            SideEvent::Authenticate,
            SideEvent::SignCheckpoint,
            SideEvent::PurgeDryRun,
            SideEvent::AuditEventsPruned,
            SideEvent::StudentErased,
        ]
        .into_iter()
        .chain(
            deletable
                .into_iter()
                .flat_map(|k| [SideEvent::Purged(k), SideEvent::Erased(k)]),
        );
        for event in side_events {
            assert!(action_name(&event.name()).is_some(), "{}", event.name());
        }
    }
}
