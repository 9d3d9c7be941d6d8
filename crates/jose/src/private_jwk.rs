//! Private JWKs: an institution's own signing and decryption keys, as kept
//! in its `*.jwk` files. They never leave the institution; the broker never
//! holds one.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use doorstroom_domain::KeyUse;
use josekit::jwe::{ECDH_ES_A256KW, JweDecrypter, RSA_OAEP_256};
use josekit::jwk::Jwk;
use josekit::jws::{ES256, EdDSA, JwsSigner};
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::Rsa;
use serde_json::{Map, Value};

use crate::jwk::{Alg, key_header, key_header_getters, public_members};
use crate::{JoseError, PublicJwk};

/// Members copied into the key handed to josekit; everything else (e.g.
/// `key_ops`, `x5c`) is left out so that it cannot change how the key is used.
const KEY_MEMBERS: [&str; 12] = ["kty", "crv", "x", "y", "n", "e", "d", "p", "q", "dp", "dq", "qi"];

/// A validated *private* JWK: a signing key (`use` `sig`, `alg` ES256 or
/// EdDSA) or a decryption key (`use` `enc`, `alg` ECDH-ES+A256KW or
/// RSA-OAEP-256), as stored in the owner's `*.jwk` file.
///
/// Holding one means: `kid`, `use`, `alg`, `kty` and `crv` obey the same
/// rules as for [`PublicJwk`]; the private members (`d`, and for RSA also
/// `p`, `q`, `dp`, `dq`, `qi`) form a valid key; and that key belongs to
/// the public members (`x`/`y`, `x`, or `n`/`e`) of the same JWK. `x5c` is
/// optional here; it is needed only for [`PrivateJwk::public_jwk`].
///
/// `Debug` shows `kid`, `use` and `alg` only, never key material.
#[derive(Clone)]
pub struct PrivateJwk {
    kid: String,
    key_use: KeyUse,
    alg: Alg,
    /// The key as josekit takes it: [`KEY_MEMBERS`] plus `kid`, `use`, `alg`.
    jwk: Jwk,
    /// The public members plus `kid`, `use`, `alg` and `x5c` (if given).
    public: Map<String, Value>,
}

impl fmt::Debug for PrivateJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateJwk")
            .field("kid", &self.kid)
            .field("use", &self.key_use)
            .field("alg", &self.alg.as_str())
            .finish_non_exhaustive()
    }
}

impl PrivateJwk {
    /// Parses and validates a private JWK (see the type's documentation for
    /// the rules). Errors never echo key material.
    pub fn parse(json: &Value) -> Result<Self, JoseError> {
        let map = json.as_object().ok_or(JoseError::NotAnObject)?;
        let (kid, key_use, alg) = key_header(map)?;
        if !map.contains_key("d") {
            return Err(JoseError::MissingMember("d"));
        }
        let mut public = Map::new();
        let public_key = public_members(map, alg, &mut public)?;

        let mut key = Map::new();
        for member in KEY_MEMBERS {
            if let Some(v) = map.get(member) {
                key.insert(member.to_owned(), v.clone());
            }
        }
        for (member, value) in [("kid", kid), ("use", key_use.as_str()), ("alg", alg.as_str())] {
            key.insert(member.to_owned(), Value::from(value));
            public.insert(member.to_owned(), Value::from(value));
        }
        if let Some(x5c) = map.get("x5c") {
            public.insert("x5c".to_owned(), x5c.clone());
        }
        let jwk = Jwk::from_map(key).map_err(|_| JoseError::InvalidPrivateKey("members must be base64url strings"))?;

        let private_key = private_key(map, alg)?;
        if !private_key.public_eq(&public_key) {
            return Err(JoseError::InvalidPrivateKey(
                "the private key does not belong to the JWK's public members",
            ));
        }

        let out = Self {
            kid: kid.to_owned(),
            key_use,
            alg,
            jwk,
            public,
        };
        // Let josekit refuse anything it would refuse later, now.
        match key_use {
            KeyUse::Sig => drop(out.signer()?),
            KeyUse::Enc => drop(out.decrypter()?),
        }
        Ok(out)
    }

    key_header_getters!();

    /// The matching public JWK (public members, `kid`, `use`, `alg`, `x5c`),
    /// validated by [`PublicJwk::parse`]; fails if the file has no `x5c`.
    pub fn public_jwk(&self) -> Result<PublicJwk, JoseError> {
        PublicJwk::parse(&Value::Object(self.public.clone()))
    }

    /// A josekit signer for this key (signing keys only).
    pub(crate) fn signer(&self) -> Result<Box<dyn JwsSigner>, JoseError> {
        let invalid = |_| JoseError::InvalidPrivateKey("not usable as a signing key");
        Ok(match self.alg {
            Alg::Es256 => Box::new(ES256.signer_from_jwk(&self.jwk).map_err(invalid)?),
            Alg::EdDsa => Box::new(EdDSA.signer_from_jwk(&self.jwk).map_err(invalid)?),
            Alg::EcdhEsA256kw | Alg::RsaOaep256 => {
                return Err(JoseError::WrongKey("a signing key (use \"sig\") is required"));
            }
        })
    }

    /// A josekit decrypter for this key (encryption keys only).
    pub(crate) fn decrypter(&self) -> Result<Box<dyn JweDecrypter>, JoseError> {
        let invalid = |_| JoseError::InvalidPrivateKey("not usable as a decryption key");
        Ok(match self.alg {
            Alg::EcdhEsA256kw => Box::new(ECDH_ES_A256KW.decrypter_from_jwk(&self.jwk).map_err(invalid)?),
            Alg::RsaOaep256 => Box::new(RSA_OAEP_256.decrypter_from_jwk(&self.jwk).map_err(invalid)?),
            Alg::Es256 | Alg::EdDsa => {
                return Err(JoseError::WrongKey("a decryption key (use \"enc\") is required"));
            }
        })
    }
}

/// The private key formed by the private members, checked by OpenSSL (for
/// EC: on the curve and `d`·G equal to the stored point; for RSA: the CRT
/// members consistent with `n`, `e`, `d`).
fn private_key(map: &Map<String, Value>, alg: Alg) -> Result<PKey<Private>, JoseError> {
    let invalid = || JoseError::InvalidPrivateKey("the private members do not form a valid key");
    let member = |name: &'static str| -> Result<BigNum, JoseError> {
        let raw = map.get(name).ok_or(JoseError::MissingMember(name))?;
        let text = raw.as_str().ok_or(JoseError::NotAString(name))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| JoseError::InvalidKeyMaterial {
                member: name,
                rule: "must be base64url without padding",
            })?;
        Ok(BigNum::from_slice(&bytes)?)
    };
    match alg {
        Alg::Es256 | Alg::EcdhEsA256kw => {
            let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
            let (x, y) = (member("x")?, member("y")?);
            let mut ctx = BigNumContext::new()?;
            let mut point = EcPoint::new(&group)?;
            point
                .set_affine_coordinates_gfp(&group, &x, &y, &mut ctx)
                .map_err(|_| invalid())?;
            let key = EcKey::from_private_components(&group, &*member("d")?, &point).map_err(|_| invalid())?;
            key.check_key().map_err(|_| invalid())?;
            Ok(PKey::from_ec_key(key)?)
        }
        Alg::EdDsa => {
            let d = map.get("d").and_then(Value::as_str).ok_or(JoseError::NotAString("d"))?;
            let d = URL_SAFE_NO_PAD.decode(d).map_err(|_| invalid())?;
            if d.len() != 32 {
                return Err(invalid());
            }
            PKey::private_key_from_raw_bytes(&d, Id::ED25519).map_err(|_| invalid())
        }
        Alg::RsaOaep256 => {
            let rsa = Rsa::from_private_components(
                member("n")?,
                member("e")?,
                member("d")?,
                member("p")?,
                member("q")?,
                member("dp")?,
                member("dq")?,
                member("qi")?,
            )
            .map_err(|_| invalid())?;
            if !rsa.check_key().unwrap_or(false) {
                return Err(invalid());
            }
            Ok(PKey::from_rsa(rsa)?)
        }
    }
}
