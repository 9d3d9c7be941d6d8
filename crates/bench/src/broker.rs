//! The broker under load: started in-process, as the end-to-end harness
//! does, with everything it needs in a fresh temporary directory.

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
use doorstroom_store::url::with_database;
use doorstroom_store::{Backend, Store};
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

/// A running in-process broker with the demo institutions and one intaker.
pub struct Broker {
    server: RunningServer,
    store: Store,
    pki: DevPki,
    intaker_id: String,
    // Dropped after the server and the store: first the database, then the files.
    fresh: Option<FreshDatabase>,
    dir: TempDir,
}

impl Broker {
    /// Starts a broker on `127.0.0.1:0` with `workers` actix workers and a
    /// database pool of `db_pool` connections.
    pub async fn start(database: DatabaseChoice, workers: u32, db_pool: u32) -> Result<Broker, BoxError> {
        Self::start_with(database, workers, db_pool, |_| {}).await
    }

    /// The same, with the settings adjusted by `configure` first.
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
            DatabaseChoice::Sqlite => (format!("sqlite://{}", dir.path().join("doorstroom.db").display()), None),
            DatabaseChoice::Given(url) => (url, None),
            DatabaseChoice::FreshPostgres(admin) => {
                let (fresh, url) = FreshDatabase::create(&admin)?;
                (url, Some(fresh))
            }
        };
        let now = Utc::now();
        let pki = pki::ensure_dev_pki(&dir.path().join("certs"), now).map_err(|e| format!("dev PKI: {e}"))?;

        let mut settings = Settings::load(None).map_err(|e| format!("default settings: {e}"))?;
        settings.server.bind = ([127, 0, 0, 1], 0).into();
        settings.server.workers = usize::try_from(workers)?;
        settings.server.shutdown_timeout = std::time::Duration::from_secs(5);
        settings.tls.cert = pki.server_cert_path();
        settings.tls.key = pki.server_key_path();
        settings.tls.client_ca = pki.ca_cert_path();
        settings.jose.trust_anchors = pki.ca_cert_path();
        settings.database.url = url.clone();
        settings.database.max_connections = db_pool;
        let secrets_dir = dir.path().join("secrets");
        settings.secrets.pseudonym_key_file = secrets_dir.join("pseudonym.key");
        settings.secrets.token_key_file = secrets_dir.join("token.key");
        settings.secrets.signing_key_file = secrets_dir.join("broker-signing.pem");
        configure(&mut settings);
        Secrets::generate_missing(&settings.secrets).map_err(|e| format!("secrets: {e}"))?;
        let secrets = Secrets::load(&settings.secrets).map_err(|e| format!("secrets: {e}"))?;

        let store = Store::open(&url, db_pool).map_err(|e| format!("opening the store: {e}"))?;
        let roots = ClientRoots::load(&settings.tls.client_ca).map_err(|e| format!("client roots: {e}"))?;
        let ca_pem = std::fs::read(pki.ca_cert_path()).map_err(|e| format!("reading ca.pem: {e}"))?;
        let anchors = TrustAnchors::from_pem(&ca_pem).map_err(|e| format!("trust anchors: {e}"))?;
        seed::register_demo_institutions(&store, now, &pki, &roots, &anchors)
            .map_err(|e| format!("registering the demo institutions: {e}"))?;

        let password: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(32)
            .map(char::from)
            .collect();
        let intaker = operator::create_staff(
            &store,
            secrets.totp_key(),
            now,
            Username::parse("bench.intaker")?,
            "Bench Intaker",
            Role::Intaker,
            Some(Brin::parse(crate::workload::MBO)?),
            &Password::parse(&password)?,
        )
        .map_err(|e| format!("creating the intaker: {e}"))?;

        let server = doorstroom_server::start(settings, store.clone(), secrets, Arc::new(SystemClock))
            .await
            .map_err(|e| format!("starting the broker: {e}"))?;
        Ok(Broker {
            server,
            store,
            pki,
            intaker_id: intaker.account.id.to_string(),
            fresh,
            dir,
        })
    }

    /// The port the broker listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.server.addr.port()
    }

    /// `sqlite` or `postgresql`.
    pub fn backend_name(&self) -> &'static str {
        match self.store.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }

    /// The development PKI's directory (CA, and one folder per institution).
    pub fn pki_dir(&self) -> &Path {
        &self.pki.dir
    }

    /// The CA certificate (PEM path).
    pub fn ca_path(&self) -> PathBuf {
        self.pki.ca_cert_path()
    }

    /// The staff id of the intaker of the mbo.
    pub fn intaker_id(&self) -> String {
        self.intaker_id.clone()
    }

    /// Stops the server, closes the pool, drops a fresh database and removes
    /// the temporary directory.
    pub async fn stop(self) {
        let Broker {
            server,
            store,
            pki: _,
            intaker_id: _,
            fresh,
            dir,
        } = self;
        server.stop().await;
        drop(store);
        drop(fresh);
        if let Err(e) = dir.close() {
            eprintln!("could not remove the temporary directory: {e}");
        }
    }
}
