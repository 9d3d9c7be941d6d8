//! An institution's published keys and client certificates, with their
//! expiry dates.

use super::*;

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

#[derive(Template, WebTemplate)]
#[template(path = "console/keys.html")]
struct KeysPage {
    chrome: Chrome,
    institution: String,
    broker_scope: bool,
    keys: Vec<KeyRow>,
    certificates: Vec<CertificateRow>,
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
    let (keys, certificates) = match &brin {
        Some(brin) => (
            keys_of(&state, &user.caller, brin.clone())
                .await
                .map_err(|e| user.fail(e))?,
            certificates_of(&state, &user.caller, brin.clone())
                .await
                .map_err(|e| user.fail(e))?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    let now = state.clock.now();
    Ok(KeysPage {
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
