//! Public JWK validation and x5c chain checks, with certificates made by
//! rcgen in the test itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeZone, Utc};
use doorstroom_domain::KeyUse;
use doorstroom_jose::{JoseError, Jwks, PublicJwk, TrustAnchors, jwk_pair_from_pkcs8_pem, verify_x5c};
use rcgen::{BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, date_time_ymd};
use serde_json::{Value, json};

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

/// A leaf for `key`, valid 2024-01-01 .. 2026-01-01.
fn make_leaf(ca: &Ca, key: &KeyPair, cn: &str) -> Certificate {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.not_before = date_time_ymd(2024, 1, 1);
    params.not_after = date_time_ymd(2026, 1, 1);
    params.signed_by(key, &ca.cert, &ca.key).unwrap()
}

fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}

fn anchors(ca: &Ca) -> TrustAnchors {
    TrustAnchors::from_pem(ca.cert.pem().as_bytes()).unwrap()
}

/// An EC P-256 key with a leaf from `ca`; returns (private JWK, public JWK).
fn ec_pair(ca: &Ca, key_use: KeyUse, alg: &str) -> (Value, PublicJwk) {
    let key = KeyPair::generate().unwrap();
    let leaf = make_leaf(ca, &key, &format!("07AB {key_use} key"));
    jwk_pair_from_pkcs8_pem(
        &key.serialize_pem(),
        &format!("07AB-{key_use}-20250101-ab12"),
        key_use,
        alg,
        vec![leaf.der().to_vec(), ca.cert.der().to_vec()],
    )
    .unwrap()
}

/// A valid published ES256 key as JSON, to be broken by the rule tests.
fn good_json() -> Value {
    let ca = make_ca("Test CA");
    ec_pair(&ca, KeyUse::Sig, "ES256").1.to_json()
}

fn with(mut v: Value, member: &str, value: Value) -> Value {
    v.as_object_mut().unwrap().insert(member.to_owned(), value);
    v
}

fn without(mut v: Value, member: &str) -> Value {
    v.as_object_mut().unwrap().remove(member);
    v
}

fn some_cert_b64() -> Value {
    let ca = make_ca("Some CA");
    json!([STANDARD.encode(ca.cert.der())])
}

fn rsa_json(bits: u32) -> Value {
    let rsa = openssl::rsa::Rsa::generate(bits).unwrap();
    json!({
        "kty": "RSA",
        "n": URL_SAFE_NO_PAD.encode(rsa.n().to_vec()),
        "e": URL_SAFE_NO_PAD.encode(rsa.e().to_vec()),
        "kid": "25LX-enc-rsa",
        "use": "enc",
        "alg": "RSA-OAEP-256",
        "x5c": some_cert_b64(),
    })
}

// ---- good keys -------------------------------------------------------------

#[test]
fn ec_signing_key_pair_parses_and_round_trips() {
    let ca = make_ca("Test CA");
    let (private, public) = ec_pair(&ca, KeyUse::Sig, "ES256");
    assert_eq!(public.kid(), "07AB-sig-20250101-ab12");
    assert_eq!(public.key_use(), KeyUse::Sig);
    assert_eq!(public.alg(), "ES256");
    assert_eq!(public.x5c_der().len(), 2);

    let published = public.to_json();
    assert!(published.get("d").is_none());
    assert_eq!(published["kty"], "EC");
    assert_eq!(published["crv"], "P-256");
    let again = PublicJwk::parse(&published).unwrap();
    assert_eq!(again, public);

    // The private JWK carries d plus the same public members.
    assert!(private["d"].is_string());
    for member in ["kty", "crv", "x", "y", "kid", "use", "alg", "x5c"] {
        assert_eq!(private[member], published[member], "{member}");
    }
    // ... and is refused as a published key.
    assert!(matches!(
        PublicJwk::parse(&private),
        Err(JoseError::PrivateKeyMaterial("d"))
    ));
}

#[test]
fn ec_encryption_key_parses() {
    let ca = make_ca("Test CA");
    let (_, public) = ec_pair(&ca, KeyUse::Enc, "ECDH-ES+A256KW");
    assert_eq!(public.key_use(), KeyUse::Enc);
    assert_eq!(public.alg(), "ECDH-ES+A256KW");
}

#[test]
fn ed25519_signing_key_parses() {
    let key = openssl::pkey::PKey::generate_ed25519().unwrap();
    let raw = key.raw_public_key().unwrap();
    let jwk = json!({
        "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(raw),
        "kid": "07AB-sig-ed", "use": "sig", "alg": "EdDSA", "x5c": some_cert_b64(),
    });
    let public = PublicJwk::parse(&jwk).unwrap();
    assert_eq!(public.alg(), "EdDSA");
}

#[test]
fn rsa_2048_encryption_key_parses() {
    let public = PublicJwk::parse(&rsa_json(2048)).unwrap();
    assert_eq!(public.alg(), "RSA-OAEP-256");
}

#[test]
fn unknown_members_are_ignored_and_not_republished() {
    let jwk = with(good_json(), "x-school-note", json!("hello"));
    let jwk = with(jwk, "key_ops", json!(["verify"]));
    let public = PublicJwk::parse(&jwk).unwrap();
    assert!(public.to_json().get("x-school-note").is_none());
}

#[test]
fn jwks_lists_published_keys() {
    let ca = make_ca("Test CA");
    let (_, sig) = ec_pair(&ca, KeyUse::Sig, "ES256");
    let (_, enc) = ec_pair(&ca, KeyUse::Enc, "ECDH-ES+A256KW");
    let set = serde_json::to_value(Jwks::from_keys([&sig, &enc])).unwrap();
    assert_eq!(set["keys"].as_array().map(Vec::len), Some(2));
    assert_eq!(set["keys"][1]["use"], "enc");
}

// ---- each rule has its own error --------------------------------------------

#[test]
fn not_an_object() {
    assert!(matches!(PublicJwk::parse(&json!([1, 2])), Err(JoseError::NotAnObject)));
}

#[test]
fn missing_kid() {
    let err = PublicJwk::parse(&without(good_json(), "kid")).unwrap_err();
    assert!(matches!(err, JoseError::MissingMember("kid")), "{err}");
    assert!(err.to_string().contains("kid"));
}

#[test]
fn malformed_kid() {
    for bad in [json!(""), json!("has space"), json!("ä"), json!("k".repeat(129))] {
        let err = PublicJwk::parse(&with(good_json(), "kid", bad)).unwrap_err();
        assert!(matches!(err, JoseError::InvalidKid), "{err}");
    }
    assert!(matches!(
        PublicJwk::parse(&with(good_json(), "kid", json!(7))),
        Err(JoseError::NotAString("kid"))
    ));
    assert!(
        PublicJwk::parse(&with(
            good_json(),
            "kid",
            json!("A.b_c:d-9".to_owned() + &"k".repeat(119))
        ))
        .is_ok()
    );
}

#[test]
fn bad_use() {
    let err = PublicJwk::parse(&with(good_json(), "use", json!("both"))).unwrap_err();
    assert!(matches!(err, JoseError::InvalidUse), "{err}");
    let err = PublicJwk::parse(&without(good_json(), "use")).unwrap_err();
    assert!(matches!(err, JoseError::MissingMember("use")), "{err}");
}

#[test]
fn alg_must_fit_use() {
    let err = PublicJwk::parse(&with(good_json(), "alg", json!("RS256"))).unwrap_err();
    assert!(
        matches!(
            err,
            JoseError::UnsupportedAlg {
                key_use: KeyUse::Sig,
                ..
            }
        ),
        "{err}"
    );
    // An encryption algorithm on a signing key.
    let err = PublicJwk::parse(&with(good_json(), "alg", json!("ECDH-ES+A256KW"))).unwrap_err();
    assert!(matches!(err, JoseError::UnsupportedAlg { .. }), "{err}");
    let err = PublicJwk::parse(&without(good_json(), "alg")).unwrap_err();
    assert!(matches!(err, JoseError::MissingMember("alg")), "{err}");
}

#[test]
fn alg_must_fit_key_type() {
    // EdDSA on an EC key.
    let err = PublicJwk::parse(&with(good_json(), "alg", json!("EdDSA"))).unwrap_err();
    assert!(matches!(err, JoseError::KeyTypeMismatch { alg: "EdDSA", .. }), "{err}");
    // ES256 on another curve.
    let err = PublicJwk::parse(&with(good_json(), "crv", json!("P-384"))).unwrap_err();
    assert!(matches!(err, JoseError::KeyTypeMismatch { alg: "ES256", .. }), "{err}");
    // RSA-OAEP-256 on an EC key.
    let jwk = with(with(good_json(), "use", json!("enc")), "alg", json!("RSA-OAEP-256"));
    let err = PublicJwk::parse(&jwk).unwrap_err();
    assert!(
        matches!(
            err,
            JoseError::KeyTypeMismatch {
                alg: "RSA-OAEP-256",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn private_members_are_refused() {
    for member in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
        let jwk = with(good_json(), member, json!("c2VjcmV0LWtleS1tYXRlcmlhbA"));
        let err = PublicJwk::parse(&jwk).unwrap_err();
        assert!(matches!(err, JoseError::PrivateKeyMaterial(m) if m == member), "{err}");
        let message = err.to_string();
        assert!(message.contains("private key material"));
        assert!(!message.contains("c2VjcmV0"), "message must not echo key material");
    }
}

#[test]
fn key_material_must_be_valid() {
    let good = good_json();
    // Flip a bit of y: no longer a point on the curve.
    let mut y = URL_SAFE_NO_PAD.decode(good["y"].as_str().unwrap()).unwrap();
    y[31] ^= 1;
    let err = PublicJwk::parse(&with(good.clone(), "y", json!(URL_SAFE_NO_PAD.encode(&y)))).unwrap_err();
    assert!(matches!(err, JoseError::InvalidKeyMaterial { .. }), "{err}");
    let err = PublicJwk::parse(&with(good.clone(), "x", json!("AAAA"))).unwrap_err();
    assert!(
        matches!(err, JoseError::InvalidKeyMaterial { member: "x", .. }),
        "{err}"
    );
    let err = PublicJwk::parse(&with(good, "x", json!("not base64url!"))).unwrap_err();
    assert!(
        matches!(err, JoseError::InvalidKeyMaterial { member: "x", .. }),
        "{err}"
    );
}

#[test]
fn rsa_below_2048_bits_is_refused() {
    let err = PublicJwk::parse(&rsa_json(1024)).unwrap_err();
    assert!(matches!(err, JoseError::RsaKeyTooSmall { bits: 1024 }), "{err}");
}

#[test]
fn missing_x5c() {
    let err = PublicJwk::parse(&without(good_json(), "x5c")).unwrap_err();
    assert!(matches!(err, JoseError::MissingMember("x5c")), "{err}");
}

#[test]
fn garbled_x5c() {
    let cases = [
        json!([]),
        json!("MIIB"),
        json!([42]),
        json!(["not base64!"]),
        // base64url alphabet is not standard base64
        json!(["-_-_"]),
        // valid base64, but not a certificate
        json!([STANDARD.encode(b"hello, world")]),
    ];
    for bad in cases {
        let err = PublicJwk::parse(&with(good_json(), "x5c", bad.clone())).unwrap_err();
        assert!(matches!(err, JoseError::InvalidX5c(_)), "{bad}: {err}");
    }
    // A certificate with trailing bytes.
    let mut der = STANDARD.decode(good_json()["x5c"][0].as_str().unwrap()).unwrap();
    der.extend_from_slice(&[0, 0]);
    let err = PublicJwk::parse(&with(good_json(), "x5c", json!([STANDARD.encode(der)]))).unwrap_err();
    assert!(matches!(err, JoseError::InvalidX5c(_)), "{err}");
}

#[test]
fn x5t_s256_must_match_leaf() {
    let good = good_json();
    let leaf = STANDARD.decode(good["x5c"][0].as_str().unwrap()).unwrap();
    let digest = openssl::sha::sha256(&leaf);
    assert!(PublicJwk::parse(&with(good.clone(), "x5t#S256", json!(URL_SAFE_NO_PAD.encode(digest)))).is_ok());
    let err = PublicJwk::parse(&with(good, "x5t#S256", json!(URL_SAFE_NO_PAD.encode([0u8; 32])))).unwrap_err();
    assert!(matches!(err, JoseError::X5tMismatch), "{err}");
}

// ---- x5c chains -------------------------------------------------------------

#[test]
fn chain_from_the_anchor_verifies() {
    let ca = make_ca("Doorstroom Test CA");
    let (_, public) = ec_pair(&ca, KeyUse::Sig, "ES256");
    let info = verify_x5c(&public, &anchors(&ca), day(2025, 6, 1)).unwrap();
    assert_eq!(info.subject, "CN=07AB sig key");
    assert_eq!(info.not_before, Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap());
    assert_eq!(info.not_after, Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
}

#[test]
fn leaf_alone_verifies_when_anchor_is_configured() {
    let ca = make_ca("Doorstroom Test CA");
    let (_, public) = ec_pair(&ca, KeyUse::Enc, "ECDH-ES+A256KW");
    let leaf_only = with(public.to_json(), "x5c", json!([STANDARD.encode(&public.x5c_der()[0])]));
    let public = PublicJwk::parse(&leaf_only).unwrap();
    assert!(verify_x5c(&public, &anchors(&ca), day(2025, 6, 1)).is_ok());
}

#[test]
fn ed25519_leaf_verifies() {
    let ca = make_ca("Doorstroom Test CA");
    let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let leaf = make_leaf(&ca, &key, "07AB sig key");
    let jwk = json!({
        "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(key.public_key_raw()),
        "kid": "07AB-sig-ed", "use": "sig", "alg": "EdDSA",
        "x5c": [STANDARD.encode(leaf.der())],
    });
    let public = PublicJwk::parse(&jwk).unwrap();
    assert!(verify_x5c(&public, &anchors(&ca), day(2025, 6, 1)).is_ok());
}

#[test]
fn chain_from_another_ca_is_refused() {
    let ca = make_ca("Doorstroom Test CA");
    let other = make_ca("Doorstroom Test CA"); // same name, different key
    let (_, public) = ec_pair(&other, KeyUse::Sig, "ES256");
    let err = verify_x5c(&public, &anchors(&ca), day(2025, 6, 1)).unwrap_err();
    assert!(matches!(err, JoseError::Untrusted(_)), "{err}");
}

#[test]
fn expired_leaf_is_refused() {
    let ca = make_ca("Doorstroom Test CA");
    let (_, public) = ec_pair(&ca, KeyUse::Sig, "ES256");
    let err = verify_x5c(&public, &anchors(&ca), day(2026, 1, 2)).unwrap_err();
    assert!(matches!(err, JoseError::CertificateExpired), "{err}");
}

#[test]
fn not_yet_valid_leaf_is_refused() {
    let ca = make_ca("Doorstroom Test CA");
    let (_, public) = ec_pair(&ca, KeyUse::Sig, "ES256");
    let err = verify_x5c(&public, &anchors(&ca), day(2023, 12, 31)).unwrap_err();
    assert!(matches!(err, JoseError::CertificateNotYetValid), "{err}");
}

#[test]
fn leaf_for_another_key_is_refused() {
    let ca = make_ca("Doorstroom Test CA");
    let (_, public) = ec_pair(&ca, KeyUse::Sig, "ES256");
    // A valid certificate from the same CA, but for a different key.
    let other_key = KeyPair::generate().unwrap();
    let other_leaf = make_leaf(&ca, &other_key, "07AB sig key");
    let swapped = with(
        public.to_json(),
        "x5c",
        json!([STANDARD.encode(other_leaf.der()), STANDARD.encode(ca.cert.der())]),
    );
    let swapped = PublicJwk::parse(&swapped).unwrap();
    let err = verify_x5c(&swapped, &anchors(&ca), day(2025, 6, 1)).unwrap_err();
    assert!(matches!(err, JoseError::KeyMismatch), "{err}");

    // Building a pair with someone else's certificate fails up front.
    let key = KeyPair::generate().unwrap();
    let err = jwk_pair_from_pkcs8_pem(
        &key.serialize_pem(),
        "07AB-sig-x",
        KeyUse::Sig,
        "ES256",
        vec![other_leaf.der().to_vec()],
    )
    .unwrap_err();
    assert!(matches!(err, JoseError::KeyMismatch), "{err}");
}

#[test]
fn several_anchors_and_bad_anchor_pem() {
    let a = make_ca("CA A");
    let b = make_ca("CA B");
    let both = TrustAnchors::from_pem(format!("{}{}", a.cert.pem(), b.cert.pem()).as_bytes()).unwrap();
    assert_eq!(both.len(), 2);
    assert!(!both.is_empty());
    let (_, public) = ec_pair(&b, KeyUse::Sig, "ES256");
    assert!(verify_x5c(&public, &both, day(2025, 6, 1)).is_ok());

    assert!(matches!(
        TrustAnchors::from_pem(b"no pem here"),
        Err(JoseError::InvalidTrustAnchors(_))
    ));
    assert!(matches!(
        TrustAnchors::from_pem(b""),
        Err(JoseError::InvalidTrustAnchors(_))
    ));
}

#[test]
fn pair_from_pem_refuses_non_pkcs8_or_wrong_curve() {
    let ca = make_ca("Test CA");
    let ed = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let err = jwk_pair_from_pkcs8_pem(
        &ed.serialize_pem(),
        "k",
        KeyUse::Sig,
        "ES256",
        vec![ca.cert.der().to_vec()],
    )
    .unwrap_err();
    assert!(matches!(err, JoseError::InvalidPrivateKey(_)), "{err}");
    let err = jwk_pair_from_pkcs8_pem("garbage", "k", KeyUse::Sig, "ES256", vec![]).unwrap_err();
    assert!(matches!(err, JoseError::InvalidPrivateKey(_)), "{err}");
}
