//! Passwords (argon2id, OWASP parameters) and TOTP second factors (RFC 6238:
//! SHA-1, 6 digits, 30-second steps, one step of clock skew allowed).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use doorstroom_domain::Password;
use totp_rs::{Secret, TOTP};

use crate::error::ApiError;

fn argon2() -> Result<Argon2<'static>, ApiError> {
    // OWASP's first argon2id recommendation: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a new password (PHC string format).
pub fn hash_password(password: &Password) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()?
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Checks `candidate` against a stored hash. With `None` (unknown user) it
/// hashes anyway so that the answer takes as long as for a known user.
pub fn verify_password(stored: Option<&str>, candidate: &str) -> bool {
    let Ok(hasher) = argon2() else { return false };
    match stored.and_then(|s| PasswordHash::new(s).ok()) {
        Some(hash) => hasher.verify_password(candidate.as_bytes(), &hash).is_ok(),
        None => {
            let salt = SaltString::generate(&mut OsRng);
            let _ = hasher.hash_password(candidate.as_bytes(), &salt);
            false
        }
    }
}

const ISSUER: &str = "Doorstroom";

fn totp(secret_base32: &str, account: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret_base32.to_owned()).to_bytes().ok()?;
    TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        Some(ISSUER.to_owned()),
        account.to_owned(),
    )
    .ok()
}

/// A fresh TOTP secret (160 bits, base32) and its `otpauth://` URI for
/// authenticator apps.
pub fn new_totp(account: &str) -> Result<(String, String), ApiError> {
    let secret = Secret::generate_secret().to_encoded().to_string();
    let uri = totp(&secret, account)
        .map(|t| t.get_url())
        .ok_or_else(|| ApiError::Internal("TOTP setup failed".into()))?;
    Ok((secret, uri))
}

/// Checks a TOTP code at `now`.
pub fn verify_totp(secret_base32: &str, account: &str, code: &str, now: DateTime<Utc>) -> bool {
    let Ok(time) = u64::try_from(now.timestamp()) else {
        return false;
    };
    totp(secret_base32, account).is_some_and(|t| t.check(code.trim(), time))
}
