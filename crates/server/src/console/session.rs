//! Console sessions and the checks on every request.
//!
//! * The session id is 32 random bytes (base64url) in the cookie
//!   [`SESSION_COOKIE`] (`__Host-` prefix: Secure, Path=/, no Domain;
//!   HttpOnly; SameSite=Strict). The database keeps only its SHA-256, so a
//!   copy of the table logs nobody in.
//! * A session ends after `console.idle_timeout_secs` without a request and
//!   at the latest `console.absolute_lifetime_secs` after login, on logout
//!   (the row is deleted), and when the account is deactivated or its second
//!   factor is reset. The account is re-read on every request, exactly as
//!   for an access token ([`current_account`]).
//! * CSRF: every form carries a synchronizer token, an HMAC of the session
//!   id under the broker's key (so nothing more is stored), compared in
//!   constant time on every POST. A browser's `Sec-Fetch-Site` (or, without
//!   it, `Origin`) must also say same-origin ([`same_origin`]); the login
//!   form, which has no session yet, relies on that and on SameSite=Strict.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use doorstroom_domain::{Principal, Sector, StaffId};
use doorstroom_store::console_sessions;
use doorstroom_store::staff::StaffAccount;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::ConsoleError;
use super::i18n::Lang;
use crate::auth::{Caller, CurrentAccount, current_account};
use crate::error::ApiError;
use crate::request_id::RequestId;
use crate::state::AppState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "__Host-doorstroom-console";

/// A fresh random session id.
pub fn new_session_id() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a session id.
pub fn id_hash(session_id: &str) -> String {
    hex::encode(Sha256::digest(session_id.as_bytes()))
}

/// The CSRF token of a session.
pub fn csrf_token(state: &AppState, session_id: &str) -> String {
    state.secrets.bucket_key("console-csrf", session_id)
}

/// The session cookie carrying `session_id`.
pub fn session_cookie(session_id: &str) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, session_id.to_owned())
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish()
}

/// A cookie that removes the session cookie from the browser.
pub fn expired_session_cookie() -> Cookie<'static> {
    let mut cookie = session_cookie("");
    cookie.make_removal();
    cookie
}

/// A logged-in staff member on a console page.
pub struct ConsoleUser {
    /// As the API's extractors make it: every access goes through
    /// `perform` with this caller.
    pub caller: Caller,
    pub account: StaffAccount,
    /// The sector of the account's institution (`None` for the broker's
    /// own staff): which roles its admin's staff form offers.
    pub sector: Option<Sector>,
    pub csrf: String,
    pub lang: Lang,
    session_hash: String,
}

impl ConsoleUser {
    /// An [`ApiError`] from a shared service, as a console page.
    pub fn fail(&self, err: ApiError) -> ConsoleError {
        ConsoleError::api(self.lang, err)
    }

    pub fn staff_id(&self) -> StaffId {
        self.account.id
    }

    /// Ends this session (logout).
    pub async fn end(&self, state: &web::Data<AppState>) -> Result<(), ConsoleError> {
        let hash = self.session_hash.clone();
        let st = state.clone();
        let lang = self.lang;
        crate::request_id::block(move || st.store.write(|conn| console_sessions::delete(conn, &hash)))
            .await
            .map_err(|e| ConsoleError::api(lang, e.into()))?
            .map_err(|e| ConsoleError::api(lang, e.into()))?;
        Ok(())
    }

    /// Checks a form's CSRF token (constant time) and the browser's origin
    /// headers; a failure is a 403 page.
    pub fn check_csrf(&self, req: &HttpRequest, token: &str) -> Result<(), ConsoleError> {
        same_origin(req, self.lang)?;
        let expected = self.csrf.as_bytes();
        let given = token.as_bytes();
        if given.len() == expected.len() && openssl::memcmp::eq(given, expected) {
            Ok(())
        } else {
            Err(ConsoleError::Csrf(self.lang))
        }
    }
}

/// Refuses a POST that a browser says comes from another site. Browsers
/// send `Sec-Fetch-Site`, which is then decisive (with `Referrer-Policy:
/// no-referrer`, Chromium sends `Origin: null` even for our own forms);
/// without it, an `Origin` must be ours. Clients that send neither are not
/// browsers, and so no CSRF vector; the token still applies to them.
pub fn same_origin(req: &HttpRequest, lang: Lang) -> Result<(), ConsoleError> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return if site == "same-origin" {
            Ok(())
        } else {
            Err(ConsoleError::Csrf(lang))
        };
    }
    if let Some(origin) = header(header::ORIGIN.as_str()) {
        let host = header(header::HOST.as_str()).unwrap_or_default();
        if origin != format!("https://{host}") {
            return Err(ConsoleError::Csrf(lang));
        }
    }
    Ok(())
}

/// Whether a session seen last at `last_seen` and made at `created` is
/// still valid at `now`.
pub fn session_valid(
    settings: &crate::config::ConsoleSettings,
    created: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    before_end(now, last_seen, settings.idle_timeout) && before_end(now, created, settings.absolute_lifetime)
}

/// Whether `now` lies before `start` plus `period`. The settings keep the
/// periods within a week; should the end still not fit chrono's calendar
/// (`+` would panic), the session has ended: fail closed.
fn before_end(now: DateTime<Utc>, start: DateTime<Utc>, period: Duration) -> bool {
    start.checked_add_signed(period).is_some_and(|end| now < end)
}

async fn load(req: HttpRequest) -> Result<ConsoleUser, ConsoleError> {
    let lang = Lang::of(&req);
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ConsoleError::api(lang, ApiError::Internal("application state missing".into())))?;
    let Some(session_id) = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
        return Err(ConsoleError::LoginRequired { expired: false });
    };
    let hash = id_hash(&session_id);
    let st = state.clone();
    let lookup_hash = hash.clone();
    let found = crate::request_id::block(move || {
        st.store.write(|conn| {
            let now = st.clock.now();
            let Some(session) = console_sessions::get(conn, &lookup_hash)? else {
                return Ok::<_, ApiError>(None);
            };
            if !session_valid(&st.settings.console, session.created_at, session.last_seen_at, now) {
                console_sessions::delete(conn, &lookup_hash)?;
                return Ok(None);
            }
            let Some(current) = current_account(conn, session.staff_id)? else {
                console_sessions::delete(conn, &lookup_hash)?;
                return Ok(None);
            };
            console_sessions::touch(conn, &lookup_hash, now)?;
            Ok(Some(current))
        })
    })
    .await
    .map_err(|e| ConsoleError::api(lang, e.into()))?
    .map_err(|e| ConsoleError::api(lang, e))?;
    let Some(CurrentAccount { account, sector }) = found else {
        return Err(ConsoleError::LoginRequired { expired: true });
    };
    let principal = Principal::Staff {
        id: account.id,
        role: account.role,
        institution: account.institution.clone(),
        // A console session exists only after password and TOTP.
        second_factor: true,
    };
    Ok(ConsoleUser {
        caller: Caller {
            principal,
            request_id: RequestId::of(&req),
            audited: Default::default(),
        },
        csrf: csrf_token(&state, &session_id),
        account,
        sector,
        lang,
        session_hash: hash,
    })
}

impl FromRequest for ConsoleUser {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(load(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConsoleSettings;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn a_session_ends_when_idle_or_too_old() {
        let settings = ConsoleSettings {
            idle_timeout: Duration::seconds(60),
            absolute_lifetime: Duration::seconds(100),
        };
        assert!(session_valid(&settings, at(0), at(0), at(59)));
        assert!(!session_valid(&settings, at(0), at(0), at(60)), "idle");
        assert!(session_valid(&settings, at(0), at(90), at(99)));
        assert!(!session_valid(&settings, at(0), at(90), at(100)), "too old");
    }

    #[test]
    fn a_period_beyond_the_calendar_ends_the_session_without_a_panic() {
        let settings = ConsoleSettings {
            idle_timeout: Duration::MAX,
            absolute_lifetime: Duration::MAX,
        };
        assert!(!session_valid(&settings, at(0), at(0), at(1)));
    }
}
