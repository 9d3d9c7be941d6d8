//! `doorstroom purge [--dry-run]`: the retention purge run by the operator
//! on the broker's host, against the configured database (for cron, or to
//! see what is due). The same purge the broker runs on its schedule
//! ([`doorstroom_server::purge`]): bounded batches, one transaction each
//! with an audit event per deleted record; killing it half-way is safe and
//! the next run carries on. Prints the counts per kind and reason (never a
//! pseudonym) as JSON.

use doorstroom_domain::Principal;
use doorstroom_server::Settings;
use doorstroom_server::clock::SystemClock;
use doorstroom_server::purge::{self, PurgeSummary};

/// Runs the purge (or, with `dry_run`, counts what is due) as the operator.
pub fn run(settings: &Settings, dry_run: bool) -> anyhow::Result<PurgeSummary> {
    let policy = settings.retention.policy;
    let store = crate::commands::common::open_store(settings)?;
    let run_id = purge::new_run_id();
    let clock = SystemClock;
    if dry_run {
        purge::dry_run(
            &store,
            &policy,
            doorstroom_domain::Clock::now(&clock),
            &Principal::Operator,
            &run_id,
        )
    } else {
        purge::run(
            &store,
            &policy,
            &clock,
            &Principal::Operator,
            settings.retention.purge,
            &run_id,
        )
    }
    .map_err(anyhow::Error::from)
}
