//! Reading JOSE compact serializations: splitting and decoding the parts,
//! the signed header both the envelope and a section's inner token carry,
//! and the verifier for a signing key. Shared by `package.rs` and
//! `section.rs`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jws::{ES256, EdDSA, JwsVerifier};
use serde_json::{Map, Value};

use crate::jwk::{Alg, valid_kid};
use crate::{JoseError, PublicJwk};

/// A checked JWS protected header: exactly `alg`, `kid` and `typ`.
pub(crate) struct SigHeader {
    pub(crate) alg: Alg,
    pub(crate) kid: String,
}

/// Which rule of a JWS protected header failed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SigHeaderFault {
    Members,
    Typ,
    Alg,
    Kid,
}

impl SigHeaderFault {
    pub(crate) const fn envelope_rule(self) -> &'static str {
        match self {
            Self::Members => "protected header must have exactly `alg`, `kid` and `typ`",
            Self::Typ => "protected header `typ` must be doorstroom-envelope+jwt",
            Self::Alg => "protected header `alg` must be ES256 or EdDSA",
            Self::Kid => "protected header `kid` must be 1 to 128 characters from A-Z a-z 0-9 . _ : -",
        }
    }

    pub(crate) const fn inner_rule(self) -> &'static str {
        match self {
            Self::Members => "inner protected header must have exactly `alg`, `kid` and `typ`",
            Self::Typ => "inner protected header `typ` must be doorstroom-section+jwt",
            Self::Alg => "inner protected header `alg` must be ES256 or EdDSA",
            Self::Kid => "inner protected header `kid` must be 1 to 128 characters from A-Z a-z 0-9 . _ : -",
        }
    }
}

impl SigHeader {
    pub(crate) fn parse(header: &Map<String, Value>, typ: &str) -> Result<Self, SigHeaderFault> {
        if header.len() != 3 || !["alg", "kid", "typ"].iter().all(|k| header.contains_key(*k)) {
            return Err(SigHeaderFault::Members);
        }
        if header.get("typ").and_then(Value::as_str) != Some(typ) {
            return Err(SigHeaderFault::Typ);
        }
        let alg = match header.get("alg").and_then(Value::as_str) {
            Some("ES256") => Alg::Es256,
            Some("EdDSA") => Alg::EdDsa,
            _ => return Err(SigHeaderFault::Alg),
        };
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .filter(|k| valid_kid(k))
            .ok_or(SigHeaderFault::Kid)?;
        Ok(Self {
            alg,
            kid: kid.to_owned(),
        })
    }
}

/// A josekit verifier for a (signing) public key.
pub(crate) fn verifier(key: &PublicJwk) -> Result<std::sync::Arc<dyn JwsVerifier>, JoseError> {
    key.verifier_with(|key| {
        let der = key.public_key().public_key_to_der()?;
        let unusable = |_| JoseError::WrongKey("the key is not usable for verifying signatures");
        Ok(match key.alg_kind() {
            Alg::Es256 => std::sync::Arc::new(ES256.verifier_from_der(&der).map_err(unusable)?),
            Alg::EdDsa => std::sync::Arc::new(EdDSA.verifier_from_der(&der).map_err(unusable)?),
            Alg::EcdhEsA256kw | Alg::RsaOaep256 => {
                return Err(JoseError::WrongKey("a signing key (use \"sig\") is required"));
            }
        })
    })
}

/// Splits a compact serialization into exactly `N` parts, each non-empty
/// and strict base64url without padding (RFC 7515 §2: no padding, no
/// whitespace, no other characters, unused bits zero), and decodes them.
pub(crate) fn split_compact<const N: usize>(token: &str) -> Option<[Vec<u8>; N]> {
    let mut parts = token.split('.');
    let mut out: [Vec<u8>; N] = std::array::from_fn(|_| Vec::new());
    for slot in &mut out {
        let part = parts.next().filter(|p| !p.is_empty())?;
        *slot = URL_SAFE_NO_PAD.decode(part).ok()?;
    }
    match parts.next() {
        Some(_) => None,
        None => Some(out),
    }
}

/// A JSON object from bytes, or `None`.
pub(crate) fn json_object(bytes: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice(bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}
