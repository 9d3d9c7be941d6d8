//! The webhook deliverer: every `[webhooks] poll_interval_ms` it claims the
//! due deliveries of the outbox (`doorstroom_store::webhooks`) and posts
//! each, in a task of its own, as the broker-signed JWS of its feed entry.
//!
//! Each attempt: the endpoint's URL checked again (`https`, no internal
//! address literal), its host name resolved and every address checked
//! (loopback, private and link-local refused unless the development
//! setting allows them) and the connection pinned to those addresses (no
//! second lookup to rebind); the certificate checked against the operating
//! system's trust store (read once, when the deliverer starts) or, when
//! the institution uploaded one, against its own CA only; no redirect followed; the whole
//! attempt bounded by `timeout_ms`. A 2xx delivers; anything else is
//! retried with exponential backoff and jitter until `retry_period_secs`
//! after the entry, then given up. A claim holds the row for the attempt's
//! timeout and a margin, so a node stopping mid-delivery leaves it to be
//! sent again (at least once; receivers deduplicate on the event id).
//! Outcomes are counted in `/metrics` and shown to the institution's admin;
//! log lines name the outcome and the event id, never a URL's path or a
//! person.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix_web::web;
use chrono::{DateTime, Utc};
use doorstroom_app::webhooks::{checked_url, delivery_jws, is_internal};
use doorstroom_store::events::{self, FeedEvent};
use doorstroom_store::webhooks::{self, Claimed, Endpoint};
use rand::Rng;
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;

use crate::config::WebhooksSettings;
use crate::schedule::Scheduler;
use crate::state::AppState;

/// Deliveries claimed per look.
const BATCH: i64 = 50;

/// A claimed delivery and the entry it sends.
struct Delivery {
    claim: Claimed,
    event: FeedEvent,
}

/// Starts the deliverer, unless this node does not deliver.
pub fn spawn_deliverer(state: web::Data<AppState>) -> Option<Scheduler> {
    let every = state.settings.webhooks.poll_interval?;
    Some(crate::schedule::spawn(async move {
        // Read the trust store now, not in the first delivery's time.
        let _ = tokio::task::spawn_blocking(system_roots).await;
        loop {
            tokio::time::sleep(every).await;
            if let Err(error) = deliver_due(&state).await {
                tracing::warn!(error = %error, "webhook deliverer: looking for due deliveries failed");
            }
        }
    }))
}

/// Claims what is due now and starts one task per delivery.
async fn deliver_due(state: &web::Data<AppState>) -> Result<(), String> {
    let settings = state.settings.webhooks;
    let now = state.clock.now();
    let lease = now + chrono::Duration::from_std(settings.timeout + Duration::from_secs(30)).unwrap_or_default();
    let st = state.clone();
    let claimed = crate::request_id::block(move || {
        let due = st.store.read(|conn| webhooks::due(conn, now, BATCH))?;
        let mut claimed = Vec::new();
        for id in due {
            let claim = st
                .store
                .write(|conn| -> Result<Option<Delivery>, doorstroom_store::StoreError> {
                    let Some(claim) = webhooks::claim(conn, &id, now, lease)? else {
                        return Ok(None);
                    };
                    // Gone with its entry (purged) only after the retry period.
                    Ok(events::by_id(conn, &id)?.map(|event| Delivery { claim, event }))
                })?;
            claimed.extend(claim);
        }
        Ok::<_, doorstroom_store::StoreError>(claimed)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    for delivery in claimed {
        let state = state.clone();
        // A hanging endpoint holds its own task only.
        tokio::spawn(async move { attempt(&state, delivery).await });
    }
    Ok(())
}

/// One attempt and its recorded outcome.
async fn attempt(state: &web::Data<AppState>, delivery: Delivery) {
    let settings = state.settings.webhooks;
    let sent = match &delivery.claim.endpoint {
        Some(endpoint) => send(state, &delivery, endpoint).await,
        None => Err("no endpoint registered".to_owned()),
    };
    let now = state.clock.now();
    let id = delivery.event.id.to_string();
    let (result, outcome) = match &sent {
        Ok(outcome) => ("delivered", outcome.clone()),
        Err(outcome) if gave_up(&delivery.claim, now, &settings) => ("given_up", outcome.clone()),
        Err(outcome) => ("failed", outcome.clone()),
    };
    let next = now + backoff(delivery.claim.attempts, &settings);
    let (st, event_id, noted) = (state.clone(), id.clone(), outcome.clone());
    let recorded = crate::request_id::block(move || {
        st.store.write(|conn| match result {
            "delivered" => webhooks::delivered(conn, &event_id, now, &noted),
            "given_up" => webhooks::give_up(conn, &event_id, &noted),
            _ => webhooks::retry_at(conn, &event_id, next, &noted),
        })
    })
    .await;
    state.metrics.webhook_attempt(result);
    tracing::info!(event_id = %id, attempt = delivery.claim.attempts, result, outcome = %outcome, "webhook delivery attempt");
    if !matches!(recorded, Ok(Ok(()))) {
        // The lease runs out and the delivery is tried again.
        tracing::warn!(event_id = %id, "webhook delivery outcome not recorded");
    }
}

fn gave_up(delivery: &Claimed, now: DateTime<Utc>, settings: &WebhooksSettings) -> bool {
    let period = chrono::Duration::from_std(settings.retry_period).unwrap_or(chrono::Duration::MAX);
    now - delivery.created_at >= period
}

/// The wait after attempt `attempts`: `first_retry` doubled per attempt,
/// at most `max_backoff`, times a random factor between ½ and 1 (so that
/// the deliveries of one outage do not all come back at once).
fn backoff(attempts: i32, settings: &WebhooksSettings) -> chrono::Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(30);
    let full = settings
        .first_retry
        .saturating_mul(1 << doublings)
        .min(settings.max_backoff);
    let factor = rand::thread_rng().gen_range(0.5..=1.0);
    chrono::Duration::from_std(full.mul_f64(factor)).unwrap_or(chrono::Duration::MAX)
}

/// The operating system's trust store (`/etc/ssl/certs` on Debian, or
/// what `SSL_CERT_FILE` / `SSL_CERT_DIR` name), read once. A certificate
/// the store holds but rustls cannot use is skipped, as browsers do.
fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS.get_or_init(|| Arc::new(load_system_roots())).clone()
}

/// Reads the system trust store (uncached; see `system_roots`).
pub fn load_system_roots() -> RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::warn!(%error, "a certificate of the system trust store could not be read");
    }
    let mut roots = RootCertStore::empty();
    let (added, skipped) = roots.add_parsable_certificates(found.certs);
    tracing::info!(
        added,
        skipped,
        "webhook endpoints are checked against the system trust store"
    );
    roots
}

/// The institution's own CA: then only it is trusted for its endpoint.
fn own_roots(pem: &str) -> Result<RootCertStore, String> {
    let unreadable = |_| "unreadable ca".to_owned();
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err("unreadable ca".to_owned());
    }
    Ok(roots)
}

fn tls_config(roots: Arc<RootCertStore>) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| "tls".to_owned())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Posts the delivery; `Ok` with the outcome on a 2xx, `Err` with the
/// outcome otherwise.
async fn send(state: &web::Data<AppState>, delivery: &Delivery, endpoint: &Endpoint) -> Result<String, String> {
    let settings = state.settings.webhooks;
    let url = checked_url(&endpoint.url, settings.allow_private_addresses).map_err(|_| "refused url".to_owned())?;
    let body = delivery_jws(
        &state.app,
        &delivery.claim.institution,
        &delivery.event,
        state.clock.now(),
    )
    .map_err(|_| "signing failed".to_owned())?;
    let mut client = reqwest::Client::builder()
        .use_rustls_tls()
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout);
    if let Some(url::Host::Domain(host)) = url.host() {
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs = resolve(host, port, settings.allow_private_addresses).await?;
        client = client.resolve_to_addrs(host, &addrs);
    }
    let roots = match &endpoint.ca_pem {
        Some(pem) => Arc::new(own_roots(pem)?),
        None => system_roots(),
    };
    client = client.use_preconfigured_tls(tls_config(roots)?);
    let client = client.build().map_err(|_| "client".to_owned())?;
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/jose")
        .header("Idempotency-Key", delivery.event.id.to_string())
        .header("X-Doorstroom-Event", delivery.event.kind.as_str())
        .body(body)
        .send()
        .await
        .map_err(|e| failure(&e))?;
    let status = response.status();
    match status.as_u16() {
        200..=299 => Ok(format!("http {}", status.as_u16())),
        300..=399 => Err(format!("redirect {} (not followed)", status.as_u16())),
        code => Err(format!("http {code}")),
    }
}

/// The host's addresses, every one of them allowed.
async fn resolve(host: &str, port: u16, allow_internal: bool) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| "dns".to_owned())?
        .collect();
    if addrs.is_empty() {
        return Err("dns".to_owned());
    }
    let internal = |ip: IpAddr| is_internal(ip) && !allow_internal;
    if addrs.iter().any(|a| internal(a.ip())) {
        return Err("refused address".to_owned());
    }
    Ok(addrs)
}

fn failure(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timeout".into()
    } else if error.is_connect() {
        // A refused or reset connection and a failed TLS handshake (a bad
        // certificate) both end here.
        "connect or tls".into()
    } else {
        "request failed".into()
    }
}
