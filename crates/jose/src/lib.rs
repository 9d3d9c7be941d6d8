//! JOSE for Doorstroom, built on josekit and OpenSSL (no hand-written crypto).
//!
//! This issue covers the *keys*: the validated public JWKs that institutions
//! publish in the key registry ([`PublicJwk`]), JWK Sets ([`Jwks`]), checking a
//! key's `x5c` chain against the configured trust anchors ([`verify_x5c`]) and
//! building a JWK pair from a PKCS#8 key ([`jwk_pair_from_pkcs8_pem`]).
//!
//! The package format (`package`: the signed envelope; `section`: the nested
//! JWS-in-JWE per dossier section) comes in a later issue as further modules
//! of this crate; they will reach the validated key through crate-internal
//! accessors of [`PublicJwk`].
//!
//! Errors are one enum, [`JoseError`], whose messages name the field or rule
//! that failed and never echo key material, so they may be shown to API
//! callers as they are.

mod error;
mod jwk;
mod jwks;
mod x5c;

pub use error::JoseError;
pub use jwk::{PublicJwk, jwk_pair_from_pkcs8_pem};
pub use jwks::Jwks;
pub use x5c::{TrustAnchors, X5cInfo, verify_x5c};
