//! The one error type of the crate.

use doorstroom_domain::{KeyUse, Section};

/// What went wrong with a key, a certificate chain or a trust anchor.
///
/// Every message names the member or rule that failed and is safe to show to
/// an API caller: none of them echoes key material or caller input.
#[derive(Debug, thiserror::Error)]
pub enum JoseError {
    #[error("jwk: must be a JSON object")]
    NotAnObject,
    #[error("jwk: member `{0}` is required")]
    MissingMember(&'static str),
    #[error("jwk: member `{0}` must be a string")]
    NotAString(&'static str),
    /// A member that only a private (or symmetric) key has was present.
    #[error("jwk: private key material (member `{0}`) must never be published")]
    PrivateKeyMaterial(&'static str),
    #[error("jwk: `kid` must be 1 to 128 characters from A-Z a-z 0-9 . _ : -")]
    InvalidKid,
    #[error("jwk: `use` must be \"sig\" or \"enc\"")]
    InvalidUse,
    /// `alg` is not one of the algorithms allowed for the key's `use`.
    #[error("jwk: `alg` is not allowed for use \"{key_use}\"; allowed: {allowed}")]
    UnsupportedAlg { key_use: KeyUse, allowed: &'static str },
    /// `alg` is allowed but the key type or curve does not fit it.
    #[error("jwk: `alg` {alg} requires {required}")]
    KeyTypeMismatch { alg: &'static str, required: &'static str },
    #[error("jwk: `{member}` {rule}")]
    InvalidKeyMaterial { member: &'static str, rule: &'static str },
    #[error("jwk: RSA modulus must be at least 2048 bits, this one has {bits}")]
    RsaKeyTooSmall { bits: u32 },
    #[error("jwk: `x5c` {0}")]
    InvalidX5c(&'static str),
    #[error("jwk: `x5t#S256` does not match the first certificate of `x5c`")]
    X5tMismatch,
    #[error("trust anchors: {0}")]
    InvalidTrustAnchors(&'static str),
    /// The chain does not lead to a trust anchor; the text is OpenSSL's fixed
    /// description of the verification error.
    #[error("x5c: the certificate chain does not lead to a trust anchor ({0})")]
    Untrusted(&'static str),
    #[error("x5c: a certificate in the chain has expired at the time of checking")]
    CertificateExpired,
    #[error("x5c: a certificate in the chain is not yet valid at the time of checking")]
    CertificateNotYetValid,
    #[error("x5c: the public key of the first certificate is not the JWK's public key")]
    KeyMismatch,
    #[error("x5c: the time of checking is out of range")]
    TimeOutOfRange,
    #[error("private key: {0}")]
    InvalidPrivateKey(&'static str),
    /// A value given to [`crate::canonical_json`] has no RFC 8785 form in
    /// Doorstroom's subset (e.g. a fraction, or an integer beyond 2^53 - 1).
    #[error("canonical json: {0}")]
    NotCanonical(&'static str),
    /// A key of the wrong kind was handed to a package function (e.g. an
    /// encryption key to verify a signature).
    #[error("key: {0}")]
    WrongKey(&'static str),
    /// The caller's input to [`crate::seal`], or a submission as a whole, is
    /// malformed.
    #[error("package: {0}")]
    Package(&'static str),
    /// The envelope breaks a rule of the package format.
    #[error("envelope: {0}")]
    Envelope(&'static str),
    #[error("envelope: exceeds {limit} bytes")]
    EnvelopeTooLarge { limit: usize },
    /// A section token breaks a rule of the package format, or does not
    /// agree with the envelope.
    #[error("section {section}: {rule}")]
    Section { section: Section, rule: &'static str },
    #[error("section {section}: exceeds {limit} bytes")]
    SectionTooLarge { section: Section, limit: usize },
    /// josekit failed while signing or encrypting our own, valid input. The
    /// source is for the operator's logs.
    #[error("jose: internal error while signing or encrypting")]
    Jose(#[source] josekit::JoseError),
    /// OpenSSL failed for a reason that is not the caller's input (e.g. out of
    /// memory). The source is for the operator's logs.
    #[error("jose: internal cryptographic error")]
    Crypto(#[source] openssl::error::ErrorStack),
}

impl JoseError {
    /// The section a [`JoseError::Section`] or [`JoseError::SectionTooLarge`]
    /// is about, so that the broker can point at `/sections/<name>`.
    pub fn section(&self) -> Option<Section> {
        match self {
            JoseError::Section { section, .. } | JoseError::SectionTooLarge { section, .. } => Some(*section),
            _ => None,
        }
    }
}

impl From<openssl::error::ErrorStack> for JoseError {
    fn from(e: openssl::error::ErrorStack) -> Self {
        JoseError::Crypto(e)
    }
}
