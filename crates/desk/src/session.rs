//! Desk sessions, in memory only (a restart logs everyone out, and nothing
//! of a session is ever on disk).
//!
//! Copied in spirit from the broker console's `session` module (the desk
//! links no broker crate, see the README's crate table):
//! * the session id is 32 random bytes (base64url) in the cookie
//!   [`SESSION_COOKIE`] (`__Host-` prefix: Secure, Path=/, no Domain;
//!   HttpOnly; SameSite=Strict); the map is keyed by its SHA-256, so a
//!   memory dump's keys log nobody in;
//! * a session maps to the broker's access token and the intaker's staff
//!   id; it ends when the token expires (the broker decides how long a
//!   login lasts), after [`IDLE_TIMEOUT_SECS`] without a request, on logout,
//!   and as soon as the broker refuses the token;
//! * CSRF: a random synchronizer token per session in every form, compared
//!   in constant time on every POST, and the browser's `Sec-Fetch-Site` (or
//!   `Origin`) must say same-origin ([`same_origin`]).

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use doorstroom_domain::StaffId;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

/// The session cookie.
pub const SESSION_COOKIE: &str = "__Host-doorstroom-desk";

/// A session ends after this long without a request (as the console's).
pub const IDLE_TIMEOUT_SECS: i64 = 15 * 60;

/// A logged-in intaker.
#[derive(Clone)]
pub struct Session {
    pub staff_id: StaffId,
    pub username: String,
    /// The broker's access token of this login: the desk reads applications
    /// and reports statuses with it, so the broker's audit log names the
    /// intaker.
    pub token: String,
    pub token_expires_at: DateTime<Utc>,
    pub csrf: String,
    pub last_seen: DateTime<Utc>,
}

impl std::fmt::Debug for Session {
    /// Never the token or the CSRF token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("staff_id", &self.staff_id)
            .finish_non_exhaustive()
    }
}

/// All sessions of this desk.
#[derive(Default)]
pub struct Sessions {
    by_hash: Mutex<HashMap<String, Session>>,
}

/// 32 random bytes, base64url.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn id_hash(session_id: &str) -> String {
    hex::encode(Sha256::digest(session_id.as_bytes()))
}

/// Whether a session is still valid at `now`.
pub fn session_valid(session: &Session, now: DateTime<Utc>) -> bool {
    now < session.token_expires_at && now < session.last_seen + Duration::seconds(IDLE_TIMEOUT_SECS)
}

impl Sessions {
    /// Starts a session; answers its id (for the cookie).
    pub fn start(&self, session: Session) -> String {
        let id = random_token();
        if let Ok(mut map) = self.by_hash.lock() {
            map.insert(id_hash(&id), session);
        }
        id
    }

    /// The session of `session_id` if it is still valid at `now` (and
    /// touches it); a session that ended is removed.
    pub fn get(&self, session_id: &str, now: DateTime<Utc>) -> Option<Session> {
        let mut map = self.by_hash.lock().ok()?;
        let hash = id_hash(session_id);
        let valid = map.get(&hash).is_some_and(|s| session_valid(s, now));
        if !valid {
            map.remove(&hash);
            return None;
        }
        let session = map.get_mut(&hash)?;
        session.last_seen = now;
        Some(session.clone())
    }

    /// Ends a session; answers its intaker and whether they have another
    /// session still open.
    pub fn end(&self, session_id: &str) -> Option<(StaffId, bool)> {
        let mut map = self.by_hash.lock().ok()?;
        let ended = map.remove(&id_hash(session_id))?;
        let others = map.values().any(|s| s.staff_id == ended.staff_id);
        Some((ended.staff_id, others))
    }
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

/// Compares two tokens in time that depends only on their length
/// (OpenSSL's `CRYPTO_memcmp`, as the console does).
pub fn same_token(given: &str, expected: &str) -> bool {
    let (given, expected) = (given.as_bytes(), expected.as_bytes());
    given.len() == expected.len() && openssl::memcmp::eq(given, expected)
}

/// Refuses a POST that a browser says comes from another site (as the
/// console does): `Sec-Fetch-Site` is decisive when sent; without it an
/// `Origin` must be ours. Clients that send neither are not browsers; the
/// token still applies to them.
pub fn same_origin(req: &HttpRequest) -> bool {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return site == "same-origin";
    }
    match header(header::ORIGIN.as_str()) {
        Some(origin) => origin == format!("https://{}", header(header::HOST.as_str()).unwrap_or_default()),
        None => true,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn session(now: DateTime<Utc>, expires_in: i64) -> Session {
        Session {
            staff_id: StaffId(uuid::Uuid::new_v4()),
            username: "intaker".into(),
            token: "t".into(),
            token_expires_at: now + Duration::seconds(expires_in),
            csrf: random_token(),
            last_seen: now,
        }
    }

    #[test]
    fn a_session_ends_with_its_token_or_when_idle() {
        let now = Utc::now();
        let sessions = Sessions::default();
        let id = sessions.start(session(now, 3600));
        assert!(sessions.get(&id, now + Duration::seconds(60)).is_some());
        assert!(
            sessions
                .get(&id, now + Duration::seconds(60 + IDLE_TIMEOUT_SECS))
                .is_none()
        );
        assert!(sessions.get(&id, now).is_none(), "removed once ended");
        let short = sessions.start(session(now, 30));
        assert!(
            sessions.get(&short, now + Duration::seconds(30)).is_none(),
            "token expired"
        );
        assert!(sessions.get("not a session", now).is_none());
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abd", "abc"));
        assert!(!same_token("ab", "abc"));
        assert!(!same_token("", "abc"));
    }
}
