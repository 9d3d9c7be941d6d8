//! The ceiling: what this machine can do with the broker's unavoidable work
//! and nothing else, as a yardstick for the broker's figures.
//!
//! A small stand-alone server in a child process (`ceiling-node`):
//! actix-web + rustls, client certificates required at the handshake
//! (the same development CA), and
//!
//! - `POST /v1/packages`: parses the submission's JSON, verifies its
//!   envelope's ES256 signature with the sender's key (07AB's, parsed once
//!   at start; `doorstroom_jose::verify_envelope`, josekit, as the broker
//!   does), then writes the body (~8 KB) and a ~500 B audit row; answers 201
//!   after they are committed;
//! - `GET /v1/packages/{id}`: reads the body back, writes a ~500 B audit
//!   row (every access audited, as the broker's pull is), answers 200 with
//!   the body after that commit.
//!
//! Writes go to SQLite (WAL, `synchronous=FULL`) through one writer thread
//! that takes everything pending from a channel and commits it as one
//! transaction (group commit, up to [`MAX_BATCH`] writes), then answers each.
//! If a batch fails, every request in it gets 503. Reads use a small pool of
//! read-only connections. `/metrics` exposes the same store counters as the
//! broker (statements, transactions, commits, batches).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use actix_web::{App, HttpResponse, HttpServer, web};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use doorstroom_devkit::pki;
use doorstroom_jose::{PublicJwk, Submission, verify_envelope};
use doorstroom_server::metrics::render_store_counters;
use doorstroom_store::Counters;
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

use crate::BoxError;
use crate::nodes::wait_for_stdin_to_close;

/// At most this many writes go into one transaction.
pub const MAX_BATCH: usize = 512;

diesel::table! {
    packages (id) {
        id -> Text,
        body -> Binary,
    }
}

diesel::table! {
    audit (seq) {
        seq -> BigInt,
        entry -> Text,
    }
}

const SCHEMA: &str = "PRAGMA journal_mode = WAL;
    PRAGMA synchronous = FULL;
    CREATE TABLE IF NOT EXISTS packages (id TEXT PRIMARY KEY NOT NULL, body BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, entry TEXT NOT NULL);";

/// The hidden `ceiling-node` subcommand.
#[derive(Debug, clap::Args)]
pub struct CeilingNodeArgs {
    /// The development PKI: server certificate, CA, 07AB's signing key.
    #[arg(long)]
    dev_dir: PathBuf,
    /// Where the SQLite file goes.
    #[arg(long)]
    data_dir: PathBuf,
    #[arg(long)]
    workers: u32,
}

/// One durable write.
enum Write {
    Package { id: String, body: Vec<u8>, audit: String },
    Audit(String),
}

struct Pending {
    write: Write,
    done: tokio::sync::oneshot::Sender<bool>,
}

/// The store counters of the ceiling.
#[derive(Default)]
struct Tally {
    statements: AtomicU64,
    transactions: AtomicU64,
    commits: AtomicU64,
    batches: AtomicU64,
    batch_members: AtomicU64,
}

struct Ceiling {
    sender_key: PublicJwk,
    writer: mpsc::Sender<Pending>,
    readers: Pool<ConnectionManager<SqliteConnection>>,
    tally: Arc<Tally>,
}

/// Runs the ceiling until standard input closes.
pub async fn serve_ceiling_node(args: CeilingNodeArgs) -> Result<bool, BoxError> {
    doorstroom_server::tls::install_default_provider();
    let tls = tls_config(&args.dev_dir)?;
    let key_file = args.dev_dir.join(crate::workload::VO).join(pki::SIGN_PUBLIC_JWK_FILE);
    let sender_key = PublicJwk::parse(&serde_json::from_slice(&std::fs::read(&key_file)?)?)?;
    let url = args.data_dir.join("ceiling.db").display().to_string();
    let mut conn = SqliteConnection::establish(&url)?;
    conn.batch_execute(SCHEMA)?;
    let tally = Arc::new(Tally::default());
    let (writer, pending) = mpsc::channel();
    let writer_tally = tally.clone();
    std::thread::spawn(move || write_batches(conn, &pending, &writer_tally));
    let readers = Pool::builder()
        .max_size(4)
        .connection_customizer(Box::new(ReadOnly))
        .build(ConnectionManager::new(url))?;
    let state = web::Data::new(Ceiling {
        sender_key,
        writer,
        readers,
        tally,
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/v1/packages", web::post().to(submit))
            .route("/v1/packages/{id}", web::get().to(pull))
            .route("/metrics", web::get().to(metrics))
            .route("/healthz", web::get().to(HttpResponse::Ok))
    })
    .workers(usize::try_from(args.workers)?)
    .bind_rustls_0_23(("127.0.0.1", 0), tls)?;
    let port = server.addrs().first().map(|a| a.port()).ok_or("not listening")?;
    let server = server.run();
    let handle = server.handle();
    let task = tokio::spawn(server);
    println!("ready {port}");
    wait_for_stdin_to_close().await?;
    handle.stop(true).await;
    let _ = task.await;
    Ok(true)
}

/// rustls with the dev server certificate, client certificates required
/// and verified against the dev CA.
fn tls_config(dev_dir: &Path) -> Result<rustls::ServerConfig, BoxError> {
    let mut roots = RootCertStore::empty();
    for ca in CertificateDer::pem_file_iter(dev_dir.join(pki::CA_CERT_FILE))? {
        roots.add(ca?)?;
    }
    let provider = Arc::new(doorstroom_server::tls::provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build()?;
    let chain = CertificateDer::pem_file_iter(dev_dir.join(pki::SERVER_CERT_FILE))?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(dev_dir.join(pki::SERVER_KEY_FILE))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[derive(Debug)]
struct ReadOnly;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for ReadOnly {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA query_only = 1;")
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// The writer thread: everything pending, one transaction, then the answers.
fn write_batches(mut conn: SqliteConnection, pending: &mpsc::Receiver<Pending>, tally: &Tally) {
    while let Ok(first) = pending.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match pending.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let mut statements = 2; // BEGIN, COMMIT
        let committed = conn
            .immediate_transaction(|c| {
                for p in &batch {
                    statements += apply(c, &p.write)?;
                }
                Ok::<_, diesel::result::Error>(())
            })
            .is_ok();
        tally.statements.fetch_add(statements, Ordering::Relaxed);
        tally.transactions.fetch_add(1, Ordering::Relaxed);
        if committed {
            tally.commits.fetch_add(1, Ordering::Relaxed);
            tally.batches.fetch_add(1, Ordering::Relaxed);
            tally.batch_members.fetch_add(batch.len() as u64, Ordering::Relaxed);
        }
        for p in batch {
            let _ = p.done.send(committed);
        }
    }
}

/// Executes one write; returns its number of statements.
fn apply(conn: &mut SqliteConnection, write: &Write) -> QueryResult<u64> {
    match write {
        Write::Package { id, body, audit: entry } => {
            diesel::insert_into(packages::table)
                .values((packages::id.eq(id), packages::body.eq(body)))
                .execute(conn)?;
            diesel::insert_into(audit::table)
                .values(audit::entry.eq(entry))
                .execute(conn)?;
            Ok(2)
        }
        Write::Audit(entry) => {
            diesel::insert_into(audit::table)
                .values(audit::entry.eq(entry))
                .execute(conn)?;
            Ok(1)
        }
    }
}

impl Ceiling {
    /// Hands `write` to the writer; true once it is committed.
    async fn commit(&self, write: Write) -> bool {
        let (done, answer) = tokio::sync::oneshot::channel();
        if self.writer.send(Pending { write, done }).is_err() {
            return false;
        }
        answer.await.unwrap_or(false)
    }
}

/// An audit row of about 500 bytes, as the broker's are.
fn audit_entry(action: &str, package: &str) -> String {
    let entry = serde_json::json!({
        "at": chrono::Utc::now().to_rfc3339(),
        "actor": {"kind": "system", "institution": crate::workload::VO},
        "action": action,
        "resource": {"kind": "package", "id": package},
        "outcome": "allowed",
    })
    .to_string();
    format!("{entry:<500}")
}

async fn submit(state: web::Data<Ceiling>, body: web::Bytes) -> HttpResponse {
    let submission: Submission = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return HttpResponse::BadRequest().body(e.to_string()),
    };
    let envelope = match verify_envelope(&submission.envelope, &state.sender_key) {
        Ok(envelope) => envelope,
        Err(e) => return HttpResponse::UnprocessableEntity().body(e.to_string()),
    };
    let audit = audit_entry("package.submit", &envelope.pid);
    let write = Write::Package {
        id: envelope.pid.clone(),
        body: body.to_vec(),
        audit,
    };
    if state.commit(write).await {
        HttpResponse::Created().json(serde_json::json!({"id": envelope.pid}))
    } else {
        HttpResponse::ServiceUnavailable().finish()
    }
}

async fn pull(state: web::Data<Ceiling>, id: web::Path<String>) -> HttpResponse {
    let id = id.into_inner();
    let (readers, tally, key) = (state.readers.clone(), state.tally.clone(), id.clone());
    let read = web::block(move || {
        let mut conn = readers.get().map_err(|e| e.to_string())?;
        tally.statements.fetch_add(1, Ordering::Relaxed);
        packages::table
            .find(key)
            .select(packages::body)
            .first::<Vec<u8>>(&mut conn)
            .optional()
            .map_err(|e| e.to_string())
    })
    .await;
    match read {
        Ok(Ok(Some(body))) if state.commit(Write::Audit(audit_entry("package.pull", &id))).await => {
            HttpResponse::Ok().content_type("application/json").body(body)
        }
        Ok(Ok(Some(_))) => HttpResponse::ServiceUnavailable().finish(),
        Ok(Ok(None)) => HttpResponse::NotFound().finish(),
        Ok(Err(e)) => HttpResponse::InternalServerError().body(e),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

async fn metrics(state: web::Data<Ceiling>) -> HttpResponse {
    let t = &state.tally;
    let counters = Counters {
        statements: t.statements.load(Ordering::Relaxed),
        prepares: 0,
        transactions: t.transactions.load(Ordering::Relaxed),
        commits: t.commits.load(Ordering::Relaxed),
        batches: t.batches.load(Ordering::Relaxed),
        batch_members: t.batch_members.load(Ordering::Relaxed),
    };
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(render_store_counters(&counters))
}
