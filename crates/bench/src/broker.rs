//! The broker under load, started in this process as the end-to-end
//! harness does: in a `broker-node` child of the load generator (on a
//! development PKI and database the parent made), or in a fresh temporary
//! directory of its own (`login-flood`'s `flood-target`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use doorstroom_devkit::pki::{self, DevPki};
use doorstroom_devkit::{operator, seed};
use doorstroom_domain::{Brin, Password, Role, Username};
use doorstroom_jose::TrustAnchors;
use doorstroom_server::clock::SystemClock;
use doorstroom_server::config::Settings;
use doorstroom_server::tls::ClientRoots;
use doorstroom_server::{RunningServer, Secrets};
use doorstroom_store::Store;
use doorstroom_store::url::with_database;
use rand::Rng;
use rand::distributions::Alphanumeric;
use tempfile::TempDir;

use crate::BoxError;

/// Where the broker keeps its data.
#[derive(Debug)]
pub enum DatabaseChoice {
    /// A SQLite file in the temporary directory.
    Sqlite,
    /// A database URL given by the caller (a fresh, empty database).
    Given(String),
    /// A database `bench_<random>` created through this admin URL and
    /// dropped afterwards.
    FreshPostgres(String),
}

/// A PostgreSQL database made for this run; dropped with the value.
pub(crate) struct FreshDatabase {
    admin_url: String,
    name: String,
}

impl FreshDatabase {
    /// Creates `bench_<random>` through `admin_url`; returns it with its URL.
    pub(crate) fn create(admin_url: &str) -> Result<(FreshDatabase, String), BoxError> {
        let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(admin_url).map_err(|e| format!("connecting to the admin URL: {e}"))?;
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .map_err(|e| format!("creating database {name}: {e}"))?;
        let url = with_database(admin_url, &name);
        Ok((
            FreshDatabase {
                admin_url: admin_url.to_owned(),
                name,
            },
            url,
        ))
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        let dropped = PgConnection::establish(&self.admin_url)
            .map_err(|e| e.to_string())
            .and_then(|mut admin| {
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name))
                    .map_err(|e| e.to_string())
            });
        match dropped {
            Ok(()) => eprintln!("dropped database {}", self.name),
            Err(e) => eprintln!("could not drop database {}: {e}", self.name),
        }
    }
}

/// A running in-process broker with the demo institutions and an intaker
/// of the mbo (`bench.intaker`).
pub struct Broker {
    server: RunningServer,
    store: Store,
    pki: DevPki,
    // Dropped after the server and the store: first the database, then the files.
    fresh: Option<FreshDatabase>,
    dir: Option<TempDir>,
}

impl Broker {
    /// Starts a broker on `127.0.0.1:0` in a fresh temporary directory (its
    /// own development PKI and secrets), with the settings adjusted by
    /// `configure`.
    pub async fn start_with(
        database: DatabaseChoice,
        workers: u32,
        db_pool: u32,
        configure: impl FnOnce(&mut Settings),
    ) -> Result<Broker, BoxError> {
        let dir = tempfile::Builder::new()
            .prefix("doorstroom-bench-")
            .tempdir()
            .map_err(|e| format!("creating a temporary directory: {e}"))?;
        let (url, fresh) = match database {
            DatabaseChoice::Sqlite => (sqlite_url(dir.path()), None),
            DatabaseChoice::Given(url) => (url, None),
            DatabaseChoice::FreshPostgres(admin) => {
                let (fresh, url) = FreshDatabase::create(&admin)?;
                (url, Some(fresh))
            }
        };
        let node = Node {
            data_dir: dir.path().to_path_buf(),
            pki_dir: dir.path().join("certs"),
            database_url: url,
            workers,
            db_pool,
        };
        let mut broker = Self::start_in(&node, configure).await?;
        broker.fresh = fresh;
        broker.dir = Some(dir);
        Ok(broker)
    }

    /// Starts a broker on `127.0.0.1:0` as `node` says: the development PKI
    /// in its `pki_dir` (made where missing), secrets in `data_dir/secrets`
    /// (made where missing, shared by the nodes of one database), the demo
    /// institutions and `bench.intaker` registered where missing.
    pub async fn start_in(node: &Node, configure: impl FnOnce(&mut Settings)) -> Result<Broker, BoxError> {
        let now = Utc::now();
        let pki = pki::ensure_dev_pki(&node.pki_dir, now).map_err(|e| format!("dev PKI: {e}"))?;
        let mut settings = Settings::load(None).map_err(|e| format!("default settings: {e}"))?;
        settings.server.bind = ([127, 0, 0, 1], 0).into();
        settings.server.workers = usize::try_from(node.workers)?;
        settings.server.shutdown_timeout = std::time::Duration::from_secs(5);
        settings.tls.cert = pki.server_cert_path();
        settings.tls.key = pki.server_key_path();
        settings.tls.client_ca = pki.ca_cert_path();
        settings.jose.trust_anchors = pki.ca_cert_path();
        settings.database.url = node.database_url.clone();
        settings.database.max_connections = node.db_pool;
        let secrets_dir = node.data_dir.join("secrets");
        settings.secrets.pseudonym_key_file = secrets_dir.join("pseudonym.key");
        settings.secrets.token_key_file = secrets_dir.join("token.key");
        settings.secrets.signing_key_file = secrets_dir.join("broker-signing.pem");
        configure(&mut settings);
        Secrets::generate_missing(&settings.secrets).map_err(|e| format!("secrets: {e}"))?;
        let secrets = Secrets::load(&settings.secrets).map_err(|e| format!("secrets: {e}"))?;

        let store = Store::open(&node.database_url, node.db_pool).map_err(|e| format!("opening the store: {e}"))?;
        let roots = ClientRoots::load(&settings.tls.client_ca).map_err(|e| format!("client roots: {e}"))?;
        let ca_pem = std::fs::read(pki.ca_cert_path()).map_err(|e| format!("reading ca.pem: {e}"))?;
        let anchors = TrustAnchors::from_pem(&ca_pem).map_err(|e| format!("trust anchors: {e}"))?;
        seed::register_demo_institutions(&store, now, &pki, &roots, &anchors)
            .map_err(|e| format!("registering the demo institutions: {e}"))?;
        ensure_intaker(&store, &secrets, now)?;

        let server = doorstroom_server::start(settings, store.clone(), secrets, Arc::new(SystemClock))
            .await
            .map_err(|e| format!("starting the broker: {e}"))?;
        Ok(Broker {
            server,
            store,
            pki,
            fresh: None,
            dir: None,
        })
    }

    /// The port the broker listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.server.addr.port()
    }

    /// The CA certificate (PEM path).
    pub fn ca_path(&self) -> PathBuf {
        self.pki.ca_cert_path()
    }

    /// Stops the server, closes the pool, drops a fresh database and removes
    /// the temporary directory.
    pub async fn stop(self) {
        let Broker {
            server,
            store,
            pki: _,
            fresh,
            dir,
        } = self;
        server.stop().await;
        drop(store);
        drop(fresh);
        if let Some(Err(e)) = dir.map(TempDir::close) {
            eprintln!("could not remove the temporary directory: {e}");
        }
    }
}

/// Where and how one broker node runs.
#[derive(Debug, Clone)]
pub struct Node {
    /// Secrets go to `data_dir/secrets`.
    pub data_dir: PathBuf,
    /// The development PKI (as `doorstroom serve --dev` and the devkit lay it out).
    pub pki_dir: PathBuf,
    pub database_url: String,
    pub workers: u32,
    pub db_pool: u32,
}

/// The URL of the SQLite database file in `dir`.
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("doorstroom.db").display())
}

/// The intaker of the mbo the school system acts for, unless there is one
/// already (a second node on the same database).
fn ensure_intaker(store: &Store, secrets: &Secrets, now: chrono::DateTime<Utc>) -> Result<(), BoxError> {
    let username = Username::parse(INTAKER)?;
    let exists = store
        .read(|conn| doorstroom_store::staff::by_username(conn, &username))
        .map_err(|e| format!("looking up the intaker: {e}"))?
        .is_some();
    if exists {
        return Ok(());
    }
    let password: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    operator::create_staff(
        store,
        secrets.totp_key(),
        now,
        username,
        "Bench Intaker",
        Role::Intaker,
        Some(Brin::parse(crate::workload::MBO)?),
        &Password::parse(&password)?,
    )
    .map_err(|e| format!("creating the intaker: {e}"))?;
    Ok(())
}

/// The username of the intaker the bench makes.
pub const INTAKER: &str = "bench.intaker";
