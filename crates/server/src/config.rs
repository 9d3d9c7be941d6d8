//! Configuration: `config/default.toml` (every key documented there), then an
//! optional `--config` file, then `DOORSTROOM__SECTION__KEY` environment
//! variables, each overriding the one before.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use doorstroom_domain::{LawfulBasis, Section};
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::{Deserialize, Serialize};

/// The defaults, compiled in so that the binary runs from any directory.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

/// The longest console session the settings accept, in seconds.
pub const MAX_CONSOLE_SESSION_SECS: i64 = 7 * 24 * 3600;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub tls: TlsSettings,
    pub database: DatabaseSettings,
    pub secrets: SecretSettings,
    pub jose: JoseSettings,
    pub auth: AuthSettings,
    pub exchange: ExchangeSettings,
    pub lawful_basis: LawfulBasisSettings,
    pub register: RegisterSettings,
    pub audit: AuditSettings,
    pub log: LogSettings,
    pub console: ConsoleSettings,
    pub retention: RetentionSettings,
}

/// The web console's sessions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSettings {
    /// A session unused for this many seconds has ended.
    pub idle_timeout_secs: i64,
    /// A session ends this many seconds after login, used or not.
    pub absolute_lifetime_secs: i64,
}

/// Storage limitation (GDPR art. 5(1)(e)): the retention periods, in days,
/// and how the purge runs. The periods become a
/// [`doorstroom_domain::RetentionPolicy`] through [`RetentionSettings::policy`],
/// which applies the domain's checks (every period positive, packages at
/// most 365 days).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    pub package_after_acknowledged_days: u32,
    pub package_after_application_end_days: u32,
    pub package_max_days: u32,
    pub application_after_end_days: u32,
    pub application_max_days: u32,
    pub consent_after_application_gone_days: u32,
    pub audit_days: u32,
    /// Seconds between scheduled purges inside `serve`; 0 switches the
    /// schedule off (then run `doorstroom purge` from cron).
    pub purge_interval_secs: u64,
    /// The most records one purge batch (one transaction) deletes.
    pub batch_size: u32,
    /// Pause between batches, in milliseconds, so that other writers get
    /// the database in between.
    pub batch_pause_ms: u64,
}

impl RetentionSettings {
    /// The periods as given.
    pub fn periods(&self) -> doorstroom_domain::RetentionPeriods {
        let days = |d: u32| chrono::Duration::days(i64::from(d));
        doorstroom_domain::RetentionPeriods {
            package_after_acknowledged: days(self.package_after_acknowledged_days),
            package_after_application_end: days(self.package_after_application_end_days),
            package_max: days(self.package_max_days),
            application_after_end: days(self.application_after_end_days),
            application_max: days(self.application_max_days),
            consent_after_application_gone: days(self.consent_after_application_gone_days),
            audit: days(self.audit_days),
        }
    }

    /// The checked policy, or the rule it breaks (the message names the
    /// period as the domain knows it, e.g. `package_max`, which is
    /// `package_max_days` here).
    pub fn policy(&self) -> Result<doorstroom_domain::RetentionPolicy, ConfigError> {
        doorstroom_domain::RetentionPolicy::new(self.periods())
            .map_err(|e| ConfigError::Invalid(format!("retention: {e}")))
    }
}

/// The audit log's signed checkpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// The checkpoint origin, which is also the signed-note key name: a
    /// schema-less URL naming this log, e.g. `doorstroom.example/audit`.
    pub origin: String,
    /// Seconds between scheduled checkpoints (signed only when the log grew).
    pub checkpoint_interval_secs: u64,
    /// More pulls than this by one actor within an hour raise an alert.
    pub anomaly_pulls_per_hour: i64,
}

/// Rules of the exchange that regions may set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeSettings {
    /// A package is refused until the student's (or parents') inspection
    /// of the dossier is recorded.
    pub require_inspection: bool,
}

/// The lawful basis of each section (GDPR art. 6 and 9).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LawfulBasisSettings {
    pub personal_data: LawfulBasis,
    pub support_needs: LawfulBasis,
    pub career_portfolio: LawfulBasis,
    pub remarks: LawfulBasis,
    pub attachments: LawfulBasis,
}

impl LawfulBasisSettings {
    /// The configured basis of `section`.
    pub fn of(&self, section: Section) -> LawfulBasis {
        match section {
            Section::PersonalData => self.personal_data,
            Section::SupportNeeds => self.support_needs,
            Section::CareerPortfolio => self.career_portfolio,
            Section::Remarks => self.remarks,
            Section::Attachments => self.attachments,
        }
    }
}

/// Who runs the broker, for the register of processing activities.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterSettings {
    pub controller: String,
    pub contact: String,
    pub privacy_officer_contact: String,
    pub retention: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: SocketAddr,
    pub workers: usize,
    pub body_limit_bytes: usize,
    pub shutdown_timeout_secs: u64,
    /// A request body must arrive in full within this many seconds of the
    /// request head (408 otherwise).
    pub body_deadline_secs: u64,
    /// No read of a request body waits longer than this many seconds for
    /// its next part (408 otherwise).
    pub body_idle_timeout_secs: u64,
}

impl ServerSettings {
    /// The time limits on request bodies (see [`crate::extract`]).
    pub fn body_timeouts(&self) -> crate::extract::BodyTimeouts {
        crate::extract::BodyTimeouts {
            deadline: std::time::Duration::from_secs(self.body_deadline_secs),
            idle: std::time::Duration::from_secs(self.body_idle_timeout_secs),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    /// The longest a request waits for a pooled connection, in
    /// milliseconds (then 503); while the database is known to be down, a
    /// request does not wait again (see `doorstroom_store::health`).
    pub checkout_timeout_ms: u64,
    /// `/readyz` answers 503 while the last write attempt failed less than
    /// this many seconds ago.
    pub write_failure_window_secs: u64,
}

impl DatabaseSettings {
    pub fn checkout_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.checkout_timeout_ms)
    }

    pub fn write_failure_window(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.write_failure_window_secs)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSettings {
    pub pseudonym_key_file: PathBuf,
    pub token_key_file: PathBuf,
    pub signing_key_file: PathBuf,
    /// The key that seals TOTP secrets at rest. Absent: `totp.key` beside
    /// `token_key_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_key_file: Option<PathBuf>,
}

impl SecretSettings {
    /// Where the TOTP sealing key lives.
    pub fn totp_key_path(&self) -> PathBuf {
        self.totp_key_file
            .clone()
            .unwrap_or_else(|| self.token_key_file.with_file_name("totp.key"))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoseSettings {
    pub trust_anchors: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub access_token_ttl_secs: i64,
    pub login_failure_window_secs: i64,
    pub max_failures_per_account: i64,
    pub max_failures_per_address: i64,
    /// Logins whose password is checked at the same time (each argon2id
    /// check holds 19 MiB); 0 means one per CPU core. Beyond it a login is
    /// refused at once with 503 and `Retry-After`.
    pub max_concurrent_password_checks: usize,
}

impl AuthSettings {
    /// [`AuthSettings::max_concurrent_password_checks`], with 0 resolved to
    /// the number of CPU cores.
    pub fn password_check_slots(&self) -> usize {
        match self.max_concurrent_password_checks {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Json,
    Pretty,
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Parse(#[from] Box<figment::Error>),
    #[error("configuration: {0}")]
    Invalid(String),
}

/// The longest an access token may live (the issue fixes ≤ 15 minutes).
pub const MAX_ACCESS_TOKEN_TTL_SECS: i64 = 15 * 60;

impl Settings {
    /// Defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(Env::prefixed("DOORSTROOM__").split("__"));
        let settings: Settings = figment.extract().map_err(Box::new)?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let ttl = self.auth.access_token_ttl_secs;
        if !(1..=MAX_ACCESS_TOKEN_TTL_SECS).contains(&ttl) {
            return Err(ConfigError::Invalid(format!(
                "auth.access_token_ttl_secs must be between 1 and {MAX_ACCESS_TOKEN_TTL_SECS}"
            )));
        }
        if self.server.body_deadline_secs == 0 || self.server.body_idle_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "server.body_deadline_secs and server.body_idle_timeout_secs must be at least 1".into(),
            ));
        }
        if self.database.checkout_timeout_ms == 0 {
            return Err(ConfigError::Invalid(
                "database.checkout_timeout_ms must be at least 1".into(),
            ));
        }
        if self.server.body_limit_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "server.body_limit_bytes must be at least 1024".into(),
            ));
        }
        for section in Section::ALL {
            let basis = self.lawful_basis.of(*section);
            if !section.permitted_bases().contains(&basis) {
                return Err(ConfigError::Invalid(format!(
                    "lawful_basis.{section} cannot be {basis}; it may be one of: {}",
                    section
                        .permitted_bases()
                        .iter()
                        .map(|b| b.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        if !signed_note::is_key_name_valid(&self.audit.origin) {
            return Err(ConfigError::Invalid(
                "audit.origin must be non-empty, without spaces or '+'".into(),
            ));
        }
        if self.audit.checkpoint_interval_secs == 0 {
            return Err(ConfigError::Invalid(
                "audit.checkpoint_interval_secs must be at least 1".into(),
            ));
        }
        if self.console.idle_timeout_secs < 1 || self.console.absolute_lifetime_secs < self.console.idle_timeout_secs {
            return Err(ConfigError::Invalid(
                "console.idle_timeout_secs must be at least 1 and at most console.absolute_lifetime_secs".into(),
            ));
        }
        // A console session holds a privacy officer's access to the audit
        // log: a working day is its purpose, a week is more than enough.
        if self.console.absolute_lifetime_secs > MAX_CONSOLE_SESSION_SECS {
            return Err(ConfigError::Invalid(format!(
                "console.absolute_lifetime_secs must be at most {MAX_CONSOLE_SESSION_SECS} (7 days)"
            )));
        }
        self.retention.policy()?;
        if self.retention.batch_size == 0 {
            return Err(ConfigError::Invalid("retention.batch_size must be at least 1".into()));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError::Invalid(
                "database.max_connections must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_periods_are_checked_at_load() {
        let defaults = Settings::load(None).unwrap_or_else(|e| panic!("{e}"));
        assert!(defaults.check().is_ok());
        let policy = defaults.retention.policy().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            policy,
            doorstroom_domain::RetentionPolicy::default(),
            "config and domain agree"
        );

        let mut too_long = defaults.clone();
        too_long.retention.package_max_days = 366;
        let err = too_long.check().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("package_max must be at most 365 days"), "{err}");

        let mut zero = defaults.clone();
        zero.retention.consent_after_application_gone_days = 0;
        let err = zero.check().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("consent_after_application_gone"), "{err}");

        let mut no_batch = defaults;
        no_batch.retention.batch_size = 0;
        let err = no_batch.check().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("batch_size"), "{err}");
    }

    #[test]
    fn body_and_checkout_timeouts_are_checked_at_load() {
        let defaults = Settings::load(None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(defaults.server.body_deadline_secs, 30);
        assert_eq!(defaults.database.checkout_timeout(), std::time::Duration::from_secs(2));
        for broken in [
            |s: &mut Settings| s.server.body_deadline_secs = 0,
            |s: &mut Settings| s.server.body_idle_timeout_secs = 0,
            |s: &mut Settings| s.database.checkout_timeout_ms = 0,
        ] {
            let mut settings = defaults.clone();
            broken(&mut settings);
            let err = settings.check().err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("must be at least 1"), "{err}");
        }
    }

    #[test]
    fn console_session_periods_are_checked_at_load() {
        let defaults = Settings::load(None).unwrap_or_else(|e| panic!("{e}"));
        let mut week = defaults.clone();
        week.console.absolute_lifetime_secs = MAX_CONSOLE_SESSION_SECS;
        assert!(week.check().is_ok());
        let mut too_long = defaults.clone();
        too_long.console.absolute_lifetime_secs = MAX_CONSOLE_SESSION_SECS + 1;
        let err = too_long.check().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("absolute_lifetime_secs must be at most"), "{err}");
        let mut idle_longer = defaults;
        idle_longer.console.idle_timeout_secs = idle_longer.console.absolute_lifetime_secs + 1;
        let err = idle_longer.check().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("idle_timeout_secs"), "{err}");
    }
}
