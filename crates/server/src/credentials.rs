//! The bounded pool that checks passwords at login. Hashing a new password
//! and the TOTP second factors are `doorstroom_app::credentials`'s
//! (re-exported here); this checks with the same argon2id parameters.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use std::cell::RefCell;
use std::sync::{Arc, Mutex, OnceLock, mpsc};

use argon2::password_hash::{self, Output};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;
pub use doorstroom_app::credentials::{argon2, hash_password, new_totp, verify_totp};

thread_local! {
    /// The argon2 working memory (19 MiB) of a password-check thread,
    /// allocated on its first check and reused for every later one. Freeing
    /// and reallocating it per check is what made memory grow under a login
    /// flood: glibc raises its mmap threshold to the size of the first
    /// freed block, after which every later block comes from (and stays
    /// in) the threads' malloc arenas. Reused, the password checks hold
    /// exactly `slots × 19 MiB`, for good.
    static ARGON2_MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Checks `candidate` against a stored PHC hash in this thread's reused
/// argon2 memory: what argon2's `PasswordVerifier` does (the parameters,
/// salt and algorithm from the PHC string; the outputs compared in constant
/// time by `Output`'s `==`), without allocating the memory per check. With
/// `None` (unknown user) it checks against a dummy hash, so that the answer
/// takes as long as for a known user. Only for [`PasswordChecks`] threads.
fn verify_password_in_place(stored: Option<&str>, candidate: &str) -> bool {
    let parsed = stored.and_then(|s| PasswordHash::new(s).ok());
    let known = parsed.is_some();
    let hash = match parsed {
        Some(hash) => hash,
        None => match dummy_hash().and_then(|d| PasswordHash::new(d).ok()) {
            Some(hash) => hash,
            None => return false,
        },
    };
    let matches = check_in_place(&hash, candidate.as_bytes()).unwrap_or(false);
    known && matches
}

fn check_in_place(hash: &PasswordHash<'_>, candidate: &[u8]) -> Option<bool> {
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return Some(false);
    };
    let algorithm = Algorithm::try_from(hash.algorithm).ok()?;
    let version = hash
        .version
        .map(Version::try_from)
        .transpose()
        .ok()?
        .unwrap_or_default();
    let params = Params::try_from(hash).ok()?;
    let mut salt_buffer = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buffer).ok()?;
    let blocks = params.block_count();
    let hasher = Argon2::new(algorithm, version, params);
    ARGON2_MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        let memory = memory.get_mut(..blocks)?;
        let computed = Output::init_with(expected.len(), |out| {
            hasher
                .hash_password_into_with_memory(candidate, salt, out, memory)
                .map_err(password_hash::Error::from)
        })
        .ok()?;
        Some(computed == *expected)
    })
}

/// A hash of a random password with the current parameters, made once, to
/// check unknown users' passwords against.
fn dummy_hash() -> Option<&'static str> {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let mut random = [0u8; 32];
            rand::RngCore::fill_bytes(&mut OsRng, &mut random);
            let salt = SaltString::generate(&mut OsRng);
            argon2()
                .ok()?
                .hash_password(hex::encode(random).as_bytes(), &salt)
                .ok()
                .map(|h| h.to_string())
        })
        .as_deref()
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

    /// Checks `candidate` against the stored PHC hash (`None`: unknown
    /// user, checked against a dummy so that it takes as long) on a
    /// checking thread, in the reserved `slot`.
    pub async fn verify(
        &self,
        slot: PasswordCheckSlot,
        stored: Option<String>,
        candidate: String,
    ) -> Result<bool, ApiError> {
        self.run(slot, move || verify_password_in_place(stored.as_deref(), &candidate))
            .await
    }

    /// Runs `check` on a checking thread, in the reserved `slot` (freed when
    /// the check is done).
    async fn run<T: Send + 'static>(
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use doorstroom_domain::Password;

    #[test]
    fn the_in_place_check_agrees_with_the_hash() {
        let password = Password::parse("correct horse battery").unwrap();
        let stored = hash_password(&password).unwrap();
        assert!(verify_password_in_place(Some(&stored), "correct horse battery"));
        assert!(!verify_password_in_place(Some(&stored), "correct horse battery!"));
        // Unknown user: checked against the dummy, never a match.
        assert!(!verify_password_in_place(None, "correct horse battery"));
        // A damaged hash fails closed.
        assert!(!verify_password_in_place(
            Some("$argon2id$v=19$nonsense"),
            "correct horse battery"
        ));
        // The memory is reused, not grown.
        let blocks = ARGON2_MEMORY.with_borrow(Vec::len);
        assert!(verify_password_in_place(Some(&stored), "correct horse battery"));
        assert_eq!(ARGON2_MEMORY.with_borrow(Vec::len), blocks);
    }
}
