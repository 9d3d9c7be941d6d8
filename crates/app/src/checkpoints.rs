//! Signed checkpoints of the audit log: C2SP tlog-checkpoint bodies
//! ([`tlog_tiles::Checkpoint`]) in C2SP signed notes ([`signed_note`]),
//! signed with the broker's Ed25519 key.
//!
//! The broker never signs a checkpoint that is inconsistent with the latest
//! one it recorded: [`sign_current_tree`] first checks that the latest
//! recorded checkpoint carries the broker's own signature and that the
//! consistency proof from its size to the new size verifies against both
//! roots. A refusal is audited: as the privacy officer's access
//! ([`sign_checkpoint`]) or as the scheduler's
//! ([`sign_scheduled_checkpoint`]).
//!
//! Checkpoints are signed on demand (`POST /v1/audit/checkpoint`) and on a
//! schedule (the server's `checkpoint_schedule`, every `[audit]
//! checkpoint_interval_secs`, only when the log grew).

use std::io::Cursor;

use chrono::{DateTime, Utc};
use diesel::Connection;
use doorstroom_domain::{
    Action, AuditEvent, Outcome, Principal, Purpose, Resource, ResourceKind, ResourceRef, SideEvent,
};
use doorstroom_store::merkle::{self, Checkpoint, Digest};
use doorstroom_store::{DbConn, StoreError, audit};
use ed25519_dalek::{SigningKey, ed25519::signature::Signer as _};
use openssl::pkey::{Id, PKey};
use signed_note::{Note, StandardVerifier, Verifier as _, VerifierList};

use crate::{Access, App, AppError, Caller, perform_in};

/// The audit resource kind of a checkpoint.
pub const RESOURCE_KIND: ResourceKind = ResourceKind::AuditCheckpoint;

/// The request id of the scheduler's audit events.
pub const SCHEDULER_REQUEST_ID: &str = "checkpoint-scheduler";

/// The broker's Ed25519 key as a signed-note signer for one origin (the
/// key name).
///
/// It implements [`signed_note::Signer`] over the key itself rather than
/// building a `PRIVATE+KEY+…` string for [`signed_note::StandardSigner`]:
/// the seed goes straight from the PKCS#8 PEM into an
/// [`ed25519_dalek::SigningKey`] and is never written out as text again.
pub struct CheckpointSigner {
    origin: String,
    key: SigningKey,
    verifier: StandardVerifier,
    verifier_key: String,
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointSigner")
            .field("verifier_key", &self.verifier_key)
            .finish_non_exhaustive()
    }
}

impl CheckpointSigner {
    /// From the broker's signing key (PKCS#8 PEM, Ed25519) for `origin`.
    pub fn from_pem(origin: &str, pem: &str) -> Result<Self, String> {
        if !signed_note::is_key_name_valid(origin) {
            return Err(format!("checkpoint origin {origin:?} is not a valid key name"));
        }
        let pkey = PKey::private_key_from_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
        if pkey.id() != Id::ED25519 {
            return Err("the signing key is not an Ed25519 key".into());
        }
        let mut raw = pkey.raw_private_key().map_err(|e| e.to_string())?;
        let seed: Result<[u8; 32], _> = raw.as_slice().try_into();
        raw.fill(0);
        let mut seed = seed.map_err(|_| "the Ed25519 private key is not 32 bytes".to_owned())?;
        let key = SigningKey::from_bytes(&seed);
        seed.fill(0);
        let verifier_key = signed_note::new_ed25519_verifier_key(origin, &key.verifying_key());
        let verifier = StandardVerifier::new(&verifier_key).map_err(|e| e.to_string())?;
        Ok(Self {
            origin: origin.to_owned(),
            key,
            verifier,
            verifier_key,
        })
    }

    /// The checkpoint origin (and key name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The signed-note verifier key: `<name>+<key id>+<base64(0x01 ‖ public key)>`.
    pub fn verifier_key(&self) -> &str {
        &self.verifier_key
    }

    /// The signed note of the checkpoint of `size` leaves with tree hash `root`.
    pub fn sign(&self, size: i64, root: &Digest) -> Result<String, CheckpointError> {
        let size = u64::try_from(size).map_err(|_| CheckpointError::Sign("negative tree size".into()))?;
        let body = tlog_tiles::Checkpoint::new(&self.origin, size, tlog_tiles::Hash(*root), "")
            .map_err(|e| CheckpointError::Sign(e.to_string()))?;
        let mut note = Note::new(&body.to_bytes(), &[]).map_err(|e| CheckpointError::Sign(e.to_string()))?;
        note.add_sigs(&[self])
            .map_err(|e| CheckpointError::Sign(e.to_string()))?;
        String::from_utf8(note.to_bytes()).map_err(|e| CheckpointError::Sign(e.to_string()))
    }

    /// Whether `note` is a checkpoint of this origin, stating `size` and
    /// `root`, that carries a valid signature by this key.
    pub fn signed(&self, note: &str, size: i64, root: &Digest) -> bool {
        let Ok(parsed) = Note::from_bytes(note.as_bytes()) else {
            return false;
        };
        let known = VerifierList::new(vec![Box::new(self.verifier.clone())]);
        if parsed.verify(&known).is_err() {
            return false;
        }
        tlog_tiles::Checkpoint::from_reader(&mut Cursor::new(parsed.text()), true).is_ok_and(|body| {
            body.origin() == self.origin
                && u64::try_from(size).is_ok_and(|s| s == body.size())
                && body.hash().0 == *root
        })
    }
}

impl signed_note::Signer for CheckpointSigner {
    fn name(&self) -> &str {
        &self.origin
    }

    fn key_id(&self) -> u32 {
        self.verifier.key_id()
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        Ok(self.key.try_sign(msg)?.to_vec())
    }
}

/// Why no checkpoint was signed.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The latest recorded checkpoint is not one this broker signed.
    #[error("audit log: the checkpoint at size {size} does not carry the broker's signature; no checkpoint signed")]
    Unsigned { size: i64 },
    /// The log is smaller than a checkpoint the broker signed.
    #[error("audit log: it holds {size} events, fewer than the checkpoint at size {signed}; no checkpoint signed")]
    Shrunk { signed: i64, size: i64 },
    /// The tree is not an extension of the last signed one.
    #[error(
        "audit log: the tree of {size} events is not consistent with the checkpoint at size {signed}; no \
         checkpoint signed"
    )]
    Inconsistent { signed: i64, size: i64 },
    /// The note could not be made.
    #[error("signing the checkpoint: {0}")]
    Sign(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for CheckpointError {
    fn from(e: diesel::result::Error) -> Self {
        CheckpointError::Store(StoreError::from(e))
    }
}

impl CheckpointError {
    /// Whether this is the broker refusing to sign (the log does not hold
    /// together), as opposed to a failure to sign.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            CheckpointError::Unsigned { .. }
                | CheckpointError::Shrunk { .. }
                | CheckpointError::Inconsistent { .. }
                | CheckpointError::Store(StoreError::Inconsistent(_))
        )
    }
}

impl From<CheckpointError> for AppError {
    fn from(err: CheckpointError) -> Self {
        match err {
            CheckpointError::Store(e) => AppError::from(e),
            CheckpointError::Sign(cause) => AppError::Internal(cause),
            refusal => {
                tracing::error!(error = %refusal, "refused to sign an audit checkpoint");
                AppError::Conflict(refusal.to_string())
            }
        }
    }
}

/// The latest signed checkpoint, if any: public (a tree size and a hash, no
/// personal data), so not an access to audit.
pub fn latest_checkpoint(app: &App) -> Result<Option<Checkpoint>, AppError> {
    Ok(app.store.read(merkle::latest_checkpoint)?)
}

/// The latest checkpoint as checked now (the console's badge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedCheckpoint {
    pub size: i64,
    pub created_at: DateTime<Utc>,
    /// Its note carries the broker's signature and the stored tree at its
    /// size still has its root hash.
    pub verified: bool,
}

/// Checks the latest checkpoint against the log as stored now: a few
/// stored hashes, not the whole log (which the broker verifies at start
/// and `doorstroom audit verify` on demand). `None` before the first
/// checkpoint. Public facts (a size, a hash), so not an access to audit.
pub fn check_latest_checkpoint(app: &App, signer: &CheckpointSigner) -> Result<Option<CheckedCheckpoint>, StoreError> {
    app.store.read(|conn| {
        let Some(latest) = merkle::latest_checkpoint(conn)? else {
            return Ok(None);
        };
        let signed = signer.signed(&latest.signed_note, latest.size, &latest.root);
        let matches = merkle::tree_hash(conn, latest.size)? == latest.root;
        Ok(Some(CheckedCheckpoint {
            size: latest.size,
            created_at: latest.created_at,
            verified: signed && matches,
        }))
    })
}

/// Signs a checkpoint of the log as it is now with `signer` (see
/// [`sign_current_tree`]). Who may: the broker's privacy officer. Records
/// `read_audit_log` on `audit_checkpoint`; a log that does not hold
/// together is refused (conflict), and the refusal is recorded.
pub fn sign_checkpoint(app: &App, caller: Caller<'_>, signer: &CheckpointSigner) -> Result<Checkpoint, AppError> {
    let access = Access::new(
        Action::ReadAuditLog,
        Resource::Broker,
        ResourceRef::new(RESOURCE_KIND, None),
        Purpose::Supervision,
    );
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        Ok(sign_current_tree(ctx.conn, ctx.now, signer)?)
    })
}

/// On the schedule: signs a checkpoint if the log grew since the latest
/// one. A refusal is written to the audit log (actor: the operator side of
/// the broker, request id [`SCHEDULER_REQUEST_ID`]) and answered as an
/// error.
pub fn sign_scheduled_checkpoint(app: &App, signer: &CheckpointSigner) -> Result<Option<Checkpoint>, CheckpointError> {
    let now = app.clock.now();
    app.store.write(|conn| {
        let size = merkle::tree_size(conn)?;
        let due = match merkle::latest_checkpoint(conn)? {
            None => size > 0,
            // A log smaller than its checkpoint is tried too: to be refused.
            Some(latest) => latest.size != size,
        };
        if !due {
            return Ok(Ok(None));
        }
        match conn.transaction(|conn| sign_current_tree(conn, now, signer)) {
            Ok(checkpoint) => Ok(Ok(Some(checkpoint))),
            Err(err) if err.is_refusal() => {
                let event = AuditEvent::success(
                    now,
                    &Principal::Operator,
                    SideEvent::SignCheckpoint.into(),
                    ResourceRef::new(RESOURCE_KIND, Some(size.to_string())),
                    Purpose::Operations,
                )
                .with_request_id(Some(SCHEDULER_REQUEST_ID.into()))
                .with_outcome(Outcome::Rejected, "inconsistent");
                audit::append(conn, &event)?;
                Ok(Err(err))
            }
            Err(err) => Err(err),
        }
    })?
}

/// Signs and records the checkpoint of the current tree, after checking it
/// against the latest recorded checkpoint (see the module docs). If the tree
/// has not grown since, answers that checkpoint. Run it in a write
/// transaction; nothing is written when it fails.
pub fn sign_current_tree(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    signer: &CheckpointSigner,
) -> Result<Checkpoint, CheckpointError> {
    let size = merkle::tree_size(conn)?;
    let root = merkle::tree_hash(conn, size)?;
    if let Some(previous) = merkle::latest_checkpoint(conn)? {
        if !signer.signed(&previous.signed_note, previous.size, &previous.root) {
            return Err(CheckpointError::Unsigned { size: previous.size });
        }
        if previous.size > size {
            return Err(CheckpointError::Shrunk {
                signed: previous.size,
                size,
            });
        }
        if previous.size == size {
            return if previous.root == root {
                Ok(previous)
            } else {
                Err(CheckpointError::Inconsistent {
                    signed: previous.size,
                    size,
                })
            };
        }
        if previous.size > 0 {
            let proof = merkle::consistency_proof(conn, previous.size, size)?;
            merkle::check_consistency(previous.size, size, &previous.root, &root, &proof).map_err(|_| {
                CheckpointError::Inconsistent {
                    signed: previous.size,
                    size,
                }
            })?;
        }
    }
    let checkpoint = Checkpoint {
        size,
        root,
        signed_note: signer.sign(size, &root)?,
        created_at: DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now),
    };
    merkle::record_checkpoint(conn, &checkpoint)?;
    Ok(checkpoint)
}

/// The broker's check of its own log before it serves: the whole log
/// verifies ([`merkle::verify_log`]) and the latest checkpoint carries the
/// broker's signature.
pub fn check_log(conn: &mut DbConn, signer: &CheckpointSigner) -> Result<merkle::VerifiedLog, LogCheckError> {
    let verified = merkle::verify_log(conn)?;
    match merkle::latest_checkpoint(conn).map_err(merkle::TamperError::Store)? {
        Some(latest) if !signer.signed(&latest.signed_note, latest.size, &latest.root) => {
            Err(LogCheckError::Unsigned { size: latest.size })
        }
        _ => Ok(verified),
    }
}

/// Why the log failed the start-up check.
#[derive(Debug, thiserror::Error)]
pub enum LogCheckError {
    #[error(transparent)]
    Tamper(#[from] merkle::TamperError),
    #[error("audit log: checkpoint at size {size}: its note does not carry the broker's signature")]
    Unsigned { size: i64 },
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn key_pem() -> String {
        josekit::jws::EdDSA
            .generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519)
            .unwrap()
            .to_pem_private_key()
            .into_iter()
            .map(char::from)
            .collect()
    }

    #[test]
    fn notes_verify_with_the_published_key_and_only_it() {
        let pem = key_pem();
        let signer = CheckpointSigner::from_pem("doorstroom.example/audit", &pem).unwrap();
        let root = merkle::leaf_hash(b"x");
        let note = signer.sign(7, &root).unwrap();

        // A verifier that only has the published key string.
        let verifier = StandardVerifier::new(signer.verifier_key()).unwrap();
        let parsed = Note::from_bytes(note.as_bytes()).unwrap();
        parsed.verify(&VerifierList::new(vec![Box::new(verifier)])).unwrap();
        let body = tlog_tiles::Checkpoint::from_bytes(parsed.text()).unwrap();
        assert_eq!(
            (body.origin(), body.size(), body.hash().0),
            ("doorstroom.example/audit", 7, root)
        );
        assert!(note.starts_with(&format!(
            "doorstroom.example/audit\n7\n{}\n\n— doorstroom.example/audit ",
            b64(&root)
        )));

        assert!(signer.signed(&note, 7, &root));
        assert!(!signer.signed(&note, 8, &root));
        assert!(!signer.signed(&note, 7, &merkle::leaf_hash(b"y")));
        // Another key, or the same key under another origin, did not sign it.
        assert!(
            !CheckpointSigner::from_pem("doorstroom.example/audit", &key_pem())
                .unwrap()
                .signed(&note, 7, &root)
        );
        assert!(
            !CheckpointSigner::from_pem("other.example/audit", &pem)
                .unwrap()
                .signed(&note, 7, &root)
        );
        // The same key signs the same checkpoint the same way (Ed25519 is deterministic).
        assert_eq!(signer.sign(7, &root).unwrap(), note);
    }

    fn b64(d: &Digest) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(d)
    }

    #[test]
    fn bad_keys_and_origins_are_refused() {
        assert!(CheckpointSigner::from_pem("has space", &key_pem()).is_err());
        assert!(CheckpointSigner::from_pem("a+b", &key_pem()).is_err());
        assert!(CheckpointSigner::from_pem("doorstroom.example/audit", "not a pem").is_err());
        let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
        let pem = String::from_utf8(
            openssl::pkey::PKey::from_rsa(rsa)
                .unwrap()
                .private_key_to_pem_pkcs8()
                .unwrap(),
        )
        .unwrap();
        assert!(CheckpointSigner::from_pem("doorstroom.example/audit", &pem).is_err());
    }
}
