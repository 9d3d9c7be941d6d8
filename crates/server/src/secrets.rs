//! The broker's secrets: the pseudonym key, the access-token key and the
//! broker's signing key. They are read from files (mode 0600) that never
//! live in the repository; `serve --dev` generates missing ones.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use doorstroom_domain::Pseudonym;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::config::SecretSettings;

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
        })
    }

    /// Creates each missing secret file with fresh random content, mode 0600.
    /// Returns the files it created.
    pub fn generate_missing(settings: &SecretSettings) -> Result<Vec<PathBuf>, SecretsError> {
        let mut created = Vec::new();
        for path in [&settings.pseudonym_key_file, &settings.token_key_file] {
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
