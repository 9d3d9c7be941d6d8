//! Test support: a fresh, empty database per test on either backend, and
//! fault injection for fail-closed tests. Behind the `testing` feature;
//! never enabled in production builds.
//!
//! # PostgreSQL
//! Set `DOORSTROOM_TEST_PG_URL` to an admin URL of a role with `CREATEDB`,
//! e.g. `postgres://doorstroom_test:doorstroom_test@127.0.0.1:5432/postgres`.
//! Each [`TestDb`] then creates `dst_<uuid>` and drops it (`WITH (FORCE)`)
//! when dropped. Without the variable the PostgreSQL variant of a test is
//! skipped with one line on stderr, except when `CI` is `true`: CI must
//! never skip PostgreSQL silently, so there it panics.
//!
//! # Running a test on every backend
//! * Sync tests: write `fn my_test(db: &TestDb)` and list it in
//!   [`backend_tests!`](crate::backend_tests), which makes
//!   `sqlite::my_test` and `postgres::my_test`.
//! * Or loop: [`for_each_backend`]`(|db| …)`, or `for db in TestDb::all()`
//!   (handy in async tests, which can use `db.url` to start a server).
//! * Or one at a time: [`TestDb::sqlite`], [`TestDb::postgres_or_skip`].

// Test helpers report setup failures by panicking, like assertions do.
#![allow(clippy::panic, clippy::expect_used)]

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use tempfile::TempDir;

use crate::{DbConn, Store};

/// The environment variable holding the PostgreSQL admin URL.
pub const PG_URL_VAR: &str = "DOORSTROOM_TEST_PG_URL";

/// Connections per test store: enough for the concurrency tests.
pub const TEST_POOL_SIZE: u32 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

impl TestBackend {
    pub const ALL: [TestBackend; 2] = [TestBackend::Sqlite, TestBackend::Postgres];

    pub const fn name(self) -> &'static str {
        match self {
            TestBackend::Sqlite => "sqlite",
            TestBackend::Postgres => "postgres",
        }
    }
}

/// A fresh, empty database that disappears when dropped. Drop every
/// [`Store`] on it first (declare the `TestDb` before the store).
pub struct TestDb {
    /// Pass to [`Store::open`] (or to the server's configuration).
    pub url: String,
    pub backend: TestBackend,
    inner: Inner,
}

enum Inner {
    Sqlite {
        _dir: TempDir,
    },
    Postgres {
        admin_url: String,
        database: String,
    },
    /// A database that the test made itself and cleans up itself.
    Existing,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl TestDb {
    /// A fresh database on `backend`. Panics if it cannot be made, and for
    /// PostgreSQL if `DOORSTROOM_TEST_PG_URL` is unset.
    pub fn new(backend: TestBackend) -> TestDb {
        match backend {
            TestBackend::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("doorstroom-test-")
                    .tempdir()
                    .expect("create a temporary directory");
                let path = dir.path().join("doorstroom.sqlite3");
                let url = format!("sqlite://{}", path.display());
                TestDb {
                    url,
                    backend,
                    inner: Inner::Sqlite { _dir: dir },
                }
            }
            TestBackend::Postgres => {
                let admin_url = pg_admin_url()
                    .unwrap_or_else(|| panic!("{PG_URL_VAR} is not set: it must name a PostgreSQL role with CREATEDB"));
                let database = format!("dst_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::establish(&admin_url)
                    .unwrap_or_else(|e| panic!("cannot connect to {PG_URL_VAR}: {e}"));
                admin
                    .batch_execute(&format!("CREATE DATABASE \"{database}\""))
                    .unwrap_or_else(|e| panic!("cannot create test database {database}: {e}"));
                TestDb {
                    url: with_database(&admin_url, &database),
                    backend,
                    inner: Inner::Postgres { admin_url, database },
                }
            }
        }
    }

    pub fn sqlite() -> TestDb {
        TestDb::new(TestBackend::Sqlite)
    }

    /// A database the test provides at `url` (e.g. a SQLite file on a file
    /// system of its own, or a throwaway PostgreSQL server) and removes
    /// itself: dropping this leaves it alone.
    pub fn existing(url: String, backend: TestBackend) -> TestDb {
        TestDb {
            url,
            backend,
            inner: Inner::Existing,
        }
    }

    /// A fresh PostgreSQL database, or `None` (after one line on stderr) if
    /// `DOORSTROOM_TEST_PG_URL` is unset. Panics instead when `CI` is true.
    pub fn postgres_or_skip() -> Option<TestDb> {
        if pg_admin_url().is_some() {
            return Some(TestDb::new(TestBackend::Postgres));
        }
        let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        if ci {
            panic!("{PG_URL_VAR} is not set but CI is: the PostgreSQL tests must run in CI, not be skipped");
        }
        eprintln!("skipped the PostgreSQL variant: set {PG_URL_VAR} to run it");
        None
    }

    /// SQLite, and PostgreSQL unless skipped (see [`TestDb::postgres_or_skip`]).
    pub fn all() -> Vec<TestDb> {
        let mut dbs = vec![TestDb::sqlite()];
        dbs.extend(TestDb::postgres_or_skip());
        dbs
    }

    /// Opens (and migrates) a store on this database with
    /// [`TEST_POOL_SIZE`] connections.
    pub fn store(&self) -> Store {
        self.open(TEST_POOL_SIZE)
    }

    pub fn open(&self, max_connections: u32) -> Store {
        Store::open(&self.url, max_connections)
            .unwrap_or_else(|e| panic!("cannot open the {} test store: {e}", self.backend.name()))
    }

    /// A connection of its own, outside the store's pools and their
    /// settings, to this SQLite database migrated by [`TestDb::store`]:
    /// for a test that watches one connection's statements or calls a
    /// repository outside a transaction. Keep `self` alive while it is
    /// used: dropping it removes the database. Panics on PostgreSQL.
    pub fn migrated_sqlite_connection(&self) -> diesel::SqliteConnection {
        assert!(
            matches!(self.backend, TestBackend::Sqlite),
            "a SQLite connection to a {} database",
            self.backend.name()
        );
        drop(self.store());
        let path = self.url.trim_start_matches("sqlite://");
        diesel::SqliteConnection::establish(path).unwrap_or_else(|e| panic!("cannot open the test database: {e}"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Inner::Postgres { admin_url, database } = &self.inner {
            let dropped = PgConnection::establish(admin_url)
                .map_err(|e| e.to_string())
                .and_then(|mut admin| {
                    admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"))
                        .map_err(|e| e.to_string())
                });
            if let Err(e) = dropped {
                eprintln!("could not drop test database {database}: {e}");
            }
        }
    }
}

/// Runs `f` on a fresh database of every backend (PostgreSQL unless
/// skipped), SQLite first.
pub fn for_each_backend(mut f: impl FnMut(&TestDb)) {
    for db in TestDb::all() {
        f(&db);
    }
}

/// Makes `sqlite::NAME` and `postgres::NAME` tests from functions
/// `fn NAME(db: &TestDb)` in the current module.
///
/// ```text
/// fn round_trip(db: &TestDb) { let store = db.store(); /* … */ }
/// doorstroom_store::backend_tests!(round_trip);
/// ```
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let db = $crate::testing::TestDb::new($crate::testing::TestBackend::Sqlite);
                    super::$name(&db);
                }
            )+
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(db) = $crate::testing::TestDb::postgres_or_skip() {
                        super::$name(&db);
                    }
                }
            )+
        }
    };
}

/// The highest sequence number in the audit log (0: none). After
/// [`Store::write`] returns, the write's events are numbered on either
/// backend, so in a test without concurrent writers the last `k` numbers
/// are its `k` events.
pub fn last_seq(store: &Store) -> i64 {
    use crate::schema::audit_events;
    use diesel::dsl::max;
    use diesel::{QueryDsl, RunQueryDsl};
    store
        .read(|c| -> Result<Option<i64>, crate::StoreError> {
            Ok(audit_events::table.select(max(audit_events::seq)).first(c)?)
        })
        .unwrap_or_else(|e| panic!("cannot read the audit log: {e}"))
        .unwrap_or(0)
}

/// Makes every later audit append fail (on PostgreSQL the queueing of the
/// event in the write's transaction, `sequencer`, as well as the numbering
/// after it), for fail-closed tests.
pub fn break_audit_writes(store: &Store) {
    store
        .write(|conn| -> Result<(), crate::StoreError> {
            match conn {
                DbConn::Sqlite(c) => c.batch_execute(
                    "CREATE TRIGGER audit_disabled_by_test BEFORE INSERT ON audit_events \
                     BEGIN SELECT RAISE(ABORT, 'audit disabled by test'); END;",
                )?,
                DbConn::Postgres(c) => c.batch_execute(
                    "CREATE FUNCTION audit_disabled_by_test() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN RAISE EXCEPTION 'audit disabled by test'; END $$; \
                     CREATE TRIGGER audit_disabled_by_test BEFORE INSERT ON audit_events \
                     FOR EACH ROW EXECUTE FUNCTION audit_disabled_by_test(); \
                     CREATE TRIGGER audit_disabled_by_test BEFORE INSERT ON audit_pending \
                     FOR EACH ROW EXECUTE FUNCTION audit_disabled_by_test();",
                )?,
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("cannot break audit writes: {e}"));
}

/// Runs `sql` (statements that write one corrupt row into `table`) with
/// `table`'s `CHECK` constraints out of the way, so that a test can store a
/// value the database would refuse but an older schema, a restore or a
/// manual repair might have left: SQLite ignores them for the statement,
/// PostgreSQL's are dropped for good (the test database is thrown away).
/// Triggers and foreign keys still apply.
pub fn write_past_checks(store: &Store, table: &str, sql: &str) {
    store
        .write(|conn| -> Result<(), crate::StoreError> {
            match conn {
                DbConn::Sqlite(c) => c.batch_execute(&format!(
                    "PRAGMA ignore_check_constraints = ON; {sql}; PRAGMA ignore_check_constraints = OFF;"
                ))?,
                DbConn::Postgres(c) => c.batch_execute(&format!(
                    "DO $$ DECLARE c record; BEGIN \
                     FOR c IN SELECT conname FROM pg_constraint \
                     WHERE conrelid = '{table}'::regclass AND contype = 'c' LOOP \
                     EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', '{table}', c.conname); \
                     END LOOP; END $$; {sql};"
                ))?,
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("cannot write past the checks of {table}: {e}"));
}

fn pg_admin_url() -> Option<String> {
    std::env::var(PG_URL_VAR).ok().filter(|v| !v.trim().is_empty())
}

pub use crate::url::with_database;
