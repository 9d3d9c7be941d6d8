//! The register of processing activities (GDPR art. 30), produced from the
//! broker's configuration so that it cannot drift from what the broker does.

use actix_web::{HttpResponse, get, web};
use doorstroom_domain::{LawfulBasis, Section};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::config::Settings;
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;

/// The register, as data.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProcessingRegister {
    pub name: String,
    pub controller: String,
    pub contact: String,
    pub privacy_officer_contact: String,
    pub purposes: Vec<String>,
    pub data_subjects: Vec<String>,
    pub categories: Vec<DataCategory>,
    pub recipients: Vec<String>,
    pub transfers_outside_eea: String,
    pub retention: String,
    /// The retention periods the broker enforces (`[retention]`), in days.
    pub retention_periods: RetentionRegister,
    pub security_measures: Vec<String>,
    /// Whether a package waits for the recorded inspection (inzage).
    pub inspection_required_before_transfer: bool,
}

/// The configured retention, as the purge applies it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RetentionRegister {
    pub package_after_acknowledged_days: u32,
    pub package_after_application_end_days: u32,
    pub package_max_days: u32,
    pub application_after_end_days: u32,
    pub application_max_days: u32,
    pub consent_after_application_gone_days: u32,
    pub audit_days: u32,
    /// Seconds between scheduled purges (0: run by the operator's cron).
    pub purge_interval_secs: u64,
    /// How deletions and erasures are accounted for.
    pub accountability: String,
}

/// One section of the dossier and the basis it travels on.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DataCategory {
    pub section: Section,
    pub description: String,
    pub lawful_basis: LawfulBasis,
    /// GDPR art. 9: special categories (health).
    pub special_category: bool,
    pub needs_consent: bool,
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

fn basis_article(basis: LawfulBasis) -> &'static str {
    match basis {
        LawfulBasis::LegalObligation => "legal obligation (GDPR art. 6(1)(c))",
        LawfulBasis::ExplicitConsent => "explicit consent (GDPR art. 9(2)(a))",
        LawfulBasis::Consent => "consent (GDPR art. 6(1)(a)), withdrawable at any time",
        LawfulBasis::StudentAgreement => "written or agreed by the student or parents after inspection",
    }
}

/// Builds the register from the configuration.
pub fn processing_register(settings: &Settings) -> ProcessingRegister {
    let configured = &settings.register;
    ProcessingRegister {
        name: "Digitaal doorstroomdossier: transfer of the dossier from vo to mbo (Doorstroom broker)".into(),
        controller: configured.controller.clone(),
        contact: configured.contact.clone(),
        privacy_officer_contact: configured.privacy_officer_contact.clone(),
        purposes: vec![
            "Intake and support at the mbo where the student applied (warm handover)".into(),
            "Feedback on the application's course to the vo school, for its aftercare (nazorg)".into(),
            "Accountability: a log of every access, reviewed by privacy officers".into(),
        ],
        data_subjects: vec![
            "Students of vo, vso and pro schools who applied at an mbo institution".into(),
            "Parents and guardians who inspect the dossier or give consent for a student under 16".into(),
            "Staff of the schools who use the broker".into(),
        ],
        categories: Section::ALL
            .iter()
            .map(|section| {
                let basis = settings.lawful_basis.of(*section);
                DataCategory {
                    section: *section,
                    description: describe(*section).into(),
                    lawful_basis: basis,
                    special_category: *section == Section::SupportNeeds,
                    needs_consent: basis.needs_consent(),
                }
            })
            .collect(),
        recipients: vec![
            "Intake staff of the mbo institution where the student applied, and only after the application".into(),
            "The student's vo school receives the application's status".into(),
        ],
        transfers_outside_eea: "None".into(),
        retention: configured.retention.clone(),
        retention_periods: {
            let r = &settings.retention.configured;
            RetentionRegister {
                package_after_acknowledged_days: r.package_after_acknowledged_days,
                package_after_application_end_days: r.package_after_application_end_days,
                package_max_days: r.package_max_days,
                application_after_end_days: r.application_after_end_days,
                application_max_days: r.application_max_days,
                consent_after_application_gone_days: r.consent_after_application_gone_days,
                audit_days: r.audit_days,
                purge_interval_secs: r.purge_interval_secs,
                accountability: "Every deletion by the purge and every erasure on request (GDPR art. 17, by a \
                                 privacy officer, with who asked and why) is an audit event; audit events hold \
                                 pseudonyms only and stay for their own period (audit_days), then go oldest \
                                 first, only below the latest signed checkpoint and with their hashes kept, \
                                 so the log remains verifiable"
                    .into(),
            }
        },
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
        inspection_required_before_transfer: settings.exchange.require_inspection,
    }
}

/// A readable rendering (Markdown) of the register.
pub fn render_text(register: &ProcessingRegister) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!(
        "# Register of processing activities (GDPR art. 30)\n\n{}\n",
        register.name
    ));
    line(format!("- Controller: {}", register.controller));
    line(format!("- Contact: {}", register.contact));
    line(format!(
        "- Privacy officer (FG): {}\n",
        register.privacy_officer_contact
    ));
    line("## Purposes\n".into());
    for purpose in &register.purposes {
        line(format!("- {purpose}"));
    }
    line("\n## Data subjects\n".into());
    for subject in &register.data_subjects {
        line(format!("- {subject}"));
    }
    line("\n## Categories of personal data\n".into());
    line("| section | content | lawful basis |".into());
    line("|---|---|---|".into());
    for category in &register.categories {
        let special = if category.special_category {
            " (special category, art. 9)"
        } else {
            ""
        };
        line(format!(
            "| {} | {}{} | {} |",
            category.section,
            category.description,
            special,
            basis_article(category.lawful_basis)
        ));
    }
    line("\n## Recipients\n".into());
    for recipient in &register.recipients {
        line(format!("- {recipient}"));
    }
    line(format!(
        "\n## Transfers outside the EEA\n\n{}\n",
        register.transfers_outside_eea
    ));
    line(format!("## Retention\n\n{}\n", register.retention));
    let r = &register.retention_periods;
    line("| record | deleted | after (days) |".into());
    line("|---|---|---|".into());
    for (record, rule, days) in [
        (
            "package",
            "after delivery and acknowledgement",
            r.package_after_acknowledged_days,
        ),
        (
            "package",
            "after its application ended",
            r.package_after_application_end_days,
        ),
        ("package", "at the latest, after submission", r.package_max_days),
        ("application", "after it ended", r.application_after_end_days),
        (
            "application",
            "at the latest, after registration",
            r.application_max_days,
        ),
        (
            "consent and inspection records",
            "after the student's last application at that school is gone",
            r.consent_after_application_gone_days,
        ),
        ("audit event (pseudonymous)", "after it was recorded", r.audit_days),
    ] {
        line(format!("| {record} | {rule} | {days} |"));
    }
    let schedule = match r.purge_interval_secs {
        0 => "The purge runs from the operator's schedule (`doorstroom purge`).".to_owned(),
        secs => format!("The broker purges every {secs} seconds."),
    };
    line(format!("\n{schedule} {}.\n", r.accountability));
    line("## Security measures\n".into());
    for measure in &register.security_measures {
        line(format!("- {measure}"));
    }
    let inspection = if register.inspection_required_before_transfer {
        "A dossier is transferred only after the student and/or parents inspected it (inzage)."
    } else {
        "This region does not wait for a recorded inspection before transfer."
    };
    line(format!("\n## Inspection\n\n{inspection}"));
    out
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RegisterQuery {
    /// `json` (default) or `text` (Markdown).
    #[param(inline)]
    pub format: Option<RegisterFormat>,
}

#[derive(Deserialize, Serialize, Clone, Copy, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegisterFormat {
    Json,
    Text,
}

/// The register of processing activities, generated from the broker's
/// configuration. Public: it holds no personal data.
#[utoipa::path(
    tag = "privacy",
    params(RegisterQuery),
    responses(
        (status = 200, description = "the register: JSON, or Markdown with format=text", content(
            (ProcessingRegister = "application/json"),
            (String = "text/markdown; charset=utf-8"),
        )),
    )
)]
#[get("/v1/register")]
pub async fn register_of_processing(
    state: web::Data<AppState>,
    query: Query<RegisterQuery>,
) -> Result<HttpResponse, ApiError> {
    let document = processing_register(&state.settings);
    Ok(match query.0.format.unwrap_or(RegisterFormat::Json) {
        RegisterFormat::Json => HttpResponse::Ok().json(document),
        RegisterFormat::Text => HttpResponse::Ok()
            .content_type("text/markdown; charset=utf-8")
            .body(render_text(&document)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_register_lists_the_configured_retention() {
        let mut raw = crate::config::SettingsFile::load(None).unwrap_or_else(|e| panic!("{e}"));
        raw.retention.package_after_acknowledged_days = 14;
        let settings = Settings::try_from(raw).unwrap_or_else(|e| panic!("{e}"));
        let register = processing_register(&settings);
        assert_eq!(register.retention_periods.package_after_acknowledged_days, 14);
        assert_eq!(register.retention_periods.package_max_days, 365);
        assert_eq!(register.retention_periods.audit_days, 1827);
        let text = render_text(&register);
        assert!(
            text.contains("| package | after delivery and acknowledgement | 14 |"),
            "{text}"
        );
        assert!(
            text.contains("| package | at the latest, after submission | 365 |"),
            "{text}"
        );
        assert!(text.contains("The broker purges every 3600 seconds."), "{text}");
    }
}
