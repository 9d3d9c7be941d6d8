//! Configuration: `config/default.toml` (every key documented there), then an
//! optional `--config` file, then `DOORSTROOM__SECTION__KEY` environment
//! variables, each overriding the one before.
//!
//! The layers are read into a [`SettingsFile`], the keys as written, and
//! parsed once, at load, into [`Settings`]: checked, typed values (a
//! [`RetentionPolicy`], [`std::time::Duration`]s, a [`SocketAddr`], …). Code
//! after start reads only [`Settings`], so it never meets a setting that was
//! not checked, nor parses one again.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use doorstroom_api::register::RetentionRegister;
use doorstroom_domain::{RetentionPolicy, Section};
use doorstroom_store::GroupCommit;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::{Deserialize, Serialize};

/// The defaults, compiled in so that the binary runs from any directory.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

/// The longest console session the settings accept, in seconds.
pub const MAX_CONSOLE_SESSION_SECS: i64 = 7 * 24 * 3600;

/// The longest an access token may live (the issue fixes ≤ 15 minutes).
pub const MAX_ACCESS_TOKEN_TTL_SECS: i64 = 15 * 60;

/// The settings as written in the files and the environment, before they
/// are checked. Only [`Settings::try_from`] reads one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsFile {
    pub server: ServerSection,
    pub tls: TlsSettings,
    pub database: DatabaseSection,
    pub secrets: SecretSettings,
    pub jose: JoseSettings,
    pub auth: AuthSection,
    pub exchange: ExchangeSettings,
    pub lawful_basis: LawfulBasisSettings,
    pub register: RegisterSettings,
    pub audit: AuditSection,
    pub log: LogSettings,
    pub console: ConsoleSection,
    pub retention: RetentionSection,
    pub events: EventsSection,
    #[serde(default)]
    pub transparency: TransparencySection,
    pub webhooks: WebhooksSection,
    pub safety_net: SafetyNetSection,
    pub regional: RegionalSection,
    #[serde(default)]
    pub regions: Vec<RegionSection>,
}

/// The broker's checked, typed settings (see the module's documentation).
#[derive(Debug, Clone)]
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
    pub events: EventsSettings,
    pub transparency: doorstroom_app::transparency::LinkSettings,
    pub webhooks: WebhooksSettings,
    pub safety_net: SafetyNetSettings,
    pub regional: doorstroom_app::regional::RegionalRules,
}

/// `[webhooks]` as written: how the deliverer posts feed entries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksSection {
    /// Development only: let endpoints on loopback and private addresses.
    pub allow_private_addresses: bool,
    /// The longest one attempt may take, connection and answer included.
    pub timeout_ms: u64,
    /// How long after the entry the broker keeps trying.
    pub retry_period_secs: u64,
    /// The wait before the first retry; it doubles per attempt.
    pub first_retry_ms: u64,
    /// The longest wait between attempts.
    pub max_backoff_secs: u64,
    /// How often the deliverer looks for due deliveries (0: off).
    pub poll_interval_ms: u64,
}

/// The deliverer's settings, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhooksSettings {
    pub allow_private_addresses: bool,
    pub timeout: Duration,
    pub retry_period: Duration,
    pub first_retry: Duration,
    pub max_backoff: Duration,
    /// `None`: this node does not deliver.
    pub poll_interval: Option<Duration>,
}

impl TryFrom<WebhooksSection> for WebhooksSettings {
    type Error = ConfigError;

    fn try_from(raw: WebhooksSection) -> Result<Self, ConfigError> {
        // A short timeout is the point: a hanging endpoint holds a task,
        // never the exchange; a minute is the most that is still short.
        if !(1..=60_000).contains(&raw.timeout_ms) {
            return Err(ConfigError::Invalid("webhooks.timeout_ms must be 1 to 60000".into()));
        }
        if raw.first_retry_ms == 0 || raw.max_backoff_secs == 0 || raw.retry_period_secs == 0 {
            return Err(ConfigError::Invalid(
                "webhooks.first_retry_ms, max_backoff_secs and retry_period_secs must be at least 1".into(),
            ));
        }
        Ok(Self {
            allow_private_addresses: raw.allow_private_addresses,
            timeout: Duration::from_millis(raw.timeout_ms),
            retry_period: Duration::from_secs(raw.retry_period_secs),
            first_retry: Duration::from_millis(raw.first_retry_ms),
            max_backoff: Duration::from_secs(raw.max_backoff_secs),
            poll_interval: (raw.poll_interval_ms > 0).then(|| Duration::from_millis(raw.poll_interval_ms)),
        })
    }
}

/// `[events]` as written: the event feed's long poll.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsSection {
    /// The longest a `GET /v1/events?wait=` holds a request open.
    pub max_wait_secs: u64,
    /// How often a waiting request looks for entries written by other
    /// broker nodes (this node's own wake it at once).
    pub poll_interval_ms: u64,
}

/// The event feed's long poll: a bounded wait (at most
/// [`MAX_EVENTS_WAIT_SECS`]) and a positive poll interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventsSettings {
    pub max_wait: Duration,
    pub poll_interval: Duration,
}

/// A long poll holds a connection and a worker's attention: two minutes is
/// far beyond what a school system needs (it asks again at once).
pub const MAX_EVENTS_WAIT_SECS: u64 = 120;

impl TryFrom<EventsSection> for EventsSettings {
    type Error = ConfigError;

    fn try_from(raw: EventsSection) -> Result<Self, ConfigError> {
        if raw.max_wait_secs > MAX_EVENTS_WAIT_SECS {
            return Err(ConfigError::Invalid(format!(
                "events.max_wait_secs must be at most {MAX_EVENTS_WAIT_SECS}"
            )));
        }
        if raw.poll_interval_ms == 0 {
            return Err(ConfigError::Invalid(
                "events.poll_interval_ms must be at least 1".into(),
            ));
        }
        Ok(Self {
            max_wait: Duration::from_secs(raw.max_wait_secs),
            poll_interval: Duration::from_millis(raw.poll_interval_ms),
        })
    }
}

/// `[safety_net]` as written: the vangnet's deadlines (`"MM-DD"`, in the
/// calendar year the cohort's mbo school year starts) and how long a
/// cohort is kept after its enrolment deadline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyNetSection {
    pub application_by: String,
    pub intake_by: String,
    pub place_by: String,
    pub enrolled_by: String,
    pub cohort_days_after_enrolled_by: u32,
    /// How often the broker assesses every cohort and tells schools who
    /// became at risk (at start, then every this many seconds; 0: never).
    #[serde(default = "daily")]
    pub assess_interval_secs: u64,
}

const fn daily() -> u64 {
    86_400
}

/// The safety net's checked settings: the deadlines in order through the
/// year, and a retention period of at least a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SafetyNetSettings {
    pub deadlines: doorstroom_domain::safety_net::Deadlines,
    pub cohort_retention: chrono::Duration,
    /// `None`: no assessment in this broker.
    pub assess_interval: Option<std::time::Duration>,
}

impl TryFrom<SafetyNetSection> for SafetyNetSettings {
    type Error = ConfigError;

    fn try_from(raw: SafetyNetSection) -> Result<Self, ConfigError> {
        use doorstroom_domain::safety_net::{DayOfYear, Deadlines};
        let day = |name: &str, value: &str| {
            DayOfYear::parse(value).map_err(|e| ConfigError::Invalid(format!("safety_net.{name}: {e}")))
        };
        let deadlines = Deadlines {
            application: day("application_by", &raw.application_by)?,
            intake: day("intake_by", &raw.intake_by)?,
            place: day("place_by", &raw.place_by)?,
            enrolled: day("enrolled_by", &raw.enrolled_by)?,
        };
        let order = [
            deadlines.application,
            deadlines.intake,
            deadlines.place,
            deadlines.enrolled,
        ];
        if order.windows(2).any(|w| w[0].in_year(2028) > w[1].in_year(2028)) {
            return Err(ConfigError::Invalid(
                "safety_net: the deadlines must follow each other through the year \
                 (application_by, intake_by, place_by, enrolled_by)"
                    .into(),
            ));
        }
        if raw.cohort_days_after_enrolled_by == 0 {
            return Err(ConfigError::Invalid(
                "safety_net.cohort_days_after_enrolled_by must be at least 1".into(),
            ));
        }
        Ok(Self {
            deadlines,
            cohort_retention: chrono::Duration::days(i64::from(raw.cohort_days_after_enrolled_by)),
            assess_interval: (raw.assess_interval_secs > 0)
                .then(|| std::time::Duration::from_secs(raw.assess_interval_secs)),
        })
    }
}

/// `[regional]` as written: the regional figures' suppression threshold.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionalSection {
    pub threshold: u64,
}

/// One `[[regions]]` as written: a region's name, its institutions by
/// BRIN, and the usernames of its coordinators' staff accounts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionSection {
    pub name: String,
    pub institutions: Vec<String>,
    #[serde(default)]
    pub coordinators: Vec<String>,
}

/// The regions, checked: names and BRINs well-formed, no region twice, no
/// institution in two regions, a coordinator in at most one region, a
/// threshold of at least 2 (1 would suppress nothing). Whether every BRIN
/// is registered is checked at start, against the registry.
pub fn checked_regions(
    regional: RegionalSection,
    raw: Vec<RegionSection>,
) -> Result<doorstroom_app::regional::RegionalRules, ConfigError> {
    use doorstroom_domain::regional::{RegionName, Regions};
    if regional.threshold < 2 {
        return Err(ConfigError::Invalid("regional.threshold must be at least 2".into()));
    }
    let pairs: Vec<(String, Vec<String>)> = raw.iter().map(|r| (r.name.clone(), r.institutions.clone())).collect();
    let regions = Regions::new(&pairs).map_err(|e| ConfigError::Invalid(format!("regions: {e}")))?;
    let mut coordinators = std::collections::BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for r in raw {
        let name = RegionName::parse(&r.name).map_err(|e| ConfigError::Invalid(format!("regions: {e}")))?;
        let mut users = Vec::new();
        for user in &r.coordinators {
            let username = doorstroom_domain::Username::parse(user)
                .map_err(|e| ConfigError::Invalid(format!("regions: region {name}: {e}")))?;
            if !seen.insert(username.as_str().to_owned()) {
                return Err(ConfigError::Invalid(format!(
                    "regions: coordinator {user} is listed in more than one region"
                )));
            }
            users.push(username);
        }
        coordinators.insert(name, users);
    }
    Ok(doorstroom_app::regional::RegionalRules {
        regions,
        coordinators,
        threshold: regional.threshold,
    })
}

/// `[transparency]` as written: links to the student's own page.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransparencySection {
    /// How long a new link is valid, in days.
    pub link_days: i64,
    /// Wrong codes after which a link locks.
    pub max_code_attempts: i64,
    /// Wrong codes from one client address (any link) within the login's
    /// failure window after which that address is refused for a while.
    pub max_codes_per_address: i64,
    /// A page session unused this many seconds has ended...
    pub session_idle_secs: i64,
    /// ...and ends at the latest this many seconds after the code was given.
    pub session_lifetime_secs: i64,
    /// Whether the page names the staff member of each access (the
    /// privacy officer's decision; default: institution and role only).
    pub show_staff_names: bool,
}

impl Default for TransparencySection {
    fn default() -> Self {
        Self {
            link_days: 30,
            max_code_attempts: 5,
            max_codes_per_address: 20,
            session_idle_secs: 900,
            session_lifetime_secs: 3600,
            show_staff_names: false,
        }
    }
}

impl TryFrom<TransparencySection> for doorstroom_app::transparency::LinkSettings {
    type Error = ConfigError;

    fn try_from(raw: TransparencySection) -> Result<Self, ConfigError> {
        let max_days = doorstroom_domain::transparency::MAX_LINK_VALIDITY.num_days();
        if !(1..=max_days).contains(&raw.link_days) {
            return Err(ConfigError::Invalid(format!(
                "transparency.link_days must be 1 to {max_days}"
            )));
        }
        // Ten guesses in a million: more would weaken the code for nothing.
        if !(1..=10).contains(&raw.max_code_attempts) {
            return Err(ConfigError::Invalid(
                "transparency.max_code_attempts must be 1 to 10".into(),
            ));
        }
        if raw.max_codes_per_address < 1 {
            return Err(ConfigError::Invalid(
                "transparency.max_codes_per_address must be at least 1".into(),
            ));
        }
        if raw.session_idle_secs < 1
            || raw.session_lifetime_secs < raw.session_idle_secs
            || raw.session_lifetime_secs > 86_400
        {
            return Err(ConfigError::Invalid(
                "transparency.session_idle_secs must be at least 1 and at most session_lifetime_secs, \
                 which is at most 86400"
                    .into(),
            ));
        }
        Ok(Self {
            validity: chrono::Duration::days(raw.link_days),
            max_code_attempts: raw.max_code_attempts,
            max_codes_per_address: raw.max_codes_per_address,
            // Set to the login's failure window once `[auth]` is read.
            address_window: chrono::Duration::minutes(15),
            session_idle: chrono::Duration::seconds(raw.session_idle_secs),
            session_lifetime: chrono::Duration::seconds(raw.session_lifetime_secs),
            show_staff_names: raw.show_staff_names,
        })
    }
}

/// `[console]` as written: the web console's sessions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSection {
    /// A session unused for this many seconds has ended.
    pub idle_timeout_secs: i64,
    /// A session ends this many seconds after login, used or not.
    pub absolute_lifetime_secs: i64,
}

/// The web console's sessions: both periods positive, the idle one no
/// longer than the whole, the whole at most [`MAX_CONSOLE_SESSION_SECS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleSettings {
    /// A session unused this long has ended.
    pub idle_timeout: chrono::Duration,
    /// A session ends this long after login, used or not.
    pub absolute_lifetime: chrono::Duration,
}

impl TryFrom<ConsoleSection> for ConsoleSettings {
    type Error = ConfigError;

    fn try_from(raw: ConsoleSection) -> Result<Self, ConfigError> {
        if raw.idle_timeout_secs < 1 || raw.absolute_lifetime_secs < raw.idle_timeout_secs {
            return Err(ConfigError::Invalid(
                "console.idle_timeout_secs must be at least 1 and at most console.absolute_lifetime_secs".into(),
            ));
        }
        // A console session holds a privacy officer's access to the audit
        // log: a working day is its purpose, a week is more than enough.
        if raw.absolute_lifetime_secs > MAX_CONSOLE_SESSION_SECS {
            return Err(ConfigError::Invalid(format!(
                "console.absolute_lifetime_secs must be at most {MAX_CONSOLE_SESSION_SECS} (7 days)"
            )));
        }
        Ok(Self {
            idle_timeout: chrono::Duration::seconds(raw.idle_timeout_secs),
            absolute_lifetime: chrono::Duration::seconds(raw.absolute_lifetime_secs),
        })
    }
}

doorstroom_api::retention_days! {
    /// `[retention]` as written. Storage limitation (GDPR art. 5(1)(e)): the
    /// retention periods, in days (the list the register states too), and
    /// how the purge runs.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RetentionSection {
        /// Seconds between scheduled purges inside `serve`; 0 switches the
        /// schedule off (then run `doorstroom purge` from cron).
        pub purge_interval_secs: u64,
        /// The most records one purge batch (one transaction) deletes.
        pub batch_size: u32,
        /// Pause between batches, in milliseconds, so that other writers get
        /// the database in between.
        pub batch_pause_ms: u64,
    }
}

impl RetentionSection {
    /// The periods as given.
    fn periods(&self) -> doorstroom_domain::RetentionPeriods {
        let days = |d: u32| chrono::Duration::days(i64::from(d));
        doorstroom_domain::RetentionPeriods {
            package_after_acknowledged: days(self.package_after_acknowledged_days),
            package_after_application_end: days(self.package_after_application_end_days),
            package_max: days(self.package_max_days),
            application_after_end: days(self.application_after_end_days),
            application_max: days(self.application_max_days),
            consent_after_application_gone: days(self.consent_after_application_gone_days),
            audit: days(self.audit_days),
            events: days(self.events_days),
            transparency_links: days(self.transparency_links_days),
        }
    }
}

/// How the purge runs (the purge's own type, filled from `[retention]`).
pub use doorstroom_app::purge::PurgeOptions;

/// Storage limitation: the checked retention policy and how the purge runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionSettings {
    /// The periods, checked by the domain (every period positive, packages
    /// at most 365 days).
    pub policy: RetentionPolicy,
    /// Time between scheduled purges inside `serve`; `None`: no schedule
    /// (then `doorstroom purge` runs from cron).
    pub purge_interval: Option<Duration>,
    pub purge: PurgeOptions,
    /// The section as written (and checked), for the register of
    /// processing activities, which states the periods in the operator's
    /// own units.
    pub configured: RetentionSection,
}

impl TryFrom<RetentionSection> for RetentionSettings {
    type Error = ConfigError;

    /// The message of a refused period names it as the domain knows it,
    /// e.g. `package_max`, which is `package_max_days` here.
    fn try_from(raw: RetentionSection) -> Result<Self, ConfigError> {
        let policy =
            RetentionPolicy::new(raw.periods()).map_err(|e| ConfigError::Invalid(format!("retention: {e}")))?;
        if raw.batch_size == 0 {
            return Err(ConfigError::Invalid("retention.batch_size must be at least 1".into()));
        }
        Ok(Self {
            policy,
            purge_interval: match raw.purge_interval_secs {
                0 => None,
                secs => Some(Duration::from_secs(secs)),
            },
            purge: PurgeOptions {
                batch_size: i64::from(raw.batch_size),
                pause: Duration::from_millis(raw.batch_pause_ms),
            },
            configured: raw,
        })
    }
}

/// `[audit]` as written: the audit log's signed checkpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    /// The checkpoint origin, which is also the signed-note key name: a
    /// schema-less URL naming this log, e.g. `doorstroom.example/audit`.
    pub origin: String,
    /// Seconds between scheduled checkpoints (signed only when the log grew).
    pub checkpoint_interval_secs: u64,
    /// More pulls than this by one actor within an hour raise an alert.
    pub anomaly_pulls_per_hour: i64,
}

/// The audit log's signed checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    /// The checkpoint origin, a valid signed-note key name.
    pub origin: String,
    /// Time between scheduled checkpoints (at least a second).
    pub checkpoint_interval: Duration,
    /// More pulls than this by one actor within an hour raise an alert.
    pub anomaly_pulls_per_hour: i64,
}

impl TryFrom<AuditSection> for AuditSettings {
    type Error = ConfigError;

    fn try_from(raw: AuditSection) -> Result<Self, ConfigError> {
        if !signed_note::is_key_name_valid(&raw.origin) {
            return Err(ConfigError::Invalid(
                "audit.origin must be non-empty, without spaces or '+'".into(),
            ));
        }
        if raw.checkpoint_interval_secs == 0 {
            return Err(ConfigError::Invalid(
                "audit.checkpoint_interval_secs must be at least 1".into(),
            ));
        }
        Ok(Self {
            origin: raw.origin,
            checkpoint_interval: Duration::from_secs(raw.checkpoint_interval_secs),
            anomaly_pulls_per_hour: raw.anomaly_pulls_per_hour,
        })
    }
}

/// Rules of the exchange that regions may set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeSettings {
    /// A package is refused until the student's (or parents') inspection
    /// of the dossier is recorded.
    pub require_inspection: bool,
}

/// The lawful basis of each section (GDPR art. 6 and 9). In [`Settings`],
/// each is one its section permits.
pub use doorstroom_domain::LawfulBases as LawfulBasisSettings;

/// `bases`, if each is one its section permits.
fn checked_bases(bases: LawfulBasisSettings) -> Result<LawfulBasisSettings, ConfigError> {
    match bases.first_not_permitted() {
        None => Ok(bases),
        Some((section, basis)) => Err(ConfigError::Invalid(format!(
            "lawful_basis.{section} cannot be {basis}; it may be one of: {}",
            section
                .permitted_bases()
                .iter()
                .map(|b| b.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
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

/// `[server]` as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
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

/// The listener and the limits on requests.
#[derive(Debug, Clone, Copy)]
pub struct ServerSettings {
    pub bind: SocketAddr,
    /// Worker threads; 0: actix-web's default (one per core).
    pub workers: usize,
    /// The largest request body accepted (at least 1024 bytes).
    pub body_limit_bytes: usize,
    /// How long a graceful shutdown waits for open requests.
    pub shutdown_timeout: Duration,
    /// The time limits on request bodies (see [`crate::extract`]), each at
    /// least a second.
    pub body_timeouts: BodyTimeouts,
}

impl ServerSettings {
    /// The time limits on request bodies (see [`crate::extract`]).
    pub fn body_timeouts(&self) -> BodyTimeouts {
        self.body_timeouts
    }
}

impl TryFrom<ServerSection> for ServerSettings {
    type Error = ConfigError;

    fn try_from(raw: ServerSection) -> Result<Self, ConfigError> {
        if raw.body_deadline_secs == 0 || raw.body_idle_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "server.body_deadline_secs and server.body_idle_timeout_secs must be at least 1".into(),
            ));
        }
        if raw.body_limit_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "server.body_limit_bytes must be at least 1024".into(),
            ));
        }
        Ok(Self {
            bind: raw.bind,
            workers: raw.workers,
            body_limit_bytes: raw.body_limit_bytes,
            shutdown_timeout: Duration::from_secs(raw.shutdown_timeout_secs),
            body_timeouts: BodyTimeouts {
                deadline: Duration::from_secs(raw.body_deadline_secs),
                idle: Duration::from_secs(raw.body_idle_timeout_secs),
            },
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: PathBuf,
}

/// `[database]` as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSection {
    pub url: String,
    pub max_connections: u32,
    /// The longest a request waits for a pooled connection, in
    /// milliseconds (then 503); while the database is known to be down, a
    /// request does not wait again (see `doorstroom_store::health`).
    pub checkout_timeout_ms: u64,
    /// `/readyz` answers 503 while the last write attempt failed less than
    /// this many seconds ago.
    pub write_failure_window_secs: u64,
    /// Group commit: writes in one batch transaction at most.
    pub batch_max_writes: usize,
    /// Group commit: bytes (as writes declare them) in one batch at most.
    pub batch_max_bytes: usize,
    /// Group commit: microseconds a batch waits for writes about to join.
    pub batch_max_wait_us: u64,
}

/// The longest `database.batch_max_wait_us` allowed: 2 ms, the most a
/// write may wait for others on top of its own work.
pub const MAX_BATCH_WAIT_US: u64 = 2_000;

/// The database and its connection pool.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: String,
    /// At least 1.
    pub max_connections: u32,
    /// The longest a request waits for a pooled connection (at least a
    /// millisecond), then 503.
    pub checkout_timeout: Duration,
    /// `/readyz` answers 503 while the last write attempt failed less than
    /// this long ago.
    pub write_failure_window: Duration,
    /// How writes share transactions (see `doorstroom_store::GroupCommit`).
    pub group_commit: GroupCommit,
}

impl DatabaseSettings {
    /// [`DatabaseSettings::write_failure_window`].
    pub fn write_failure_window(&self) -> Duration {
        self.write_failure_window
    }
}

impl TryFrom<DatabaseSection> for DatabaseSettings {
    type Error = ConfigError;

    fn try_from(raw: DatabaseSection) -> Result<Self, ConfigError> {
        if raw.checkout_timeout_ms == 0 {
            return Err(ConfigError::Invalid(
                "database.checkout_timeout_ms must be at least 1".into(),
            ));
        }
        if raw.max_connections == 0 {
            return Err(ConfigError::Invalid(
                "database.max_connections must be at least 1".into(),
            ));
        }
        if raw.batch_max_writes == 0 || raw.batch_max_bytes == 0 {
            return Err(ConfigError::Invalid(
                "database.batch_max_writes and database.batch_max_bytes must be at least 1".into(),
            ));
        }
        // Every write may wait this long on top of its own work.
        if raw.batch_max_wait_us > MAX_BATCH_WAIT_US {
            return Err(ConfigError::Invalid(format!(
                "database.batch_max_wait_us must be at most {MAX_BATCH_WAIT_US}"
            )));
        }
        Ok(Self {
            url: raw.url,
            max_connections: raw.max_connections,
            checkout_timeout: Duration::from_millis(raw.checkout_timeout_ms),
            write_failure_window: Duration::from_secs(raw.write_failure_window_secs),
            group_commit: GroupCommit {
                max_members: raw.batch_max_writes,
                max_bytes: raw.batch_max_bytes,
                max_wait: Duration::from_micros(raw.batch_max_wait_us),
            },
        })
    }
}

/// `[secrets]`: where the broker's keys live (see `doorstroom_app::secrets`).
pub use doorstroom_app::secrets::SecretSettings;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoseSettings {
    pub trust_anchors: PathBuf,
}

/// `[auth]` as written: staff authentication.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    pub access_token_ttl_secs: i64,
    pub login_failure_window_secs: i64,
    pub max_failures_per_account: i64,
    pub max_failures_per_address: i64,
    /// Logins whose password is checked at the same time (each argon2id
    /// check holds 19 MiB); 0 means one per CPU core. Beyond it a login is
    /// refused at once with 503 and `Retry-After`.
    pub max_concurrent_password_checks: usize,
}

/// Staff authentication: the access token's lifetime, between one second
/// and [`MAX_ACCESS_TOKEN_TTL_SECS`], and the failed-login limits.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub access_token_ttl: chrono::Duration,
    /// Failed logins older than this count for nothing.
    pub login_failure_window: chrono::Duration,
    pub max_failures_per_account: i64,
    pub max_failures_per_address: i64,
    /// See [`AuthSection::max_concurrent_password_checks`].
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

    /// The limits the login check applies.
    pub fn login_limits(&self) -> doorstroom_app::login::LoginLimits {
        doorstroom_app::login::LoginLimits {
            window: self.login_failure_window,
            max_failures_per_account: self.max_failures_per_account,
            max_failures_per_address: self.max_failures_per_address,
        }
    }
}

impl TryFrom<AuthSection> for AuthSettings {
    type Error = ConfigError;

    /// Refuses an access token lifetime the broker does not allow.
    fn try_from(raw: AuthSection) -> Result<Self, ConfigError> {
        if !(1..=MAX_ACCESS_TOKEN_TTL_SECS).contains(&raw.access_token_ttl_secs) {
            return Err(ConfigError::Invalid(format!(
                "auth.access_token_ttl_secs must be between 1 and {MAX_ACCESS_TOKEN_TTL_SECS}"
            )));
        }
        Ok(Self {
            access_token_ttl: chrono::Duration::seconds(raw.access_token_ttl_secs),
            login_failure_window: chrono::Duration::seconds(raw.login_failure_window_secs),
            max_failures_per_account: raw.max_failures_per_account,
            max_failures_per_address: raw.max_failures_per_address,
            max_concurrent_password_checks: raw.max_concurrent_password_checks,
        })
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

impl SettingsFile {
    /// Defaults, then `file` if given, then the environment; not checked.
    pub fn load(file: Option<&Path>) -> Result<SettingsFile, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(Env::prefixed("DOORSTROOM__").split("__"));
        Ok(figment.extract().map_err(Box::new)?)
    }
}

impl Settings {
    /// Defaults, then `file` if given, then the environment, parsed.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        Settings::try_from(SettingsFile::load(file)?)
    }

    /// What the register of processing activities states of these settings
    /// (`doorstroom_app::register::processing_register` makes it).
    pub fn register_facts(&self) -> doorstroom_app::register::Configured {
        let retention = &self.retention.configured;
        doorstroom_app::register::Configured {
            controller: self.register.controller.clone(),
            contact: self.register.contact.clone(),
            privacy_officer_contact: self.register.privacy_officer_contact.clone(),
            retention: self.register.retention.clone(),
            lawful_basis: Section::ALL.iter().map(|s| (*s, self.lawful_basis.of(*s))).collect(),
            retention_periods: doorstroom_api::retention_days!(retention => RetentionRegister {
                purge_interval_secs: retention.purge_interval_secs,
                cohort_days_after_enrolled_by: u32::try_from(self.safety_net.cohort_retention.num_days()).unwrap_or(u32::MAX),
                accountability: doorstroom_app::register::ACCOUNTABILITY.into(),
            }),
            inspection_required_before_transfer: self.exchange.require_inspection,
        }
    }
}

impl TryFrom<SettingsFile> for Settings {
    type Error = ConfigError;

    /// Parses every section; the first broken setting found is the one
    /// named.
    fn try_from(raw: SettingsFile) -> Result<Self, ConfigError> {
        let auth = AuthSettings::try_from(raw.auth)?;
        let server = ServerSettings::try_from(raw.server)?;
        let lawful_basis = checked_bases(raw.lawful_basis)?;
        let audit = AuditSettings::try_from(raw.audit)?;
        let console = ConsoleSettings::try_from(raw.console)?;
        let retention = RetentionSettings::try_from(raw.retention)?;
        let events = EventsSettings::try_from(raw.events)?;
        let mut transparency = doorstroom_app::transparency::LinkSettings::try_from(raw.transparency)?;
        transparency.address_window = auth.login_failure_window;
        let webhooks = WebhooksSettings::try_from(raw.webhooks)?;
        let safety_net = SafetyNetSettings::try_from(raw.safety_net)?;
        let mut retention = retention;
        retention.policy = retention
            .policy
            .with_cohorts(doorstroom_domain::safety_net::CohortRetention {
                enrolled_by: safety_net.deadlines.enrolled,
                after: safety_net.cohort_retention,
            });
        let database = DatabaseSettings::try_from(raw.database)?;
        let regional = checked_regions(raw.regional, raw.regions)?;
        Ok(Self {
            server,
            tls: raw.tls,
            database,
            secrets: raw.secrets,
            jose: raw.jose,
            auth,
            exchange: raw.exchange,
            lawful_basis,
            register: raw.register,
            audit,
            log: raw.log,
            console,
            retention,
            events,
            webhooks,
            safety_net,
            transparency,
            regional,
        })
    }
}

/// How long a request body may take (`server.body_deadline_secs` and
/// `server.body_idle_timeout_secs`).
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeouts {
    /// From the request head to the body's last byte.
    pub deadline: Duration,
    /// The longest wait for the next part of the body.
    pub idle: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> SettingsFile {
        SettingsFile::load(None).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The message `Settings::try_from` refuses `raw` with ("" if it
    /// accepts it).
    fn refusal(raw: SettingsFile) -> String {
        Settings::try_from(raw).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn retention_periods_are_checked_at_load() {
        let settings = Settings::try_from(defaults()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            settings.retention.policy,
            doorstroom_domain::RetentionPolicy::default(),
            "config and domain agree"
        );
        assert_eq!(settings.retention.purge_interval, Some(Duration::from_secs(3600)));

        let mut too_long = defaults();
        too_long.retention.package_max_days = 366;
        let err = refusal(too_long);
        assert!(err.contains("package_max must be at most 365 days"), "{err}");

        let mut zero = defaults();
        zero.retention.consent_after_application_gone_days = 0;
        let err = refusal(zero);
        assert!(err.contains("consent_after_application_gone"), "{err}");

        let mut no_batch = defaults();
        no_batch.retention.batch_size = 0;
        let err = refusal(no_batch);
        assert!(err.contains("batch_size"), "{err}");

        let mut no_schedule = defaults();
        no_schedule.retention.purge_interval_secs = 0;
        let settings = Settings::try_from(no_schedule).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(settings.retention.purge_interval, None);
    }

    #[test]
    fn body_and_checkout_timeouts_are_checked_at_load() {
        let settings = Settings::try_from(defaults()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(settings.server.body_timeouts().deadline, Duration::from_secs(30));
        assert_eq!(settings.database.checkout_timeout, Duration::from_secs(2));
        for broken in [
            |s: &mut SettingsFile| s.server.body_deadline_secs = 0,
            |s: &mut SettingsFile| s.server.body_idle_timeout_secs = 0,
            |s: &mut SettingsFile| s.database.checkout_timeout_ms = 0,
        ] {
            let mut raw = defaults();
            broken(&mut raw);
            let err = refusal(raw);
            assert!(err.contains("must be at least 1"), "{err}");
        }
    }

    #[test]
    fn console_session_periods_are_checked_at_load() {
        let mut week = defaults();
        week.console.absolute_lifetime_secs = MAX_CONSOLE_SESSION_SECS;
        let settings = Settings::try_from(week).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(settings.console.absolute_lifetime, chrono::Duration::days(7));
        let mut too_long = defaults();
        too_long.console.absolute_lifetime_secs = MAX_CONSOLE_SESSION_SECS + 1;
        let err = refusal(too_long);
        assert!(err.contains("absolute_lifetime_secs must be at most"), "{err}");
        let mut idle_longer = defaults();
        idle_longer.console.idle_timeout_secs = idle_longer.console.absolute_lifetime_secs + 1;
        let err = refusal(idle_longer);
        assert!(err.contains("idle_timeout_secs"), "{err}");
    }

    #[test]
    fn auth_periods_are_typed_at_load() {
        let mut raw = defaults();
        raw.auth.access_token_ttl_secs = 600;
        raw.auth.login_failure_window_secs = 120;
        let auth = Settings::try_from(raw).unwrap_or_else(|e| panic!("{e}")).auth;
        assert_eq!(auth.access_token_ttl, chrono::Duration::minutes(10));
        assert_eq!(auth.login_limits().window, chrono::Duration::minutes(2));
        assert_eq!(
            auth.login_limits().max_failures_per_account,
            auth.max_failures_per_account
        );
    }

    #[test]
    fn the_other_settings_keep_their_messages() {
        /// A way to break the defaults, and what the refusal says.
        type Case = (fn(&mut SettingsFile), &'static str);
        let cases: [Case; 8] = [
            (
                |s| s.auth.access_token_ttl_secs = 0,
                "auth.access_token_ttl_secs must be between 1 and 900",
            ),
            (
                |s| s.server.body_limit_bytes = 1023,
                "server.body_limit_bytes must be at least 1024",
            ),
            (|s| s.audit.origin = "a b".into(), "audit.origin must be non-empty"),
            (
                |s| s.audit.checkpoint_interval_secs = 0,
                "audit.checkpoint_interval_secs must be at least 1",
            ),
            (
                |s| s.database.max_connections = 0,
                "database.max_connections must be at least 1",
            ),
            (
                |s| s.database.batch_max_writes = 0,
                "database.batch_max_writes and database.batch_max_bytes must be at least 1",
            ),
            (
                |s| s.database.batch_max_wait_us = 2_001,
                "database.batch_max_wait_us must be at most 2000",
            ),
            (
                |s| s.lawful_basis.support_needs = doorstroom_domain::LawfulBasis::Consent,
                "lawful_basis.support_needs cannot be",
            ),
        ];
        for (broken, message) in cases {
            let mut raw = defaults();
            broken(&mut raw);
            let err = refusal(raw);
            assert!(err.contains(message), "{err}");
        }
    }

    #[test]
    fn regions_are_checked_at_load() {
        let settings = Settings::try_from(defaults()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(settings.regional.threshold, 5, "the default threshold");
        assert_eq!(settings.regional.regions.iter().count(), 0, "no region by default");
        let region = |name: &str, brins: &[&str], users: &[&str]| RegionSection {
            name: name.into(),
            institutions: brins.iter().map(|b| (*b).to_owned()).collect(),
            coordinators: users.iter().map(|u| (*u).to_owned()).collect(),
        };
        let mut ok = defaults();
        ok.regions = vec![region("twente", &["07AB", "25LX"], &["rmc-twente"])];
        let settings = Settings::try_from(ok).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(settings.regional.regions.iter().count(), 1);
        let cases: [(Vec<RegionSection>, u64, &str); 5] = [
            (
                vec![region("twente", &["07AB"], &[])],
                1,
                "regional.threshold must be at least 2",
            ),
            (
                vec![
                    region("twente", &["07AB"], &["rmc"]),
                    region("achterhoek", &["25LX"], &["rmc"]),
                ],
                5,
                "coordinator rmc is listed in more than one region",
            ),
            (
                vec![region("twente", &["07AB"], &[]), region("achterhoek", &["07AB"], &[])],
                5,
                "institution 07AB is listed twice",
            ),
            (vec![region("Twente!", &["07AB"], &[])], 5, "region Twente!"),
            (vec![region("twente", &["07AB"], &["x"])], 5, "region twente: username"),
        ];
        for (regions, threshold, expected) in cases {
            let mut raw = defaults();
            raw.regions = regions;
            raw.regional.threshold = threshold;
            let err = refusal(raw);
            assert!(err.contains(expected), "{expected}: {err}");
        }
    }
}
