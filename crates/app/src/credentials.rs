//! Staff credentials: passwords (argon2id, OWASP parameters) and TOTP
//! second factors (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of
//! clock skew allowed). The login's bounded pool of password checks is the
//! server's (`doorstroom_server::credentials`); it hashes with
//! [`argon2`]'s parameters.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use doorstroom_domain::Password;
use totp_rs::{Secret, TOTP};

use crate::AppError;

/// The password hasher with the broker's parameters.
pub fn argon2() -> Result<Argon2<'static>, AppError> {
    // OWASP's first argon2id recommendation: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a new password (PHC string format).
pub fn hash_password(password: &Password) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()?
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(e.to_string()))
}

const ISSUER: &str = "Doorstroom";

fn totp(secret_base32: &str, account: &str, skew: u8) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret_base32.to_owned()).to_bytes().ok()?;
    TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        skew,
        STEP_SECS,
        bytes,
        Some(ISSUER.to_owned()),
        account.to_owned(),
    )
    .ok()
}

/// Length of a TOTP time step, in seconds.
const STEP_SECS: u64 = 30;

/// A fresh TOTP secret (160 bits, base32) and its `otpauth://` URI for
/// authenticator apps.
pub fn new_totp(account: &str) -> Result<(String, String), AppError> {
    let secret = Secret::generate_secret().to_encoded().to_string();
    let uri = totp(&secret, account, 1)
        .map(|t| t.get_url())
        .ok_or_else(|| AppError::Internal("TOTP setup failed".into()))?;
    Ok((secret, uri))
}

/// Checks a TOTP code at `now`, allowing one step of clock skew either way.
/// Returns the time step (unix time / 30) whose code it is, which the
/// caller marks as used so that the code works only once; `None` for a
/// wrong code.
pub fn verify_totp(secret_base32: &str, account: &str, code: &str, now: DateTime<Utc>) -> Option<i64> {
    let time = u64::try_from(now.timestamp()).ok()?;
    // Skew 0 here: each step is compared by itself (totp-rs compares in
    // constant time), so that the matching step is known.
    let totp = totp(secret_base32, account, 0)?;
    let current = time / STEP_SECS;
    let code = code.trim();
    [current.checked_sub(1), Some(current), current.checked_add(1)]
        .into_iter()
        .flatten()
        .find(|step| totp.check(code, step * STEP_SECS))
        .and_then(|step| i64::try_from(step).ok())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_totp_code_names_its_step() {
        let (secret, _) = new_totp("someone").unwrap();
        let now = DateTime::from_timestamp(1_800_000_015, 0).unwrap();
        let current = 1_800_000_015 / 30;
        let code_at = |step: i64| {
            totp(&secret, "someone", 0)
                .unwrap()
                .generate(u64::try_from(step * 30).unwrap())
        };
        for step in [current - 1, current, current + 1] {
            assert_eq!(verify_totp(&secret, "someone", &code_at(step), now), Some(step));
        }
        let far = code_at(current - 2);
        if ![current - 1, current, current + 1].iter().any(|s| code_at(*s) == far) {
            assert_eq!(verify_totp(&secret, "someone", &far, now), None);
        }
    }
}
