//! Section tokens: one per dossier section, a JWS by the sender (the
//! *inner* token, `typ` `doorstroom-section+jwt`) nested as the plaintext
//! of a JWE for the recipient (the *outer* token, `cty` `JWT`).

use doorstroom_domain::{KeyUse, Section};
use josekit::jwe::{ECDH_ES_A256KW, JweEncrypter, JweHeader, RSA_OAEP_256};
use josekit::jws::JwsHeader;
use serde_json::{Map, Value, json};

use crate::compact::{SigHeader, json_object, split_compact, verifier};
use crate::format::{
    Envelope, PackageMeta, SectionEntry, SectionInput, max_section_bytes, sha256_b64url, valid_iat, valid_uuid,
};
use crate::jwk::{Alg, valid_kid};
use crate::{JoseError, PrivateJwk, PublicJwk};

/// `typ` of the inner (signed) section token.
pub const SECTION_TYP: &str = "doorstroom-section+jwt";
/// The only content encryption accepted.
const ENC: &str = "A256GCM";
/// AES-GCM initialisation vector and tag lengths (RFC 7518 §5.3).
const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// A256KW output for a 256-bit content key (RFC 3394: key + 8 bytes).
const A256KW_WRAPPED_LEN: usize = 40;
/// RSA-OAEP output is as long as the modulus: at least 2048 bits.
const MIN_RSA_WRAPPED_LEN: usize = 256;

/// What the protected (clear) header of a section token says. Returned by
/// [`section_header`]; nothing in it is authenticated until the receiver
/// decrypts the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionHeader {
    /// `sec`: the section the token claims to carry.
    pub section: Section,
    /// `pid`: the package the token claims to belong to.
    pub pid: String,
    /// `kid`: the recipient's encryption key the token is encrypted for.
    pub kid: String,
    /// `alg`: `ECDH-ES+A256KW` or `RSA-OAEP-256`.
    pub alg: String,
}

/// Checks the form of a token submitted as `section`, without decrypting
/// it: within the section's size limit; five non-empty base64url parts; a
/// protected header with exactly `alg`, `enc`, `kid`, `cty`, `sec`, `pid`
/// (plus `epk` for ECDH-ES+A256KW), `alg` ECDH-ES+A256KW or RSA-OAEP-256,
/// `enc` A256GCM, `cty` JWT, `sec` equal to `section`, `pid` a UUID; and
/// key, IV and tag of the lengths these algorithms produce.
pub fn section_header(section: Section, token: &str) -> Result<SectionHeader, JoseError> {
    let bad = |rule| JoseError::Section { section, rule };
    let limit = max_section_bytes(section);
    if token.len() > limit {
        return Err(JoseError::SectionTooLarge { section, limit });
    }
    let [header, encrypted_key, iv, _ciphertext, tag] =
        split_compact::<5>(token).ok_or(bad("must be a JWE compact serialization (five base64url parts)"))?;
    let header = json_object(&header).ok_or(bad("protected header must be a JSON object"))?;
    let alg = match header.get("alg").and_then(Value::as_str) {
        Some("ECDH-ES+A256KW") => Alg::EcdhEsA256kw,
        Some("RSA-OAEP-256") => Alg::RsaOaep256,
        _ => return Err(bad("protected header `alg` must be ECDH-ES+A256KW or RSA-OAEP-256")),
    };
    let expected: &[&str] = match alg {
        Alg::EcdhEsA256kw => &["alg", "enc", "kid", "cty", "sec", "pid", "epk"],
        _ => &["alg", "enc", "kid", "cty", "sec", "pid"],
    };
    if header.len() != expected.len() || !expected.iter().all(|k| header.contains_key(*k)) {
        return Err(bad(match alg {
            Alg::EcdhEsA256kw => "protected header must have exactly `alg`, `enc`, `kid`, `cty`, `sec`, `pid`, `epk`",
            _ => "protected header must have exactly `alg`, `enc`, `kid`, `cty`, `sec`, `pid`",
        }));
    }
    if header.get("enc").and_then(Value::as_str) != Some(ENC) {
        return Err(bad("protected header `enc` must be A256GCM"));
    }
    if header.get("cty").and_then(Value::as_str) != Some("JWT") {
        return Err(bad("protected header `cty` must be JWT"));
    }
    if header.get("sec").and_then(Value::as_str) != Some(section.as_str()) {
        return Err(bad("protected header `sec` does not name this section"));
    }
    let pid = header
        .get("pid")
        .and_then(Value::as_str)
        .filter(|p| valid_uuid(p))
        .ok_or(bad(
            "protected header `pid` must be a UUID in lowercase hyphenated form",
        ))?;
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .filter(|k| valid_kid(k))
        .ok_or(bad(
            "protected header `kid` must be 1 to 128 characters from A-Z a-z 0-9 . _ : -",
        ))?;
    if alg == Alg::EcdhEsA256kw && !header.get("epk").is_some_and(Value::is_object) {
        return Err(bad("protected header `epk` must be a JWK object"));
    }
    let key_fits = match alg {
        Alg::EcdhEsA256kw => encrypted_key.len() == A256KW_WRAPPED_LEN,
        _ => encrypted_key.len() >= MIN_RSA_WRAPPED_LEN,
    };
    if !key_fits {
        return Err(bad("encrypted key has the wrong length for `alg`"));
    }
    if iv.len() != IV_LEN || tag.len() != TAG_LEN {
        return Err(bad("initialisation vector or tag has the wrong length for A256GCM"));
    }
    Ok(SectionHeader {
        section,
        pid: pid.to_owned(),
        kid: kid.to_owned(),
        alg: alg.as_str().to_owned(),
    })
}

/// The checks [`crate::check_sections`] makes per section, and
/// [`open_section`] makes before decrypting: size and digest as listed in
/// the envelope, then the clear header, which must name this package.
pub(crate) fn check_token_against_entry(
    envelope: &Envelope,
    entry: &SectionEntry,
    token: &str,
) -> Result<SectionHeader, JoseError> {
    let section = entry.name;
    let bad = |rule| JoseError::Section { section, rule };
    let limit = max_section_bytes(section);
    if token.len() > limit {
        return Err(JoseError::SectionTooLarge { section, limit });
    }
    if u64::try_from(token.len()).ok() != Some(entry.size) {
        return Err(bad("size does not match the envelope"));
    }
    if sha256_b64url(token) != entry.sha256 {
        return Err(bad("sha256 does not match the envelope"));
    }
    let header = section_header(section, token)?;
    if header.pid != envelope.pid {
        return Err(bad("protected header `pid` does not match the envelope"));
    }
    Ok(header)
}

/// Sender side: the token for one section.
pub(crate) fn seal_section(
    meta: &PackageMeta,
    input: &SectionInput,
    signing_key: &PrivateJwk,
    recipient_key: &PublicJwk,
) -> Result<String, JoseError> {
    let section = input.section;
    let claims = json!({
        "iss": meta.sender.as_str(),
        "aud": meta.recipient.as_str(),
        "pid": meta.package_id,
        "sec": section.as_str(),
        "iat": meta.iat,
        "content": input.content,
    });
    let claims = serde_json::to_vec(&claims).map_err(|_| JoseError::Section {
        section,
        rule: "content cannot be serialized as JSON",
    })?;
    let mut inner_header = JwsHeader::new();
    inner_header.set_token_type(SECTION_TYP);
    inner_header.set_key_id(signing_key.kid());
    let inner =
        josekit::jws::serialize_compact(&claims, &inner_header, &*signing_key.signer()?).map_err(JoseError::Jose)?;

    let mut outer_header = JweHeader::new();
    outer_header.set_content_encryption(ENC);
    outer_header.set_content_type("JWT");
    outer_header.set_key_id(recipient_key.kid());
    outer_header
        .set_claim("sec", Some(Value::from(section.as_str())))
        .map_err(JoseError::Jose)?;
    outer_header
        .set_claim("pid", Some(Value::from(meta.package_id.as_str())))
        .map_err(JoseError::Jose)?;
    let token = josekit::jwe::serialize_compact(inner.as_bytes(), &outer_header, &*encrypter(recipient_key)?)
        .map_err(JoseError::Jose)?;
    let limit = max_section_bytes(section);
    if token.len() > limit {
        return Err(JoseError::SectionTooLarge { section, limit });
    }
    Ok(token)
}

/// Receiver side: checks `token` against the envelope (size, SHA-256, clear
/// header), decrypts it with `recipient_key`, verifies the inner JWS with
/// `sender_key`, and checks that the inner claims `iss`, `aud`, `pid` and
/// `sec` agree with the envelope. Returns the section's `content`.
///
/// `envelope` must come from [`crate::verify_envelope`] with the same
/// `sender_key`, which the caller has checked with [`crate::verify_x5c`]
/// against its own trust anchors. The inner token must be signed by the
/// envelope's key (same `kid`).
pub fn open_section(
    envelope: &Envelope,
    section: Section,
    token: &str,
    recipient_key: &PrivateJwk,
    sender_key: &PublicJwk,
) -> Result<Value, JoseError> {
    let bad = |rule| JoseError::Section { section, rule };
    let entry = envelope.entry(section).ok_or(bad("not listed in the envelope"))?;
    let header = check_token_against_entry(envelope, entry, token)?;

    if recipient_key.key_use() != KeyUse::Enc {
        return Err(JoseError::WrongKey(
            "sections must be opened with a decryption key (use \"enc\")",
        ));
    }
    if sender_key.key_use() != KeyUse::Sig {
        return Err(JoseError::WrongKey(
            "sections must be verified with a signing key (use \"sig\")",
        ));
    }
    if header.kid != recipient_key.kid() {
        return Err(bad(
            "encrypted for another key (header `kid` does not name the recipient key)",
        ));
    }
    if header.alg != recipient_key.alg() {
        return Err(bad("header `alg` is not the recipient key's algorithm"));
    }
    let (plaintext, _) = josekit::jwe::deserialize_compact(token, &*recipient_key.decrypter()?)
        .map_err(|_| bad("does not decrypt with the recipient key"))?;
    let inner = std::str::from_utf8(&plaintext).map_err(|_| bad("inner token must be a JWS compact serialization"))?;

    let [inner_header, _, _] =
        split_compact::<3>(inner).ok_or(bad("inner token must be a JWS compact serialization"))?;
    let inner_header = json_object(&inner_header).ok_or(bad("inner protected header must be a JSON object"))?;
    let inner_header = SigHeader::parse(&inner_header, SECTION_TYP).map_err(|rule| JoseError::Section {
        section,
        rule: rule.inner_rule(),
    })?;
    if inner_header.kid != sender_key.kid() || inner_header.kid != envelope.kid {
        return Err(bad("inner header `kid` does not name the envelope's signing key"));
    }
    if inner_header.alg != sender_key.alg_kind() {
        return Err(bad("inner header `alg` is not the sender key's algorithm"));
    }
    let (claims, _) = josekit::jws::deserialize_compact(inner, &*verifier(sender_key)?)
        .map_err(|_| bad("inner signature does not verify"))?;

    let claims = json_object(&claims).ok_or(bad("inner claims must be a JSON object"))?;
    check_claims(section, envelope, claims)
}

fn check_claims(section: Section, envelope: &Envelope, mut claims: Map<String, Value>) -> Result<Value, JoseError> {
    let bad = |rule| JoseError::Section { section, rule };
    const CLAIMS: [&str; 6] = ["iss", "aud", "pid", "sec", "iat", "content"];
    if claims.len() != CLAIMS.len() || !CLAIMS.iter().all(|k| claims.contains_key(*k)) {
        return Err(bad("inner claims must be exactly iss, aud, pid, sec, iat, content"));
    }
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(envelope.iss.as_str()) {
        return Err(bad("inner `iss` does not match the envelope"));
    }
    if text("aud") != Some(envelope.aud.as_str()) {
        return Err(bad("inner `aud` does not match the envelope"));
    }
    if text("pid") != Some(envelope.pid.as_str()) {
        return Err(bad("inner `pid` does not match the envelope"));
    }
    if text("sec") != Some(section.as_str()) {
        return Err(bad("inner `sec` does not name this section"));
    }
    if !claims.get("iat").and_then(Value::as_i64).is_some_and(valid_iat) {
        return Err(bad("inner `iat` must be an integer between 0 and 2^53 - 1"));
    }
    claims
        .remove("content")
        .ok_or(bad("inner claims must be exactly iss, aud, pid, sec, iat, content"))
}

/// A josekit encrypter for a (recipient's encryption) public key.
fn encrypter(key: &PublicJwk) -> Result<Box<dyn JweEncrypter>, JoseError> {
    let der = key.public_key().public_key_to_der()?;
    let unusable = |_| JoseError::WrongKey("the recipient key is not usable for encryption");
    Ok(match key.alg_kind() {
        Alg::EcdhEsA256kw => Box::new(ECDH_ES_A256KW.encrypter_from_der(&der).map_err(unusable)?),
        Alg::RsaOaep256 => Box::new(RSA_OAEP_256.encrypter_from_der(&der).map_err(unusable)?),
        Alg::Es256 | Alg::EdDsa => {
            return Err(JoseError::WrongKey(
                "the recipient key must be an encryption key (use \"enc\")",
            ));
        }
    })
}
