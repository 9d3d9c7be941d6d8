//! Every table's rows have a stated end (GDPR art. 5(1)(e), storage
//! limitation): a retention period the purge applies, the end of the row
//! they belong to, an expiry of their own, or, for what holds no personal
//! data or must stay, the reason why. The list below is checked against
//! the tables the migrations make on both backends, so a new table cannot
//! arrive without its line (and a dropped one leaves no stale line).
//!
//! The periods themselves are configuration settings (`[retention]`, and
//! `[safety_net]` for the cohort; the art. 30 register prints them); a line
//! naming one is checked to name a setting that exists.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};
use doorstroom_store::testing::{TestBackend, TestDb};
use doorstroom_store::{StoreError, backend_tests};

/// How a table's rows end.
enum End {
    /// Deleted by the purge when the period of these settings
    /// (`section.key` of the configuration) has passed, each deletion
    /// audited.
    Purged(&'static str),
    /// Deleted with the row they belong to (in the same deletion, or by
    /// `ON DELETE CASCADE`).
    With(&'static str),
    /// Deleted by their own code, at a time of their own.
    Expires(&'static str),
    /// Personal data its institution keeps current and removes itself.
    UntilRemoved(&'static str),
    /// No personal data: kept while the broker runs, for this reason.
    NoPersonalData(&'static str),
}

use End::*;

const TABLES: &[(&str, End)] = &[
    // The dossier and its ledger.
    (
        "applications",
        Purged("retention.application_after_end_days, retention.application_max_days"),
    ),
    ("application_status_events", With("applications")),
    (
        "packages",
        Purged(
            "retention.package_after_acknowledged_days, retention.package_after_application_end_days, retention.package_max_days",
        ),
    ),
    ("package_sections", With("packages")),
    ("package_expiry_notices", With("packages")),
    (
        "consent_events",
        Purged("retention.consent_after_application_gone_days"),
    ),
    ("inspections", Purged("retention.consent_after_application_gone_days")),
    (
        "applications_gone",
        Expires(
            "the ledger's bookkeeping mark: forgotten once consent_after_application_gone_days has passed and no ledger record needs it",
        ),
    ),
    (
        "deletion_permits",
        Expires("exists only inside the purge's own transaction"),
    ),
    // The safety net and the student's page.
    ("cohort_members", Purged("safety_net.cohort_days_after_enrolled_by")),
    ("transparency_links", Purged("retention.transparency_links_days")),
    ("transparency_sessions", With("transparency_links")),
    // The event feed and its webhooks.
    ("institution_events", Purged("retention.events_days")),
    ("webhook_deliveries", With("institution_events")),
    (
        "institution_event_heads",
        NoPersonalData("one counter per institution: the feed's last number"),
    ),
    (
        "webhook_endpoints",
        NoPersonalData("an institution's webhook URL and the CA it trusts; removed by that institution"),
    ),
    // The audit log.
    ("audit_events", Purged("retention.audit_days")),
    ("audit_event_relations", With("audit_events")),
    (
        "audit_pending",
        Expires("PostgreSQL: an event waits here from its write's commit until the numbering round just after it"),
    ),
    (
        "audit_hashes",
        NoPersonalData("the Merkle tree's hashes, kept so that the pruned log stays verifiable"),
    ),
    (
        "audit_checkpoints",
        NoPersonalData("signed tree heads: a size and a hash"),
    ),
    ("audit_prunes", NoPersonalData("where each prune cut the log, and when")),
    (
        "audit_prune_permits",
        Expires("exists only inside the prune's own transaction"),
    ),
    // The registry and who may log in.
    ("institutions", NoPersonalData("the registry of schools and mbo's")),
    (
        "institution_keys",
        NoPersonalData("public keys; old ones stay to check old signatures"),
    ),
    (
        "client_certificates",
        NoPersonalData("fingerprints of the institutions' system certificates; revoked ones stay for the audit trail"),
    ),
    (
        "institution_contacts",
        UntilRemoved(
            "the institution's handover contact (a named colleague's work address), set, replaced and removed by its admin",
        ),
    ),
    (
        "login_failures",
        Expires("pruned at each login once older than the rate limit's window"),
    ),
    (
        "console_sessions",
        Expires("ended at logout and when idle or too old; expired ones pruned at each login"),
    ),
    // Deactivated accounts, once no audit event that may name them is kept.
    ("staff_accounts", Purged("retention.audit_days")),
    (
        "readiness_probe",
        NoPersonalData("one row: when the readiness probe last wrote"),
    ),
];

#[derive(QueryableByName)]
struct Table {
    #[diesel(sql_type = Text)]
    name: String,
}

/// The tables the migrations made, on `db`'s backend.
fn tables_in(db: &TestDb) -> BTreeSet<String> {
    let sql = match db.backend {
        TestBackend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        TestBackend::Postgres => {
            "SELECT table_name AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        }
    };
    let store = db.store();
    let rows: Vec<Table> = store
        .read(|conn| diesel::sql_query(sql).load(conn).map_err(StoreError::Database))
        .unwrap();
    rows.into_iter()
        .map(|t| t.name)
        .filter(|name| name != "__diesel_schema_migrations")
        .collect()
}

/// Tables that only PostgreSQL's migrations make (SQLite numbers audit
/// events in the write's own transaction).
const POSTGRES_ONLY: &[&str] = &["audit_pending"];

fn every_table_has_a_stated_end(db: &TestDb) {
    let mut listed: BTreeSet<String> = TABLES.iter().map(|(name, _)| (*name).to_owned()).collect();
    assert_eq!(listed.len(), TABLES.len(), "a table listed twice");
    if db.backend == TestBackend::Sqlite {
        listed.retain(|name| !POSTGRES_ONLY.contains(&name.as_str()));
    }
    let made = tables_in(db);
    let unlisted: Vec<_> = made.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "tables without a stated end (add a line to TABLES): {unlisted:?}"
    );
    let stale: Vec<_> = listed.difference(&made).collect();
    assert!(
        stale.is_empty(),
        "lines for tables the migrations do not make: {stale:?}"
    );
}

/// A `Purged` line names settings (`section.key`) of the default
/// configuration; a `With` line names a listed table.
#[test]
fn every_stated_end_names_a_real_setting_or_table() {
    let config: toml::Table = include_str!("../../../config/default.toml")
        .parse()
        .expect("config/default.toml");
    let setting = |name: &str| {
        let (section, key) = name.split_once('.').expect("section.key");
        config.get(section).and_then(|s| s.get(key)).is_some()
    };
    for (table, end) in TABLES {
        match end {
            Purged(named) => {
                for name in named.split(", ") {
                    assert!(setting(name), "{table}: no setting {name} in config/default.toml");
                }
            }
            With(owner) => assert!(
                TABLES.iter().any(|(name, _)| name == owner),
                "{table}: goes with {owner}, which is not listed"
            ),
            Expires(why) | UntilRemoved(why) | NoPersonalData(why) => {
                assert!(!why.is_empty(), "{table}: a reason");
            }
        }
    }
}

backend_tests!(every_table_has_a_stated_end);
