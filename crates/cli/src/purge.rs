//! `doorstroom purge [--dry-run]`: the retention purge run by the operator
//! on the broker's host, against the configured database (for cron, or to
//! see what is due). The same use case the broker runs on its schedule
//! ([`doorstroom_app::purge`]): bounded batches, one transaction each
//! with an audit event per deleted record; killing it half-way is safe and
//! the next run carries on. Prints the counts per kind and reason (never a
//! pseudonym) as JSON.

use doorstroom_app::purge::{PurgeSummary, new_run_id, purge_dry_run, purge_expired};
use doorstroom_domain::{Clock, Principal};
use doorstroom_server::Settings;
use doorstroom_server::clock::SystemClock;

/// Runs the purge (or, with `dry_run`, counts what is due) as the operator.
pub fn run(settings: &Settings, dry_run: bool) -> anyhow::Result<PurgeSummary> {
    let policy = settings.retention.policy;
    let store = crate::commands::common::open_store(settings)?;
    let run_id = new_run_id();
    let clock = SystemClock;
    let operator = Principal::Operator;
    let summary = if dry_run {
        purge_dry_run(&store, &policy, clock.now(), &operator, &run_id)
    } else {
        purge_expired(&store, &policy, &clock, &operator, settings.retention.purge, &run_id)
    };
    Ok(summary?)
}
