//! The package format: the sender-signed *envelope* that lists the section
//! ciphertexts of one package, the *submission* a vo system posts, and the
//! functions the sender ([`seal`]), the broker ([`peek_envelope`],
//! [`verify_envelope`], [`check_sections`]) and the receiver
//! ([`verify_envelope`], [`open_section`](crate::open_section)) use.
//!
//! The normative description is `openapi/PACKAGE-FORMAT.md`; this module
//! implements it. In short: each section is a JWS (sender's signing key)
//! nested in a JWE (recipient's encryption key); the envelope is a JWS over
//! the RFC 8785 canonical JSON of the package's metadata and the size and
//! SHA-256 of every section token, so the broker can check a submission
//! completely without being able to read it.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use doorstroom_domain::{Brin, KeyUse, Section};
use josekit::jws::JwsHeader;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};

use crate::canonical::canonical_json;
use crate::compact::{SigHeader, json_object, split_compact, verifier};
use crate::format::{
    Envelope, MAX_ENVELOPE_BYTES, PackageMeta, SectionEntry, SectionInput, max_section_bytes, sha256_b64url, valid_iat,
    valid_uuid,
};
use crate::jwk::Alg;
use crate::section::{SectionHeader, check_token_against_entry, seal_section};
use crate::{JoseError, PrivateJwk, PublicJwk};

/// `typ` of the envelope JWS.
pub const ENVELOPE_TYP: &str = "doorstroom-envelope+jwt";
/// Shortest and longest `jti`.
const JTI_LEN: std::ops::RangeInclusive<usize> = 16..=128;

/// What a vo system posts: the envelope and one token per section.
///
/// On the wire: `{"envelope": "<compact JWS>", "sections": {"<name>":
/// "<compact JWE>", ...}}`. Deserializing refuses unknown members, unknown
/// section names and a section name given twice (JSON parsers otherwise
/// silently keep the last one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// The envelope, a JWS in compact serialization.
    pub envelope: String,
    /// Section name to section token (a JWE in compact serialization).
    #[serde(deserialize_with = "unique_sections")]
    pub sections: BTreeMap<Section, String>,
}

fn unique_sections<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<Section, String>, D::Error> {
    struct Sections;
    impl<'de> Visitor<'de> for Sections {
        type Value = BTreeMap<Section, String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object from section names to compact JWE strings")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(name) = access.next_key::<String>()? {
                let section = Section::parse(&name).map_err(serde::de::Error::custom)?;
                let token: String = access.next_value()?;
                if out.insert(section, token).is_some() {
                    return Err(serde::de::Error::custom(format!(
                        "section {section}: given more than once"
                    )));
                }
            }
            Ok(out)
        }
    }
    d.deserialize_map(Sections)
}

/// Sender side: signs each section with `signing_key`, encrypts it for
/// `recipient_key`, builds and signs the envelope.
///
/// `recipient_key` must be an encryption key of `meta.recipient` that the
/// caller has *already* checked with [`crate::verify_x5c`] against its own
/// trust anchors; this function cannot tell a genuine key from one a
/// compromised broker substituted.
pub fn seal(
    meta: &PackageMeta,
    sections: &[SectionInput],
    signing_key: &PrivateJwk,
    recipient_key: &PublicJwk,
) -> Result<Submission, JoseError> {
    if !valid_uuid(&meta.package_id) {
        return Err(JoseError::Package("`pid` must be a UUID in lowercase hyphenated form"));
    }
    if !valid_uuid(&meta.application) {
        return Err(JoseError::Package(
            "`application` must be a UUID in lowercase hyphenated form",
        ));
    }
    if !valid_jti(&meta.jti) {
        return Err(JoseError::Package(
            "`jti` must be 16 to 128 characters from A-Z a-z 0-9 . _ : -",
        ));
    }
    if !valid_iat(meta.iat) {
        return Err(JoseError::Package("`iat` must be between 0 and 2^53 - 1"));
    }
    if signing_key.key_use() != KeyUse::Sig {
        return Err(JoseError::WrongKey("a signing key (use \"sig\") is required"));
    }
    if recipient_key.key_use() != KeyUse::Enc {
        return Err(JoseError::WrongKey(
            "the recipient key must be an encryption key (use \"enc\")",
        ));
    }
    if sections.is_empty() {
        return Err(JoseError::Package("a package must hold at least one section"));
    }
    let mut inputs: Vec<&SectionInput> = sections.iter().collect();
    inputs.sort_by_key(|s| s.section.as_str());
    if inputs.windows(2).any(|w| w[0].section == w[1].section) {
        return Err(JoseError::Package("each section may be given only once"));
    }

    let mut tokens = BTreeMap::new();
    let mut entries = Vec::with_capacity(inputs.len());
    for input in inputs {
        let token = seal_section(meta, input, signing_key, recipient_key)?;
        entries.push(json!({
            "name": input.section.as_str(),
            "size": token.len(),
            "sha256": sha256_b64url(&token),
        }));
        tokens.insert(input.section, token);
    }

    let payload = json!({
        "pid": meta.package_id,
        "iss": meta.sender.as_str(),
        "aud": meta.recipient.as_str(),
        "application": meta.application,
        "sections": entries,
        "iat": meta.iat,
        "jti": meta.jti,
    });
    let payload = canonical_json(&payload)?;
    let mut header = JwsHeader::new();
    header.set_token_type(ENVELOPE_TYP);
    header.set_key_id(signing_key.kid());
    let envelope = josekit::jws::serialize_compact(payload.as_bytes(), &header, &*signing_key.signer()?)
        .map_err(JoseError::Jose)?;
    if envelope.len() > MAX_ENVELOPE_BYTES {
        return Err(JoseError::EnvelopeTooLarge {
            limit: MAX_ENVELOPE_BYTES,
        });
    }
    Ok(Submission {
        envelope,
        sections: tokens,
    })
}

/// Reads the envelope's header `kid` and payload *without* verifying the
/// signature, so that the broker can look up the sender's key by `kid`.
/// Applies every rule except the signature. Never trust the result before
/// [`verify_envelope`] has accepted the same envelope.
pub fn peek_envelope(envelope: &str) -> Result<Envelope, JoseError> {
    let parts = EnvelopeParts::split(envelope)?;
    parts.parse_payload()
}

/// Verifies the envelope's signature with `sender_key` (a signing key of
/// the envelope's `iss`, checked by the caller: for the broker, registered
/// to the sender and not revoked; for the receiver, also its `x5c` chain
/// against its own trust anchors) and returns the parsed envelope.
///
/// Checks, in this order: size; compact form; protected header (exactly
/// `alg`, `kid`, `typ`); `sender_key` is a signing key whose `kid` and
/// `alg` the header names; the signature; then the payload (canonical JSON,
/// exactly the seven members, each by its rule, limits).
pub fn verify_envelope(envelope: &str, sender_key: &PublicJwk) -> Result<Envelope, JoseError> {
    let parts = EnvelopeParts::split(envelope)?;
    if sender_key.key_use() != KeyUse::Sig {
        return Err(JoseError::WrongKey(
            "the envelope must be verified with a signing key (use \"sig\")",
        ));
    }
    if parts.kid != sender_key.kid() {
        return Err(JoseError::Envelope("header `kid` does not name the sender key"));
    }
    if parts.alg != sender_key.alg_kind() {
        return Err(JoseError::Envelope("header `alg` is not the sender key's algorithm"));
    }
    let verifier = verifier(sender_key)?;
    josekit::jws::deserialize_compact(envelope, &*verifier)
        .map_err(|_| JoseError::Envelope("signature does not verify"))?;
    parts.parse_payload()
}

/// Checks that `sections` matches the envelope exactly, without decrypting
/// anything (the broker cannot and must not): the same set of names; each
/// token within its limit, of the listed size and SHA-256; each a
/// well-formed compact JWE whose protected header names this section
/// (`sec`) and this package (`pid`), with the allowed algorithms.
///
/// Names are checked first (missing, then extra), then each section in
/// envelope order. Answers each section's clear header, in envelope order,
/// so that the broker can check, still without decrypting, that every
/// section is sealed for an active key of the recipient (`kid`, `alg`).
pub fn check_sections(
    envelope: &Envelope,
    sections: &BTreeMap<Section, String>,
) -> Result<Vec<SectionHeader>, JoseError> {
    for entry in &envelope.sections {
        if !sections.contains_key(&entry.name) {
            return Err(JoseError::Section {
                section: entry.name,
                rule: "listed in the envelope but missing from the submission",
            });
        }
    }
    for section in sections.keys() {
        if envelope.entry(*section).is_none() {
            return Err(JoseError::Section {
                section: *section,
                rule: "not listed in the envelope",
            });
        }
    }
    let mut headers = Vec::with_capacity(envelope.sections.len());
    for entry in &envelope.sections {
        if let Some(token) = sections.get(&entry.name) {
            headers.push(check_token_against_entry(envelope, entry, token)?);
        }
    }
    Ok(headers)
}

/// The envelope split, with its protected header checked.
struct EnvelopeParts {
    alg: Alg,
    kid: String,
    payload: Vec<u8>,
}

impl EnvelopeParts {
    fn split(envelope: &str) -> Result<Self, JoseError> {
        if envelope.len() > MAX_ENVELOPE_BYTES {
            return Err(JoseError::EnvelopeTooLarge {
                limit: MAX_ENVELOPE_BYTES,
            });
        }
        let [header, payload, _signature] = split_compact::<3>(envelope).ok_or(JoseError::Envelope(
            "must be a JWS compact serialization (three base64url parts)",
        ))?;
        let header = json_object(&header).ok_or(JoseError::Envelope("protected header must be a JSON object"))?;
        let header = SigHeader::parse(&header, ENVELOPE_TYP).map_err(|f| JoseError::Envelope(f.envelope_rule()))?;
        Ok(Self {
            alg: header.alg,
            kid: header.kid,
            payload,
        })
    }

    fn parse_payload(self) -> Result<Envelope, JoseError> {
        let bad = JoseError::Envelope;
        let value: Value = serde_json::from_slice(&self.payload).map_err(|_| bad("payload is not JSON"))?;
        let canonical = canonical_json(&value).map_err(|_| bad("payload is not canonical JSON"))?;
        if canonical.as_bytes() != self.payload.as_slice() {
            return Err(bad("payload is not canonical JSON"));
        }
        let map = value.as_object().ok_or(bad("payload must be a JSON object"))?;
        const MEMBERS: [&str; 7] = ["pid", "iss", "aud", "application", "sections", "iat", "jti"];
        if map.keys().any(|k| !MEMBERS.contains(&k.as_str())) {
            return Err(bad(
                "payload has a member other than pid, iss, aud, application, sections, iat, jti",
            ));
        }
        let pid = str_member(map, "pid", "payload member `pid` must be a string")?;
        if !valid_uuid(pid) {
            return Err(bad("`pid` must be a UUID in lowercase hyphenated form"));
        }
        let iss = Brin::parse(str_member(map, "iss", "payload member `iss` must be a string")?)
            .map_err(|_| bad("`iss` must be a BRIN"))?;
        let aud = Brin::parse(str_member(map, "aud", "payload member `aud` must be a string")?)
            .map_err(|_| bad("`aud` must be a BRIN"))?;
        let application = str_member(map, "application", "payload member `application` must be a string")?;
        if !valid_uuid(application) {
            return Err(bad("`application` must be a UUID in lowercase hyphenated form"));
        }
        let iat = map
            .get("iat")
            .and_then(Value::as_i64)
            .filter(|iat| valid_iat(*iat))
            .ok_or(bad("payload member `iat` must be an integer between 0 and 2^53 - 1"))?;
        let jti = str_member(map, "jti", "payload member `jti` must be a string")?;
        if !valid_jti(jti) {
            return Err(bad("`jti` must be 16 to 128 characters from A-Z a-z 0-9 . _ : -"));
        }
        let sections = parse_entries(map.get("sections"))?;
        Ok(Envelope {
            pid: pid.to_owned(),
            iss,
            aud,
            application: application.to_owned(),
            sections,
            iat,
            jti: jti.to_owned(),
            kid: self.kid,
        })
    }
}

fn str_member<'a>(map: &'a Map<String, Value>, name: &str, rule: &'static str) -> Result<&'a str, JoseError> {
    map.get(name).and_then(Value::as_str).ok_or(JoseError::Envelope(rule))
}

fn parse_entries(value: Option<&Value>) -> Result<Vec<SectionEntry>, JoseError> {
    let bad = JoseError::Envelope;
    let items = value
        .and_then(Value::as_array)
        .ok_or(bad("payload member `sections` must be an array"))?;
    if items.is_empty() {
        return Err(bad("`sections` must list at least one section"));
    }
    let mut out: Vec<SectionEntry> = Vec::with_capacity(items.len());
    for item in items {
        let map = item.as_object().ok_or(bad("each `sections` entry must be an object"))?;
        if map.len() != 3 || !["name", "size", "sha256"].iter().all(|k| map.contains_key(*k)) {
            return Err(bad(
                "each `sections` entry must have exactly `name`, `size` and `sha256`",
            ));
        }
        let name = map
            .get("name")
            .and_then(Value::as_str)
            .and_then(|n| Section::parse(n).ok())
            .ok_or(bad("a `sections` entry's `name` is not a section name"))?;
        if out
            .last()
            .is_some_and(|previous| previous.name.as_str() >= name.as_str())
        {
            return Err(bad("`sections` must be sorted by name, each name once"));
        }
        let size = map
            .get("size")
            .and_then(Value::as_u64)
            .filter(|s| *s > 0)
            .ok_or(bad("a `sections` entry's `size` must be a positive integer"))?;
        let limit = max_section_bytes(name);
        if usize::try_from(size).map_or(true, |s| s > limit) {
            return Err(JoseError::SectionTooLarge { section: name, limit });
        }
        let sha256 = map
            .get("sha256")
            .and_then(Value::as_str)
            .filter(|s| URL_SAFE_NO_PAD.decode(s).is_ok_and(|d| d.len() == 32))
            .ok_or(bad(
                "a `sections` entry's `sha256` must be 32 bytes in base64url without padding",
            ))?;
        out.push(SectionEntry {
            name,
            size,
            sha256: sha256.to_owned(),
        });
    }
    Ok(out)
}

fn valid_jti(s: &str) -> bool {
    JTI_LEN.contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}
