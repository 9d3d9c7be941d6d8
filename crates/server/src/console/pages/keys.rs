//! An institution's published keys and client certificates, with their
//! expiry dates, and its webhook endpoint: its latest deliveries, and (for
//! whom the policy lets manage it) a form to register, replace or remove it.

use super::*;
use doorstroom_api::events::{WebhookRequest, WebhookStatus};
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
    /// Whether the user may register or remove the endpoint (navigation
    /// only: the use case decides again, and audits).
    manage_webhook: bool,
    form: WebhookForm,
    /// What was wrong with the form, or what was done.
    webhook_error: Option<String>,
    webhook_done: Option<&'static str>,
}

/// The webhook form as typed (kept when it is refused).
#[derive(Deserialize, Default)]
pub struct WebhookForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    url: String,
    /// PEM certificates of a CA of the endpoint's own (optional).
    #[serde(default)]
    ca_pem: String,
}

/// What a webhook form did, for the page drawn after it.
#[derive(Default)]
struct WebhookOutcome {
    form: WebhookForm,
    error: Option<String>,
    done: Option<&'static str>,
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
    let named = web::Query::<KeysQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.0.institution)
        .filter(|s| !s.trim().is_empty());
    let brin = match (&user.account.institution, named) {
        (Some(own), _) => Some(own.clone()),
        (None, Some(raw)) => Some(Brin::parse(raw.trim()).map_err(|_| user.fail(ApiError::NotFound))?),
        (None, None) => None,
    };
    render_keys(&state, &user, brin, StatusCode::OK, WebhookOutcome::default()).await
}

/// Registers or replaces the user's own institution's webhook endpoint
/// (`POST /console/keys/webhook`); a refused URL or CA is shown on the
/// form, with what was typed.
pub async fn webhook_set(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
    body: crate::extract::FormBody,
) -> Result<impl Responder, ConsoleError> {
    let form: WebhookForm = parse_form(user.lang, &body)?;
    user.check_csrf(&req, &form.csrf)?;
    let brin = own_institution(&user)?;
    let request = WebhookRequest {
        url: form.url.trim().to_owned(),
        ca_pem: Some(form.ca_pem.trim().to_owned()).filter(|pem| !pem.is_empty()),
    };
    let allow_internal = state.settings.webhooks.allow_private_addresses;
    let for_use_case = brin.clone();
    let set = crate::access::run(&state, &user.caller, move |app, caller| {
        doorstroom_app::webhooks::set_webhook(app, caller, for_use_case, request, allow_internal)
    })
    .await;
    let (status, outcome) = match set {
        Ok(_) => (
            StatusCode::OK,
            WebhookOutcome {
                done: Some(user.lang.messages().webhook_saved),
                ..WebhookOutcome::default()
            },
        ),
        Err(ApiError::Invalid { detail, .. }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            WebhookOutcome {
                form,
                error: Some(detail),
                done: None,
            },
        ),
        Err(other) => return Err(user.fail(other)),
    };
    render_keys(&state, &user, Some(brin), status, outcome).await
}

/// Removes the user's own institution's webhook endpoint
/// (`POST /console/keys/webhook/remove`).
pub async fn webhook_remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
    body: crate::extract::FormBody,
) -> Result<impl Responder, ConsoleError> {
    let form: CsrfOnly = parse_form(user.lang, &body)?;
    user.check_csrf(&req, &form.csrf)?;
    let brin = own_institution(&user)?;
    let for_use_case = brin.clone();
    crate::access::run(&state, &user.caller, move |app, caller| {
        doorstroom_app::webhooks::remove_webhook(app, caller, for_use_case)
    })
    .await
    .map_err(|e| user.fail(e))?;
    let outcome = WebhookOutcome {
        done: Some(user.lang.messages().webhook_removed),
        ..WebhookOutcome::default()
    };
    render_keys(&state, &user, Some(brin), StatusCode::OK, outcome).await
}

/// The console manages only the user's own institution's endpoint (broker
/// staff use the API); for anyone else the same 404 as a missing page.
fn own_institution(user: &ConsoleUser) -> Result<Brin, ConsoleError> {
    user.account
        .institution
        .clone()
        .ok_or_else(|| user.fail(ApiError::NotFound))
}

async fn render_keys(
    state: &web::Data<AppState>,
    user: &ConsoleUser,
    brin: Option<Brin>,
    status: StatusCode,
    outcome: WebhookOutcome,
) -> Result<WithStatus<KeysPage>, ConsoleError> {
    let t = user.lang.messages();
    let (keys, certificates) = match brin.clone() {
        Some(brin) => credentials_of(state, user, brin).await?,
        None => (Vec::new(), Vec::new()),
    };
    let (webhook, deliveries) = match brin.clone() {
        Some(brin) => webhook_of(state, user, brin).await?,
        None => (None, Vec::new()),
    };
    let manage_webhook = user.account.institution.is_some()
        && brin.as_ref().is_some_and(|b| {
            authorize(
                &user.caller.principal,
                Action::ManageCertificates,
                &Resource::Institution(b.clone()),
            )
            .is_allowed()
        });
    let now = state.clock.now();
    let page = KeysPage {
        webhook,
        deliveries,
        manage_webhook,
        form: outcome.form,
        webhook_error: outcome.error,
        webhook_done: outcome.done,
        chrome: Chrome::of(user, "/console/keys"),
        institution: brin.map(|b| b.to_string()).unwrap_or_default(),
        broker_scope: user.account.institution.is_none(),
        keys: keys.into_iter().map(|k| key_row(t, user.lang, k, now)).collect(),
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
    };
    Ok(WithStatus(status, page))
}

fn key_row(t: &'static Messages, lang: Lang, k: KeyView, now: DateTime<Utc>) -> KeyRow {
    KeyRow {
        warning: expiry_warning(t, k.not_after, now),
        kid: k.kid,
        key_use: Coded::new(lang, Some(labels::key_use(k.key_use)), k.key_use.as_str()),
        alg: k.alg,
        status: Coded::new(lang, Some(labels::key_status(k.status)), k.status.as_str()),
        expires: when(&k.not_after),
    }
}
