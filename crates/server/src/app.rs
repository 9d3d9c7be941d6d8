//! Assembling and running the broker.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix_web::dev::{ResourceDef, ServerHandle};
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use doorstroom_domain::Clock;
use doorstroom_jose::TrustAnchors;
use doorstroom_store::{Store, StoreError};

use crate::checkpoint_schedule;
use crate::checkpoints::{self, CheckpointSigner, LogCheckError};
use crate::config::Settings;
use crate::credentials::PasswordChecks;
use crate::error::ApiError;
use crate::extract::BodyLimit;
use crate::handlers::{
    applications, audit, consents, contacts, erasure, events, institutions, ops, packages, regional, register, report,
    safety_net, staff, tlog, transparency, webhooks,
};
use crate::metrics::Metrics;
use crate::purge;
use crate::request_id::observe;
use crate::secrets::{self, Secrets};
use crate::signer::BrokerSigner;
use crate::state::AppState;
use crate::tls::{self, ClientRoots};
use crate::tokens::TokenIssuer;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("trust anchors {path}: {cause}")]
    TrustAnchors { path: String, cause: String },
    #[error("broker signing key: {0}")]
    SigningKey(String),
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The audit log failed the broker's own check: the error names the
    /// place (the event, stored hash or checkpoint).
    #[error("refusing to start: {0}")]
    AuditLog(#[from] LogCheckError),
    /// The audit log could not be checked (e.g. the database is down).
    #[error("refusing to start: the audit log could not be checked: {0}")]
    AuditCheck(String),
    #[error("listening on {addr}: {cause}")]
    Bind { addr: SocketAddr, cause: std::io::Error },
    /// TOTP secrets stored in plain text could not be sealed.
    #[error("refusing to start: sealing stored TOTP secrets failed: {0}")]
    SealTotpSecrets(String),
    #[error("password check threads: {0}")]
    PasswordChecks(std::io::Error),
    /// A configured region names an institution that is not registered.
    #[error("refusing to start: {0}")]
    Regions(String),
}

/// Routes, shared by the server and tests.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // Built once, served by `ops::openapi`: the handlers do not build the
    // document that is built from them.
    cfg.app_data(web::Data::new(crate::openapi::document()))
        .service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(ops::openapi)
        .service(staff::login)
        .service(staff::whoami)
        .service(staff::create)
        .service(staff::list)
        .service(packages::intakers)
        .service(staff::deactivate)
        .service(staff::reset_second_factor)
        .service(institutions::register)
        .service(institutions::list)
        .service(institutions::get_one)
        .service(institutions::update)
        .service(institutions::jwks)
        .service(institutions::list_keys)
        .service(institutions::add_key)
        .service(institutions::retire_key)
        .service(institutions::revoke_key)
        .service(institutions::list_certificates)
        .service(institutions::bind_certificate)
        .service(institutions::revoke_certificate)
        .service(audit::events)
        .service(tlog::latest_checkpoint)
        .service(tlog::sign_checkpoint)
        .service(tlog::verifier_key)
        .service(tlog::entries)
        .service(tlog::inclusion_proof)
        .service(tlog::consistency_proof)
        .service(tlog::pruned_prefix)
        .service(audit::search)
        .service(applications::register)
        .service(applications::search)
        // Any other method on the search path is 405, not taken for an
        // application id by the route below.
        .service(web::resource("/v1/applications/search").default_service(web::to(no_such_route)))
        .service(applications::get_one)
        .service(applications::report_status)
        .service(
            web::resource("/v1/packages")
                .app_data(BodyLimit(doorstroom_jose::MAX_SUBMISSION_BYTES))
                .route(web::post().to(packages::submit))
                .default_service(web::to(no_such_route)),
        )
        .service(packages::inbox)
        .service(packages::pull)
        .service(packages::acknowledge)
        .service(packages::broker_jwks)
        .service(events::events)
        .service(webhooks::set)
        .service(webhooks::get_one)
        .service(webhooks::remove)
        .service(contacts::get_one)
        .service(contacts::set)
        .service(safety_net::add)
        .service(safety_net::remove)
        .service(safety_net::at_risk)
        .service(regional::figures)
        .service(register::register_of_processing)
        .service(consents::record_inspection)
        .service(consents::give)
        .service(consents::withdraw)
        .service(consents::history)
        .service(report::subject_report)
        .service(erasure::erase)
        .service(transparency::issue)
        .service(transparency::revoke)
        .configure(crate::console::routes)
        .configure(crate::mijn::routes);
}

/// Answers a request that no route took: 405 with `Allow` when its path is
/// one of the API's (it is the method that is wrong), otherwise 404.
async fn no_such_route(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    match methods_of(req.path()) {
        Some(allow) => Err(ApiError::MethodNotAllowed { allow }),
        None => Err(ApiError::NotFound),
    }
}

/// The methods the API path `path` takes (as an `Allow` value), if it is
/// one: the paths and methods of the OpenAPI document, which a test holds
/// to the routes.
fn methods_of(path: &str) -> Option<String> {
    static PATHS: OnceLock<Vec<(ResourceDef, Vec<String>)>> = OnceLock::new();
    let paths = PATHS.get_or_init(|| {
        let mut document = crate::openapi::document();
        document
            .paths
            .paths
            .iter_mut()
            .map(|(pattern, item)| {
                let methods = crate::openapi::operations(item)
                    .into_iter()
                    .map(|(method, _)| method.to_ascii_uppercase())
                    .collect();
                (ResourceDef::new(pattern.as_str()), methods)
            })
            .collect()
    });
    // Of the templates the path fits, the most specific: a literal segment
    // is taken before a parameter (`/v1/applications/search` is not an
    // application id, which is a UUID).
    let fitting: Vec<&(ResourceDef, Vec<String>)> = paths.iter().filter(|(def, _)| def.is_match(path)).collect();
    let fewest = fitting.iter().map(|(def, _)| parameters(def)).min()?;
    let mut allowed: Vec<&str> = fitting
        .iter()
        .filter(|(def, _)| parameters(def) == fewest)
        .flat_map(|(_, methods)| methods.iter().map(String::as_str))
        .collect();
    allowed.sort_unstable();
    allowed.dedup();
    (!allowed.is_empty()).then(|| allowed.join(", "))
}

/// The number of parameters in a route template.
fn parameters(def: &ResourceDef) -> usize {
    def.pattern().map_or(0, |pattern| pattern.matches('{').count())
}

/// A running broker.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: web::Data<AppState>,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Scheduled checkpoints; stopped when the server goes.
    _checkpoints: checkpoint_schedule::Scheduler,
    /// The scheduled retention purge, unless switched off.
    _purge: Option<purge::Scheduler>,
    /// The webhook deliverer, unless switched off.
    _webhooks: Option<crate::schedule::Scheduler>,
    /// The safety net's daily assessment, unless switched off.
    _safety_net: Option<crate::schedule::Scheduler>,
}

impl RunningServer {
    /// Stops accepting connections and lets in-flight requests finish.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.task.await;
    }

    /// Runs until the server stops (SIGINT/SIGTERM: graceful shutdown).
    pub async fn wait(self) -> std::io::Result<()> {
        self.task.await.map_err(|e| std::io::Error::other(e.to_string()))?
    }
}

/// Builds the state from `settings` and starts listening.
pub async fn start(
    settings: Settings,
    store: Store,
    secrets: Secrets,
    clock: Arc<dyn Clock>,
) -> Result<RunningServer, StartError> {
    tls::install_default_provider();
    // A request waits for a pooled connection at most this long, once.
    let store = store
        .with_checkout_timeout(settings.database.checkout_timeout)
        .with_group_commit(settings.database.group_commit);
    let client_roots = ClientRoots::load(&settings.tls.client_ca)?;
    let tls_config = tls::server_config(&settings.tls.cert, &settings.tls.key, &client_roots)?;
    let trust_anchors = load_trust_anchors(&settings.jose.trust_anchors)?;
    let signer = BrokerSigner::from_pem(secrets.signing_key_pem()).map_err(StartError::SigningKey)?;
    let checkpoint_signer = CheckpointSigner::from_pem(&settings.audit.origin, secrets.signing_key_pem())
        .map_err(StartError::SigningKey)?;
    let (store, checkpoint_signer) = verify_audit_log(store, checkpoint_signer).await?;
    let (store, secrets) = seal_totp_secrets(store, secrets).await?;
    let store = check_regions(store, &settings.regional.regions).await?;
    let password_checks =
        PasswordChecks::start(settings.auth.password_check_slots()).map_err(StartError::PasswordChecks)?;
    let metrics = Arc::new(Metrics::new()?.watching(store.clone()));
    let feed_wake = Arc::new(tokio::sync::watch::Sender::new(0_u64));
    let state = web::Data::new(AppState {
        feed_wake: feed_wake.clone(),
        checkpoints: checkpoint_signer,
        tokens: TokenIssuer::new(secrets.token_key(), settings.auth.access_token_ttl),
        settings: settings.clone(),
        app: doorstroom_app::App {
            store,
            clock,
            secrets,
            signer,
            trust_anchors,
            rules: doorstroom_app::packages::ExchangeRules {
                require_inspection: settings.exchange.require_inspection,
                lawful_basis: settings.lawful_basis,
                retention: settings.retention.policy,
                anomaly_pulls_per_hour: settings.audit.anomaly_pulls_per_hour,
                deadlines: settings.safety_net.deadlines,
            },
            keys: doorstroom_app::key_cache::KeyCache::default(),
            regional: settings.regional.clone(),
        },
        client_roots,
        metrics,
        password_checks,
    });
    // Every write that appended a feed entry wakes this node's long polls
    // once it has committed (whichever use case or job wrote it).
    state
        .app
        .store
        .on_feed_committed(move || feed_wake.send_modify(|n| *n = n.wrapping_add(1)));
    serve(state, tls_config)
}

/// Listens with `state` and starts the broker's scheduled jobs.
fn serve(state: web::Data<AppState>, tls_config: rustls::ServerConfig) -> Result<RunningServer, StartError> {
    let settings = &state.settings;
    let app_state = state.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                ApiError::Malformed {
                    detail: format!("query: {err}"),
                    pointer: None,
                }
                .into()
            }))
            .app_data(web::PathConfig::default().error_handler(|err, _| {
                ApiError::Malformed {
                    detail: format!("path: {err}"),
                    pointer: None,
                }
                .into()
            }))
            .wrap(from_fn(crate::refusals::audit_refusals))
            .wrap(
                DefaultHeaders::new()
                    .add(("Strict-Transport-Security", "max-age=31536000"))
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("Cache-Control", "no-store"))
                    .add(("X-Frame-Options", "DENY"))
                    .add(("Referrer-Policy", "no-referrer"))
                    .add(("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")),
            )
            // Every request body is held to the configured time limits,
            // whatever reads it (408 when they are met).
            .wrap(from_fn(crate::extract::limit_body_time))
            .wrap(from_fn(observe))
            .configure(routes)
            .default_service(web::to(no_such_route))
    })
    .on_connect(tls::on_connect)
    .shutdown_timeout(settings.server.shutdown_timeout.as_secs())
    .client_request_timeout(Duration::from_secs(30));
    if settings.server.workers > 0 {
        server = server.workers(settings.server.workers);
    }
    let addr = settings.server.bind;
    let server = server
        .bind_rustls_0_23(addr, tls_config)
        .map_err(|cause| StartError::Bind { addr, cause })?;
    let bound = server.addrs().first().copied().unwrap_or(addr);
    let server = server.run();
    let handle = server.handle();
    let task = tokio::spawn(server);
    let scheduler = checkpoint_schedule::spawn_scheduler(state.clone(), settings.audit.checkpoint_interval);
    let purge = settings.retention.purge_interval.map(|interval| {
        purge::spawn_scheduler(
            state.clone(),
            settings.retention.policy,
            settings.retention.purge,
            interval,
        )
    });
    let deliverer = crate::webhooks::spawn_deliverer(state.clone());
    let safety_net = settings
        .safety_net
        .assess_interval
        .map(|interval| crate::safety_net_schedule::spawn_scheduler(state.clone(), interval));
    tracing::info!(addr = %bound, "broker listening");
    Ok(RunningServer {
        addr: bound,
        state,
        handle,
        task,
        _checkpoints: scheduler,
        _purge: purge,
        _webhooks: deliverer,
        _safety_net: safety_net,
    })
}

/// The CA roots that sign the schools' JOSE keys.
fn load_trust_anchors(path: &std::path::Path) -> Result<TrustAnchors, StartError> {
    let refused = |cause: String| StartError::TrustAnchors {
        path: path.display().to_string(),
        cause,
    };
    let pem = std::fs::read(path).map_err(|e| refused(e.to_string()))?;
    TrustAnchors::from_pem(&pem).map_err(|e| refused(e.to_string()))
}

/// The broker's own check of its audit log, before it serves (fail closed).
async fn verify_audit_log(
    store: Store,
    checkpoint_signer: CheckpointSigner,
) -> Result<(Store, CheckpointSigner), StartError> {
    let (store, checkpoint_signer, checked) = tokio::task::spawn_blocking(move || {
        let checked = store.read(|conn| Ok::<_, StoreError>(checkpoints::check_log(conn, &checkpoint_signer)));
        (store, checkpoint_signer, checked)
    })
    .await
    .map_err(|e| StartError::AuditCheck(e.to_string()))?;
    let verified = checked
        .map_err(|e| StartError::AuditCheck(e.to_string()))?
        .map_err(StartError::AuditLog)?;
    tracing::info!(events = verified.size, "audit log verified");
    Ok((store, checkpoint_signer))
}

/// TOTP secrets stored before they were sealed are sealed now, before the
/// first login can read one.
/// Refuses a region naming an institution the registry does not know (a
/// typo would otherwise silently leave a school out of its region).
async fn check_regions(store: Store, regions: &doorstroom_domain::regional::Regions) -> Result<Store, StartError> {
    let regions = regions.clone();
    tokio::task::spawn_blocking(move || {
        let registered: std::collections::BTreeSet<doorstroom_domain::Brin> = store
            .read(doorstroom_store::institutions::list)
            .map_err(|e: doorstroom_store::StoreError| StartError::Regions(format!("reading the registry: {e}")))?
            .into_iter()
            .map(|i| i.brin)
            .collect();
        regions
            .check_registered(|b| registered.contains(b))
            .map_err(|e| StartError::Regions(format!("regions: {e}")))?;
        Ok(store)
    })
    .await
    .map_err(|e| StartError::Regions(e.to_string()))?
}

async fn seal_totp_secrets(store: Store, secrets: Secrets) -> Result<(Store, Secrets), StartError> {
    let (store, secrets, sealed) = tokio::task::spawn_blocking(move || {
        let sealed = secrets::seal_plaintext_totp_secrets(&store, secrets.totp_key());
        (store, secrets, sealed)
    })
    .await
    .map_err(|e| StartError::SealTotpSecrets(e.to_string()))?;
    let sealed = sealed.map_err(|e| StartError::SealTotpSecrets(e.to_string()))?;
    if sealed > 0 {
        tracing::info!(accounts = sealed, "sealed TOTP secrets stored in plain text");
    }
    Ok((store, secrets))
}
