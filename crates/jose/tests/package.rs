//! The package format: seal → peek → verify_envelope → check_sections →
//! open_section, and every way a package can be broken or forged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{TimeZone, Utc};
use doorstroom_domain::{Brin, KeyUse, Section};
use doorstroom_jose::{
    Envelope, JoseError, MAX_SECTION_BYTES, PackageMeta, PrivateJwk, PublicJwk, SectionInput, Submission, TrustAnchors,
    canonical_json, check_sections, jwk_pair_from_pkcs8_pem, open_section, peek_envelope, seal, section_header,
    sha256_b64url, verify_envelope, verify_x5c,
};
use proptest::prelude::*;
use rcgen::{BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, date_time_ymd};
use serde_json::{Value, json};
use sha2::Digest as _;

const PID: &str = "0f8e5a4c-3b2d-4e1f-9a8b-7c6d5e4f3a2b";
const APPLICATION: &str = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a";
const JTI: &str = "07AB-20250315-000001";
const IAT: i64 = 1_742_036_400; // 2025-03-15T11:00:00Z

struct Ca {
    cert: Certificate,
    key: KeyPair,
}

fn make_ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = date_time_ymd(2020, 1, 1);
    params.not_after = date_time_ymd(2040, 1, 1);
    let cert = params.self_signed(&key).unwrap();
    Ca { cert, key }
}

/// An EC P-256 key pair with a leaf certificate from `ca`.
fn ec_pair(ca: &Ca, kid: &str, key_use: KeyUse, alg: &str) -> (PrivateJwk, PublicJwk) {
    let (private, public) = ec_pair_json(ca, kid, key_use, alg);
    (PrivateJwk::parse(&private).unwrap(), public)
}

/// The same, with the private JWK as the JSON of the owner's file.
fn ec_pair_json(ca: &Ca, kid: &str, key_use: KeyUse, alg: &str) -> (Value, PublicJwk) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, kid);
    params.not_before = date_time_ymd(2024, 1, 1);
    params.not_after = date_time_ymd(2026, 1, 1);
    let leaf = params.signed_by(&key, &ca.cert, &ca.key).unwrap();
    let (private, public) = jwk_pair_from_pkcs8_pem(
        &key.serialize_pem(),
        kid,
        key_use,
        alg,
        vec![leaf.der().to_vec(), ca.cert.der().to_vec()],
    )
    .unwrap();
    (private, public)
}

/// An RSA-OAEP-256 key pair (x5c: just some certificate; not chain-checked here).
fn rsa_pair(kid: &str, ca: &Ca) -> (PrivateJwk, PublicJwk) {
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    let b = |n: &openssl::bn::BigNumRef| URL_SAFE_NO_PAD.encode(n.to_vec());
    let private = json!({
        "kty": "RSA", "kid": kid, "use": "enc", "alg": "RSA-OAEP-256",
        "n": b(rsa.n()), "e": b(rsa.e()), "d": b(rsa.d()),
        "p": b(rsa.p().unwrap()), "q": b(rsa.q().unwrap()),
        "dp": b(rsa.dmp1().unwrap()), "dq": b(rsa.dmq1().unwrap()), "qi": b(rsa.iqmp().unwrap()),
        "x5c": [STANDARD.encode(ca.cert.der())],
    });
    let private = PrivateJwk::parse(&private).unwrap();
    let public = private.public_jwk().unwrap();
    (private, public)
}

/// An Ed25519 signing key pair (x5c: just some certificate).
fn ed_pair(kid: &str, ca: &Ca) -> (PrivateJwk, PublicJwk) {
    let key = openssl::pkey::PKey::generate_ed25519().unwrap();
    let private = json!({
        "kty": "OKP", "crv": "Ed25519", "kid": kid, "use": "sig", "alg": "EdDSA",
        "x": URL_SAFE_NO_PAD.encode(key.raw_public_key().unwrap()),
        "d": URL_SAFE_NO_PAD.encode(key.raw_private_key().unwrap()),
        "x5c": [STANDARD.encode(ca.cert.der())],
    });
    let private = PrivateJwk::parse(&private).unwrap();
    let public = private.public_jwk().unwrap();
    (private, public)
}

struct World {
    ca: Ca,
    sender_sig: (PrivateJwk, PublicJwk),
    recipient_enc: (PrivateJwk, PublicJwk),
}

/// Keys are made once per test binary: rcgen and OpenSSL are quick, but the
/// bit-flip tests run thousands of cases.
fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let ca = make_ca("Doorstroom Test CA");
        let sender_sig = ec_pair(&ca, "07AB-sig-2025", KeyUse::Sig, "ES256");
        let recipient_enc = ec_pair(&ca, "25LX-enc-2025", KeyUse::Enc, "ECDH-ES+A256KW");
        World {
            ca,
            sender_sig,
            recipient_enc,
        }
    })
}

fn meta() -> PackageMeta {
    PackageMeta {
        package_id: PID.to_owned(),
        sender: Brin::parse("07AB").unwrap(),
        recipient: Brin::parse("25LX").unwrap(),
        application: APPLICATION.to_owned(),
        jti: JTI.to_owned(),
        iat: IAT,
    }
}

fn content(section: Section) -> Value {
    match section {
        Section::PersonalData => {
            json!({"name": "Sanne de Vries", "birth_date": "2009-05-04", "onderwijsnummer": "123456782"})
        }
        Section::SupportNeeds => json!({"needs": ["extra tijd bij toetsen"], "diagnosis": null}),
        Section::CareerPortfolio => json!({"interests": ["zorg", "techniek"], "internships": 2}),
        Section::Remarks => json!({"by": "parent", "text": "Sanne wil graag \"verpleegkunde\" — ü"}),
        Section::Attachments => json!({"files": [{
            "filename": "rapport.pdf", "media_type": "application/pdf",
            "data": STANDARD.encode(b"%PDF-1.7 fake report")
        }]}),
    }
}

fn all_sections() -> Vec<SectionInput> {
    Section::ALL
        .iter()
        .map(|s| SectionInput {
            section: *s,
            content: content(*s),
        })
        .collect()
}

fn sealed() -> &'static Submission {
    static SEALED: OnceLock<Submission> = OnceLock::new();
    SEALED.get_or_init(|| {
        let w = world();
        seal(&meta(), &all_sections(), &w.sender_sig.0, &w.recipient_enc.1).unwrap()
    })
}

fn verified() -> Envelope {
    verify_envelope(&sealed().envelope, &world().sender_sig.1).unwrap()
}

fn decode_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Signs `payload` bytes with the sender's key under `header`, by hand.
fn sign_raw(header: &Value, payload: &[u8]) -> String {
    let jwk = josekit::jwk::Jwk::from_map(sender_private_json().as_object().unwrap().clone()).unwrap();
    let signer = josekit::jws::ES256.signer_from_jwk(&jwk).unwrap();
    let h = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap());
    let p = URL_SAFE_NO_PAD.encode(payload);
    use josekit::jws::JwsSigner as _;
    let sig = signer.sign(format!("{h}.{p}").as_bytes()).unwrap();
    format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// A separate sender whose private JWK JSON the test keeps, for hand-made tokens.
fn sender_private_json() -> Value {
    static JSON: OnceLock<Value> = OnceLock::new();
    JSON.get_or_init(|| ec_pair_json(&world().ca, "07AB-sig-hand", KeyUse::Sig, "ES256").0)
        .clone()
}

fn hand_sender_public() -> PublicJwk {
    PrivateJwk::parse(&sender_private_json()).unwrap().public_jwk().unwrap()
}

/// The canonical payload of the sealed envelope, as a JSON value to tamper with.
fn sealed_payload() -> Value {
    decode_part(&sealed().envelope, 1)
}

fn hand_header() -> Value {
    json!({"alg": "ES256", "kid": "07AB-sig-hand", "typ": "doorstroom-envelope+jwt"})
}

fn flip(token: &str, pos: usize, bit: u8) -> Option<String> {
    let mut bytes = token.as_bytes().to_vec();
    bytes[pos] ^= 1 << bit;
    String::from_utf8(bytes).ok()
}

// ---- round trips -------------------------------------------------------------

#[test]
fn round_trip_every_section() {
    let w = world();
    let at = Utc.with_ymd_and_hms(2025, 3, 15, 12, 0, 0).unwrap();
    // What a sender and a receiver do first: check the other side's key chain.
    let anchors = TrustAnchors::from_pem(w.ca.cert.pem().as_bytes()).unwrap();
    verify_x5c(&w.recipient_enc.1, &anchors, at).unwrap();
    verify_x5c(&w.sender_sig.1, &anchors, at).unwrap();

    let submission = sealed();
    // The wire form round-trips.
    let wire = serde_json::to_string(submission).unwrap();
    let back: Submission = serde_json::from_str(&wire).unwrap();
    assert_eq!(&back, submission);
    let wire: Value = serde_json::from_str(&wire).unwrap();
    assert_eq!(wire["sections"].as_object().unwrap().len(), 5);
    assert!(wire["sections"]["personal_data"].is_string());

    // Broker: peek for the kid, verify, check the sections.
    let peeked = peek_envelope(&submission.envelope).unwrap();
    assert_eq!(peeked.kid, "07AB-sig-2025");
    let envelope = verify_envelope(&submission.envelope, &w.sender_sig.1).unwrap();
    assert_eq!(peeked, envelope);
    assert_eq!(envelope.pid, PID);
    assert_eq!(envelope.iss.as_str(), "07AB");
    assert_eq!(envelope.aud.as_str(), "25LX");
    assert_eq!(envelope.application, APPLICATION);
    assert_eq!(envelope.iat, IAT);
    assert_eq!(envelope.jti, JTI);
    let names: Vec<&str> = envelope.sections.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "attachments",
            "career_portfolio",
            "personal_data",
            "remarks",
            "support_needs"
        ]
    );
    check_sections(&envelope, &submission.sections).unwrap();

    // The envelope payload is canonical; headers are as specified.
    let payload = URL_SAFE_NO_PAD
        .decode(submission.envelope.split('.').nth(1).unwrap())
        .unwrap();
    let value: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(canonical_json(&value).unwrap().as_bytes(), payload.as_slice());
    assert_eq!(
        decode_part(&submission.envelope, 0),
        json!({"alg": "ES256", "kid": "07AB-sig-2025", "typ": "doorstroom-envelope+jwt"})
    );
    for (section, token) in &submission.sections {
        let entry = envelope.entry(*section).unwrap();
        assert_eq!(entry.size, token.len() as u64);
        assert_eq!(entry.sha256, sha256_b64url(token));
        let header = decode_part(token, 0);
        assert_eq!(header["alg"], "ECDH-ES+A256KW");
        assert_eq!(header["enc"], "A256GCM");
        assert_eq!(header["cty"], "JWT");
        assert_eq!(header["kid"], "25LX-enc-2025");
        assert_eq!(header["sec"], section.as_str());
        assert_eq!(header["pid"], PID);
        assert!(header["epk"].is_object());
        let h = section_header(*section, token).unwrap();
        assert_eq!(
            (h.section, h.pid.as_str(), h.kid.as_str()),
            (*section, PID, "25LX-enc-2025")
        );
    }

    // Receiver: open every section.
    for (section, token) in &submission.sections {
        let opened = open_section(&envelope, *section, token, &w.recipient_enc.0, &w.sender_sig.1).unwrap();
        assert_eq!(opened, content(*section), "{section}");
    }
}

#[test]
fn rsa_oaep_256_recipient_and_eddsa_sender_work() {
    let w = world();
    let (rsa_private, rsa_public) = rsa_pair("25LX-enc-rsa", &w.ca);
    let (ed_private, ed_public) = ed_pair("07AB-sig-ed", &w.ca);
    let inputs = [
        SectionInput {
            section: Section::PersonalData,
            content: content(Section::PersonalData),
        },
        SectionInput {
            section: Section::Remarks,
            content: content(Section::Remarks),
        },
    ];
    for (signer, verifier) in [(&w.sender_sig.0, &w.sender_sig.1), (&ed_private, &ed_public)] {
        let submission = seal(&meta(), &inputs, signer, &rsa_public).unwrap();
        let envelope = verify_envelope(&submission.envelope, verifier).unwrap();
        check_sections(&envelope, &submission.sections).unwrap();
        for (section, token) in &submission.sections {
            assert_eq!(decode_part(token, 0)["alg"], "RSA-OAEP-256");
            let opened = open_section(&envelope, *section, token, &rsa_private, verifier).unwrap();
            assert_eq!(opened, content(*section));
        }
    }
}

// ---- a single flipped bit ----------------------------------------------------

/// Every bit (of the 7 that keep the byte ASCII) at every position of the
/// envelope: verify_envelope refuses all of them.
#[test]
fn every_bit_flip_in_the_envelope_is_rejected() {
    let w = world();
    let envelope = &sealed().envelope;
    let mut tried = 0;
    for pos in 0..envelope.len() {
        for bit in 0..7 {
            let flipped = flip(envelope, pos, bit).unwrap();
            assert!(
                verify_envelope(&flipped, &w.sender_sig.1).is_err(),
                "flip at byte {pos} bit {bit} was accepted"
            );
            tried += 1;
        }
    }
    assert!(tried > 200 * 7);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A flipped bit anywhere in any section token: the broker's check and
    /// the receiver's open both refuse it, and so does decryption even when
    /// the envelope is made to list the flipped token's digest.
    #[test]
    fn any_bit_flip_in_a_section_is_rejected(which in 0usize..5, at in 0.0f64..1.0, bit in 0u8..7) {
        let w = world();
        let submission = sealed();
        let envelope = verified();
        let section = Section::ALL[which];
        let token = &submission.sections[&section];
        let pos = ((token.len() as f64) * at) as usize;
        let flipped = flip(token, pos.min(token.len() - 1), bit).unwrap();

        let mut sections = submission.sections.clone();
        sections.insert(section, flipped.clone());
        prop_assert!(check_sections(&envelope, &sections).is_err());
        prop_assert!(open_section(&envelope, section, &flipped, &w.recipient_enc.0, &w.sender_sig.1).is_err());

        // Even a (hypothetically) lying envelope that lists the flipped
        // token does not make it decrypt: AES-GCM and the key wrap refuse it.
        let mut lying = envelope.clone();
        for entry in &mut lying.sections {
            if entry.name == section {
                entry.size = flipped.len() as u64;
                entry.sha256 = sha256_b64url(&flipped);
            }
        }
        prop_assert!(open_section(&lying, section, &flipped, &w.recipient_enc.0, &w.sender_sig.1).is_err());
    }
}

// ---- wrong keys --------------------------------------------------------------

#[test]
fn wrong_sender_key_is_rejected() {
    let w = world();
    let submission = sealed();
    // Another key under the same kid: the signature fails.
    let (_, impostor) = ec_pair(&w.ca, "07AB-sig-2025", KeyUse::Sig, "ES256");
    let err = verify_envelope(&submission.envelope, &impostor).unwrap_err();
    assert_eq!(err.to_string(), "envelope: signature does not verify");
    // A key with another kid is not even tried.
    let (_, other) = ec_pair(&w.ca, "07AB-sig-2024", KeyUse::Sig, "ES256");
    let err = verify_envelope(&submission.envelope, &other).unwrap_err();
    assert_eq!(err.to_string(), "envelope: header `kid` does not name the sender key");
    // An encryption key is refused as a verification key.
    let err = verify_envelope(&submission.envelope, &w.recipient_enc.1).unwrap_err();
    assert!(matches!(err, JoseError::WrongKey(_)), "{err}");

    // Sections: the inner signature must verify with the sender key.
    let envelope = verified();
    let token = &submission.sections[&Section::SupportNeeds];
    let err = open_section(&envelope, Section::SupportNeeds, token, &w.recipient_enc.0, &impostor).unwrap_err();
    assert_eq!(
        err.to_string(),
        "section support_needs: inner signature does not verify"
    );
    let err = open_section(&envelope, Section::SupportNeeds, token, &w.recipient_enc.0, &other).unwrap_err();
    assert!(err.to_string().contains("inner header `kid`"), "{err}");
}

#[test]
fn wrong_recipient_key_is_rejected() {
    let w = world();
    let submission = sealed();
    let envelope = verified();
    let token = &submission.sections[&Section::PersonalData];
    let (same_kid, _) = ec_pair(&w.ca, "25LX-enc-2025", KeyUse::Enc, "ECDH-ES+A256KW");
    let err = open_section(&envelope, Section::PersonalData, token, &same_kid, &w.sender_sig.1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "section personal_data: does not decrypt with the recipient key"
    );
    let (other_kid, _) = ec_pair(&w.ca, "25LX-enc-2024", KeyUse::Enc, "ECDH-ES+A256KW");
    let err = open_section(&envelope, Section::PersonalData, token, &other_kid, &w.sender_sig.1).unwrap_err();
    assert!(err.to_string().contains("encrypted for another key"), "{err}");
    let err = open_section(
        &envelope,
        Section::PersonalData,
        token,
        &w.sender_sig.0,
        &w.sender_sig.1,
    )
    .unwrap_err();
    assert!(matches!(err, JoseError::WrongKey(_)), "{err}");
    // An RSA key of the right kid but the wrong algorithm.
    let (rsa, _) = rsa_pair("25LX-enc-2025", &w.ca);
    let err = open_section(&envelope, Section::PersonalData, token, &rsa, &w.sender_sig.1).unwrap_err();
    assert!(err.to_string().contains("`alg`"), "{err}");
}

// ---- mixing packages and sections -------------------------------------------

#[test]
fn envelope_and_sections_from_different_packages_do_not_mix() {
    let w = world();
    let a = sealed();
    let envelope_a = verified();
    let mut meta_b = meta();
    meta_b.package_id = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d".to_owned();
    meta_b.jti = "07AB-20250315-000002".to_owned();
    let b = seal(&meta_b, &all_sections(), &w.sender_sig.0, &w.recipient_enc.1).unwrap();

    let err = check_sections(&envelope_a, &b.sections).unwrap_err();
    assert_eq!(
        err.to_string(),
        "section attachments: sha256 does not match the envelope"
    );
    let token_b = &b.sections[&Section::SupportNeeds];
    let err = open_section(
        &envelope_a,
        Section::SupportNeeds,
        token_b,
        &w.recipient_enc.0,
        &w.sender_sig.1,
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("section support_needs: s"), "{err}");

    // Same size but another digest: the digest check fires.
    let mut mixed = a.sections.clone();
    let personal_b = b.sections[&Section::PersonalData].clone();
    let entry = envelope_a.entry(Section::PersonalData).unwrap().clone();
    if personal_b.len() as u64 == entry.size {
        mixed.insert(Section::PersonalData, personal_b.clone());
        let err = check_sections(&envelope_a, &mixed).unwrap_err();
        assert_eq!(
            err.to_string(),
            "section personal_data: sha256 does not match the envelope"
        );
    }

    // Even an envelope that lists B's token is caught by the pid in the header.
    let mut lying = envelope_a.clone();
    for e in &mut lying.sections {
        if e.name == Section::PersonalData {
            e.size = personal_b.len() as u64;
            e.sha256 = sha256_b64url(&personal_b);
        }
    }
    let err = open_section(
        &lying,
        Section::PersonalData,
        &personal_b,
        &w.recipient_enc.0,
        &w.sender_sig.1,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "section personal_data: protected header `pid` does not match the envelope"
    );

    // A section filed under another section's name: digest, then `sec`.
    let mut swapped = a.sections.clone();
    swapped.insert(Section::SupportNeeds, a.sections[&Section::Remarks].clone());
    assert!(check_sections(&envelope_a, &swapped).is_err());
    let remarks = &a.sections[&Section::Remarks];
    let mut lying = envelope_a.clone();
    for e in &mut lying.sections {
        if e.name == Section::SupportNeeds {
            e.size = remarks.len() as u64;
            e.sha256 = sha256_b64url(remarks);
        }
    }
    let err = open_section(
        &lying,
        Section::SupportNeeds,
        remarks,
        &w.recipient_enc.0,
        &w.sender_sig.1,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "section support_needs: protected header `sec` does not name this section"
    );
}

#[test]
fn inner_claims_must_agree_with_the_envelope() {
    let w = world();
    let submission = sealed();
    let token = &submission.sections[&Section::Remarks];
    for (member, rule) in [("iss", "inner `iss`"), ("aud", "inner `aud`")] {
        let mut envelope = verified();
        let other = Brin::parse("99ZZ").unwrap();
        if member == "iss" {
            envelope.iss = other;
        } else {
            envelope.aud = other;
        }
        let err = open_section(&envelope, Section::Remarks, token, &w.recipient_enc.0, &w.sender_sig.1).unwrap_err();
        assert!(err.to_string().contains(rule), "{err}");
    }
}

#[test]
fn missing_and_extra_sections_are_rejected() {
    let w = world();
    let submission = sealed();
    let envelope = verified();
    let mut missing = submission.sections.clone();
    missing.remove(&Section::CareerPortfolio);
    let err = check_sections(&envelope, &missing).unwrap_err();
    assert_eq!(
        err.to_string(),
        "section career_portfolio: listed in the envelope but missing from the submission"
    );

    let small = seal(
        &meta(),
        &[SectionInput {
            section: Section::PersonalData,
            content: content(Section::PersonalData),
        }],
        &w.sender_sig.0,
        &w.recipient_enc.1,
    )
    .unwrap();
    let small_envelope = verify_envelope(&small.envelope, &w.sender_sig.1).unwrap();
    let mut extra = small.sections.clone();
    extra.insert(Section::Remarks, submission.sections[&Section::Remarks].clone());
    let err = check_sections(&small_envelope, &extra).unwrap_err();
    assert_eq!(err.to_string(), "section remarks: not listed in the envelope");
    let err = open_section(
        &small_envelope,
        Section::Remarks,
        &submission.sections[&Section::Remarks],
        &w.recipient_enc.0,
        &w.sender_sig.1,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "section remarks: not listed in the envelope");
}

// ---- the envelope's own rules ------------------------------------------------

#[test]
fn non_canonical_envelope_payload_is_rejected() {
    let key = hand_sender_public();
    let good = sealed_payload();
    // The hand signer works: a canonical payload verifies.
    let canonical = canonical_json(&good).unwrap();
    assert!(verify_envelope(&sign_raw(&hand_header(), canonical.as_bytes()), &key).is_ok());

    let pretty = serde_json::to_string_pretty(&good).unwrap();
    let mut reordered = String::from("{\"sections\":");
    reordered.push_str(&canonical_json(&good["sections"]).unwrap());
    for member in ["aud", "application", "iat", "iss", "jti", "pid"] {
        reordered.push_str(&format!(",\"{member}\":{}", canonical_json(&good[member]).unwrap()));
    }
    reordered.push('}');
    let float_iat = canonical.replace(&format!("\"iat\":{IAT}"), &format!("\"iat\":{IAT}.0"));
    let duplicate = canonical.replacen('{', "{\"aud\":\"99ZZ\",", 1);
    let escaped = canonical.replace("\"07AB\"", "\"\\u0030\\u0037AB\"");
    for (what, payload) in [
        ("pretty", pretty),
        ("reordered", reordered),
        ("float iat", float_iat),
        ("duplicate member", duplicate),
        ("needless escape", escaped),
        ("trailing newline", format!("{canonical}\n")),
    ] {
        assert_ne!(payload, canonical, "{what}");
        let err = verify_envelope(&sign_raw(&hand_header(), payload.as_bytes()), &key).unwrap_err();
        assert_eq!(err.to_string(), "envelope: payload is not canonical JSON", "{what}");
        assert!(
            peek_envelope(&sign_raw(&hand_header(), payload.as_bytes())).is_err(),
            "{what}"
        );
    }
}

#[test]
fn envelope_members_are_checked() {
    let key = hand_sender_public();
    type Tamper = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Tamper, &str)> = vec![
        (
            "extra member",
            Box::new(|v| v["x"] = json!(1)),
            "payload has a member other than",
        ),
        (
            "missing jti",
            Box::new(|v| drop(v.as_object_mut().unwrap().remove("jti"))),
            "`jti`",
        ),
        (
            "short jti",
            Box::new(|v| v["jti"] = json!("short")),
            "`jti` must be 16 to 128",
        ),
        (
            "bad pid",
            Box::new(|v| v["pid"] = json!(PID.to_uppercase())),
            "`pid` must be a UUID",
        ),
        (
            "bad iss",
            Box::new(|v| v["iss"] = json!("07ab")),
            "`iss` must be a BRIN",
        ),
        ("negative iat", Box::new(|v| v["iat"] = json!(-1)), "`iat`"),
        (
            "no sections",
            Box::new(|v| v["sections"] = json!([])),
            "at least one section",
        ),
        (
            "unsorted sections",
            Box::new(|v| v["sections"].as_array_mut().unwrap().reverse()),
            "sorted by name",
        ),
        (
            "duplicate section",
            Box::new(|v| {
                let first = v["sections"][0].clone();
                v["sections"].as_array_mut().unwrap().insert(0, first);
            }),
            "sorted by name, each name once",
        ),
        (
            "unknown section",
            Box::new(|v| v["sections"][0]["name"] = json!("grades")),
            "not a section name",
        ),
        (
            "short sha256",
            Box::new(|v| v["sections"][0]["sha256"] = json!("AAAA")),
            "`sha256` must be 32 bytes",
        ),
        (
            "oversize entry",
            Box::new(|v| v["sections"][1]["size"] = json!(MAX_SECTION_BYTES + 1)),
            "section career_portfolio: exceeds 524288 bytes",
        ),
    ];
    for (what, tamper, expected) in cases {
        let mut payload = sealed_payload();
        tamper(&mut payload);
        let envelope = sign_raw(&hand_header(), canonical_json(&payload).unwrap().as_bytes());
        let err = verify_envelope(&envelope, &key).unwrap_err();
        assert!(err.to_string().contains(expected), "{what}: {err}");
    }
}

#[test]
fn forged_algorithms_and_headers_are_rejected() {
    let key = hand_sender_public();
    let payload = canonical_json(&sealed_payload()).unwrap();
    let p = URL_SAFE_NO_PAD.encode(&payload);
    let enc = |v: Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(&v).unwrap());

    // alg none, with and without a signature part.
    let none = enc(json!({"alg": "none", "kid": "07AB-sig-hand", "typ": "doorstroom-envelope+jwt"}));
    for forged in [format!("{none}.{p}."), format!("{none}.{p}.AAAA")] {
        assert!(verify_envelope(&forged, &key).is_err(), "{forged}");
        assert!(peek_envelope(&forged).is_err());
    }
    let err = verify_envelope(&format!("{none}.{p}.AAAA"), &key).unwrap_err();
    assert_eq!(
        err.to_string(),
        "envelope: protected header `alg` must be ES256 or EdDSA"
    );

    // HS256 keyed with the sender's *public* key (the classic confusion).
    let public_bytes = serde_json::to_vec(&key.to_json()).unwrap();
    let hs = josekit::jws::HS256.signer_from_bytes(&public_bytes).unwrap();
    let mut h = josekit::jws::JwsHeader::new();
    h.set_token_type("doorstroom-envelope+jwt");
    h.set_key_id("07AB-sig-hand");
    let forged = josekit::jws::serialize_compact(payload.as_bytes(), &h, &hs).unwrap();
    let err = verify_envelope(&forged, &key).unwrap_err();
    assert_eq!(
        err.to_string(),
        "envelope: protected header `alg` must be ES256 or EdDSA"
    );

    // Extra header members (crit/b64, jwk, x5u) and a wrong typ.
    for header in [
        json!({"alg": "ES256", "kid": "07AB-sig-hand", "typ": "doorstroom-envelope+jwt", "crit": ["b64"], "b64": false}),
        json!({"alg": "ES256", "kid": "07AB-sig-hand", "typ": "doorstroom-envelope+jwt", "jwk": key.to_json()}),
        json!({"alg": "ES256", "kid": "07AB-sig-hand"}),
        json!({"alg": "ES256", "kid": "07AB-sig-hand", "typ": "doorstroom-section+jwt"}),
    ] {
        let forged = sign_raw(&header, payload.as_bytes());
        let err = verify_envelope(&forged, &key).unwrap_err();
        assert!(
            err.to_string().starts_with("envelope: protected header"),
            "{header}: {err}"
        );
    }

    // EdDSA claimed for an ES256 key.
    let forged = sign_raw(
        &json!({"alg": "EdDSA", "kid": "07AB-sig-hand", "typ": "doorstroom-envelope+jwt"}),
        payload.as_bytes(),
    );
    let err = verify_envelope(&forged, &key).unwrap_err();
    assert_eq!(
        err.to_string(),
        "envelope: header `alg` is not the sender key's algorithm"
    );

    // Not a compact JWS at all; padding; too large.
    for bad in ["", "a.b", "a.b.c.d", &format!("{}=.{p}.AAAA", enc(hand_header()))] {
        assert!(verify_envelope(bad, &key).is_err(), "{bad}");
    }
    let err = verify_envelope(&"a".repeat(16 * 1024 + 1), &key).unwrap_err();
    assert_eq!(err.to_string(), "envelope: exceeds 16384 bytes");
}

#[test]
fn forged_section_headers_are_rejected() {
    let w = world();
    let envelope = verified();
    let inner = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln";
    let encrypt = |enc: &str, zip: bool, extra: Option<(&str, Value)>| -> String {
        let mut h = josekit::jwe::JweHeader::new();
        h.set_content_encryption(enc);
        h.set_content_type("JWT");
        h.set_key_id("25LX-enc-2025");
        h.set_claim("sec", Some(json!("remarks"))).unwrap();
        h.set_claim("pid", Some(json!(PID))).unwrap();
        if zip {
            h.set_compression("DEF");
        }
        if let Some((k, v)) = extra {
            h.set_claim(k, Some(v)).unwrap();
        }
        let jwk = josekit::jwk::Jwk::from_map(w.recipient_enc.1.to_json().as_object().unwrap().clone()).unwrap();
        let encrypter = josekit::jwe::ECDH_ES_A256KW.encrypter_from_jwk(&jwk).unwrap();
        josekit::jwe::serialize_compact(inner.as_bytes(), &h, &encrypter).unwrap()
    };
    let good = encrypt("A256GCM", false, None);
    assert!(section_header(Section::Remarks, &good).is_ok());
    for (what, token, expected) in [
        ("A128GCM", encrypt("A128GCM", false, None), "`enc` must be A256GCM"),
        (
            "zip",
            encrypt("A256GCM", true, None),
            "protected header must have exactly",
        ),
        (
            "crit",
            encrypt("A256GCM", false, Some(("crit", json!(["exp"])))),
            "protected header must have exactly",
        ),
    ] {
        let err = section_header(Section::Remarks, &token).unwrap_err();
        assert!(err.to_string().contains(expected), "{what}: {err}");
        // And the receiver never gets to decrypt it either.
        let mut lying = envelope.clone();
        for e in &mut lying.sections {
            if e.name == Section::Remarks {
                e.size = token.len() as u64;
                e.sha256 = sha256_b64url(&token);
            }
        }
        assert!(open_section(&lying, Section::Remarks, &token, &w.recipient_enc.0, &w.sender_sig.1).is_err());
    }
    let err = section_header(Section::PersonalData, &good).unwrap_err();
    assert_eq!(
        err.to_string(),
        "section personal_data: protected header `sec` does not name this section"
    );
    assert!(section_header(Section::Remarks, "a.b.c.d").is_err());
}

// ---- limits ------------------------------------------------------------------

#[test]
fn oversize_sections_are_rejected() {
    let w = world();
    let big = json!({"text": "x".repeat(400 * 1024)});
    let err = seal(
        &meta(),
        &[SectionInput {
            section: Section::PersonalData,
            content: big.clone(),
        }],
        &w.sender_sig.0,
        &w.recipient_enc.1,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "section personal_data: exceeds 524288 bytes");
    // The same content fits in attachments (8 MiB).
    let ok = seal(
        &meta(),
        &[SectionInput {
            section: Section::Attachments,
            content: big,
        }],
        &w.sender_sig.0,
        &w.recipient_enc.1,
    )
    .unwrap();
    let envelope = verify_envelope(&ok.envelope, &w.sender_sig.1).unwrap();
    check_sections(&envelope, &ok.sections).unwrap();

    // The broker refuses an oversize token before hashing it.
    let mut envelope = verified();
    let huge = "a".repeat(MAX_SECTION_BYTES + 1);
    let mut sections = sealed().sections.clone();
    sections.insert(Section::SupportNeeds, huge.clone());
    for e in &mut envelope.sections {
        if e.name == Section::SupportNeeds {
            e.size = huge.len() as u64;
            e.sha256 = sha256_b64url(&huge);
        }
    }
    let err = check_sections(&envelope, &sections).unwrap_err();
    assert_eq!(err.to_string(), "section support_needs: exceeds 524288 bytes");
}

// ---- inputs ------------------------------------------------------------------

#[test]
fn seal_checks_its_inputs() {
    let w = world();
    let one = [SectionInput {
        section: Section::Remarks,
        content: json!("ok"),
    }];
    let mut m = meta();
    m.package_id = "not-a-uuid".to_owned();
    assert!(matches!(
        seal(&m, &one, &w.sender_sig.0, &w.recipient_enc.1),
        Err(JoseError::Package(_))
    ));
    let mut m = meta();
    m.jti = "short".to_owned();
    assert!(seal(&m, &one, &w.sender_sig.0, &w.recipient_enc.1).is_err());
    let twice = [one[0].clone(), one[0].clone()];
    let err = seal(&meta(), &twice, &w.sender_sig.0, &w.recipient_enc.1).unwrap_err();
    assert_eq!(err.to_string(), "package: each section may be given only once");
    assert!(seal(&meta(), &[], &w.sender_sig.0, &w.recipient_enc.1).is_err());
    assert!(matches!(
        seal(&meta(), &one, &w.recipient_enc.0, &w.recipient_enc.1),
        Err(JoseError::WrongKey(_))
    ));
    assert!(matches!(
        seal(&meta(), &one, &w.sender_sig.0, &w.sender_sig.1),
        Err(JoseError::WrongKey(_))
    ));
    // Debug of an input never shows content.
    assert!(!format!("{:?}", one[0]).contains("ok"));
}

#[test]
fn submission_json_is_strict() {
    let good = json!({"envelope": "a.b.c", "sections": {"remarks": "x", "personal_data": "y"}});
    let parsed: Submission = serde_json::from_value(good).unwrap();
    assert_eq!(parsed.sections.len(), 2);
    let dup = r#"{"envelope":"a.b.c","sections":{"remarks":"x","remarks":"y"}}"#;
    let err = serde_json::from_str::<Submission>(dup).unwrap_err();
    assert!(
        err.to_string().contains("section remarks: given more than once"),
        "{err}"
    );
    let unknown = r#"{"envelope":"a.b.c","sections":{"grades":"x"}}"#;
    assert!(serde_json::from_str::<Submission>(unknown).is_err());
    let extra = r#"{"envelope":"a.b.c","sections":{},"note":"hi"}"#;
    assert!(serde_json::from_str::<Submission>(extra).is_err());
}

#[test]
fn private_jwk_rules() {
    let w = world();
    let private = sender_private_json();
    let parsed = PrivateJwk::parse(&private).unwrap();
    assert_eq!(
        (parsed.kid(), parsed.key_use(), parsed.alg()),
        ("07AB-sig-hand", KeyUse::Sig, "ES256")
    );
    let debug = format!("{parsed:?}");
    assert!(!debug.contains(private["d"].as_str().unwrap()), "{debug}");
    // A public JWK is not a private one.
    let err = PrivateJwk::parse(&w.sender_sig.1.to_json()).unwrap_err();
    assert!(matches!(err, JoseError::MissingMember("d")), "{err}");
    // `d` of another key.
    let mut mismatched = private.clone();
    mismatched["d"] = json!(URL_SAFE_NO_PAD.encode([7u8; 32]));
    let err = PrivateJwk::parse(&mismatched).unwrap_err();
    assert!(matches!(err, JoseError::InvalidPrivateKey(_)), "{err}");
    assert!(!err.to_string().contains(mismatched["d"].as_str().unwrap()));
    // An Ed25519 `d` that does not match `x`.
    let (_, ed_public) = ed_pair("07AB-sig-ed", &w.ca);
    let mut ed = ed_public.to_json();
    ed["d"] = json!(URL_SAFE_NO_PAD.encode([9u8; 32]));
    assert!(matches!(PrivateJwk::parse(&ed), Err(JoseError::InvalidPrivateKey(_))));
}

/// The worked digest example of `openapi/PACKAGE-FORMAT.md`.
#[test]
fn digest_example_in_the_document() {
    let token = "eyJhbGciOiJFQ0RILUVTK0EyNTZLVyJ9.AAAA.BBBB.CCCC.DDDD";
    assert_eq!(token.len(), 52);
    assert_eq!(sha256_b64url(token), "N1xpeAfgJc2WYnEORuCiRjmiBsV4FGjyjRIX28OU-Rw");
    let digest = sha2::Sha256::digest(token.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "375c697807e025cd9662710e46e0a24639a206c5781468f28d1217dbc394f91c");
}

/// The canonical-JSON example of `openapi/PACKAGE-FORMAT.md`: members given
/// in any order come out sorted and without whitespace.
#[test]
fn canonical_example_in_the_document() {
    let payload = json!({
        "sections": [
            {"sha256": "U-ReYu4jk7wATP6PSWErU_qVZ_2MZnbWED8ApfY5DFw", "size": 1062, "name": "personal_data"},
            {"size": 1026, "name": "remarks", "sha256": "nFWqd12VTsjNcxvDrgul8MwZ0_jmxIFpLnMtiWjTl4A"}
        ],
        "pid": PID, "jti": JTI, "iss": "07AB", "iat": IAT, "aud": "25LX", "application": APPLICATION,
    });
    assert_eq!(
        canonical_json(&payload).unwrap(),
        concat!(
            r#"{"application":"5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a","aud":"25LX","iat":1742036400,"#,
            r#""iss":"07AB","jti":"07AB-20250315-000001","pid":"0f8e5a4c-3b2d-4e1f-9a8b-7c6d5e4f3a2b","#,
            r#""sections":[{"name":"personal_data","sha256":"U-ReYu4jk7wATP6PSWErU_qVZ_2MZnbWED8ApfY5DFw","#,
            r#""size":1062},{"name":"remarks","sha256":"nFWqd12VTsjNcxvDrgul8MwZ0_jmxIFpLnMtiWjTl4A","size":1026}]}"#
        )
    );
}

// ---- §11.1 of `openapi/PACKAGE-FORMAT.md`: the example to reproduce ----

/// The fixed private keys of the reproducible example: the sender's Ed25519
/// seed and the recipient's P-256 scalar, both base64url.
const EXAMPLE_SENDER_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const EXAMPLE_RECIPIENT_D: &str = "r_kHyZ-a06rmxM3yESK84r1otSg-aQcVStkRhA-iCM8";
const EXAMPLE_SENDER_KID: &str = "07AB-sig-example";
const EXAMPLE_RECIPIENT_KID: &str = "25LX-enc-example";

/// The example's private JWKs, their public halves derived from `d`
/// (`x5c`: just some certificate; the example checks no chain).
fn example_keys() -> (Value, Value) {
    use openssl::bn::{BigNum, BigNumContext};
    use openssl::ec::{EcGroup, EcPoint};
    use openssl::nid::Nid;
    let x5c = json!([STANDARD.encode(world().ca.cert.der())]);
    let seed = URL_SAFE_NO_PAD.decode(EXAMPLE_SENDER_D).unwrap();
    let ed = openssl::pkey::PKey::private_key_from_raw_bytes(&seed, openssl::pkey::Id::ED25519).unwrap();
    let sender = json!({
        "kty": "OKP", "crv": "Ed25519", "kid": EXAMPLE_SENDER_KID, "use": "sig", "alg": "EdDSA",
        "x": URL_SAFE_NO_PAD.encode(ed.raw_public_key().unwrap()),
        "d": EXAMPLE_SENDER_D, "x5c": x5c,
    });
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let mut ctx = BigNumContext::new().unwrap();
    let d = BigNum::from_slice(&URL_SAFE_NO_PAD.decode(EXAMPLE_RECIPIENT_D).unwrap()).unwrap();
    let mut point = EcPoint::new(&group).unwrap();
    point.mul_generator2(&group, &d, &mut ctx).unwrap();
    let (mut x, mut y) = (BigNum::new().unwrap(), BigNum::new().unwrap());
    point.affine_coordinates(&group, &mut x, &mut y, &mut ctx).unwrap();
    let recipient = json!({
        "kty": "EC", "crv": "P-256", "kid": EXAMPLE_RECIPIENT_KID, "use": "enc", "alg": "ECDH-ES+A256KW",
        "x": URL_SAFE_NO_PAD.encode(x.to_vec_padded(32).unwrap()),
        "y": URL_SAFE_NO_PAD.encode(y.to_vec_padded(32).unwrap()),
        "d": EXAMPLE_RECIPIENT_D, "x5c": x5c,
    });
    (sender, recipient)
}

fn example_meta() -> PackageMeta {
    PackageMeta {
        jti: "07AB-20250315-example".to_owned(),
        ..meta()
    }
}

fn example_remarks() -> Value {
    json!({"by": "student", "text": "Ik wil graag verpleegkunde doen."})
}

/// The example's submission, as printed in the document: sealed once with
/// [`seal`] and the keys above. Its section token is random (ECDH-ES
/// ephemeral key, CEK, IV); everything else follows from it and the fixed
/// keys, byte for byte.
const EXAMPLE_ENVELOPE: &str = "eyJ0eXAiOiJkb29yc3Ryb29tLWVudmVsb3BlK2p3dCIsImtpZCI6IjA3QUItc2lnLWV4YW1wbGUiLCJhbGciOiJFZERTQSJ9.eyJhcHBsaWNhdGlvbiI6IjVkNGMzYjJhLTFmMGUtNGQ5Yy04YjdhLTZmNWU0ZDNjMmIxYSIsImF1ZCI6IjI1TFgiLCJpYXQiOjE3NDIwMzY0MDAsImlzcyI6IjA3QUIiLCJqdGkiOiIwN0FCLTIwMjUwMzE1LWV4YW1wbGUiLCJwaWQiOiIwZjhlNWE0Yy0zYjJkLTRlMWYtOWE4Yi03YzZkNWU0ZjNhMmIiLCJzZWN0aW9ucyI6W3sibmFtZSI6InJlbWFya3MiLCJzaGEyNTYiOiJRbmUxYVM4T211TzBtU25XQlk1VGZrWUJJeFpmakFpMklDejl3NUp0NjN3Iiwic2l6ZSI6MTAxMn1dfQ.UQ4oheLj8hzkuhT33z-bqzV76rsCq0-395YJnkVGBOfdNdbmdjAX6cSpv89mgWfyibU-gam6ykv9ESks-TcfDg";
const EXAMPLE_TOKEN: &str = "eyJlbmMiOiJBMjU2R0NNIiwiY3R5IjoiSldUIiwia2lkIjoiMjVMWC1lbmMtZXhhbXBsZSIsInNlYyI6InJlbWFya3MiLCJwaWQiOiIwZjhlNWE0Yy0zYjJkLTRlMWYtOWE4Yi03YzZkNWU0ZjNhMmIiLCJlcGsiOnsia3R5IjoiRUMiLCJjcnYiOiJQLTI1NiIsIngiOiJQT0RoSE81b0Z6eUNyVTNxZi1ieFRtTkpETE5RR2FIOTRlaFZOTUVkdE8wIiwieSI6IldjdFlXRy1FOVZfMmxmTklmc3BqbEI4enkyU2g0Z1piOHpvZGVoQ2RxV1EifSwiYWxnIjoiRUNESC1FUytBMjU2S1cifQ.cXJF3mYKAAeTt6tSwgfhwMiAsuQIIOqQdCLin0S_cBHG6-DYYWNRew.VNhYMPNsNvodZI64.XIJrya9ocZMnIH2FJDJO4pTYjwf_pyF8_j_vKgNaC66rpu0mQmeQdx9HOi7CX_f6E3SwFgNw_SrsMYjYUN_6Ye3XpoTKYocUVX6vUc7uh8BTbAyF1QqmFiL9Zog-xCIW_hVILGwLqGMeL_n5vJGaZLtTxGMXt23921aWCDPL4pNM_b5Ozs6wS5DJbbH344xxhntjzvVSfcjQaz9zVgJV-mH21EhdtlTGFlsbB5MtRWT-caudTDJapXPHIAk0TTQlfOH_DAugb8FAc2HgdDmzG_-mmGSPjF0t49ZR8FQHDT8Yd8H2JN5CIkcAeMM9TTxbp8lgR3Dsnc1reXVSL8JutOrcH6jBWoBmCEpuUx-b4vC6agQDZG54I7Dpmdv52xmo8_fci2lzf2VKmcu0kaovBzew1OJ1PIcZ_UMijILC6zJ9rhByTQc-uNQwLxQnaUmje3RvOdzS9DzDNNNOKNzJ9RuKq6XVDuZowZaT8lT_OQTv3uIOcoiRaSWizkIwb-tvmMPDhMU57LDsbG996gy4VLn1jbqFqdNuRFWkIT0l1A.k5Q2493Yys7pmVjkxtc3bA";

/// Signs `signing_input` with the example's Ed25519 key (deterministic,
/// RFC 8032), base64url.
fn example_ed25519_signature(sender: &Value, signing_input: &str) -> String {
    use josekit::jws::JwsSigner as _;
    let jwk = josekit::jwk::Jwk::from_map(sender.as_object().unwrap().clone()).unwrap();
    let signer = josekit::jws::EdDSA.signer_from_jwk(&jwk).unwrap();
    URL_SAFE_NO_PAD.encode(signer.sign(signing_input.as_bytes()).unwrap())
}

/// §11.1 of `openapi/PACKAGE-FORMAT.md`, reproduced byte for byte: the
/// document prints these keys and tokens, the envelope follows from the
/// token and the fixed keys and claims, and the inner token inside the
/// section decrypts to exactly what the document prints.
#[test]
fn reproducible_example_in_the_document() {
    let document = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/PACKAGE-FORMAT.md"))
        .unwrap()
        .replace('\n', "");
    let (sender_json, recipient_json) = example_keys();
    for (key, member) in [
        (&sender_json, "x"),
        (&sender_json, "d"),
        (&recipient_json, "x"),
        (&recipient_json, "y"),
        (&recipient_json, "d"),
    ] {
        let value = key[member].as_str().unwrap();
        assert!(
            document.contains(value),
            "the document prints {} `{member}` = {value}",
            key["kid"]
        );
    }
    assert!(document.contains(EXAMPLE_ENVELOPE), "the document prints the envelope");
    assert!(
        document.contains(EXAMPLE_TOKEN),
        "the document prints the section token"
    );

    // The envelope, by hand: the header bytes as printed, the canonical
    // payload from the token's size and digest, the Ed25519 signature.
    let header = r#"{"typ":"doorstroom-envelope+jwt","kid":"07AB-sig-example","alg":"EdDSA"}"#;
    let payload = canonical_json(&json!({
        "pid": PID, "iss": "07AB", "aud": "25LX", "application": APPLICATION,
        "iat": IAT, "jti": "07AB-20250315-example",
        "sections": [{"name": "remarks", "size": EXAMPLE_TOKEN.len(), "sha256": sha256_b64url(EXAMPLE_TOKEN)}],
    }))
    .unwrap();
    assert!(document.contains(header) && document.contains(&payload));
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(&payload)
    );
    let by_hand = format!(
        "{signing_input}.{}",
        example_ed25519_signature(&sender_json, &signing_input)
    );
    assert_eq!(by_hand, EXAMPLE_ENVELOPE, "the envelope is reproducible byte for byte");

    // The receiver's side, with the reference implementation.
    let sender = PrivateJwk::parse(&sender_json).unwrap();
    let recipient = PrivateJwk::parse(&recipient_json).unwrap();
    let envelope = verify_envelope(EXAMPLE_ENVELOPE, &sender.public_jwk().unwrap()).unwrap();
    let sections = [(Section::Remarks, EXAMPLE_TOKEN.to_owned())].into_iter().collect();
    check_sections(&envelope, &sections).unwrap();
    let content = open_section(
        &envelope,
        Section::Remarks,
        EXAMPLE_TOKEN,
        &recipient,
        &sender.public_jwk().unwrap(),
    )
    .unwrap();
    assert_eq!(content, example_remarks());

    // Inside the section: exactly the inner token the document prints,
    // itself reproducible from its printed header and claims.
    let jwk = josekit::jwk::Jwk::from_map(recipient_json.as_object().unwrap().clone()).unwrap();
    let decrypter = josekit::jwe::ECDH_ES_A256KW.decrypter_from_jwk(&jwk).unwrap();
    let (inner, _) = josekit::jwe::deserialize_compact(EXAMPLE_TOKEN, &decrypter).unwrap();
    let inner = String::from_utf8(inner).unwrap();
    assert!(
        document.contains(&inner),
        "the document prints the inner token: {inner}"
    );
    let mut parts = inner.split('.');
    let (inner_header, inner_claims) = (parts.next().unwrap(), parts.next().unwrap());
    for part in [inner_header, inner_claims] {
        let decoded = String::from_utf8(URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap();
        assert!(document.contains(&decoded), "the document prints {decoded}");
    }
    let signing_input = format!("{inner_header}.{inner_claims}");
    assert_eq!(
        format!(
            "{signing_input}.{}",
            example_ed25519_signature(&sender_json, &signing_input)
        ),
        inner
    );

    // And these keys seal packages that open (a fresh one: its token is new).
    let fresh = seal(
        &example_meta(),
        &[SectionInput {
            section: Section::Remarks,
            content: example_remarks(),
        }],
        &sender,
        &recipient.public_jwk().unwrap(),
    )
    .unwrap();
    let fresh_envelope = verify_envelope(&fresh.envelope, &sender.public_jwk().unwrap()).unwrap();
    let opened = open_section(
        &fresh_envelope,
        Section::Remarks,
        &fresh.sections[&Section::Remarks],
        &recipient,
        &sender.public_jwk().unwrap(),
    )
    .unwrap();
    assert_eq!(opened, example_remarks());
    if std::env::var_os("PRINT_EXAMPLE").is_some() {
        println!("{}", serde_json::to_string_pretty(&fresh).unwrap());
    }
}
