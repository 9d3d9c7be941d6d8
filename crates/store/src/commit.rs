//! Group commit: the writes of one process share transactions (SQLite;
//! on PostgreSQL each write has its own, see the crate documentation).
//!
//! A write runs its closure on its own thread, in a savepoint of the one
//! open *batch* transaction (opened by whoever finds none), and joins that
//! batch. The first to join leads: it waits until nobody else is about to
//! join (or the batch is full, or [`GroupCommit::max_wait`] has passed),
//! then commits the batch — one `COMMIT`, one fsync — and tells every
//! member how it ended. Only then is
//! any member answered, so a request is still answered only after its
//! data and its audit event are durable.
//!
//! What each write could rely on before still holds:
//! * **Isolation of failure.** A closure that returns `Err` (or panics) is
//!   rolled back to its savepoint and answered at once; the batch goes on
//!   without it. If the batch itself fails (its `COMMIT`, or a savepoint
//!   that cannot be rolled back), nothing of it commits and every member
//!   gets [`StoreError::Unavailable`] (503): none of them was acknowledged.
//! * **Serial order.** Members run one after the other on the one batch
//!   connection and each sees everything the earlier ones wrote: the audit
//!   sequence stays gapless and in commit order, and an idempotency,
//!   replay or consent check sees the writes queued before it (a
//!   withdrawal that ran first is seen by the pull that runs after it).
//! * **Durability before the answer**, on both backends: no
//!   `synchronous=NORMAL`, no asynchronous commit.
//!
//! Writers queue on a mutex for the batch connection. It is not FIFO, so a
//! writer may be overtaken by one that came later; the batch bound keeps
//! that to one batch's worth (and the measured p99 says how much it costs).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use diesel::connection::{
    AnsiTransactionManager, InTransactionStatus, TransactionManager, TransactionManagerStatus,
    ValidTransactionManagerStatus,
};
use diesel::r2d2::PooledConnection;

use crate::{DbConn, Manager, StoreError};

/// How large a batch may grow before it is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommit {
    /// Writes in one batch at most.
    pub max_members: usize,
    /// Bytes (as the writers declare them, [`crate::Store::write_sized`])
    /// in one batch at most: a batch of large packages commits early
    /// rather than holding many megabytes in one transaction.
    pub max_bytes: usize,
    /// How long the leader waits for writers that are about to join; it
    /// commits at once when none is. Keep it small: every member waits
    /// this long at most on top of its own work.
    pub max_wait: Duration,
}

impl Default for GroupCommit {
    fn default() -> Self {
        GroupCommit {
            max_members: 256,
            max_bytes: 8 * 1024 * 1024,
            max_wait: Duration::from_millis(2),
        }
    }
}

/// Why a batch did not commit; every member gets it.
#[derive(Debug, Clone)]
struct BatchFailed(String);

impl From<BatchFailed> for StoreError {
    fn from(failed: BatchFailed) -> Self {
        StoreError::Unavailable(format!("the write's transaction did not commit: {}", failed.0))
    }
}

#[derive(Default)]
struct BatchState {
    members: usize,
    bytes: usize,
    outcome: Option<Result<(), BatchFailed>>,
}

/// One batch transaction, as its members see it.
pub(crate) struct Batch {
    state: Mutex<BatchState>,
    /// The leader waits on this for members to join. (Two condition
    /// variables, so that a join wakes the leader alone: waking every
    /// member on every join cost more than the commit.)
    joined: Condvar,
    /// The members wait on this for the outcome.
    ended: Condvar,
    opened: Instant,
}

impl Batch {
    fn new() -> Arc<Batch> {
        Arc::new(Batch {
            state: Mutex::new(BatchState::default()),
            joined: Condvar::new(),
            ended: Condvar::new(),
            opened: Instant::now(),
        })
    }

    fn state(&self) -> MutexGuard<'_, BatchState> {
        // Nothing panics while holding it; a poisoned lock holds plain counts.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_full(&self, bounds: &GroupCommit) -> bool {
        let state = self.state();
        state.members >= bounds.max_members || state.bytes >= bounds.max_bytes
    }

    /// Adds a member; true for the first, who leads.
    fn join(&self, bytes: usize) -> bool {
        let mut state = self.state();
        state.members += 1;
        state.bytes = state.bytes.saturating_add(bytes);
        self.joined.notify_one();
        state.members == 1
    }

    fn members(&self) -> usize {
        self.state().members
    }

    fn publish(&self, outcome: Result<(), BatchFailed>) {
        let mut state = self.state();
        state.outcome.get_or_insert(outcome);
        self.ended.notify_all();
        // A leader still waiting for members learns of an abandoned batch.
        self.joined.notify_one();
    }

    fn outcome(&self) -> Result<(), BatchFailed> {
        let mut state = self.state();
        loop {
            if let Some(outcome) = &state.outcome {
                return outcome.clone();
            }
            state = self.ended.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// The batch being filled: its connection, inside its transaction.
struct Open {
    conn: PooledConnection<Manager>,
    batch: Arc<Batch>,
}

/// The group committer of one store (shared by its clones).
pub(crate) struct Committer {
    open: Mutex<Option<Open>>,
    /// Writers that want the batch connection and have not yet joined or
    /// given up: while there are any, the leader waits for them.
    coming: AtomicUsize,
    /// Shared by the store's clones; changed only at start-up.
    bounds: Mutex<GroupCommit>,
}

/// What became of one write's closure in its savepoint.
enum Member<T, E> {
    /// Ran and was released (`Ok`), or was rolled back to its savepoint
    /// (`Err`); the batch is intact either way.
    Done(Result<T, E>),
    /// Panicked and was rolled back to its savepoint; the batch is intact.
    Panicked(Box<dyn std::any::Any + Send>),
    /// The batch transaction is no longer usable; it must be abandoned.
    Broke(StoreError, Option<Box<dyn std::any::Any + Send>>),
}

/// Counts a writer in [`Committer::coming`] until it joins or gives up.
struct Coming<'a>(Option<&'a AtomicUsize>);

impl<'a> Coming<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        Coming(Some(counter))
    }

    fn arrived(&mut self) {
        if let Some(counter) = self.0.take() {
            counter.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Drop for Coming<'_> {
    fn drop(&mut self) {
        self.arrived();
    }
}

/// How a write ended, for the store's health record.
pub(crate) enum Ended<T, E> {
    Committed(T),
    /// The closure's own error; nothing of it was kept.
    Refused(E),
    /// The write could not be done or its batch did not commit.
    Failed(StoreError),
}

impl Committer {
    pub(crate) fn new(bounds: GroupCommit) -> Committer {
        Committer {
            open: Mutex::new(None),
            coming: AtomicUsize::new(0),
            bounds: Mutex::new(bounds),
        }
    }

    pub(crate) fn set_bounds(&self, bounds: GroupCommit) {
        *self.bounds.lock().unwrap_or_else(|e| e.into_inner()) = bounds;
    }

    fn bounds(&self) -> GroupCommit {
        *self.bounds.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock(&self) -> MutexGuard<'_, Option<Open>> {
        // Closures run under `catch_unwind`; a poisoned lock can only come
        // from a panic in this module between consistent states.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` as a member of a batch and waits for the batch's commit.
    /// `begin` checks out a connection and opens a batch transaction.
    pub(crate) fn write<T, E: From<StoreError>>(
        &self,
        bytes: usize,
        begin: impl Fn() -> Result<PooledConnection<Manager>, StoreError>,
        f: impl FnOnce(&mut DbConn) -> Result<T, E>,
        tally: &crate::counters::Tally,
    ) -> Ended<T, E> {
        let mut coming = Coming::new(&self.coming);
        let bounds = self.bounds();
        let mut open = loop {
            let mut open = self.lock();
            if let Some(batch) = open.as_ref().map(|o| o.batch.clone())
                && batch.is_full(&bounds)
            {
                drop(open);
                let _ = batch.outcome();
                continue;
            }
            if open.is_none() {
                match begin() {
                    Ok(conn) => {
                        *open = Some(Open {
                            conn,
                            batch: Batch::new(),
                        })
                    }
                    Err(error) => return Ended::Failed(error),
                }
            }
            break open;
        };
        let Some(current) = open.as_mut() else {
            unreachable!("a batch was opened above")
        };
        let batch = current.batch.clone();
        match run_member(&mut current.conn, f) {
            Member::Done(Ok(value)) => {
                let leads = batch.join(bytes);
                coming.arrived();
                drop(open);
                if leads {
                    self.lead(&batch, &bounds, tally);
                }
                match batch.outcome() {
                    Ok(()) => Ended::Committed(value),
                    Err(failed) => Ended::Failed(failed.into()),
                }
            }
            Member::Done(Err(error)) => {
                coming.arrived();
                self.close_if_empty(&mut open);
                Ended::Refused(error)
            }
            Member::Panicked(panic) => {
                coming.arrived();
                self.close_if_empty(&mut open);
                drop(open);
                std::panic::resume_unwind(panic)
            }
            Member::Broke(error, panic) => {
                coming.arrived();
                abandon(&mut open, &error);
                drop(open);
                if let Some(panic) = panic {
                    std::panic::resume_unwind(panic)
                }
                Ended::Failed(error)
            }
        }
    }

    /// The leader's part: wait for the writers about to join, then commit.
    fn lead(&self, batch: &Arc<Batch>, bounds: &GroupCommit, tally: &crate::counters::Tally) {
        let deadline = batch.opened + bounds.max_wait;
        {
            let mut state = batch.state();
            loop {
                if state.outcome.is_some() {
                    return; // abandoned by a member whose savepoint broke
                }
                let full = state.members >= bounds.max_members || state.bytes >= bounds.max_bytes;
                let now = Instant::now();
                if full || self.coming.load(Ordering::Acquire) == 0 || now >= deadline {
                    break;
                }
                state = batch
                    .joined
                    .wait_timeout(state, deadline - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        }
        let mut open = self.lock();
        // Only the leader commits a batch and only an abandoning member
        // closes one early; the open batch is this one unless it was
        // abandoned (and then its outcome is already published).
        let Some(mut mine) = open.take_if(|o| Arc::ptr_eq(&o.batch, batch)) else {
            return;
        };
        // Committed while holding the lock: on SQLite a second batch could
        // not begin before this one's `COMMIT` anyway.
        let outcome = crate::commit(&mut mine.conn).map_err(|e| BatchFailed(e.to_string()));
        if outcome.is_ok() {
            tally.batch_committed(batch.members() as u64);
        }
        drop(mine);
        drop(open);
        batch.publish(outcome);
    }

    /// Rolls back and closes a batch that nobody joined (every writer so
    /// far failed): an empty transaction must not hold the database's write
    /// lock until the next writer comes.
    fn close_if_empty(&self, open: &mut MutexGuard<'_, Option<Open>>) {
        if open.as_ref().is_some_and(|o| o.batch.members() == 0)
            && let Some(mut empty) = open.take()
            && let Err(error) = <DbConn as TransactionManager<DbConn>>::rollback_transaction(&mut empty.conn)
        {
            tracing::warn!(error = %error, "rollback of an empty batch failed");
        }
    }
}

/// Gives up the open batch: rolls it back (or lets the pool discard its
/// connection) and tells its members it did not commit.
fn abandon(open: &mut MutexGuard<'_, Option<Open>>, error: &StoreError) {
    let Some(mut broken) = open.take() else { return };
    if <DbConn as TransactionManager<DbConn>>::rollback_transaction(&mut broken.conn).is_err() {
        <DbConn as TransactionManager<DbConn>>::transaction_manager_status_mut(&mut broken.conn).set_in_error();
    }
    broken.batch.publish(Err(BatchFailed(error.to_string())));
}

/// Runs `f` in a savepoint of the batch transaction: released when it
/// succeeds, rolled back when it fails or panics.
fn run_member<T, E: From<StoreError>>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Member<T, E> {
    if let Err(error) = <DbConn as TransactionManager<DbConn>>::begin_transaction(conn) {
        return Member::Broke(StoreError::Database(error), None);
    }
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut *conn)));
    let ended = match &ran {
        Ok(Ok(_)) => <DbConn as TransactionManager<DbConn>>::commit_transaction(conn),
        _ => <DbConn as TransactionManager<DbConn>>::rollback_transaction(conn),
    };
    // A `RELEASE` that failed (PostgreSQL: a statement failed inside the
    // savepoint and the closure returned `Ok` anyway) leaves the savepoint
    // open; roll it back so that the batch goes on without this write.
    if ended.is_err() {
        while batch_depth(conn).is_some_and(|depth| depth > 1) {
            if <DbConn as TransactionManager<DbConn>>::rollback_transaction(conn).is_err() {
                break;
            }
        }
    }
    if !at_batch_level(conn) {
        let error = StoreError::Unavailable("the batch transaction broke under a write".into());
        return Member::Broke(error, ran.err());
    }
    match (ran, ended) {
        (Err(panic), _) => Member::Panicked(panic),
        (Ok(Ok(value)), Ok(())) => Member::Done(Ok(value)),
        (Ok(Ok(_)), Err(_)) => Member::Done(Err(E::from(crate::aborted_in_transaction()))),
        (Ok(Err(error)), _) => Member::Done(Err(error)),
    }
}

/// The transaction depth of `conn` (1: the batch itself), if it is in one.
fn batch_depth(conn: &mut DbConn) -> Option<u32> {
    match <DbConn as TransactionManager<DbConn>>::transaction_manager_status_mut(conn) {
        TransactionManagerStatus::Valid(ValidTransactionManagerStatus {
            in_transaction: Some(InTransactionStatus { transaction_depth, .. }),
            ..
        }) => Some(transaction_depth.get()),
        _ => None,
    }
}

/// Whether `conn` is back in the batch transaction itself, usable.
fn at_batch_level(conn: &mut DbConn) -> bool {
    matches!(
        <DbConn as TransactionManager<DbConn>>::transaction_manager_status_mut(conn),
        TransactionManagerStatus::Valid(ValidTransactionManagerStatus {
            in_transaction: Some(InTransactionStatus {
                transaction_depth,
                requires_rollback_maybe_up_to_top_level: false,
                ..
            }),
            ..
        }) if transaction_depth.get() == 1
    )
}

/// Opens a write transaction on a fresh checkout: a batch on SQLite
/// (`BEGIN IMMEDIATE`, the write lock at once rather than an upgrade that
/// can fail), one write's own on PostgreSQL (`BEGIN`; its audit events are
/// numbered after its commit, `crate::sequencer`).
pub(crate) fn begin_write(conn: &mut DbConn) -> diesel::QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        DbConn::Postgres(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN"),
    }
}
