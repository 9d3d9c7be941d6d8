//! The broker's secrets: the pseudonym key, the access-token key, the
//! broker's signing key and the key that seals TOTP secrets at rest. They
//! are read from files (mode 0600) that never live in the repository;
//! `serve --dev` generates missing ones.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use doorstroom_domain::{Pseudonym, StaffId};
use doorstroom_store::{Store, StoreError, staff};
use hmac::{Hmac, Mac};
use rand::RngCore;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::Sha256;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("secret file {path}: {cause}")]
    File { path: String, cause: String },
}

fn file_error(path: &Path, cause: impl ToString) -> SecretsError {
    SecretsError::File {
        path: path.display().to_string(),
        cause: cause.to_string(),
    }
}

/// The loaded secrets. Debug output is redacted.
pub struct Secrets {
    pseudonym_key: Vec<u8>,
    token_key: Vec<u8>,
    signing_key_pem: String,
    totp_key: TotpKey,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(***)")
    }
}

const KEY_BYTES: usize = 32;

impl Secrets {
    /// Reads the secret files; refuses files that others can read.
    pub fn load(settings: &SecretSettings) -> Result<Secrets, SecretsError> {
        Ok(Secrets {
            pseudonym_key: read_hex_key(&settings.pseudonym_key_file)?,
            token_key: read_hex_key(&settings.token_key_file)?,
            signing_key_pem: read_private(&settings.signing_key_file)?,
            totp_key: TotpKey::load(settings)?,
        })
    }

    /// Creates each missing secret file with fresh random content, mode 0600.
    /// Returns the files it created.
    pub fn generate_missing(settings: &SecretSettings) -> Result<Vec<PathBuf>, SecretsError> {
        let mut created = Vec::new();
        let totp_key_file = settings.totp_key_path();
        for path in [&settings.pseudonym_key_file, &settings.token_key_file, &totp_key_file] {
            if !path.exists() {
                let mut key = [0u8; KEY_BYTES];
                rand::rngs::OsRng.fill_bytes(&mut key);
                write_private(path, hex::encode(key).as_bytes())?;
                created.push(path.clone());
            }
        }
        let signing = &settings.signing_key_file;
        if !signing.exists() {
            let pair = josekit::jws::EdDSA
                .generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519)
                .map_err(|e| file_error(signing, e))?;
            write_private(signing, &pair.to_pem_private_key())?;
            created.push(signing.clone());
        }
        Ok(created)
    }

    /// The keyed pseudonym of a national student number (HMAC-SHA-256).
    pub fn pseudonym(&self, domain: &str, value: &str) -> Pseudonym {
        Pseudonym::from_digest(self.hmac(domain, value))
    }

    /// A keyed hash for rate-limit buckets (client addresses, user names), so
    /// that the database never holds the address itself.
    pub fn bucket_key(&self, domain: &str, value: &str) -> String {
        hex::encode(self.hmac(domain, value))
    }

    fn hmac(&self, domain: &str, value: &str) -> [u8; 32] {
        // Any key length is valid for HMAC; this cannot fail.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.pseudonym_key) else {
            return [0; 32];
        };
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }

    pub fn token_key(&self) -> &[u8] {
        &self.token_key
    }

    pub fn signing_key_pem(&self) -> &str {
        &self.signing_key_pem
    }

    pub fn totp_key(&self) -> &TotpKey {
        &self.totp_key
    }
}

/// How a sealed TOTP secret starts in the database. Base32 (a plaintext
/// secret) has neither lower case nor `:`, so the two cannot be confused.
pub const SEALED_TOTP_PREFIX: &str = "v1:";

/// Binds a sealed secret to its purpose and format version; the account id
/// follows, so a sealed secret copied onto another account does not open.
const TOTP_AAD_CONTEXT: &[u8] = b"doorstroom totp secret v1\0";

/// The key that seals staff TOTP secrets at rest: AES-256-GCM (ring), a
/// random 96-bit nonce per sealing, the account id as associated data.
/// Stored form: `v1:` + base64(nonce ‖ ciphertext ‖ tag).
pub struct TotpKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for TotpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpKey(***)")
    }
}

/// A stored TOTP secret that cannot be opened: not sealed, sealed for
/// another account or under another key, or damaged.
#[derive(Debug, thiserror::Error)]
#[error("the stored TOTP secret cannot be opened")]
pub struct SealError;

impl TotpKey {
    /// Reads the key file named in `settings` (hex; the first 32 bytes are
    /// the key).
    pub fn load(settings: &SecretSettings) -> Result<TotpKey, SecretsError> {
        let path = settings.totp_key_path();
        let bytes = read_hex_key(&path)?;
        let key = bytes
            .get(..KEY_BYTES)
            .and_then(|k| UnboundKey::new(&AES_256_GCM, k).ok())
            .ok_or_else(|| file_error(&path, "not a usable AES-256 key"))?;
        Ok(TotpKey {
            key: LessSafeKey::new(key),
        })
    }

    /// Seals the base32 TOTP secret of `account` for storage.
    pub fn seal(&self, account: StaffId, secret: &str) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut sealed = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(account)),
                &mut sealed,
            )
            .map_err(|_| SealError)?;
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&sealed);
        Ok(format!("{SEALED_TOTP_PREFIX}{}", STANDARD_NO_PAD.encode(stored)))
    }

    /// Opens what [`TotpKey::seal`] stored for `account`.
    pub fn open(&self, account: StaffId, stored: &str) -> Result<String, SealError> {
        let encoded = stored.strip_prefix(SEALED_TOTP_PREFIX).ok_or(SealError)?;
        let mut bytes = STANDARD_NO_PAD.decode(encoded).map_err(|_| SealError)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError);
        }
        let mut sealed = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| SealError)?;
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad(account)), &mut sealed)
            .map_err(|_| SealError)?;
        String::from_utf8(plain.to_vec()).map_err(|_| SealError)
    }
}

fn aad(account: StaffId) -> Vec<u8> {
    let mut aad = TOTP_AAD_CONTEXT.to_vec();
    aad.extend_from_slice(account.to_string().as_bytes());
    aad
}

/// Seals every TOTP secret still stored in plain text (written before
/// secrets were encrypted at rest), in one transaction, at start. Running
/// it again, or on two nodes at once, changes nothing more: a row is
/// replaced only while it still holds the plaintext read. Returns how many
/// rows it sealed.
pub fn seal_plaintext_totp_secrets(store: &Store, key: &TotpKey) -> Result<usize, StoreError> {
    store.write(|conn| {
        let mut sealed = 0;
        for (account, plain) in staff::totp_secrets_without_prefix(conn, SEALED_TOTP_PREFIX)? {
            let stored = key
                .seal(account, &plain)
                .map_err(|e| StoreError::corrupt("staff_accounts", "totp_secret", e.to_string()))?;
            if staff::replace_totp_secret(conn, account, &plain, &stored)? {
                sealed += 1;
            }
        }
        Ok(sealed)
    })
}

fn read_private(path: &Path) -> Result<String, SecretsError> {
    let meta = fs::metadata(path).map_err(|e| file_error(path, e))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(file_error(path, "must not be readable by group or others (chmod 600)"));
    }
    fs::read_to_string(path).map_err(|e| file_error(path, e))
}

fn read_hex_key(path: &Path) -> Result<Vec<u8>, SecretsError> {
    let text = read_private(path)?;
    let key = hex::decode(text.trim()).map_err(|_| file_error(path, "must hold the key as hex"))?;
    if key.len() < KEY_BYTES {
        return Err(file_error(path, "key must be at least 32 bytes"));
    }
    Ok(key)
}

fn write_private(path: &Path, content: &[u8]) -> Result<(), SecretsError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| file_error(path, e))?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| file_error(path, e))?;
    file.write_all(content).map_err(|e| file_error(path, e))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSettings {
    pub pseudonym_key_file: PathBuf,
    pub token_key_file: PathBuf,
    pub signing_key_file: PathBuf,
    /// The key that seals TOTP secrets at rest. Absent: `totp.key` beside
    /// `token_key_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_key_file: Option<PathBuf>,
}

impl SecretSettings {
    /// Where the TOTP sealing key lives.
    pub fn totp_key_path(&self) -> PathBuf {
        self.totp_key_file
            .clone()
            .unwrap_or_else(|| self.token_key_file.with_file_name("totp.key"))
    }
}
