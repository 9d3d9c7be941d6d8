//! The schedule of signed checkpoints: every `[audit]
//! checkpoint_interval_secs`, the broker signs a checkpoint of its audit
//! log if the log grew since the latest one (see [`crate::checkpoints`]).
//!
//! Apart from [`crate::checkpoints`] because it runs on the application
//! state, which in turn holds the [`crate::checkpoints::CheckpointSigner`]:
//! each depends one way.

use std::time::Duration;

use actix_web::web;
use diesel::Connection;
use doorstroom_domain::{AuditEvent, Outcome, Principal, Purpose, ResourceRef};
use doorstroom_store::audit;
use doorstroom_store::merkle::{self, Checkpoint};

use crate::checkpoints::{CheckpointError, RESOURCE_KIND, sign_checkpoint};
use crate::state::AppState;

/// On the schedule: signs a checkpoint if the log grew since the latest
/// one. A refusal is written to the audit log (actor: the operator side of
/// the broker, request id [`SCHEDULER_REQUEST_ID`]) and answered as an error.
pub fn scheduled(state: &AppState) -> Result<Option<Checkpoint>, CheckpointError> {
    let now = state.clock.now();
    state.store.write(|conn| {
        let size = merkle::tree_size(conn)?;
        let due = match merkle::latest_checkpoint(conn)? {
            None => size > 0,
            // A log smaller than its checkpoint is tried too: to be refused.
            Some(latest) => latest.size != size,
        };
        if !due {
            return Ok(Ok(None));
        }
        match conn.transaction(|conn| sign_checkpoint(conn, now, &state.checkpoints)) {
            Ok(checkpoint) => Ok(Ok(Some(checkpoint))),
            Err(err) if err.is_refusal() => {
                let event = AuditEvent::success(
                    now,
                    &Principal::Operator,
                    doorstroom_domain::SideEvent::SignCheckpoint.into(),
                    ResourceRef::new(RESOURCE_KIND, Some(size.to_string())),
                    Purpose::Operations,
                )
                .with_request_id(Some(SCHEDULER_REQUEST_ID.into()))
                .with_outcome(Outcome::Rejected, "inconsistent");
                audit::append(conn, &event)?;
                Ok(Err(err))
            }
            Err(err) => Err(err),
        }
    })?
}

/// The request id of the scheduler's audit events.
pub const SCHEDULER_REQUEST_ID: &str = "checkpoint-scheduler";

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
            match tokio::task::spawn_blocking(move || scheduled(&state)).await {
                Ok(Ok(Some(cp))) => tracing::info!(size = cp.size, "signed an audit checkpoint"),
                Ok(Ok(None)) => {}
                Ok(Err(err)) => tracing::error!(error = %err, "scheduled audit checkpoint failed"),
                Err(err) => tracing::error!(error = %err, "scheduled audit checkpoint was cancelled"),
            }
        }
    }))
}
