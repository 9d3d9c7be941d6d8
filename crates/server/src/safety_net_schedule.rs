//! The safety net's daily assessment inside the broker: at start and then
//! every day it runs the use case
//! ([`doorstroom_app::safety_net::assess_cohorts`]) as the operator's side
//! of the broker, off the async executor, and logs the counts (never who).
//!
//! Daily, not on every status report: a student becomes at risk mostly
//! because a day passes (a deadline) rather than because something is
//! reported, so the day is the rule; a status report's effect (an ended
//! application, a no-show) reaches the school's feed at the next run, at
//! most a day later. Every node runs it; the use case re-reads each
//! member's recorded risk under the writers' lock, so a school is told once.

use std::time::Duration;

use doorstroom_app::Caller;
use doorstroom_app::safety_net::assess_cohorts;
use doorstroom_domain::Principal;

use crate::schedule::Scheduler;

/// Runs the assessment now and then every `interval`; stops when the
/// returned [`Scheduler`] is dropped.
pub fn spawn_scheduler(state: actix_web::web::Data<crate::state::AppState>, interval: Duration) -> Scheduler {
    crate::schedule::spawn(async move {
        // The first tick is at once: the start's run.
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let st = state.clone();
            let run =
                tokio::task::spawn_blocking(move || assess_cohorts(&st.app, Caller::new(&Principal::Operator, None)));
            match run.await {
                Ok(Ok(done)) => tracing::info!(
                    cohorts = done.cohorts,
                    changed = done.changed,
                    notified = done.notified,
                    "safety net assessed"
                ),
                Ok(Err(err)) => tracing::error!(error = %err, "safety net assessment failed"),
                Err(err) => tracing::error!(error = %err, "safety net assessment task failed"),
            }
        }
    })
}
