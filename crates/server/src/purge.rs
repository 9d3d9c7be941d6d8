//! The retention purge inside the broker: every `[retention]
//! purge_interval_secs` it runs the use case
//! ([`doorstroom_app::purge::purge_expired`]) as the operator's side of the
//! broker, off the async executor, and logs the counts.

use std::time::Duration;

use doorstroom_app::purge::{PurgeOptions, PurgeSummary, new_run_id, purge_expired};
use doorstroom_domain::{Principal, RetentionPolicy};

/// The request id prefix of scheduled runs is the run id itself; this is
/// what the scheduler logs.
fn log_summary(summary: &PurgeSummary) {
    tracing::info!(
        run_id = %summary.run_id,
        batches = summary.batches,
        deleted = summary.total(),
        busy = summary.busy,
        "retention purge finished"
    );
}

pub use crate::schedule::Scheduler;

/// Runs the purge every `interval` (the first one interval from now) as the
/// broker's retention job; stops when the returned [`Scheduler`] is dropped.
pub fn spawn_scheduler(
    state: actix_web::web::Data<crate::state::AppState>,
    policy: RetentionPolicy,
    options: PurgeOptions,
    interval: Duration,
) -> Scheduler {
    let purge = move || {
        let run_id = new_run_id();
        purge_expired(
            &state.store,
            &policy,
            state.clock.as_ref(),
            &Principal::Operator,
            options,
            &run_id,
        )
    };
    crate::schedule::every(interval, purge, |outcome| match outcome {
        Ok(Ok(summary)) => log_summary(&summary),
        Ok(Err(err)) => tracing::error!(error = %err, "retention purge failed"),
        Err(err) => tracing::error!(error = %err, "retention purge task failed"),
    })
}
