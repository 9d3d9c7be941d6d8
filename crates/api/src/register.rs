//! The register of processing activities (GDPR art. 30) as the broker
//! publishes it (`GET /v1/register`).

use doorstroom_domain::{LawfulBasis, Section};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The retention periods an operator configures, in days, as one list:
/// `[retention]` of the broker's configuration and the register's
/// [`RetentionRegister`] state the same periods, so a period is added to
/// both or to neither.
///
/// `retention_days! { #[derive(..)] pub struct Name { more fields } }`
/// declares a struct with the periods followed by `more fields`;
/// `retention_days!(source => Name { more fields })` builds one from any
/// value with the same period fields.
#[macro_export]
macro_rules! retention_days {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($rest:tt)* }) => {
        $(#[$meta])*
        $vis struct $name {
            pub package_after_acknowledged_days: u32,
            pub package_after_application_end_days: u32,
            pub package_max_days: u32,
            pub application_after_end_days: u32,
            pub application_max_days: u32,
            pub consent_after_application_gone_days: u32,
            pub audit_days: u32,
            pub events_days: u32,
            pub transparency_links_days: u32,
            $($rest)*
        }
    };
    ($source:expr => $name:ident { $($rest:tt)* }) => {{
        let source = &$source;
        $name {
            package_after_acknowledged_days: source.package_after_acknowledged_days,
            package_after_application_end_days: source.package_after_application_end_days,
            package_max_days: source.package_max_days,
            application_after_end_days: source.application_after_end_days,
            application_max_days: source.application_max_days,
            consent_after_application_gone_days: source.consent_after_application_gone_days,
            audit_days: source.audit_days,
            events_days: source.events_days,
            transparency_links_days: source.transparency_links_days,
            $($rest)*
        }
    }};
}

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

retention_days! {
    /// The configured retention, as the purge applies it.
    #[derive(Debug, Serialize, Deserialize, ToSchema)]
    pub struct RetentionRegister {
        /// Seconds between scheduled purges (0: run by the operator's cron).
        pub purge_interval_secs: u64,
        /// Days a safety-net cohort is kept after the enrolment deadline of
        /// its school year (`[safety_net] cohort_days_after_enrolled_by`).
        pub cohort_days_after_enrolled_by: u32,
        /// How deletions and erasures are accounted for.
        pub accountability: String,
    }
}

/// One section of the dossier and the basis it travels on.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DataCategory {
    #[schema(value_type = crate::schema::Section)]
    pub section: Section,
    pub description: String,
    #[schema(value_type = crate::schema::LawfulBasis)]
    pub lawful_basis: LawfulBasis,
    /// GDPR art. 9: special categories (health).
    pub special_category: bool,
    pub needs_consent: bool,
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
