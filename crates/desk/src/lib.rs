//! `doorstroom desk`: the intake desk, a small web application an mbo runs
//! inside its own network with its own private key, where intakers read
//! the dossiers that the broker stores but can never read.
//!
//! Design decisions:
//! * **The broker decides who gets in.** The login form's password and
//!   TOTP code go to the broker's login API (its rate limits, its audit
//!   events); the desk admits only an intaker of its own mbo, and keeps the
//!   broker's token in an in-memory session ([`session`]).
//! * **Every access is the intaker's** in the broker's audit log: inbox,
//!   pulls and acknowledgements as the mbo's system naming the intaker in
//!   `X-On-Behalf-Of`, applications and statuses with the intaker's token
//!   ([`broker`]).
//! * **Plaintext stays in memory** ([`vault`]), per intaker, dropped when
//!   the broker says the package or a section is gone, and at logout.
//! * **The arrival marker comes from the event feed** ([`arrivals`]): the
//!   desk follows its mbo's feed with a long poll, marks a package new for
//!   each intaker who has not looked since it arrived, and deletes what
//!   the feed says was withdrawn at once.
//! * **The key must be the published one**: the desk refuses to start when
//!   its decryption key is not the key the broker publishes for its mbo
//!   ([`broker::Broker::connect`]).
//! * **The console's web rules**, copied (the desk links no broker crate):
//!   askama templates, no JavaScript (the inbox refreshes with a meta
//!   refresh), Dutch with an English switch, the same security headers,
//!   `__Host-` cookies, a CSRF token in every form plus the browser's
//!   `Sec-Fetch-Site`, bad input a 4xx page and never a 500.

pub mod arrivals;
pub mod broker;
mod chrome;
mod error;
pub mod i18n;
mod pages;
pub mod session;
pub mod vault;
pub mod view;

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpServer, web};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

pub use broker::{Broker, StartupError};

/// The desk's Content-Security-Policy: the console's.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// Everything a running desk shares between requests.
pub struct Desk {
    pub broker: Broker,
    pub sessions: session::Sessions,
    pub vault: vault::Vault,
    pub arrivals: arrivals::Arrivals,
}

impl Desk {
    /// A desk for `broker`, having read its mbo's event feed to the head
    /// (what is there now is not marked new).
    pub async fn new(broker: Broker) -> Result<Desk, StartupError> {
        let vault = vault::Vault::default();
        let arrivals = arrivals::Arrivals::from_head(&broker, &vault).await?;
        Ok(Desk {
            broker,
            sessions: Default::default(),
            vault,
            arrivals,
        })
    }
}

/// A desk serving HTTPS.
pub struct RunningDesk {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The feed follower; it ends with the desk.
    follower: AbortOnDrop,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl RunningDesk {
    /// Runs until the server stops.
    pub async fn wait(self) -> std::io::Result<()> {
        let RunningDesk { task, follower, .. } = self;
        let served = task.await.map_err(std::io::Error::other)?;
        drop(follower);
        served
    }
}

/// The desk's own HTTPS: its certificate chain and key (PEM).
pub fn tls_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<rustls::ServerConfig, StartupError> {
    let tls = |e: &dyn std::fmt::Display| StartupError::Tls(e.to_string());
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls(&e))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| tls(&e))?;
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(&e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| tls(&e))
}

/// Starts serving `desk` on `bind` over TLS (`tls` from [`tls_config`]);
/// must be called within a tokio runtime.
pub fn start(desk: Desk, bind: SocketAddr, tls: rustls::ServerConfig) -> Result<RunningDesk, StartupError> {
    let desk = web::Data::new(desk);
    let follower = {
        let desk = desk.clone();
        AbortOnDrop(tokio::spawn(async move {
            desk.arrivals.follow(&desk.broker, &desk.vault).await
        }))
    };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(desk.clone())
            .wrap(from_fn(security_headers))
            .wrap(from_fn(remember_language))
            .configure(pages::routes)
    })
    .workers(2)
    .disable_signals()
    .bind_rustls_0_23(bind, tls)?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| StartupError::Tls("no address bound".into()))?;
    let server = server.run();
    let handle = server.handle();
    // actix-web's server accepts nothing until its future is polled.
    let task = tokio::spawn(server);
    Ok(RunningDesk {
        addr,
        handle,
        task,
        follower,
    })
}

/// The console's security headers on every answer; pages are `no-store`
/// (they show dossier content), only the stylesheet may be cached.
async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    let fixed = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

/// `?lang=en` / `?lang=nl` on any page sets the language cookie.
async fn remember_language(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let chosen = i18n::query_lang(req.request());
    let mut res = next.call(req).await?;
    if let Some(lang) = chosen {
        let cookie = Cookie::build(i18n::LANG_COOKIE, lang.code())
            .path("/")
            .secure(true)
            .http_only(true)
            .same_site(SameSite::Strict)
            .max_age(actix_web::cookie::time::Duration::days(365))
            .finish();
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            res.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(res)
}
