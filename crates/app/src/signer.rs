//! The broker's own signature (Ed25519): receipts for submitted packages
//! now, consent receipts and log checkpoints later. Its public key is
//! published at `GET /v1/broker/jwks`, so anyone can check a receipt.

use josekit::jwk::Jwk;
use josekit::jws::alg::eddsa::{EddsaJwsSigner, EddsaJwsVerifier};
use josekit::jws::{EdDSA, JwsHeader};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::AppError;

pub struct BrokerSigner {
    signer: EddsaJwsSigner,
    verifier: EddsaJwsVerifier,
    public_jwk: Value,
    kid: String,
}

impl BrokerSigner {
    /// From the PKCS#8 PEM of the broker's signing key.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let pair = EdDSA.key_pair_from_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
        let mut public: Jwk = pair.to_jwk_public_key();
        let x = public
            .parameter("x")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let kid = format!("broker-{}", &hex::encode(Sha256::digest(x.as_bytes()))[..16]);
        public.set_key_id(&kid);
        public.set_key_use("sig");
        public.set_algorithm("EdDSA");
        let verifier = EdDSA.verifier_from_jwk(&public).map_err(|e| e.to_string())?;
        let mut signer = EdDSA.signer_from_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
        signer.set_key_id(&kid);
        let public_jwk = serde_json::to_value(public.as_ref()).map_err(|e| e.to_string())?;
        Ok(Self {
            signer,
            verifier,
            public_jwk,
            kid,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK.
    pub fn public_jwk(&self) -> &Value {
        &self.public_jwk
    }

    /// A compact JWS over the compact JSON of `payload`, typed `typ`.
    pub fn sign(&self, typ: &str, payload: &Value) -> Result<String, AppError> {
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(&self.kid);
        let bytes = serde_json::to_vec(payload).map_err(|e| AppError::Internal(e.to_string()))?;
        josekit::jws::serialize_compact(&bytes, &header, &self.signer).map_err(|e| AppError::Internal(e.to_string()))
    }

    /// Checks a compact JWS made by [`BrokerSigner::sign`] and returns its payload.
    pub fn verify(&self, jws: &str) -> Option<Value> {
        let (payload, _) = josekit::jws::deserialize_compact(jws, &self.verifier).ok()?;
        serde_json::from_slice(&payload).ok()
    }
}
