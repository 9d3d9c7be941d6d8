//! The schedule of signed checkpoints: every `[audit]
//! checkpoint_interval_secs`, the broker signs a checkpoint of its audit
//! log if the log grew since the latest one
//! ([`doorstroom_app::checkpoints::sign_scheduled_checkpoint`]).

use std::time::Duration;

use actix_web::web;
use doorstroom_app::checkpoints::sign_scheduled_checkpoint;

use crate::state::AppState;

/// Aborts the scheduler when the server that owns it goes.
pub struct Scheduler(tokio::task::JoinHandle<()>);

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts signing checkpoints every `interval` (the first one interval from
/// now); stops when the returned [`Scheduler`] is dropped.
pub fn spawn_scheduler(state: web::Data<AppState>, interval: Duration) -> Scheduler {
    Scheduler(tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let state = state.clone();
            match tokio::task::spawn_blocking(move || sign_scheduled_checkpoint(&state.app, &state.checkpoints)).await {
                Ok(Ok(Some(cp))) => tracing::info!(size = cp.size, "signed an audit checkpoint"),
                Ok(Ok(None)) => {}
                Ok(Err(err)) => tracing::error!(error = %err, "scheduled audit checkpoint failed"),
                Err(err) => tracing::error!(error = %err, "scheduled audit checkpoint was cancelled"),
            }
        }
    }))
}
