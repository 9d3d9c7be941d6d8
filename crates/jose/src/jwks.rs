//! RFC 7517 JWK Sets.

use serde::{Deserialize, Serialize};

use crate::PublicJwk;

/// An RFC 7517 JWK Set, as an institution's published keys are served.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Jwks {
    /// The public JWKs, each with `kid`, `use`, `alg` and `x5c`.
    pub keys: Vec<serde_json::Value>,
}

impl Jwks {
    /// A set of the given keys, in the normalised published form.
    pub fn from_keys<'a>(keys: impl IntoIterator<Item = &'a PublicJwk>) -> Self {
        Self {
            keys: keys.into_iter().map(PublicJwk::to_json).collect(),
        }
    }
}
