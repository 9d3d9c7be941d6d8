//! What the store asked of its database: statements run, statements
//! prepared, transactions begun and committed, group-commit batches and
//! their members. Counted on every pooled connection through diesel's
//! [`Instrumentation`] hook, shared by the clones of one [`crate::Store`],
//! and exposed through [`crate::Store::counters`] so that the broker's
//! `/metrics` and the load generator can report them per request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use diesel::connection::{Instrumentation, InstrumentationEvent};

/// A snapshot of a store's counters since it was opened. Monotonic; take
/// two and subtract ([`Counters::since`]) to count what happened between.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Statements executed (queries, `BEGIN`/`COMMIT`/`SAVEPOINT` included).
    pub statements: u64,
    /// Statements compiled and put in a connection's statement cache (a
    /// prepared statement reused from the cache is not counted again). A
    /// statement diesel does not cache (its `UPDATE`s and `IN (…)`s, a
    /// multi-row `INSERT`) is compiled at every execution and is not counted
    /// here: diesel's instrumentation does not report it.
    pub prepares: u64,
    /// Top-level transactions begun, reads included.
    pub transactions: u64,
    /// Top-level transactions committed: on SQLite with `synchronous=FULL`
    /// each commit of a write is one fsync of the WAL.
    pub commits: u64,
    /// Group-commit batches committed ([`crate::Store::write`]).
    pub batches: u64,
    /// Writes answered as part of a committed batch.
    pub batch_members: u64,
}

impl Counters {
    /// The counters of two stores (two nodes) together.
    pub fn plus(&self, other: &Counters) -> Counters {
        Counters {
            statements: self.statements + other.statements,
            prepares: self.prepares + other.prepares,
            transactions: self.transactions + other.transactions,
            commits: self.commits + other.commits,
            batches: self.batches + other.batches,
            batch_members: self.batch_members + other.batch_members,
        }
    }

    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Counters) -> Counters {
        Counters {
            statements: self.statements.saturating_sub(earlier.statements),
            prepares: self.prepares.saturating_sub(earlier.prepares),
            transactions: self.transactions.saturating_sub(earlier.transactions),
            commits: self.commits.saturating_sub(earlier.commits),
            batches: self.batches.saturating_sub(earlier.batches),
            batch_members: self.batch_members.saturating_sub(earlier.batch_members),
        }
    }
}

/// The live counters behind [`Counters`].
#[derive(Debug, Default)]
pub(crate) struct Tally {
    statements: AtomicU64,
    prepares: AtomicU64,
    transactions: AtomicU64,
    commits: AtomicU64,
    batches: AtomicU64,
    batch_members: AtomicU64,
}

impl Tally {
    pub(crate) fn snapshot(&self) -> Counters {
        Counters {
            statements: self.statements.load(Ordering::Relaxed),
            prepares: self.prepares.load(Ordering::Relaxed),
            transactions: self.transactions.load(Ordering::Relaxed),
            commits: self.commits.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            batch_members: self.batch_members.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn batch_committed(&self, members: u64) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.batch_members.fetch_add(members, Ordering::Relaxed);
    }
}

/// The instrumentation installed on every pooled connection.
pub(crate) struct Counting(pub(crate) Arc<Tally>);

impl Instrumentation for Counting {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        let counter = match event {
            InstrumentationEvent::StartQuery { .. } => &self.0.statements,
            InstrumentationEvent::CacheQuery { .. } => &self.0.prepares,
            InstrumentationEvent::BeginTransaction { depth, .. } if depth.get() == 1 => &self.0.transactions,
            InstrumentationEvent::CommitTransaction { depth, .. } if depth.get() == 1 => &self.0.commits,
            _ => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
