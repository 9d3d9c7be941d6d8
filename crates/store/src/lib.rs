//! Persistence for Doorstroom: one diesel schema and one query set over
//! [`DbConn`], a `MultiConnection` of SQLite (the embedded default) and
//! PostgreSQL (production), with per-backend migrations embedded in the
//! binary and run by [`Store::open`].
//!
//! # Transactions
//! All access goes through [`Store::write`] or [`Store::read`], which run a
//! closure in one database transaction on a pooled connection. The
//! repository functions ([`institutions`], [`keys`], [`certificates`],
//! [`staff`], [`login_failures`], [`applications`], [`packages`],
//! [`consents`], [`inspections`], [`audit`]) take that `&mut DbConn`, so an
//! access and its audit event commit or roll back together (fail closed).
//! [`merkle`] keeps the audit log as an RFC 9162 Merkle tree (stored hashes
//! written by [`audit::append`] in that same transaction, proofs,
//! checkpoints, verification); its API is re-exported from [`audit`].
//!
//! * `write` on SQLite runs its closure in a savepoint of a shared *batch*
//!   transaction (`BEGIN IMMEDIATE`) and returns once that batch has
//!   committed: group commit, one `COMMIT` (one fsync) for all the writes
//!   that came together ([`commit`] says what each write can still rely
//!   on).
//! * `write` on PostgreSQL runs its closure in a `READ COMMITTED`
//!   transaction of its own, concurrently with the others, with no lock
//!   held to its `COMMIT`: its audit events and feed entries are numbered
//!   just after the commit, before `write` returns, in one short
//!   transaction for every write waiting ([`sequencer`]).
//!   *Why PostgreSQL does not batch:* a batch runs its writes one after the
//!   other on one connection, each statement a round trip; measured, that
//!   cost more than the commits it saved (README, Performance).
//! * `read` is enforced read-only on both backends (PostgreSQL:
//!   `REPEATABLE READ READ ONLY`, a consistent snapshot like SQLite's;
//!   SQLite: a pool of its own whose connections are `query_only`), so a
//!   write in a `read` fails the same way on both. Anything that writes an
//!   audit event must therefore use `write`.
//! * Functions that can hit a unique or foreign-key violation (`insert`,
//!   `bind`, `update`, `register`, `consents::append`, `inspections::record`)
//!   run their statement in a savepoint, so a
//!   [`StoreError::Conflict`] leaves the surrounding transaction usable (on
//!   PostgreSQL a failed statement otherwise poisons the whole transaction)
//!   and the caller can go on in it. `packages::insert`, on every
//!   submission's path, gets the same from `ON CONFLICT DO NOTHING` without
//!   the savepoint's two statements. (The audit spine itself does not need
//!   the transaction after a failure: it rolls back and records the
//!   rejection in a write of its own, `doorstroom_app::spine`.)
//! * If a statement failed inside the closure but the closure returned `Ok`
//!   anyway, PostgreSQL would silently roll it back; `write` detects this
//!   and returns an error instead of reporting success.
//! * [`Store::counters`] counts statements, prepares, transactions and
//!   batches, for `/metrics` and the load generator.
//!
//! * A checkout waits at most [`POOL_CHECKOUT_TIMEOUT`] (or the store's
//!   own, [`Store::with_checkout_timeout`]) for a connection, and while the
//!   database is known to be unreachable it does not wait at all, so a
//!   request that makes several calls waits at most once ([`health`]).
//!   [`StoreError::is_outage`] tells an outage (unreachable, shut down,
//!   disk full, I/O) from a fault, for the server's 503 versus 500.
//!   A PostgreSQL connection that sat idle half a second answers a
//!   `SELECT 1` before use (the server may have restarted); one in steady
//!   use does not, and if it is gone its request fails and the pool drops
//!   it ([`Store::checkout`]).
//!
//! # Privacy
//! No personal data goes into a log line or error message from this crate:
//! errors name tables, columns and rules, never values.
//!
//! These are blocking calls; the server runs them on `actix_web::web::block`.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::connection::{
    AnsiTransactionManager, InTransactionStatus, SimpleConnection, TransactionManager, TransactionManagerStatus,
    ValidTransactionManagerStatus,
};
use diesel::r2d2::{CustomizeConnection, ManageConnection, Pool, R2D2Connection};
use diesel::result::DatabaseErrorKind;
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub mod applications;
pub mod audit;
mod audit_rows;
pub mod certificates;
pub mod cohorts;
mod commit;
pub mod consents;
pub mod console_sessions;
pub mod contacts;
mod counters;
pub mod events;
pub mod health;
pub mod inspections;
pub mod institutions;
pub mod keys;
pub mod login_failures;
pub mod merkle;
pub mod packages;
pub mod regional;
pub mod retention;
pub mod schema;
mod sequencer;
pub mod staff;
#[cfg(feature = "testing")]
pub mod testing;
mod this_write;
pub mod transparency;
pub mod url;
pub mod webhooks;

pub use commit::GroupCommit;
pub use counters::Counters;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Key of the session-level advisory lock held while migrating PostgreSQL,
/// so that several broker nodes starting at once migrate one at a time.
const PG_MIGRATION_LOCK: i64 = 0x646f_6f72_7374_726f; // "doorstro"

/// How long [`Store::write`]/[`Store::read`] wait for a free pooled
/// connection before giving up with [`StoreError::Unavailable`], unless
/// [`Store::with_checkout_timeout`] says otherwise (the broker's
/// `database.checkout_timeout_ms`). While the database is known to be
/// unreachable a request does not wait again (see [`health`]).
pub const POOL_CHECKOUT_TIMEOUT: Duration = Duration::from_secs(2);

/// A PostgreSQL connection idle this long answers a `SELECT 1` before it is
/// used again ([`Store::checkout`]); under load connections come back
/// within milliseconds and are not tested. (HikariCP's choice, 500 ms.)
const TEST_AFTER_IDLE: Duration = Duration::from_millis(500);

/// A connection to either backend. Match on it for backend-specific SQL.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What can go wrong in the store. Messages never contain stored values.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No connection could be had (pool exhausted, database down, bad URL).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A unique constraint was violated; names the thing that already exists.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The row (or, for an insert, the institution it refers to) does not exist.
    #[error("not found")]
    NotFound,
    /// A stored value could not be read back (bad enum spelling, timestamp
    /// out of range, unparsable audit entry). Names where, and what rule the
    /// value broke, never the value. Fails the request closed: a row that
    /// does not parse is never skipped or defaulted (a consent event of
    /// unknown kind dropped from the ledger could make a withdrawn consent
    /// look given).
    #[error("corrupt row: {table}.{column}: {problem}")]
    Corrupt {
        table: &'static str,
        column: &'static str,
        problem: String,
    },
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    /// An argument names something outside the audit log (a leaf index at
    /// or past the tree size, a tree size beyond the log, an old size
    /// larger than the new one, a negative number). The caller's mistake:
    /// the server answers 400.
    #[error("out of range: {0}")]
    OutOfRange(&'static str),
    /// A write would make the audit log disagree with itself (a checkpoint
    /// whose root or note does not match the stored tree at its size).
    #[error("inconsistent audit log: {0}")]
    Inconsistent(&'static str),
}

impl StoreError {
    /// A [`StoreError::Corrupt`] for `table.column`; `problem` names the
    /// rule the stored value broke, never the value.
    pub fn corrupt(table: &'static str, column: &'static str, problem: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            table,
            column,
            problem: problem.into(),
        }
    }
}

/// A pool of connections to one database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    /// Connections for writes (one batch at a time, [`commit`]) and pings.
    pool: Pool<Manager>,
    /// Connections for reads. On SQLite a pool of its own whose
    /// connections are `query_only` for good: switching the pragma per
    /// transaction would expire every prepared statement of the connection
    /// (SQLite compiles the pragma with `OP_Expire`). On PostgreSQL the same
    /// pool as `pool` (a read is a `READ ONLY` transaction there).
    readers: Pool<Manager>,
    backend: Backend,
    /// SQLite allows one writer at a time, and its busy handler sleeps and
    /// retries rather than queueing. So the writes of one process share
    /// transactions there: see [`commit`]. (Not used on PostgreSQL.)
    /// (Several processes on one SQLite file still meet in the busy
    /// handler; several broker nodes belong on PostgreSQL.)
    committer: Arc<commit::Committer>,
    /// PostgreSQL: numbering the audit log and the feeds after commit.
    numbering: Arc<sequencer::Rounds>,
    /// What was asked of the database ([`Store::counters`]).
    tally: Arc<counters::Tally>,
    /// How long a checkout waits for a connection.
    checkout_timeout: Duration,
    /// Recent outages (see [`health`]); shared by the clones.
    health: Arc<health::Health>,
    /// Called after each write that appended a feed entry has committed
    /// ([`Store::on_feed_committed`]); shared by the clones.
    feed_committed: Arc<OnceLock<FeedHook>>,
}

/// What [`Store::on_feed_committed`] calls.
type FeedHook = Box<dyn Fn() + Send + Sync>;

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never print it.
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens a database and brings its schema up to date (including, once,
    /// the Merkle hashes of audit events older than the Merkle log: see
    /// [`merkle::backfill`]).
    ///
    /// `postgres://…` or `postgresql://…` selects PostgreSQL; `sqlite://PATH`,
    /// `sqlite:PATH` or a bare path selects a SQLite file (its parent
    /// directories are created; the database file is created 0600 and its
    /// `-wal`/`-shm` files follow that mode). SQLite is switched to WAL mode once, here;
    /// every pooled SQLite connection gets `foreign_keys=ON`,
    /// `busy_timeout=5000` and `synchronous=FULL`.
    pub fn open(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        if max_connections == 0 {
            return Err(StoreError::Unavailable("max_connections must be at least 1".into()));
        }
        let target = Target::parse(url)?;
        let backend = match &target {
            Target::Sqlite(path) => {
                prepare_sqlite(path)?;
                Backend::Sqlite
            }
            Target::Postgres(url) => {
                prepare_postgres(url)?;
                Backend::Postgres
            }
        };
        let tally = Arc::new(counters::Tally::default());
        let pool = build_pool(&target, max_connections, false, &tally)?;
        let readers = match backend {
            Backend::Sqlite => build_pool(&target, max_connections, true, &tally)?,
            Backend::Postgres => pool.clone(),
        };
        let store = Store {
            pool,
            readers,
            backend,
            committer: Arc::new(commit::Committer::new(GroupCommit::default())),
            numbering: Arc::new(sequencer::Rounds::default()),
            tally,
            checkout_timeout: POOL_CHECKOUT_TIMEOUT,
            health: Arc::new(health::Health::default()),
            feed_committed: Arc::new(OnceLock::new()),
        };
        // Audit events written before the Merkle log existed get their
        // stored hashes once; afterwards this is one `SELECT`.
        store.write(merkle::backfill)?;
        // PostgreSQL: what a crash left committed and unnumbered
        // (`sequencer`) is numbered before the store serves.
        if store.backend == Backend::Postgres {
            let mut conn = store.checkout(&store.pool)?;
            store.numbering.catch_up(&mut conn)?;
        }
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Calls `hook` after every write that appended a feed entry
    /// ([`events::append`]) has committed (on PostgreSQL: and been
    /// numbered), on this store and its clones: the web side wakes its long
    /// polls with it. Kept here rather than in each use case, so that no
    /// writer of entries (a submission, a withdrawal, the purge's expiry
    /// notices, the safety net) can forget it. Set once, at start; a second
    /// hook is ignored. Other nodes' entries are found by polling.
    pub fn on_feed_committed(&self, hook: impl Fn() + Send + Sync + 'static) {
        let _ = self.feed_committed.set(Box::new(hook));
    }

    /// Tells the hook, if the write that just committed on this thread
    /// appended a feed entry.
    fn feed_entries_committed(&self) {
        if this_write::marks().feed_entry
            && let Some(hook) = self.feed_committed.get()
        {
            hook();
        }
    }

    /// Runs `f` as one atomic write: in a savepoint of a group-commit batch
    /// transaction ([`commit`]; SQLite: `BEGIN IMMEDIATE`). If `f` returns
    /// `Ok`, returns once the batch has committed (durably), or
    /// [`StoreError::Unavailable`] if it did not; if `f` returns `Err`,
    /// everything `f` did is rolled back and the error returned at once.
    /// `f` sees every write committed or queued before it.
    pub fn write<T, E: From<StoreError>>(&self, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E> {
        self.write_sized(0, f)
    }

    /// [`Store::write`] of a write of about `bytes` bytes, so that a batch
    /// of large writes commits before it holds more than
    /// [`GroupCommit::max_bytes`].
    pub fn write_sized<T, E: From<StoreError>>(
        &self,
        bytes: usize,
        f: impl FnOnce(&mut DbConn) -> Result<T, E>,
    ) -> Result<T, E> {
        this_write::begin();
        if self.backend == Backend::Postgres {
            // See "Why PostgreSQL does not batch" in the module documentation.
            let written = self.run_single(Single::Write, f)?;
            self.feed_entries_committed();
            return Ok(written);
        }
        let begin = || {
            let mut conn = self.checkout(&self.pool)?;
            commit::begin_write(&mut conn).map_err(StoreError::Database)?;
            Ok(conn)
        };
        match self.committer.write(bytes, begin, f, &self.tally) {
            commit::Ended::Committed(value) => {
                self.health.record_write(health::WriteOutcome::Succeeded);
                self.feed_entries_committed();
                Ok(value)
            }
            commit::Ended::Refused(error) => Err(error),
            commit::Ended::Failed(error) => {
                self.note_outage(&error);
                Err(E::from(error))
            }
        }
    }

    /// Runs `f` in one read-only transaction (a consistent snapshot). Any
    /// write inside fails, on both backends.
    pub fn read<T, E: From<StoreError>>(&self, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E> {
        self.run_single(Single::Read, f)
    }

    /// Runs `f`, one statement that only reads, on a reader's connection
    /// outside any transaction: a single statement reads a consistent
    /// snapshot by itself on both backends, and a `BEGIN` and a `COMMIT`
    /// around it would triple its round trips on PostgreSQL. Crate-private:
    /// on PostgreSQL nothing but its callers' code keeps `f` to one read.
    pub(crate) fn read_statement<T>(
        &self,
        f: impl FnOnce(&mut DbConn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let result = self.checkout(&self.readers).and_then(|mut conn| f(&mut conn));
        if let Err(error) = &result {
            self.note_outage(error);
        }
        result
    }

    /// Readiness asks whether a write can succeed now. A write's success
    /// says yes; any outage says no, a read's included: otherwise a write
    /// that succeeded just before the database went down would stand in
    /// for the probe while every read already fails.
    fn note_outage(&self, error: &StoreError) {
        if error.is_outage() {
            self.health.record_write(health::WriteOutcome::Failed);
        }
    }

    /// The same store, whose writes (and its clones') are batched within
    /// `bounds` (default [`GroupCommit::default`]). For start-up.
    pub fn with_group_commit(self, bounds: GroupCommit) -> Store {
        self.committer.set_bounds(bounds);
        self
    }

    /// What this store (and its clones) asked of the database so far.
    pub fn counters(&self) -> Counters {
        self.tally.snapshot()
    }

    /// `SELECT 1` on a pooled connection, for the readiness probe.
    pub fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.checkout(&self.pool)?;
        conn.ping().map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// The same store, whose checkouts wait at most `timeout` for a
    /// connection (default [`POOL_CHECKOUT_TIMEOUT`]).
    pub fn with_checkout_timeout(mut self, timeout: Duration) -> Store {
        self.checkout_timeout = timeout;
        self
    }

    /// The readiness probe's write: updates the one row of
    /// `readiness_probe` and commits, so that it fails when a write cannot
    /// succeed (database down, disk full), not only when a read cannot.
    pub fn probe_write(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        use diesel::{ExpressionMethods, RunQueryDsl};
        self.write(|conn| {
            diesel::update(schema::readiness_probe::table)
                .set(schema::readiness_probe::probed_at.eq(to_ms(now)))
                .execute(conn)?;
            Ok(())
        })
    }

    /// How the last write attempt on this store ended, and how long ago:
    /// failed means an outage (see [`StoreError::is_outage`]) ended it, or
    /// a read met one since. `None` before the first write.
    pub fn last_write(&self) -> Option<(Duration, health::WriteOutcome)> {
        self.health.last_write()
    }

    /// A pooled connection that can be used. A PostgreSQL connection that
    /// sat idle for [`TEST_AFTER_IDLE`] or more answers a `SELECT 1` first
    /// (the server may have restarted meanwhile, or a firewall dropped the
    /// socket); one that fails it is dropped and the next one taken, as
    /// many times as the pool has connections. One in steady use is not
    /// tested: if it is gone after all, its statement fails (503), and the
    /// pool drops it on return.
    fn checkout(&self, pool: &Pool<Manager>) -> Result<diesel::r2d2::PooledConnection<Manager>, StoreError> {
        // Every connection the pool holds may be gone, and then a new one.
        let mut tries = pool.max_size() + 1;
        loop {
            let mut pooled = self.take(pool)?;
            let now = Instant::now();
            let idle = now.duration_since(pooled.last_used) >= TEST_AFTER_IDLE;
            pooled.last_used = now;
            if self.backend == Backend::Sqlite || !idle || pooled.ping().is_ok() {
                return Ok(pooled);
            }
            // Broken now (see `Pooled`): dropped on return.
            drop(pooled);
            tries = tries.saturating_sub(1);
            if tries == 0 {
                self.health.checkout_failed();
                return Err(StoreError::Unavailable("no pooled connection answers".into()));
            }
        }
    }

    /// A pooled connection, as the pool hands it out. Waits at most the
    /// checkout timeout, and not at all while the database is known to be
    /// unreachable (a checkout timed out less than one timeout ago, and
    /// none succeeded since): then only an idle connection is taken, so
    /// that no request waits twice.
    fn take(&self, pool: &Pool<Manager>) -> Result<diesel::r2d2::PooledConnection<Manager>, StoreError> {
        if self.health.known_down(self.checkout_timeout) {
            return match pool.try_get() {
                Some(conn) => {
                    self.health.checkout_succeeded();
                    Ok(conn)
                }
                None => Err(StoreError::Unavailable(
                    "no database connection (the database was unreachable moments ago)".into(),
                )),
            };
        }
        match pool.get_timeout(self.checkout_timeout) {
            Ok(conn) => {
                self.health.checkout_succeeded();
                Ok(conn)
            }
            Err(e) => {
                self.health.checkout_failed();
                Err(StoreError::Unavailable(e.to_string()))
            }
        }
    }

    /// Runs `f` in a transaction of its own: every read, and a write on
    /// PostgreSQL.
    fn run_single<T, E: From<StoreError>>(
        &self,
        single: Single,
        f: impl FnOnce(&mut DbConn) -> Result<T, E>,
    ) -> Result<T, E> {
        let pool = match single {
            Single::Read => &self.readers,
            Single::Write => &self.pool,
        };
        let mut pooled = match self.checkout(pool) {
            Ok(pooled) => pooled,
            Err(error) => {
                self.health.record_write(health::WriteOutcome::Failed);
                return Err(E::from(error));
            }
        };
        let conn: &mut DbConn = &mut pooled;
        let begun = match single {
            Single::Read => begin_read(conn),
            Single::Write => commit::begin_write(conn),
        };
        if let Err(error) = begun {
            let error = StoreError::Database(error);
            self.note_outage(&error);
            return Err(E::from(error));
        }
        match f(conn) {
            // PostgreSQL numbers the write's audit events and feed entries
            // just after its commit, before it answers (`sequencer`).
            Ok(value) => match commit(conn).and_then(|()| match single {
                Single::Write => self.numbering.after_commit(conn),
                Single::Read => Ok(()),
            }) {
                Ok(()) => {
                    if single == Single::Write {
                        self.health.record_write(health::WriteOutcome::Succeeded);
                    }
                    Ok(value)
                }
                Err(error) => {
                    self.note_outage(&error);
                    Err(E::from(error))
                }
            },
            Err(error) => {
                if let Err(rollback) = <DbConn as TransactionManager<DbConn>>::rollback_transaction(conn) {
                    // The connection is marked broken and will not be
                    // reused. A write whose connection broke under it met
                    // an outage, whatever its own error says.
                    tracing::warn!(error = %rollback, "rollback failed");
                    self.health.record_write(health::WriteOutcome::Failed);
                }
                Err(error)
            }
        }
    }
}

/// A transaction of its own ([`Store::run_single`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Single {
    Read,
    Write,
}

/// Opens a read-only transaction, a consistent snapshot on both backends.
/// (SQLite's read connections are `query_only` from the start.)
fn begin_read(conn: &mut DbConn) -> diesel::QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN DEFERRED"),
        DbConn::Postgres(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        }
    }
}

/// The error of a write whose statement failed inside its transaction
/// while its closure returned `Ok`: PostgreSQL would have turned its
/// `COMMIT` into a silent rollback.
fn aborted_in_transaction() -> StoreError {
    StoreError::Database(diesel::result::Error::QueryBuilderError(
        "transaction aborted: a statement failed inside it and its error was not returned".into(),
    ))
}

/// Commits, unless a statement failed inside the transaction: PostgreSQL
/// then answers `COMMIT` with a silent rollback, which must not be reported
/// as success.
fn commit(conn: &mut DbConn) -> Result<(), StoreError> {
    let status = <DbConn as TransactionManager<DbConn>>::transaction_manager_status_mut(conn);
    let aborted = matches!(
        status,
        TransactionManagerStatus::Valid(ValidTransactionManagerStatus {
            in_transaction: Some(InTransactionStatus {
                requires_rollback_maybe_up_to_top_level: true,
                ..
            }),
            ..
        })
    );
    if aborted {
        if let Err(rollback) = <DbConn as TransactionManager<DbConn>>::rollback_transaction(conn) {
            tracing::warn!(error = %rollback, "rollback failed");
        }
        return Err(aborted_in_transaction());
    }
    <DbConn as TransactionManager<DbConn>>::commit_transaction(conn).map_err(StoreError::Database)
}

/// Where the database lives, parsed from the URL.
#[derive(Clone)]
enum Target {
    Sqlite(String),
    Postgres(String),
}

impl Target {
    fn parse(url: &str) -> Result<Target, StoreError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() || path == ":memory:" || path.starts_with("file:") {
            return Err(StoreError::Unavailable(
                "SQLite needs a file path (in-memory databases and URI filenames are not supported)".into(),
            ));
        }
        Ok(Target::Sqlite(path.to_owned()))
    }

    fn connect(&self) -> diesel::ConnectionResult<DbConn> {
        match self {
            Target::Sqlite(path) => SqliteConnection::establish(path).map(DbConn::Sqlite),
            Target::Postgres(url) => PgConnection::establish(url).map(DbConn::Postgres),
        }
    }
}

/// [`prepare_sqlite_once`], tried again while SQLite answers "database is
/// locked" without waiting. On a new file, still in rollback-journal mode,
/// two brokers starting at once can each hold a shared lock while switching
/// to WAL and both want the exclusive one; SQLite then refuses one of them
/// at once instead of calling its busy handler (waiting would deadlock).
/// Every step is idempotent, so trying again for as long as `busy_timeout`
/// would have waited is safe.
fn prepare_sqlite(path: &str) -> Result<(), StoreError> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match prepare_sqlite_once(path) {
            Err(StoreError::Database(diesel::result::Error::DatabaseError(_, info)))
                if info.message().contains("database is locked") && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(25));
            }
            other => return other,
        }
    }
}

/// Makes the file's directory, switches the database to WAL (a persistent
/// property of the file) and runs the migrations, on one connection.
fn prepare_sqlite_once(path: &str) -> Result<(), StoreError> {
    let parent = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        std::fs::create_dir_all(parent)
            .map_err(|e| StoreError::Unavailable(format!("cannot create the database directory: {e}")))?;
    }
    restrict_sqlite_files(path)?;
    let mut conn = SqliteConnection::establish(path).map_err(|e| StoreError::Unavailable(e.to_string()))?;
    conn.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL;")?;
    let mode = sqlite_pragma(&mut conn, "journal_mode")?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unavailable(format!(
            "SQLite could not switch to WAL mode (journal_mode is {mode})"
        )));
    }
    // All pending migrations in one `BEGIN IMMEDIATE` transaction (each
    // migration's own transaction becomes a savepoint in it): SQLite's
    // counterpart of PostgreSQL's advisory lock, so that two brokers
    // starting at once on one new file migrate one after the other (the
    // second waits on `busy_timeout`, then finds nothing pending) instead of
    // both creating the same tables.
    AnsiTransactionManager::begin_transaction_sql(&mut conn, "BEGIN IMMEDIATE")?;
    match conn.run_pending_migrations(SQLITE_MIGRATIONS) {
        Ok(_) => {
            <SqliteConnection as Connection>::TransactionManager::commit_transaction(&mut conn)?;
            Ok(())
        }
        Err(e) => {
            let _ = <SqliteConnection as Connection>::TransactionManager::rollback_transaction(&mut conn);
            Err(StoreError::Migration(e.to_string()))
        }
    }
}

/// The database holds password hashes, sealed second factors and the audit
/// log: only the broker's own user may read it. SQLite creates a missing
/// database file with mode 0644 (less the umask), and its `-wal` and `-shm`
/// files with the mode of the database file. So the database file is
/// created here first, 0600, before SQLite opens it; and a database (or
/// `-wal`/`-shm`) that already exists with group or other permissions loses
/// them.
fn restrict_sqlite_files(path: &str) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let unavailable = |e: std::io::Error| StoreError::Unavailable(format!("cannot secure the database file: {e}"));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(unavailable(e)),
    }
    for file in [path.to_owned(), format!("{path}-wal"), format!("{path}-shm")] {
        let mode = match std::fs::metadata(&file) {
            Ok(meta) => meta.permissions().mode(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(unavailable(e)),
        };
        if mode & 0o077 != 0 {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & 0o700)).map_err(unavailable)?;
        }
    }
    Ok(())
}

/// Runs the migrations under an advisory lock.
fn prepare_postgres(url: &str) -> Result<(), StoreError> {
    let mut conn = PgConnection::establish(url).map_err(|e| StoreError::Unavailable(e.to_string()))?;
    conn.batch_execute(&format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})"))?;
    let migrated = conn
        .run_pending_migrations(POSTGRES_MIGRATIONS)
        .map(|_| ())
        .map_err(|e| StoreError::Migration(e.to_string()));
    // Closing the connection releases the lock too; unlocking is a courtesy.
    let _ = conn.batch_execute(&format!("SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})"));
    migrated
}

/// Reads a text-valued SQLite pragma such as `journal_mode`.
pub(crate) fn sqlite_pragma(conn: &mut SqliteConnection, name: &str) -> Result<String, StoreError> {
    #[derive(diesel::QueryableByName)]
    struct Value {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    use diesel::RunQueryDsl;
    let row: Value =
        diesel::sql_query(format!("SELECT CAST({name} AS TEXT) AS value FROM pragma_{name}")).get_result(conn)?;
    Ok(row.value)
}

/// A pooled connection, with what its pool needs to know of it.
/// (One that a statement found gone needs no mark of ours: diesel marks
/// its transaction manager broken when libpq no longer knows the
/// connection's state, and the pool drops it on return, `has_broken`.)
pub(crate) struct Pooled {
    conn: DbConn,
    /// When it was made or last handed out ([`Store::checkout`]).
    last_used: Instant,
}

impl std::ops::Deref for Pooled {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.conn
    }
}

/// The r2d2 connection manager: connects to the one backend chosen at open
/// (never guessing from the URL per connection).
struct Manager {
    target: Target,
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Pooled, Self::Error> {
        let conn = self.target.connect().map_err(diesel::r2d2::Error::ConnectionError)?;
        Ok(Pooled {
            conn,
            last_used: Instant::now(),
        })
    }

    fn is_valid(&self, conn: &mut Pooled) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Pooled) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// A pool of `max_size` connections to `target`; `read_only` ones
/// (SQLite's read pool) refuse every write.
fn build_pool(
    target: &Target,
    max_size: u32,
    read_only: bool,
    tally: &Arc<counters::Tally>,
) -> Result<Pool<Manager>, StoreError> {
    Pool::builder()
        .max_size(max_size)
        // Not a `SELECT 1` at every checkout (on PostgreSQL a round trip
        // per transaction): `Store::checkout` tests a PostgreSQL connection
        // that sat idle, and one found gone in use is dropped on return
        // (`has_broken`). SQLite's file cannot go stale.
        .test_on_check_out(false)
        // Also the longest pause between the pool's attempts to
        // reconnect in the background (half of it) during an outage.
        .connection_timeout(POOL_CHECKOUT_TIMEOUT)
        .connection_customizer(Box::new(Customizer {
            read_only,
            tally: tally.clone(),
        }))
        .build(Manager { target: target.clone() })
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

/// Per-connection settings (SQLite's do not persist in the file) and the
/// counters of [`Store::counters`].
struct Customizer {
    read_only: bool,
    tally: Arc<counters::Tally>,
}

impl std::fmt::Debug for Customizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Customizer")
            .field("read_only", &self.read_only)
            .finish()
    }
}

impl CustomizeConnection<Pooled, diesel::r2d2::Error> for Customizer {
    fn on_acquire(&self, pooled: &mut Pooled) -> Result<(), diesel::r2d2::Error> {
        let conn = &mut pooled.conn;
        conn.set_instrumentation(counters::Counting(self.tally.clone()));
        match conn {
            DbConn::Sqlite(c) => {
                let pragmas = if self.read_only {
                    "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA query_only = ON;"
                } else {
                    // temp_store: a savepoint's sub-journal (each group-commit
                    // member has one) stays in memory instead of a temporary
                    // file written at every page the member touches.
                    "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; \
                     PRAGMA temp_store = MEMORY;"
                };
                c.batch_execute(pragmas).map_err(diesel::r2d2::Error::QueryError)
            }
            DbConn::Postgres(_) => Ok(()),
        }
    }
}

// ---- helpers shared by the repositories ----

/// Inserts `rows` (a slice of insertable values) into `table`: on PostgreSQL
/// in one statement (one round trip), on SQLite one cached single-row
/// statement per row — a multi-row `INSERT` of varying length is prepared
/// afresh each time, which costs SQLite more than running a prepared
/// statement a few times in-process. A macro because `MultiConnection` has
/// no batch insert of its own and the bounds of a generic one are diesel's
/// internals.
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            $crate::DbConn::Sqlite(c) => $rows.iter().try_fold(0usize, |n, row| {
                diesel::insert_into($table).values(row).execute(c).map(|k| n + k)
            }),
            $crate::DbConn::Postgres(c) => diesel::insert_into($table).values($rows).execute(c),
        }
    };
}
pub(crate) use insert_all;

/// Runs `$body` with `$c` bound to the backend's own connection instead of
/// the [`DbConn`] enum. Diesel's derived `MultiConnection` hands each
/// statement to the backend wrapped in a `SerializedQuery`, whose every
/// execution writes the statement's SQL text out afresh (twice: to decide
/// whether it may be cached and to collect its binds), even when the
/// statement is then found in the cache by its type. On the submit and pull
/// paths that was about a seventh of the CPU their writes spend on the
/// batch connection, which is the serial part of every write (measured with
/// `perf`, 2026-12-07). The statement is the same; `$body` is compiled once
/// per backend.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::DbConn::Sqlite($c) => $body,
            $crate::DbConn::Postgres($c) => $body,
        }
    };
}
pub(crate) use on_backend;

/// Makes statement types written out by hand runnable, and marks each as
/// one statement whatever its values, so that it is prepared once per
/// connection and then taken from the statement cache. The store writes out
/// what diesel would compile afresh at every execution (any `UPDATE` it
/// builds, an `IN (…)` list) where it runs on the hot path, inside the
/// group-commit batch. (A boxed query is cached, but found by its SQL text,
/// written out at every execution: prefer fixed queries, one per shape, as
/// `inspections::oldest_first` does.)
macro_rules! prepared_once {
    ($($statement:ident),+ $(,)?) => {$(
        impl<Conn> diesel::RunQueryDsl<Conn> for $statement<'_> {}

        impl diesel::query_builder::QueryId for $statement<'_> {
            type QueryId = $statement<'static>;
            const HAS_STATIC_QUERY_ID: bool = true;
        }
    )+};
}
pub(crate) use prepared_once;

/// A timestamp as stored: UTC unix milliseconds.
pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A stored timestamp back; `table` and `column` name it for the error.
pub(crate) fn from_ms(ms: i64, table: &'static str, column: &'static str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::corrupt(table, column, "timestamp out of range"))
}

pub(crate) fn from_ms_opt(
    ms: Option<i64>,
    table: &'static str,
    column: &'static str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    ms.map(|ms| from_ms(ms, table, column)).transpose()
}

/// A stored value parsed back into its domain type: the one conversion
/// point from stored text to a typed value (the domain type's own `parse`,
/// the counterpart of the `as_str` it was written with). A value that does
/// not parse is [`StoreError::Corrupt`]; the parse error names the rule,
/// never the value.
pub(crate) fn parsed<T>(
    result: Result<T, doorstroom_domain::ParseError>,
    table: &'static str,
    column: &'static str,
) -> Result<T, StoreError> {
    result.map_err(|e| StoreError::corrupt(table, column, e.to_string()))
}

/// A stored UUID (text) back.
pub(crate) fn parse_id(raw: &str, table: &'static str, column: &'static str) -> Result<uuid::Uuid, StoreError> {
    uuid::Uuid::parse_str(raw).map_err(|_| StoreError::corrupt(table, column, "not a UUID"))
}

/// Runs `f` in a savepoint (a nested transaction), so that a failed
/// statement is undone without poisoning the caller's transaction, and maps
/// a unique violation to `Conflict(what)` and a foreign-key violation to
/// `NotFound` (the referenced institution does not exist).
pub(crate) fn guarded<T>(
    conn: &mut DbConn,
    what: &'static str,
    f: impl FnOnce(&mut DbConn) -> Result<T, diesel::result::Error>,
) -> Result<T, StoreError> {
    mapped(what, conn.transaction(f))
}

/// A statement's result with a unique violation mapped to
/// `Conflict(what)` and a foreign-key violation to `NotFound`, as
/// [`guarded`] maps them, without its savepoint: for a statement that
/// fails before anything of the caller's is written, or whose failure ends
/// the write.
pub(crate) fn mapped<T>(what: &'static str, result: Result<T, diesel::result::Error>) -> Result<T, StoreError> {
    result.map_err(|e| match e {
        diesel::result::Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => StoreError::Conflict(what),
        diesel::result::Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => StoreError::NotFound,
        other => StoreError::Database(other),
    })
}
