//! JOSE for Doorstroom, built on josekit and OpenSSL (no hand-written crypto).
//!
//! *Keys*: the validated public JWKs that institutions publish in the key
//! registry ([`PublicJwk`]), an institution's own private keys
//! ([`PrivateJwk`]), JWK Sets ([`Jwks`]), checking a key's `x5c` chain
//! against the configured trust anchors ([`verify_x5c`]) and building a JWK
//! pair from a PKCS#8 key ([`jwk_pair_from_pkcs8_pem`]).
//!
//! *The package format* (normative text: `openapi/PACKAGE-FORMAT.md`): each
//! dossier section travels as a JWS by the sender nested in a JWE for the
//! recipient; a signed envelope lists the package's metadata and the size
//! and SHA-256 of every section token. The sender calls [`seal`]; the broker
//! calls [`peek_envelope`] (to find the sender's key by `kid`),
//! [`verify_envelope`] and [`check_sections`], and never decrypts; the
//! receiver calls [`verify_envelope`] and [`open_section`].
//!
//! Errors are one enum, [`JoseError`], whose messages name the field or rule
//! that failed and never echo key material or dossier content, so they may
//! be shown to API callers as they are.

mod canonical;
mod compact;
mod error;
mod format;
mod jwk;
mod jwks;
mod package;
mod private_jwk;
mod section;
mod x5c;

pub use canonical::canonical_json;
pub use error::JoseError;
pub use format::{
    Envelope, MAX_ATTACHMENTS_BYTES, MAX_ENVELOPE_BYTES, MAX_SECTION_BYTES, MAX_SUBMISSION_BYTES, PackageMeta,
    SectionEntry, SectionInput, max_section_bytes, sha256_b64url,
};
pub use jwk::{PublicJwk, jwk_pair_from_pkcs8_pem};
pub use jwks::Jwks;
pub use package::{ENVELOPE_TYP, Submission, check_sections, peek_envelope, seal, verify_envelope};
pub use private_jwk::PrivateJwk;
pub use section::{SECTION_TYP, SectionHeader, open_section, section_header};
pub use x5c::{TrustAnchors, X5cInfo, verify_x5c};
