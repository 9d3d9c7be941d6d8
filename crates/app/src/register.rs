//! The register of processing activities (GDPR art. 30), produced from the
//! broker's configuration so that it cannot drift from what the broker does.

use doorstroom_api::register::{DataCategory, ProcessingRegister, RetentionRegister};
use doorstroom_domain::{LawfulBasis, Section};

/// How deletions and erasures are accounted for, as the register states it.
pub const ACCOUNTABILITY: &str = "Every deletion by the purge and every erasure on request (GDPR art. 17, by a \
                                  privacy officer, with who asked and why) is an audit event; audit events hold \
                                  pseudonyms only and stay for their own period (audit_days), then go oldest \
                                  first, only below the latest signed checkpoint and with their hashes kept, so \
                                  the log remains verifiable";

/// What the register states of one broker's configuration.
pub struct Configured {
    /// `[register]`: who runs the broker.
    pub controller: String,
    pub contact: String,
    pub privacy_officer_contact: String,
    /// `[register]`: the operator's own words on retention.
    pub retention: String,
    /// `[lawful_basis]`: the basis of every section, in [`Section::ALL`] order.
    pub lawful_basis: Vec<(Section, LawfulBasis)>,
    /// `[retention]`, with the [`ACCOUNTABILITY`] statement.
    pub retention_periods: RetentionRegister,
    /// `[exchange] require_inspection`.
    pub inspection_required_before_transfer: bool,
}

fn describe(section: Section) -> &'static str {
    match section {
        Section::PersonalData => "Identity and contact data of the student (persoonsgegevens)",
        Section::SupportNeeds => {
            "Extra support needs of the student (extra ondersteuningsbehoefte); may hold health data"
        }
        Section::CareerPortfolio => "Career orientation record, portfolio and plus document (loopbaandossier)",
        Section::Remarks => "Remarks of the student or parents after inspecting the dossier",
        Section::Attachments => "Attached files such as reports",
    }
}

fn category((section, basis): (Section, LawfulBasis)) -> DataCategory {
    DataCategory {
        section,
        description: describe(section).into(),
        lawful_basis: basis,
        special_category: section == Section::SupportNeeds,
        needs_consent: basis.needs_consent(),
    }
}

/// The register of processing activities of `configured`. Anyone may read
/// it (it holds no personal data), so nothing is authorized or recorded.
pub fn processing_register(configured: Configured) -> ProcessingRegister {
    ProcessingRegister {
        name: "Digitaal doorstroomdossier: transfer of the dossier from vo to mbo (Doorstroom broker)".into(),
        controller: configured.controller,
        contact: configured.contact,
        privacy_officer_contact: configured.privacy_officer_contact,
        purposes: vec![
            "Intake and support at the mbo where the student applied (warm handover)".into(),
            "Feedback on the application's course to the vo school, for its aftercare (nazorg)".into(),
            "The safety net (vangnet): the vo school's duty of care that none of its leavers is lost between vo \
             and mbo; its leaving cohort by pseudonym and the school's own reference, against the regional \
             deadlines (lawful basis: the school's legal duty of care and the regional agreement)"
                .into(),
            "Regional monitoring: aggregate figures of a region's transition from vo to mbo for its coordinator \
             (lawful basis: the public task of the region's schools and its RMC function to prevent early school \
             leaving, as their regional agreement sets it out), counts only, small counts suppressed; nothing is \
             stored for it"
                .into(),
            "Accountability: a log of every access, reviewed by privacy officers".into(),
            "Transparency: the student (under 16, a parent) sees on a page of their own, through a link from the \
             school, what the broker holds, what was sent to whom and who accessed it, and may withdraw consent \
             there (GDPR arts. 7(3), 12-15)"
                .into(),
        ],
        data_subjects: vec![
            "Students of vo, vso and pro schools who applied at an mbo institution".into(),
            "Parents and guardians who inspect the dossier or give consent for a student under 16".into(),
            "Staff of the schools who use the broker, and the contact each vo school names for the warm handover (name, role, e-mail, phone, read by the mbo intakers)".into(),
        ],
        categories: configured.lawful_basis.into_iter().map(category).collect(),
        recipients: vec![
            "Intake staff of the mbo institution where the student applied, and only after the application".into(),
            "The student's vo school receives the application's status".into(),
            "The vo school alone sees which of its own leavers are at risk, and why".into(),
            "A region's coordinator sees counts of the region only, never a student".into(),
        ],
        transfers_outside_eea: "None".into(),
        retention: configured.retention,
        retention_periods: configured.retention_periods,
        security_measures: vec![
            "End-to-end encryption of every section for the receiving institution (JWE); the broker cannot read it"
                .into(),
            "Signatures of the sending school on every section and on the package (JWS)".into(),
            "TLS 1.2/1.3 only; school systems authenticate with client certificates bound to one institution".into(),
            "Staff log in with password and a second factor (TOTP); access tokens live at most 15 minutes".into(),
            "National student numbers are kept only as a keyed pseudonym (HMAC-SHA-256)".into(),
            "Every access, allowed or refused, is written to the audit log in the same transaction (fail closed)"
                .into(),
            "One authorization policy; refused and missing records look the same to callers".into(),
        ],
        inspection_required_before_transfer: configured.inspection_required_before_transfer,
    }
}
