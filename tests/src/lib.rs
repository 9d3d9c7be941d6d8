//! The end-to-end test harness: a real broker on an ephemeral port over real
//! TLS, with a fresh development PKI and a fresh database (SQLite or
//! PostgreSQL) per test, and an injected clock that tests move.

// Harness set-up failures are test failures.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

pub mod throwaway_pg;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use doorstroom_client::Client;
use doorstroom_devkit::pki::{self, DemoInstitution, DevInstitutionFiles, DevPki};
use doorstroom_devkit::{operator, seed};
use doorstroom_domain::{Brin, Clock, Password, Role, Sector, Username};
use doorstroom_jose::TrustAnchors;
use doorstroom_server::clock::ManualClock;
use doorstroom_server::config::Settings;
use doorstroom_server::tls::ClientRoots;
use doorstroom_server::{RunningServer, Secrets, StartError};
use doorstroom_store::Store;
pub use doorstroom_store::testing::{TestBackend, TestDb, break_audit_writes};
use serde_json::Value;
use tempfile::TempDir;

pub const VO: &str = "07AB";
pub const MBO: &str = "25LX";
pub const OTHER_MBO: &str = "27GH";

/// A second sending school, beside the demo set's one (see
/// [`TestBroker::add_institution`]): for tests of what one school may see
/// or do about another's students.
pub const SECOND_VO: DemoInstitution = DemoInstitution {
    brin: "08CD",
    name: "Vo-school Het Anker Test",
    sector: Sector::Vo,
    oin: "00000001000000080000",
};

/// A third sending school, a vso.
pub const THIRD_VO: DemoInstitution = DemoInstitution {
    brin: "09EF",
    name: "Vso De Horizon Test",
    sector: Sector::Vso,
    oin: "00000001000000090000",
};

/// A running broker and everything needed to call it.
pub struct TestBroker {
    pub server: RunningServer,
    pub store: Store,
    pub clock: ManualClock,
    pub pki: DevPki,
    pub base_url: String,
    pub settings: Settings,
    pub backend: TestBackend,
    /// The last TOTP step [`TestBroker::totp`] handed out, per secret.
    totp_steps: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    // Dropped last: the database and the files.
    _db: TestDb,
    pub dir: TempDir,
}

/// Credentials of a staff account made for a test.
#[derive(Clone)]
pub struct StaffCredentials {
    pub username: String,
    pub password: String,
    pub totp_secret: String,
    pub id: String,
}

impl TestBroker {
    /// A broker on `db` with the demo institutions registered.
    pub async fn start(db: TestDb) -> TestBroker {
        Self::start_with(db, |_| {}).await
    }

    /// The same, with the settings adjusted by `configure` first.
    pub async fn start_with(db: TestDb, configure: impl FnOnce(&mut Settings)) -> TestBroker {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = ManualClock::default();
        let now = clock.now();
        let certs = dir.path().join("certs");
        let pki = pki::ensure_dev_pki(&certs, now).expect("dev PKI");

        let mut settings = Settings::load(None).expect("default settings");
        settings.server.bind = "127.0.0.1:0".parse().expect("address");
        settings.server.workers = 2;
        settings.tls.cert = pki.server_cert_path();
        settings.tls.key = pki.server_key_path();
        settings.tls.client_ca = pki.ca_cert_path();
        settings.jose.trust_anchors = pki.ca_cert_path();
        settings.database.url = db.url.clone();
        let secrets_dir = dir.path().join("secrets");
        settings.secrets.pseudonym_key_file = secrets_dir.join("pseudonym.key");
        settings.secrets.token_key_file = secrets_dir.join("token.key");
        settings.secrets.signing_key_file = secrets_dir.join("broker-signing.pem");
        // The safety net's assessment runs at start; a test runs it itself
        // when its clock and cohorts are set (or switches it on).
        settings.safety_net.assess_interval = None;
        configure(&mut settings);
        Secrets::generate_missing(&settings.secrets).expect("secrets");
        let secrets = Secrets::load(&settings.secrets).expect("load secrets");

        let store = Store::open(&db.url, 8).expect("open store");
        let roots = ClientRoots::load(&settings.tls.client_ca).expect("client roots");
        let anchors = TrustAnchors::from_pem(&std::fs::read(pki.ca_cert_path()).expect("ca")).expect("anchors");
        seed::register_demo_institutions(&store, now, &pki, &roots, &anchors).expect("demo institutions");

        let server = doorstroom_server::start(settings.clone(), store.clone(), secrets, Arc::new(clock.clone()))
            .await
            .expect("start broker");
        let base_url = base_url(&server);
        TestBroker {
            server,
            store,
            clock,
            pki,
            base_url,
            settings,
            backend: db.backend,
            totp_steps: Default::default(),
            _db: db,
            dir,
        }
    }

    /// Runs `test` against a fresh broker on every backend (PostgreSQL is
    /// mandatory in CI; see `doorstroom_store::testing`).
    pub async fn on_every_backend<F, Fut>(test: F)
    where
        F: Fn(TestBroker) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        Self::on_every_backend_with(|_| {}, test).await;
    }

    /// [`TestBroker::on_every_backend`], with the settings adjusted by
    /// `configure` first.
    pub async fn on_every_backend_with<F, Fut>(configure: impl Fn(&mut Settings), test: F)
    where
        F: Fn(TestBroker) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        for db in TestDb::all() {
            let backend = db.backend;
            eprintln!("-- on {}", backend.name());
            let broker = TestBroker::start_with(db, &configure).await;
            test(broker).await;
        }
    }

    /// Registers one more institution with its own client certificate and
    /// signing and encryption keys, laid out like a demo institution's (so
    /// [`TestBroker::system`] and [`TestBroker::institution_dir`] work for
    /// it too).
    pub fn add_institution(&mut self, inst: &DemoInstitution) -> DevInstitutionFiles {
        let now = self.clock.now();
        let files = self.pki.add_institution(inst, now).expect("institution files");
        let roots = ClientRoots::load(&self.settings.tls.client_ca).expect("client roots");
        let anchors = self.trust_anchors();
        seed::register_institution(&self.store, now, &files, &roots, &anchors).expect("register institution");
        files
    }

    /// A raw TLS connection to the broker (trusting its CA, no client
    /// certificate), for tests that write HTTP by hand: slow or malformed
    /// requests no HTTP client would send.
    pub async fn raw_tls(&self) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
        use rustls_pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pki_types::CertificateDer::pem_file_iter(self.pki.ca_cert_path()).expect("ca.pem") {
            roots.add(cert.expect("CA certificate")).expect("trust the CA");
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(self.server.addr).await.expect("connect");
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(rustls_pki_types::ServerName::try_from("localhost").expect("name"), tcp)
            .await
            .expect("TLS handshake")
    }

    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.pki.ca_cert_path()).expect("ca.pem")
    }

    /// The dev CA as trust anchors for x5c chains (what a school system
    /// verifies signatures and recipients' keys against).
    pub fn trust_anchors(&self) -> TrustAnchors {
        TrustAnchors::from_pem(&self.ca_pem()).expect("anchors")
    }

    /// A client without certificate or token.
    pub fn anonymous(&self) -> Client {
        Client::new(&self.base_url, &self.ca_pem(), None).expect("client")
    }

    /// A client with a PEM identity (certificate and key).
    pub fn with_identity(&self, cert_pem: &str, key_pem: &str) -> Client {
        let identity = format!("{cert_pem}\n{key_pem}");
        Client::new(&self.base_url, &self.ca_pem(), Some(identity.as_bytes())).expect("client")
    }

    pub fn institution_dir(&self, brin: &str) -> PathBuf {
        self.pki.institution_dir(&Brin::parse(brin).expect("brin"))
    }

    /// A plain HTTP client for this broker (trusting its CA), as the school
    /// system of `brin` (with its client certificate) or anonymous: for
    /// tests that look at response headers the typed client does not show.
    pub fn http(&self, brin: Option<&str>) -> reqwest::Client {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&self.ca_pem()).expect("ca"))
            .https_only(true);
        if let Some(brin) = brin {
            let dir = self.institution_dir(brin);
            let cert = std::fs::read_to_string(dir.join(pki::CLIENT_CERT_FILE)).expect("client cert");
            let key = std::fs::read_to_string(dir.join(pki::CLIENT_KEY_FILE)).expect("client key");
            let identity = reqwest::Identity::from_pem(format!("{cert}\n{key}").as_bytes()).expect("identity");
            builder = builder.identity(identity);
        }
        builder.build().expect("http client")
    }

    /// The school system of a demo institution, with its client certificate.
    pub fn system(&self, brin: &str) -> Client {
        let dir = self.institution_dir(brin);
        let cert = std::fs::read_to_string(dir.join(pki::CLIENT_CERT_FILE)).expect("client cert");
        let key = std::fs::read_to_string(dir.join(pki::CLIENT_KEY_FILE)).expect("client key");
        self.with_identity(&cert, &key)
    }

    /// Creates a staff account through the operator's path.
    pub fn create_staff(&self, username: &str, role: Role, institution: Option<&str>) -> StaffCredentials {
        let password = format!("pw-{}-{}", username, uuid::Uuid::new_v4().simple());
        let totp_key = doorstroom_server::secrets::TotpKey::load(&self.settings.secrets).expect("TOTP key");
        let created = operator::create_staff(
            &self.store,
            &totp_key,
            self.clock.now(),
            Username::parse(username).expect("username"),
            "Test Person",
            role,
            institution.map(|b| Brin::parse(b).expect("brin")),
            &Password::parse(&password).expect("password"),
        )
        .expect("create staff");
        StaffCredentials {
            username: username.to_owned(),
            password,
            totp_secret: created.totp_secret,
            id: created.account.id.to_string(),
        }
    }

    /// A TOTP code the broker accepts at its clock and that this harness
    /// has not handed out before: the broker takes each time step once per
    /// account (a replayed code is refused), and the test clock stands
    /// still. So successive calls go through the steps the broker allows
    /// around its clock (one before, the current, one after, as a skewed
    /// authenticator would): three logins of one account per clock
    /// instant. Tests of replay reuse one code.
    pub fn totp(&self, secret: &str) -> String {
        const STEP: i64 = 30;
        let current = self.clock.now().timestamp() / STEP;
        let mut steps = self.totp_steps.lock().unwrap();
        let step = match steps.get(secret) {
            Some(&last) if last >= current - 1 => last + 1,
            _ => current - 1,
        };
        assert!(
            step <= current + 1,
            "more than three logins of one account at one clock instant: advance the clock"
        );
        steps.insert(secret.to_owned(), step);
        totp_at(
            secret,
            DateTime::from_timestamp(step * STEP, 0).expect("TOTP step time"),
        )
    }

    /// Logs in and returns a client carrying the access token.
    pub async fn login(&self, creds: &StaffCredentials) -> Client {
        self.anonymous()
            .login(&creds.username, &creds.password, &self.totp(&creds.totp_secret))
            .await
            .unwrap_or_else(|e| panic!("login of {} failed: {e}", creds.username))
    }

    /// A logged-in account of `role`, made for the test.
    pub async fn staff(&self, username: &str, role: Role, institution: Option<&str>) -> Client {
        let creds = self.create_staff(username, role, institution);
        self.login(&creds).await
    }

    /// Everything the database holds, as text: the SQLite files (database,
    /// WAL and shared memory) or a `pg_dump` of the PostgreSQL database. For
    /// tests that search it for what must never be stored.
    pub fn database_dump(&self) -> Vec<u8> {
        match self.backend {
            TestBackend::Sqlite => {
                let path = self._db.url.trim_start_matches("sqlite://").to_owned();
                let mut bytes = Vec::new();
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    if let Ok(content) = std::fs::read(format!("{path}{suffix}")) {
                        bytes.extend(content);
                    }
                }
                assert!(!bytes.is_empty(), "no SQLite database at {path}");
                bytes
            }
            TestBackend::Postgres => {
                let output = std::process::Command::new("pg_dump")
                    .arg("--data-only")
                    .arg(&self._db.url)
                    .output()
                    .expect("pg_dump runs");
                assert!(
                    output.status.success(),
                    "pg_dump: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                output.stdout
            }
        }
    }

    /// Starts another broker on this broker's database, PKI, secrets,
    /// settings and clock, as a restart would (this one keeps running):
    /// for tests of the broker's own check of its audit log at start.
    pub async fn start_again(&self) -> Result<RunningServer, StartError> {
        let secrets = Secrets::load(&self.settings.secrets).expect("load secrets");
        let store = Store::open(&self._db.url, 8).expect("open store");
        doorstroom_server::start(self.settings.clone(), store, secrets, Arc::new(self.clock.clone())).await
    }

    /// All audit events, read straight from the store.
    pub fn audit_events(&self) -> Vec<doorstroom_domain::AuditEvent> {
        self.store
            .read(|conn| {
                doorstroom_store::audit::list(
                    conn,
                    &doorstroom_store::audit::AuditQuery {
                        limit: 1000,
                        ..Default::default()
                    },
                )
            })
            .expect("audit events")
            .into_iter()
            .map(|(_, e)| e)
            .collect()
    }
}

/// The base URL of a broker node started by this harness (for a second
/// node, see [`TestBroker::start_again`]): its certificate names `localhost`.
pub fn base_url(server: &RunningServer) -> String {
    format!("https://localhost:{}", server.addr.port())
}

/// Captures every log line of this test process (JSON, debug level and up),
/// so that tests can check what the broker writes to its logs.
pub fn capture_logs() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        use tracing_subscriber::layer::SubscriberExt;
        // As the broker logs (`crates/cli`): with its layer for requests
        // the HTTP layer cannot parse.
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(|| LogBuffer)
            .finish()
            .with(doorstroom_server::malformed_http::MalformedHttpLog);
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

static LOGS: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

struct LogBuffer;

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut logs) = LOGS.lock() {
            logs.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What was logged so far (see [`capture_logs`]).
pub fn captured_logs() -> Vec<u8> {
    LOGS.lock().map(|l| l.clone()).unwrap_or_default()
}

/// The TOTP code for `secret` at `time`.
pub fn totp_at(secret: &str, time: DateTime<Utc>) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .expect("base32 secret");
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, String::new()).expect("totp");
    totp.generate(time.timestamp() as u64)
}

/// Asserts that `body` is an RFC 9457 problem with `status`, and returns its
/// `detail`.
pub fn assert_problem(status: u16, body: &Value, expected_status: u16) -> String {
    assert_eq!(status, expected_status, "unexpected status; body: {body}");
    assert_eq!(
        body["status"].as_u64(),
        Some(u64::from(expected_status)),
        "problem status: {body}"
    );
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:doorstroom:problem:")),
        "problem type: {body}"
    );
    assert!(body["title"].is_string(), "problem title: {body}");
    body["detail"].as_str().unwrap_or_default().to_owned()
}

/// `raw`, a problem document, without its `instance` member (the request
/// it answers, see `doorstroom_server::error::Problem`): two answers that
/// must not tell "does not exist" from "not yours" apart are byte for byte
/// the same but for that. Any other body is returned as it is.
pub fn without_instance(raw: &[u8]) -> Vec<u8> {
    const MEMBER: &[u8] = b",\"instance\":\"";
    let Some(start) = raw.windows(MEMBER.len()).position(|w| w == MEMBER) else {
        return raw.to_vec();
    };
    let value = start + MEMBER.len();
    let Some(length) = raw[value..].iter().position(|&b| b == b'"') else {
        return raw.to_vec();
    };
    let mut rest = raw[..start].to_vec();
    rest.extend_from_slice(&raw[value + length + 1..]);
    rest
}

/// `body`, a problem document, without its `instance` member (see
/// [`without_instance`]).
pub fn problem_without_instance(body: &Value) -> Value {
    let mut body = body.clone();
    if let Value::Object(members) = &mut body {
        members.remove("instance");
    }
    body
}
