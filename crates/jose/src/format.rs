//! The package format's shared vocabulary: the size limits, what the
//! sender hands to [`crate::seal`], the parsed envelope and the value rules
//! both token kinds apply. The envelope (`package.rs`) and the section
//! tokens (`section.rs`) both build on it; it is a module of its own so that
//! `package.rs` can use `section.rs` without `section.rs` using it back.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use doorstroom_domain::{Brin, Section};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::canonical::MAX_SAFE_INTEGER;

/// Largest section token (compact JWE, in bytes) for every section but
/// `attachments`: 512 KiB.
pub const MAX_SECTION_BYTES: usize = 512 * 1024;
/// Largest `attachments` section token: 8 MiB.
pub const MAX_ATTACHMENTS_BYTES: usize = 8 * 1024 * 1024;
/// Largest envelope (compact JWS, in bytes): 16 KiB.
pub const MAX_ENVELOPE_BYTES: usize = 16 * 1024;
/// Largest submission body a server needs to accept: the envelope, every
/// section at its limit, and 4 KiB for the JSON around them.
pub const MAX_SUBMISSION_BYTES: usize = MAX_ENVELOPE_BYTES + 4 * MAX_SECTION_BYTES + MAX_ATTACHMENTS_BYTES + 4096;

/// The largest token accepted for `section`.
pub const fn max_section_bytes(section: Section) -> usize {
    match section {
        Section::Attachments => MAX_ATTACHMENTS_BYTES,
        _ => MAX_SECTION_BYTES,
    }
}

/// The content of one section, as the sender hands it to [`crate::seal`].
#[derive(Clone, PartialEq)]
pub struct SectionInput {
    pub section: Section,
    /// Any JSON value. For `attachments`:
    /// `{"files": [{"filename", "media_type", "data": <base64>}]}`.
    pub content: Value,
}

impl fmt::Debug for SectionInput {
    /// Shows the section name only: the content is dossier plaintext.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SectionInput")
            .field("section", &self.section)
            .finish_non_exhaustive()
    }
}

/// The metadata of a package, as the sender hands it to [`crate::seal`].
///
/// A struct rather than six positional arguments: three of them are
/// strings and two are BRINs, and swapping any pair would still compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageMeta {
    /// The package id: a UUID in lowercase hyphenated form, chosen by the sender.
    pub package_id: String,
    /// The sending institution (`iss`).
    pub sender: Brin,
    /// The receiving institution (`aud`).
    pub recipient: Brin,
    /// The broker's id of the student's application at the recipient: a UUID
    /// in lowercase hyphenated form.
    pub application: String,
    /// A unique id of this submission, 16..=128 characters from `[A-Za-z0-9._:-]`.
    pub jti: String,
    /// The time of sealing, in Unix seconds.
    pub iat: i64,
}

/// One line of the envelope's `sections` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionEntry {
    pub name: Section,
    /// Length of the section token in bytes.
    pub size: u64,
    /// SHA-256 of the section token's bytes, base64url without padding.
    pub sha256: String,
}

/// A parsed envelope. From [`crate::peek_envelope`] it is *unverified*;
/// from [`crate::verify_envelope`] its signature has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The package id (lowercase hyphenated UUID).
    pub pid: String,
    pub iss: Brin,
    pub aud: Brin,
    /// The broker's application id (lowercase hyphenated UUID).
    pub application: String,
    /// Sorted by section name, each name once.
    pub sections: Vec<SectionEntry>,
    pub iat: i64,
    pub jti: String,
    /// The `kid` of the envelope's protected header: the sender's signing key.
    pub kid: String,
}

impl Envelope {
    /// The entry for `section`, if the envelope lists it.
    pub fn entry(&self, section: Section) -> Option<&SectionEntry> {
        self.sections.iter().find(|e| e.name == section)
    }
}

/// SHA-256 over the bytes of `token`, base64url without padding: the
/// `sha256` of an envelope entry.
pub fn sha256_b64url(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

pub(crate) fn valid_uuid(s: &str) -> bool {
    Uuid::try_parse(s).is_ok_and(|u| u.hyphenated().to_string() == s)
}

pub(crate) fn valid_iat(iat: i64) -> bool {
    u64::try_from(iat).is_ok_and(|i| i <= MAX_SAFE_INTEGER)
}
