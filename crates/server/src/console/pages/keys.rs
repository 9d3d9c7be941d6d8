//! An institution's published keys and client certificates, with their
//! expiry dates.

use super::*;
use doorstroom_api::events::WebhookStatus;
use doorstroom_api::institutions::{CertificateView, KeyView};

struct KeyRow {
    kid: String,
    key_use: Coded,
    alg: String,
    status: Coded,
    expires: String,
    warning: Option<&'static str>,
}

struct CertificateRow {
    fingerprint: String,
    subject: String,
    expires: String,
    revoked: String,
    warning: Option<&'static str>,
}

struct DeliveryRow {
    event_id: String,
    state: String,
    attempts: i32,
    last_attempt: String,
    outcome: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "console/keys.html")]
struct KeysPage {
    chrome: Chrome,
    institution: String,
    broker_scope: bool,
    keys: Vec<KeyRow>,
    certificates: Vec<CertificateRow>,
    /// The webhook endpoint's URL, if one is registered.
    webhook: Option<String>,
    deliveries: Vec<DeliveryRow>,
}

/// The institution's webhook endpoint and latest deliveries, audited as
/// `read_credentials`.
async fn webhook_of(
    state: &web::Data<AppState>,
    user: &ConsoleUser,
    brin: Brin,
) -> Result<(Option<String>, Vec<DeliveryRow>), ConsoleError> {
    let status: WebhookStatus = crate::access::run(state, &user.caller, move |app, caller| {
        doorstroom_app::webhooks::read_webhook(app, caller, brin)
    })
    .await
    .map_err(|e| user.fail(e))?;
    let rows = status
        .deliveries
        .into_iter()
        .map(|d| DeliveryRow {
            event_id: d.event_id.to_string(),
            state: d.state,
            attempts: d.attempts,
            last_attempt: when_opt(&d.last_attempt_at),
            outcome: d.last_outcome.unwrap_or_default(),
        })
        .collect();
    Ok((status.endpoint.map(|e| e.url), rows))
}

fn expiry_warning(t: &'static Messages, not_after: DateTime<Utc>, now: DateTime<Utc>) -> Option<&'static str> {
    if not_after <= now {
        Some(t.expired)
    } else if not_after <= now + chrono::Duration::days(30) {
        Some(t.expires_soon)
    } else {
        None
    }
}

/// An institution's keys and certificates, each read audited as
/// `read_credentials`.
async fn credentials_of(
    state: &web::Data<AppState>,
    user: &ConsoleUser,
    brin: Brin,
) -> Result<(Vec<KeyView>, Vec<CertificateView>), ConsoleError> {
    let for_keys = brin.clone();
    let keys = crate::access::run(state, &user.caller, move |app, caller| {
        registry::list_keys(&app.store, app.clock.now(), caller, for_keys)
    })
    .await
    .map_err(|e| user.fail(e))?;
    let certificates = crate::access::run(state, &user.caller, move |app, caller| {
        registry::list_certificates(&app.store, app.clock.now(), caller, brin)
    })
    .await
    .map_err(|e| user.fail(e))?;
    Ok((keys, certificates))
}

#[derive(Deserialize)]
pub struct KeysQuery {
    #[serde(default)]
    institution: Option<String>,
}

/// An institution's keys and certificates with their expiry dates: one's
/// own institution, or (broker staff) the one named in `?institution=`.
pub async fn keys_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
) -> Result<impl Responder, ConsoleError> {
    let t = user.lang.messages();
    let named = web::Query::<KeysQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.0.institution)
        .filter(|s| !s.trim().is_empty());
    let brin = match (&user.account.institution, named) {
        (Some(own), _) => Some(own.clone()),
        (None, Some(raw)) => Some(Brin::parse(raw.trim()).map_err(|_| user.fail(ApiError::NotFound))?),
        (None, None) => None,
    };
    let (keys, certificates) = match brin.clone() {
        Some(brin) => credentials_of(&state, &user, brin).await?,
        None => (Vec::new(), Vec::new()),
    };
    let (webhook, deliveries) = match brin.clone() {
        Some(brin) => webhook_of(&state, &user, brin).await?,
        None => (None, Vec::new()),
    };
    let now = state.clock.now();
    Ok(KeysPage {
        webhook,
        deliveries,
        chrome: Chrome::of(&user, "/console/keys"),
        institution: brin.map(|b| b.to_string()).unwrap_or_default(),
        broker_scope: user.account.institution.is_none(),
        keys: keys
            .into_iter()
            .map(|k| KeyRow {
                warning: expiry_warning(t, k.not_after, now),
                kid: k.kid,
                key_use: Coded::new(user.lang, Some(labels::key_use(k.key_use)), k.key_use.as_str()),
                alg: k.alg,
                status: Coded::new(user.lang, Some(labels::key_status(k.status)), k.status.as_str()),
                expires: when(&k.not_after),
            })
            .collect(),
        certificates: certificates
            .into_iter()
            .map(|c| CertificateRow {
                warning: expiry_warning(t, c.not_after, now),
                fingerprint: c.fingerprint,
                subject: c.subject,
                expires: when(&c.not_after),
                revoked: when_opt(&c.revoked_at),
            })
            .collect(),
    })
}
