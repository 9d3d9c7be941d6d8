//! Validated public JWKs (RFC 7517) as institutions publish them.

use std::fmt;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use doorstroom_domain::KeyUse;
use josekit::jwk::KeyPair as _;
use josekit::jwk::alg::ec::{EcCurve, EcKeyPair};
use josekit::jws::JwsVerifier;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, PKeyRef, Public};
use openssl::rsa::Rsa;
use openssl::x509::X509;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::JoseError;

/// Members that only private or symmetric keys have (RFC 7518 §6.2.2, §6.3.2,
/// §6.4). A published key carrying any of them is refused outright.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
/// Longest `kid` accepted.
const MAX_KID_LEN: usize = 128;
/// Most certificates accepted in `x5c` (leaf, intermediates, anchor).
const MAX_X5C_LEN: usize = 10;
/// RSA moduli outside [2048, 16384] bits are refused (too weak, or a cheap
/// way to make every verification slow).
const MIN_RSA_BITS: u32 = 2048;
const MAX_RSA_BITS: u32 = 16384;

/// The getters of `kid`, `use` and `alg`, which [`PublicJwk`] and
/// [`crate::PrivateJwk`] share: both validate them with [`key_header`] and
/// keep them in fields of these names, and a private key carries the same
/// three as its published public key. Written once here; expanded inside
/// each type's `impl` so that callers keep calling plain methods.
macro_rules! key_header_getters {
    () => {
        /// The key id, unique within its institution's key set; a private
        /// key has the id of its published public key.
        pub fn kid(&self) -> &str {
            &self.kid
        }

        /// What the key is for.
        pub fn key_use(&self) -> doorstroom_domain::KeyUse {
            self.key_use
        }

        /// The JOSE algorithm name (`ES256`, `EdDSA`, `ECDH-ES+A256KW`, `RSA-OAEP-256`).
        pub fn alg(&self) -> &str {
            self.alg.as_str()
        }
    };
}
pub(crate) use key_header_getters;

/// The algorithms Doorstroom accepts, each tied to one `use` and one key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alg {
    /// ECDSA with P-256 and SHA-256 (sig).
    Es256,
    /// Ed25519 (sig).
    EdDsa,
    /// ECDH-ES with P-256 and AES-256 key wrap (enc).
    EcdhEsA256kw,
    /// RSAES-OAEP with SHA-256 (enc).
    RsaOaep256,
}

impl Alg {
    pub(crate) fn parse(raw: &str, key_use: KeyUse) -> Result<Self, JoseError> {
        match (key_use, raw) {
            (KeyUse::Sig, "ES256") => Ok(Alg::Es256),
            (KeyUse::Sig, "EdDSA") => Ok(Alg::EdDsa),
            (KeyUse::Enc, "ECDH-ES+A256KW") => Ok(Alg::EcdhEsA256kw),
            (KeyUse::Enc, "RSA-OAEP-256") => Ok(Alg::RsaOaep256),
            (KeyUse::Sig, _) => Err(JoseError::UnsupportedAlg {
                key_use,
                allowed: "ES256, EdDSA",
            }),
            (KeyUse::Enc, _) => Err(JoseError::UnsupportedAlg {
                key_use,
                allowed: "ECDH-ES+A256KW, RSA-OAEP-256",
            }),
        }
    }

    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
            Alg::EcdhEsA256kw => "ECDH-ES+A256KW",
            Alg::RsaOaep256 => "RSA-OAEP-256",
        }
    }

    /// The `kty` and, where the key type has curves, the `crv` this algorithm needs.
    const fn key_type(self) -> (&'static str, Option<&'static str>) {
        match self {
            Alg::Es256 | Alg::EcdhEsA256kw => ("EC", Some("P-256")),
            Alg::EdDsa => ("OKP", Some("Ed25519")),
            Alg::RsaOaep256 => ("RSA", None),
        }
    }

    const fn required(self) -> &'static str {
        match self {
            Alg::Es256 | Alg::EcdhEsA256kw => "kty \"EC\" with crv \"P-256\"",
            Alg::EdDsa => "kty \"OKP\" with crv \"Ed25519\"",
            Alg::RsaOaep256 => "kty \"RSA\"",
        }
    }
}

/// A validated *public* JWK as published by an institution.
///
/// Holding one means: it has a well-formed `kid`, a `use` of `sig` or `enc`,
/// an `alg` that fits both the use and the key, valid public key material
/// (a point on the curve, an RSA modulus of at least 2048 bits), no private
/// members, and an `x5c` of one or more DER certificates. Whether that chain
/// is *trusted* is a separate question, answered by [`crate::verify_x5c`] at a
/// given time.
#[derive(Clone)]
pub struct PublicJwk {
    kid: String,
    key_use: KeyUse,
    alg: Alg,
    key: PKey<Public>,
    x5c_der: Vec<Vec<u8>>,
    /// The normalised published form (see [`PublicJwk::to_json`]).
    json: Value,
    /// The signature verifier built from `key`, once: building it imports
    /// the key into OpenSSL again (with its curve-point checks), which cost
    /// more than the verification itself. Shared by the clones.
    verifier: Arc<OnceLock<Arc<dyn JwsVerifier>>>,
}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicJwk")
            .field("kid", &self.kid)
            .field("use", &self.key_use)
            .field("alg", &self.alg.as_str())
            .field("x5c_len", &self.x5c_der.len())
            .finish_non_exhaustive()
    }
}

impl PartialEq for PublicJwk {
    fn eq(&self, other: &Self) -> bool {
        self.json == other.json
    }
}

impl PublicJwk {
    /// The verifier of this key, built by `build` the first time.
    pub(crate) fn verifier_with(
        &self,
        build: impl FnOnce(&PublicJwk) -> Result<Arc<dyn JwsVerifier>, JoseError>,
    ) -> Result<Arc<dyn JwsVerifier>, JoseError> {
        if let Some(verifier) = self.verifier.get() {
            return Ok(verifier.clone());
        }
        let verifier = build(self)?;
        Ok(self.verifier.get_or_init(|| verifier).clone())
    }

    /// Parses and validates a public JWK.
    ///
    /// Rules, checked in this order so that each violation has its own error:
    /// a JSON object; no private members (`d`, `p`, `q`, `dp`, `dq`, `qi`,
    /// `oth`, `k`); `kid` of 1..=128 characters from `[A-Za-z0-9._:-]`; `use`
    /// `sig` or `enc`; `alg` ES256 or EdDSA for `sig`, ECDH-ES+A256KW or
    /// RSA-OAEP-256 for `enc`; `kty`/`crv` fitting `alg`; valid key material;
    /// `x5c` a non-empty array (at most 10) of standard-base64 DER
    /// certificates; `x5t#S256`, if present, the SHA-256 of the first one.
    /// Other members are ignored (RFC 7517 §4) and not carried over.
    pub fn parse(json: &Value) -> Result<Self, JoseError> {
        let map = json.as_object().ok_or(JoseError::NotAnObject)?;
        if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| map.contains_key(**m)) {
            return Err(JoseError::PrivateKeyMaterial(member));
        }

        let (kid, key_use, alg) = key_header(map)?;
        let mut out = Map::new();
        let key = public_members(map, alg, &mut out)?;

        let x5c_der = parse_x5c(map)?;
        if let Some(x5t) = map.get("x5t#S256") {
            let claimed = x5t
                .as_str()
                .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
                .ok_or(JoseError::X5tMismatch)?;
            let leaf = x5c_der
                .first()
                .ok_or(JoseError::InvalidX5c("must hold at least one certificate"))?;
            if claimed.as_slice() != Sha256::digest(leaf).as_slice() {
                return Err(JoseError::X5tMismatch);
            }
            out.insert("x5t#S256".to_owned(), x5t.clone());
        }

        out.insert("kid".to_owned(), Value::from(kid));
        out.insert("use".to_owned(), Value::from(key_use.as_str()));
        out.insert("alg".to_owned(), Value::from(alg.as_str()));
        out.insert(
            "x5c".to_owned(),
            Value::Array(x5c_der.iter().map(|der| Value::from(STANDARD.encode(der))).collect()),
        );

        Ok(Self {
            kid: kid.to_owned(),
            key_use,
            alg,
            key,
            x5c_der,
            json: Value::Object(out),
            verifier: Arc::default(),
        })
    }

    key_header_getters!();

    /// The DER certificates of `x5c`, leaf first.
    pub fn x5c_der(&self) -> &[Vec<u8>] {
        &self.x5c_der
    }

    /// The public JWK as published: `kty`, the key members, `kid`, `use`,
    /// `alg`, `x5c` (and `x5t#S256` if it was given). Unknown members of the
    /// parsed input are not carried over.
    pub fn to_json(&self) -> Value {
        self.json.clone()
    }

    /// The public key itself, for chain checks and the package format.
    pub(crate) fn public_key(&self) -> &PKeyRef<Public> {
        &self.key
    }

    /// The algorithm as the crate's closed enumeration.
    pub(crate) fn alg_kind(&self) -> Alg {
        self.alg
    }
}

/// From a PKCS#8 PEM private key (EC P-256, as rcgen makes them) build the
/// private JWK (for the key owner's own files: `d`, `x`, `y`) and the public
/// JWK, both carrying `kid`, `use`, `alg` and `x5c`.
///
/// The public JWK goes through [`PublicJwk::parse`], so `kid`, `alg` and
/// `x5c` must obey its rules, and the first certificate of `x5c` must carry
/// this very key.
pub fn jwk_pair_from_pkcs8_pem(
    pem: &str,
    kid: &str,
    key_use: KeyUse,
    alg: &str,
    x5c_der: Vec<Vec<u8>>,
) -> Result<(Value, PublicJwk), JoseError> {
    if !pem.trim_start().starts_with("-----BEGIN PRIVATE KEY-----") {
        return Err(JoseError::InvalidPrivateKey(
            "must be a PKCS#8 PEM block (BEGIN PRIVATE KEY)",
        ));
    }
    let pair = EcKeyPair::from_pem(pem.as_bytes(), Some(EcCurve::P256))
        .map_err(|_| JoseError::InvalidPrivateKey("must be an EC P-256 key"))?;

    let decorate = |jwk: josekit::jwk::Jwk| -> Value {
        let mut map: Map<String, Value> = jwk.into();
        map.insert("kid".to_owned(), Value::from(kid));
        map.insert("use".to_owned(), Value::from(key_use.as_str()));
        map.insert("alg".to_owned(), Value::from(alg));
        map.insert(
            "x5c".to_owned(),
            Value::Array(x5c_der.iter().map(|der| Value::from(STANDARD.encode(der))).collect()),
        );
        Value::Object(map)
    };
    let private = decorate(pair.to_jwk_key_pair());
    let public = PublicJwk::parse(&decorate(pair.to_jwk_public_key()))?;

    let leaf = public
        .x5c_der()
        .first()
        .ok_or(JoseError::InvalidX5c("must hold at least one certificate"))?;
    let leaf_key = X509::from_der(leaf)
        .map_err(|_| JoseError::InvalidX5c("each element must be a DER X.509 certificate"))?
        .public_key()
        .map_err(|_| JoseError::KeyMismatch)?;
    if !public.public_key().public_eq(&leaf_key) {
        return Err(JoseError::KeyMismatch);
    }
    Ok((private, public))
}

/// The `kid`, `use` and `alg` of a JWK (public or private), after checking
/// that `kty` and `crv` fit `alg`.
pub(crate) fn key_header(map: &Map<String, Value>) -> Result<(&str, KeyUse, Alg), JoseError> {
    let kid = get_str(map, "kid")?;
    if !valid_kid(kid) {
        return Err(JoseError::InvalidKid);
    }
    let key_use = KeyUse::parse(get_str(map, "use")?).map_err(|_| JoseError::InvalidUse)?;
    let alg = Alg::parse(get_str(map, "alg")?, key_use)?;

    let (kty, crv) = alg.key_type();
    let mismatch = JoseError::KeyTypeMismatch {
        alg: alg.as_str(),
        required: alg.required(),
    };
    if get_str(map, "kty")? != kty {
        return Err(mismatch);
    }
    let curve_fits = match crv {
        Some(crv) => get_str(map, "crv")? == crv,
        None => true,
    };
    if !curve_fits {
        return Err(mismatch);
    }

    Ok((kid, key_use, alg))
}

/// The public key of a JWK whose `alg` is known to fit its `kty`/`crv`;
/// copies `kty`, `crv` and the public key members into `out`.
pub(crate) fn public_members(
    map: &Map<String, Value>,
    alg: Alg,
    out: &mut Map<String, Value>,
) -> Result<PKey<Public>, JoseError> {
    let (kty, _) = alg.key_type();
    out.insert("kty".to_owned(), Value::from(kty));
    match alg {
        Alg::Es256 | Alg::EcdhEsA256kw => {
            let x = b64url_member(map, "x")?;
            let y = b64url_member(map, "y")?;
            out.insert("crv".to_owned(), Value::from("P-256"));
            copy_member(map, out, "x");
            copy_member(map, out, "y");
            ec_p256_public(&x, &y)
        }
        Alg::EdDsa => {
            let x = b64url_member(map, "x")?;
            out.insert("crv".to_owned(), Value::from("Ed25519"));
            copy_member(map, out, "x");
            ed25519_public(&x)
        }
        Alg::RsaOaep256 => {
            let n = b64url_member(map, "n")?;
            let e = b64url_member(map, "e")?;
            copy_member(map, out, "n");
            copy_member(map, out, "e");
            rsa_public(&n, &e)
        }
    }
}

pub(crate) fn valid_kid(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= MAX_KID_LEN
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

fn get_str<'a>(map: &'a Map<String, Value>, member: &'static str) -> Result<&'a str, JoseError> {
    match map.get(member) {
        None => Err(JoseError::MissingMember(member)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(JoseError::NotAString(member)),
    }
}

fn copy_member(from: &Map<String, Value>, to: &mut Map<String, Value>, member: &str) {
    if let Some(v) = from.get(member) {
        to.insert(member.to_owned(), v.clone());
    }
}

fn b64url_member(map: &Map<String, Value>, member: &'static str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(get_str(map, member)?)
        .map_err(|_| JoseError::InvalidKeyMaterial {
            member,
            rule: "must be base64url without padding",
        })
}

fn ec_p256_public(x: &[u8], y: &[u8]) -> Result<PKey<Public>, JoseError> {
    for (member, coord) in [("x", x), ("y", y)] {
        if coord.len() != 32 {
            return Err(JoseError::InvalidKeyMaterial {
                member,
                rule: "must be a 32-byte P-256 coordinate",
            });
        }
    }
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    let not_on_curve = || JoseError::InvalidKeyMaterial {
        member: "x",
        rule: "and `y` are not a point on the curve P-256",
    };
    let key = EcKey::from_public_key_affine_coordinates(&group, &*BigNum::from_slice(x)?, &*BigNum::from_slice(y)?)
        .map_err(|_| not_on_curve())?;
    key.check_key().map_err(|_| not_on_curve())?;
    Ok(PKey::from_ec_key(key)?)
}

fn ed25519_public(x: &[u8]) -> Result<PKey<Public>, JoseError> {
    let invalid = || JoseError::InvalidKeyMaterial {
        member: "x",
        rule: "must be a 32-byte Ed25519 public key",
    };
    if x.len() != 32 {
        return Err(invalid());
    }
    PKey::public_key_from_raw_bytes(x, Id::ED25519).map_err(|_| invalid())
}

fn rsa_public(n: &[u8], e: &[u8]) -> Result<PKey<Public>, JoseError> {
    if n.first().is_none_or(|b| *b == 0) {
        return Err(JoseError::InvalidKeyMaterial {
            member: "n",
            rule: "must be the modulus in the fewest octets (no leading zero)",
        });
    }
    let bad_e = JoseError::InvalidKeyMaterial {
        member: "e",
        rule: "must be an odd exponent of at least 3 and at most 8 octets, no leading zero",
    };
    if e.is_empty() || e.len() > 8 || e[0] == 0 || e.last().is_some_and(|b| b % 2 == 0) || e == [1] {
        return Err(bad_e);
    }
    let n = BigNum::from_slice(n)?;
    let bits = u32::try_from(n.num_bits()).unwrap_or(0);
    if bits < MIN_RSA_BITS {
        return Err(JoseError::RsaKeyTooSmall { bits });
    }
    if bits > MAX_RSA_BITS {
        return Err(JoseError::InvalidKeyMaterial {
            member: "n",
            rule: "must be at most 16384 bits",
        });
    }
    let rsa = Rsa::from_public_components(n, BigNum::from_slice(e)?)?;
    Ok(PKey::from_rsa(rsa)?)
}

fn parse_x5c(map: &Map<String, Value>) -> Result<Vec<Vec<u8>>, JoseError> {
    let items = match map.get("x5c") {
        None => return Err(JoseError::MissingMember("x5c")),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(JoseError::InvalidX5c("must be an array of base64 DER certificates"));
        }
    };
    if items.is_empty() {
        return Err(JoseError::InvalidX5c("must hold at least one certificate"));
    }
    if items.len() > MAX_X5C_LEN {
        return Err(JoseError::InvalidX5c("must hold at most 10 certificates"));
    }
    items
        .iter()
        .map(|item| {
            let text = item
                .as_str()
                .ok_or(JoseError::InvalidX5c("each element must be a string"))?;
            let der = STANDARD
                .decode(text)
                .map_err(|_| JoseError::InvalidX5c("each element must be standard base64 (RFC 4648 §4, padded)"))?;
            let not_der = JoseError::InvalidX5c("each element must be a DER X.509 certificate");
            let cert = X509::from_der(&der).map_err(|_| not_der)?;
            // Refuse trailing bytes or non-canonical encodings: the bytes we
            // hand on must be exactly the certificate that was parsed.
            if cert.to_der()? != der {
                return Err(JoseError::InvalidX5c("each element must be a DER X.509 certificate"));
            }
            Ok(der)
        })
        .collect()
}
