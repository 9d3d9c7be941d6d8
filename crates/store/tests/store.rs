//! Opening, transactions and connection settings.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use doorstroom_domain::Sector;
use doorstroom_store::testing::{TestBackend, TestDb, for_each_backend};
use doorstroom_store::{Backend, DbConn, Store, StoreError, audit, institutions};

type R<T> = Result<T, StoreError>;

#[derive(diesel::QueryableByName)]
struct Pragma {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

fn pragma(store: &Store, name: &str) -> String {
    // The table-valued pragma's column is mostly named after it.
    let column = if name == "busy_timeout" { "timeout" } else { name };
    store
        .read(|c| -> R<String> {
            let DbConn::Sqlite(c) = c else { panic!("not SQLite") };
            let row: Pragma = diesel::sql_query(format!("SELECT CAST({column} AS TEXT) AS value FROM pragma_{name}"))
                .get_result(c)?;
            Ok(row.value)
        })
        .unwrap()
}

#[test]
fn sqlite_connections_are_configured() {
    let db = TestDb::sqlite();
    let store = db.open(3);
    assert_eq!(store.backend(), Backend::Sqlite);
    // Several checkouts, so more than one pooled connection is looked at.
    for _ in 0..3 {
        assert_eq!(pragma(&store, "journal_mode"), "wal");
        assert_eq!(pragma(&store, "foreign_keys"), "1");
        assert_eq!(pragma(&store, "busy_timeout"), "5000");
        assert_eq!(pragma(&store, "synchronous"), "2", "FULL");
    }
    // Three connections held at once: each of the pool's connections.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(3));
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let store = store.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                store
                    .read(|c| -> R<(String, String)> {
                        let DbConn::Sqlite(c) = c else { panic!("not SQLite") };
                        let fk: Pragma =
                            diesel::sql_query("SELECT CAST(foreign_keys AS TEXT) AS value FROM pragma_foreign_keys")
                                .get_result(c)?;
                        let wal: Pragma =
                            diesel::sql_query("SELECT CAST(journal_mode AS TEXT) AS value FROM pragma_journal_mode")
                                .get_result(c)?;
                        barrier.wait();
                        Ok((fk.value, wal.value))
                    })
                    .unwrap()
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), ("1".to_owned(), "wal".to_owned()));
    }
}

#[test]
fn sqlite_url_forms() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().display().to_string();
    for url in [
        format!("sqlite://{root}/a/b/one.db"),
        format!("sqlite:{root}/c/two.db"),
        format!("{root}/d/e/f/three.db"),
    ] {
        let store = Store::open(&url, 2).unwrap();
        assert_eq!(store.backend(), Backend::Sqlite);
        store.ping().unwrap();
    }
    assert!(dir.path().join("a/b/one.db").exists());
    assert!(dir.path().join("c/two.db").exists());
    assert!(dir.path().join("d/e/f/three.db").exists());

    for bad in ["sqlite::memory:", ":memory:", "sqlite://", ""] {
        assert!(
            matches!(Store::open(bad, 2), Err(StoreError::Unavailable(_))),
            "{bad:?}"
        );
    }
    let ok = format!("sqlite://{root}/zero.db");
    assert!(matches!(Store::open(&ok, 0), Err(StoreError::Unavailable(_))));
}

#[test]
fn reopening_keeps_data_and_migrations_are_idempotent() {
    for_each_backend(|db| {
        {
            let store = db.store();
            store
                .write(|c| institutions::insert(c, &institution("25LX", Sector::Vo)))
                .unwrap();
            store.write(|c| audit::append(c, &event(1))).unwrap();
        }
        let store = db.store();
        assert_eq!(
            store.backend(),
            match db.backend {
                TestBackend::Sqlite => Backend::Sqlite,
                TestBackend::Postgres => Backend::Postgres,
            }
        );
        store.ping().unwrap();
        assert!(store.read(|c| institutions::get(c, &brin("25LX"))).unwrap().is_some());
        store.write(|c| audit::append(c, &event(2))).unwrap();
        assert_eq!(doorstroom_store::testing::last_seq(&store), 2);
    });
}

fn write_commits_or_rolls_back(db: &TestDb) {
    let store = db.store();
    let failed: R<()> = store.write(|c| {
        institutions::insert(c, &institution("25LX", Sector::Vo))?;
        Err(StoreError::Conflict("test"))
    });
    assert!(matches!(failed, Err(StoreError::Conflict("test"))));
    assert_eq!(store.read(institutions::list).unwrap(), vec![]);

    store
        .write(|c| institutions::insert(c, &institution("25LX", Sector::Vo)))
        .unwrap();
    assert_eq!(store.read(institutions::list).unwrap().len(), 1);
}

/// `read` refuses writes on both backends, and leaves its connection fit
/// for writing afterwards (one connection in the pool, so it is reused).
fn read_is_read_only(db: &TestDb) {
    let store = db.open(1);
    let result = store.read(|c| institutions::insert(c, &institution("25LX", Sector::Vo)));
    assert!(result.is_err(), "a write inside read must fail");
    let result = store.read(|c| audit::append(c, &event(1)));
    assert!(result.is_err(), "an audit append inside read must fail");
    assert_eq!(store.read(institutions::list).unwrap(), vec![]);

    store
        .write(|c| institutions::insert(c, &institution("25LX", Sector::Vo)))
        .unwrap();
    assert_eq!(store.read(institutions::list).unwrap().len(), 1);
}

/// Callers' own error types only need `From<StoreError>`.
fn custom_error_types(db: &TestDb) {
    #[derive(Debug)]
    enum ApiError {
        Store(StoreError),
        Teapot,
    }
    impl From<StoreError> for ApiError {
        fn from(e: StoreError) -> Self {
            ApiError::Store(e)
        }
    }
    let store = db.store();
    let r: Result<(), ApiError> = store.write(|c| {
        institutions::insert(c, &institution("25LX", Sector::Vo))?;
        Err(ApiError::Teapot)
    });
    assert!(matches!(r, Err(ApiError::Teapot)));
    let r: Result<usize, ApiError> = store.read(|c| Ok(institutions::list(c)?.len()));
    assert!(matches!(r, Ok(0)));
    let r: Result<(), ApiError> = store.write(|c| {
        institutions::insert(c, &institution("25LX", Sector::Vo))?;
        institutions::insert(c, &institution("25LX", Sector::Vo))?;
        Ok(())
    });
    assert!(
        matches!(r, Err(ApiError::Store(StoreError::Conflict("institution")))),
        "{r:?}"
    );
}

doorstroom_store::backend_tests!(write_commits_or_rolls_back, read_is_read_only, custom_error_types);

/// On PostgreSQL a failed statement aborts the transaction and `COMMIT`
/// silently rolls back. If the closure swallowed that error and returned
/// `Ok`, `write` must not report success.
#[test]
fn postgres_swallowed_error_is_not_a_silent_commit() {
    let Some(db) = TestDb::postgres_or_skip() else { return };
    let store = db.store();
    store
        .write(|c| institutions::insert(c, &institution("25LX", Sector::Vo)))
        .unwrap();
    let result = store.write(|c| -> R<()> {
        let _ = c.batch_execute(
            "INSERT INTO institutions (brin, name, sector, status, created_at, updated_at) \
             VALUES ('25LX', 'dup', 'vo', 'active', 0, 0)",
        );
        Ok(())
    });
    assert!(result.is_err(), "{result:?}");
    // The pool's connection is fine afterwards.
    store
        .write(|c| institutions::insert(c, &institution("30AB", Sector::Mbo)))
        .unwrap();
    assert_eq!(store.read(institutions::list).unwrap().len(), 2);
}

#[test]
fn unreachable_postgres_is_unavailable() {
    let err = Store::open("postgres://nobody:secret@127.0.0.1:1/none", 1).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(!err.to_string().contains("secret"), "{err}");
}
