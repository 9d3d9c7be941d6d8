//! The schedule of signed checkpoints: every `[audit]
//! checkpoint_interval_secs`, the broker signs a checkpoint of its audit
//! log if the log grew since the latest one
//! ([`doorstroom_app::checkpoints::sign_scheduled_checkpoint`]).

use std::time::Duration;

use actix_web::web;
use doorstroom_app::checkpoints::sign_scheduled_checkpoint;

use crate::state::AppState;

pub use crate::schedule::Scheduler;

/// Starts signing checkpoints every `interval` (the first one interval from
/// now); stops when the returned [`Scheduler`] is dropped.
pub fn spawn_scheduler(state: web::Data<AppState>, interval: Duration) -> Scheduler {
    let sign = move || sign_scheduled_checkpoint(&state.app, &state.checkpoints);
    crate::schedule::every(interval, sign, |outcome| match outcome {
        Ok(Ok(Some(cp))) => tracing::info!(size = cp.size, "signed an audit checkpoint"),
        Ok(Ok(None)) => {}
        Ok(Err(err)) => tracing::error!(error = %err, "scheduled audit checkpoint failed"),
        Err(err) => tracing::error!(error = %err, "scheduled audit checkpoint was cancelled"),
    })
}
