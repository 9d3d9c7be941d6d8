//! The broker's own jobs on a timer (signed checkpoints, the retention
//! purge): a blocking use case run off the async executor at a fixed
//! interval, stopped with the server.

use std::time::Duration;

/// Aborts the scheduled job when the server that owns it goes.
pub struct Scheduler(tokio::task::JoinHandle<()>);

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `job` on the blocking pool every `interval` (the first time one
/// interval from now; a late run delays the next rather than bunching up)
/// and hands each outcome to `report`, which logs it (`Err`: the run was
/// cancelled or panicked). Stops when the returned [`Scheduler`] is dropped.
pub fn every<T, J, R>(interval: Duration, job: J, report: R) -> Scheduler
where
    T: Send + 'static,
    J: Fn() -> T + Clone + Send + 'static,
    R: Fn(Result<T, tokio::task::JoinError>) + Send + 'static,
{
    Scheduler(tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let outcome = tokio::task::spawn_blocking(job.clone()).await;
            report(outcome);
        }
    }))
}

/// Runs `job` as the server's own background task, stopped with the
/// server (the webhook deliverer).
pub fn spawn(job: impl std::future::Future<Output = ()> + Send + 'static) -> Scheduler {
    Scheduler(tokio::spawn(job))
}
