//! Passwords (argon2id, OWASP parameters) and TOTP second factors (RFC 6238:
//! SHA-1, 6 digits, 30-second steps, one step of clock skew allowed, each
//! step accepted once per account), and the bounded pool that checks
//! passwords at login.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::{Arc, Mutex, mpsc};

use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use doorstroom_domain::Password;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
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
pub fn new_totp(account: &str) -> Result<(String, String), ApiError> {
    let secret = Secret::generate_secret().to_encoded().to_string();
    let uri = totp(&secret, account, 1)
        .map(|t| t.get_url())
        .ok_or_else(|| ApiError::Internal("TOTP setup failed".into()))?;
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

/// The bound on concurrent password checks. Each argon2id check holds
/// 19 MiB for its duration; unbounded, a login flood holds that much per
/// request at once (and the allocator keeps it afterwards). So checks run
/// on a fixed set of threads of their own, off the async executor, and a
/// login finds a free slot at once or is refused (the caller answers 503
/// with `Retry-After`): nothing queues. With few threads only few
/// allocator arenas ever hold a hashing buffer, which keeps the process's
/// memory near `slots × 19 MiB` above idle.
pub struct PasswordChecks {
    slots: Arc<Semaphore>,
    jobs: Mutex<mpsc::Sender<Job>>,
}

type Job = Box<dyn FnOnce() + Send>;

impl std::fmt::Debug for PasswordChecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordChecks")
            .field("free_slots", &self.slots.available_permits())
            .finish()
    }
}

/// A reserved slot for one password check.
pub struct PasswordCheckSlot {
    _permit: OwnedSemaphorePermit,
}

impl PasswordChecks {
    /// Starts `slots` (at least one) checking threads. They end when this
    /// value is dropped.
    pub fn start(slots: usize) -> std::io::Result<PasswordChecks> {
        let slots = slots.max(1);
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..slots {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("password-check-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next
                        // job; a poisoned lock cannot happen (jobs run
                        // outside it) but would only mean "stop".
                        let job = match receiver.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(PasswordChecks {
            slots: Arc::new(Semaphore::new(slots)),
            jobs: Mutex::new(sender),
        })
    }

    /// A free slot, or `None` when all are busy.
    pub fn try_reserve(&self) -> Option<PasswordCheckSlot> {
        Arc::clone(&self.slots)
            .try_acquire_owned()
            .ok()
            .map(|permit| PasswordCheckSlot { _permit: permit })
    }

    /// Runs `check` on a checking thread, in the reserved `slot` (freed when
    /// the check is done).
    pub async fn run<T: Send + 'static>(
        &self,
        slot: PasswordCheckSlot,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let value = check();
            drop(slot);
            let _ = done.send(value);
        });
        self.jobs
            .lock()
            .map_err(|_| ApiError::Internal("password check queue poisoned".into()))?
            .send(job)
            .map_err(|_| ApiError::Internal("password check threads have stopped".into()))?;
        result
            .await
            .map_err(|_| ApiError::Internal("password check was dropped".into()))
    }
}
