//! The development PKI's certificates checked as strict parsers and webpki
//! read them, and its idempotence and file modes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Months, Utc};
use doorstroom_domain::{CertFingerprint, KeyUse};
use doorstroom_jose::{PublicJwk, TrustAnchors, verify_x5c};
use rcgen::{CertificateParams, DnType, IsCa, KeyPair};
use sha2::{Digest as _, Sha256};

use super::ca::SERVER_NAMES;
use super::inspect::{parse_der, pem_certificate_der};
use super::validity::{asn1_to_chrono, backdate, leaf_not_after};
use super::*;
use chrono::TimeZone as _;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::collections::BTreeMap;
use x509_parser::asn1_rs::{Any, Class, FromDer as _, Tag};
use x509_parser::extensions::ParsedExtension;
use x509_parser::nom::Parser as _;
use x509_parser::oid_registry::OID_X509_EXT_BASIC_CONSTRAINTS;
use x509_parser::pem::Pem;
use x509_parser::prelude::X509CertificateParser;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "doorstroom-pki-test-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 30, 0).unwrap()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every file under `dir` with its bytes and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let meta = fs::metadata(&path).unwrap();
                out.insert(path.clone(), (fs::read(&path).unwrap(), meta.modified().unwrap()));
            }
        }
    }
    out
}

fn der_of(pem: &str) -> Vec<u8> {
    pem_certificate_der(Path::new("test"), pem.as_bytes()).unwrap()
}

fn unix(t: DateTime<Utc>) -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(u64::try_from(t.timestamp()).unwrap()))
}

/// Verifies `leaf_pem` against `ca_pem` the way the rustls-based server does.
fn webpki_verify(
    ca_pem: &str,
    leaf_pem: &str,
    usage: webpki::KeyUsage,
    at: DateTime<Utc>,
) -> Result<(), webpki::Error> {
    let ca_der = CertificateDer::from(der_of(ca_pem));
    let anchor = webpki::anchor_from_trusted_cert(&ca_der)?;
    let leaf_der = CertificateDer::from(der_of(leaf_pem));
    let leaf = webpki::EndEntityCert::try_from(&leaf_der)?;
    leaf.verify_for_usage(
        &[webpki::ring::ECDSA_P256_SHA256],
        &[anchor],
        &[],
        unix(at),
        usage,
        None,
        None,
    )
    .map(|_| ())
}

/// The DER elements inside a constructed DER element's contents, each
/// parsed strictly (minimal lengths, no indefinite form).
fn der_children(contents: &[u8]) -> Vec<Any<'_>> {
    let mut rest = contents;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (next, any) = Any::from_der(rest).expect("a strict DER element");
        out.push(any);
        rest = next;
    }
    out
}

/// What one certificate's basicConstraints says, read from its bytes.
#[derive(Debug, PartialEq, Eq)]
enum BasicConstraintsDer {
    Absent,
    /// Critical, `cA TRUE`, with this path length (if encoded).
    Ca(Option<Vec<u8>>),
}

/// Parses `der` as strictly as we can and checks DER's rule that a
/// DEFAULT value is never encoded, in the places a certificate has one:
/// an extension's `critical BOOLEAN DEFAULT FALSE` and basicConstraints'
/// `cA BOOLEAN DEFAULT FALSE`. Panics (naming `what`) on any violation.
fn strict_basic_constraints(what: &str, der: &[u8]) -> BasicConstraintsDer {
    // x509-parser in DER mode, with every extension parsed deeply and
    // none of them left unparsed or unknown.
    let (rest, cert) = X509CertificateParser::new()
        .with_deep_parse_extensions(true)
        .parse(der)
        .unwrap_or_else(|e| panic!("{what}: not a DER certificate: {e}"));
    assert!(rest.is_empty(), "{what}: bytes after the certificate");
    for ext in cert.extensions() {
        assert!(
            !matches!(
                ext.parsed_extension(),
                ParsedExtension::ParseError { .. } | ParsedExtension::UnsupportedExtension { .. }
            ),
            "{what}: extension {} does not parse: {:?}",
            ext.oid,
            ext.parsed_extension()
        );
    }
    let parsed_is_ca = cert
        .basic_constraints()
        .unwrap_or_else(|e| panic!("{what}: basicConstraints: {e}"))
        .map(|bc| bc.value.ca);

    // The same bytes by hand: Certificate → tbsCertificate → [3] →
    // Extensions → Extension { extnID, critical?, extnValue }.
    let (rest, certificate) = Any::from_der(der).unwrap();
    assert!(rest.is_empty());
    let tbs = der_children(certificate.data).remove(0);
    assert_eq!(tbs.header.tag(), Tag::Sequence, "{what}: tbsCertificate");
    let Some(tagged) = der_children(tbs.data)
        .into_iter()
        .find(|e| e.header.class() == Class::ContextSpecific && e.header.tag() == Tag(3))
    else {
        assert_eq!(parsed_is_ca, None, "{what}");
        return BasicConstraintsDer::Absent;
    };
    let extensions = der_children(tagged.data).remove(0);
    let mut found = BasicConstraintsDer::Absent;
    for extension in der_children(extensions.data) {
        let fields = der_children(extension.data);
        assert_eq!(fields[0].header.tag(), Tag::Oid, "{what}: extnID");
        let critical = match fields.len() {
            2 => false,
            3 => {
                assert_eq!(fields[1].header.tag(), Tag::Boolean, "{what}: critical");
                assert_eq!(
                    fields[1].data,
                    [0xff],
                    "{what}: critical FALSE is the DEFAULT and must not be encoded"
                );
                true
            }
            n => panic!("{what}: an extension with {n} fields"),
        };
        let value = fields.last().unwrap();
        assert_eq!(value.header.tag(), Tag::OctetString, "{what}: extnValue");
        if fields[0].data != OID_X509_EXT_BASIC_CONSTRAINTS.as_bytes() {
            continue;
        }
        assert_eq!(found, BasicConstraintsDer::Absent, "{what}: basicConstraints twice");
        let (rest, sequence) = Any::from_der(value.data).unwrap();
        assert!(rest.is_empty(), "{what}: bytes after basicConstraints");
        assert_eq!(sequence.header.tag(), Tag::Sequence, "{what}: basicConstraints");
        let mut inner = der_children(sequence.data).into_iter().peekable();
        let ca = inner.next_if(|e| e.header.tag() == Tag::Boolean);
        let path_len = inner.next_if(|e| e.header.tag() == Tag::Integer);
        assert!(inner.next().is_none(), "{what}: unexpected basicConstraints field");
        match ca {
            Some(ca) => assert_eq!(
                ca.data,
                [0xff],
                "{what}: cA FALSE is the DEFAULT and must not be encoded"
            ),
            None => panic!(
                "{what}: a basicConstraints that does not make a CA is for leaves only, and our leaves carry none"
            ),
        }
        assert!(critical, "{what}: a CA's basicConstraints must be critical");
        found = BasicConstraintsDer::Ca(path_len.map(|p| p.data.to_vec()));
    }
    let hand_is_ca = matches!(found, BasicConstraintsDer::Ca(_)).then_some(true);
    assert_eq!(
        parsed_is_ca, hand_is_ca,
        "{what}: x509-parser and the DER walk disagree"
    );
    found
}

/// Every certificate of a PEM file, as DER.
fn pem_chain(path: &Path) -> Vec<Vec<u8>> {
    let pem = fs::read(path).unwrap();
    let blocks: Vec<_> = Pem::iter_from_buffer(&pem).map(|b| b.unwrap().contents).collect();
    assert!(!blocks.is_empty(), "{}", path.display());
    blocks
}

#[test]
fn every_generated_certificate_is_strict_der_and_only_the_ca_has_basic_constraints() {
    let tmp = TempDir::new();
    let pki = ensure_dev_pki(&tmp.0, now()).unwrap();
    // (what, DER, is it the CA?)
    let mut certificates: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, der) in pem_chain(&pki.ca_cert_path()).into_iter().enumerate() {
        certificates.push((format!("ca.pem[{i}]"), der));
    }
    for (i, der) in pem_chain(&pki.server_cert_path()).into_iter().enumerate() {
        certificates.push((format!("server.pem[{i}]"), der));
    }
    for inst in &pki.institutions {
        for (i, der) in pem_chain(&inst.client_cert).into_iter().enumerate() {
            certificates.push((format!("{}/client.pem[{i}]", inst.brin), der));
        }
        for (name, jwk) in [("sign", &inst.sign_public_jwk), ("enc", &inst.enc_public_jwk)] {
            let jwk = PublicJwk::parse(jwk).unwrap();
            for (i, der) in jwk.x5c_der().iter().enumerate() {
                certificates.push((format!("{}/{name}.pub.jwk x5c[{i}]", inst.brin), der.clone()));
            }
        }
    }
    // And what a CA loaded from disk issues.
    let loaded = Ca::load(&tmp.0).unwrap();
    let inst = &DEMO_INSTITUTIONS[1];
    let client = loaded.issue_client(inst, now(), now() + Duration::days(10)).unwrap();
    certificates.push(("loaded CA client".to_owned(), der_of(&client.cert_pem)));
    for key_use in [KeyUse::Sig, KeyUse::Enc] {
        let key = loaded.issue_jose_key(inst, key_use, now()).unwrap();
        certificates.push((
            format!("loaded CA {key_use} x5c[0]"),
            key.public_jwk.x5c_der()[0].clone(),
        ));
    }

    let ca_der = der_of(&loaded.cert_pem());
    let (mut cas, mut leaves) = (0, 0);
    for (what, der) in &certificates {
        let constraints = strict_basic_constraints(what, der);
        if der == &ca_der {
            // Path length 0: INTEGER 0 is the single octet 00.
            assert_eq!(constraints, BasicConstraintsDer::Ca(Some(vec![0])), "{what}");
            cas += 1;
        } else {
            assert_eq!(constraints, BasicConstraintsDer::Absent, "{what}");
            leaves += 1;
        }
    }
    // ca.pem, server.pem's CA copy, and one in each x5c.
    assert_eq!(cas, 2 + 2 * DEMO_INSTITUTIONS.len());
    assert_eq!(leaves, 1 + 3 * DEMO_INSTITUTIONS.len() + 3);
}

#[test]
fn the_strict_der_check_refuses_an_encoded_ca_false() {
    // What rcgen's `IsCa::ExplicitNoCa` writes (and this PKI once did):
    // basicConstraints { cA FALSE }, which DER forbids.
    let tmp = TempDir::new();
    let ca = Ca::create(&tmp.0, now()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, "explicit cA FALSE");
    ca.set_leaf_defaults(&mut params, now(), now() + Duration::days(1))
        .unwrap();
    params.is_ca = IsCa::ExplicitNoCa;
    let cert = params.signed_by(&key, &ca.issuer, &ca.key).unwrap();
    let der = cert.der().to_vec();
    let refused = std::panic::catch_unwind(|| strict_basic_constraints("explicit", &der));
    assert!(refused.is_err(), "an encoded cA FALSE must be refused");
}

#[test]
fn a_leaf_with_an_encoded_ca_false_is_issued_anew() {
    let tmp = TempDir::new();
    let first = ensure_dev_pki(&tmp.0, now()).unwrap();
    // What an older version wrote: the same kind of client certificate,
    // but with basicConstraints { cA FALSE }.
    let ca = Ca::load(&tmp.0).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, "old style");
    ca.set_leaf_defaults(&mut params, backdate(now()).unwrap(), leaf_not_after(now()).unwrap())
        .unwrap();
    params.is_ca = IsCa::ExplicitNoCa;
    let old = params.signed_by(&key, &ca.issuer, &ca.key).unwrap();
    let client_pem = &first.institutions[0].client_cert;
    fs::write(client_pem, old.pem()).unwrap();

    let second = ensure_dev_pki(&tmp.0, now()).unwrap();
    assert!(second.created, "the old-style leaf is renewed");
    let renewed = pem_chain(client_pem).remove(0);
    assert_eq!(
        strict_basic_constraints("renewed client.pem", &renewed),
        BasicConstraintsDer::Absent
    );
    assert_ne!(first.institutions[0].fingerprint, second.institutions[0].fingerprint);
    assert!(!ensure_dev_pki(&tmp.0, now()).unwrap().created);
}

#[test]
fn ensure_dev_pki_is_idempotent_and_complete() {
    let tmp = TempDir::new();
    let dir = tmp.0.join("certs").join("dev");
    let first = ensure_dev_pki(&dir, now()).unwrap();
    assert!(first.created);
    assert_eq!(first.institutions.len(), DEMO_INSTITUTIONS.len());
    let before = snapshot(&dir);
    let expected_files = 4 + DEMO_INSTITUTIONS.len() * 7;
    assert_eq!(before.len(), expected_files, "{:?}", before.keys().collect::<Vec<_>>());

    let second = ensure_dev_pki(&dir, now() + Duration::days(30)).unwrap();
    assert!(!second.created, "a second call must create nothing");
    assert_eq!(snapshot(&dir), before, "a second call must change no file");
    for (a, b) in first.institutions.iter().zip(&second.institutions) {
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.sign_public_jwk, b.sign_public_jwk);
        assert_eq!(a.enc_public_jwk, b.enc_public_jwk);
        assert_eq!(a.cert_subject, b.cert_subject);
        assert_eq!(a.cert_not_after, b.cert_not_after);
    }
}

#[test]
fn private_files_are_0600_and_public_files_0644() {
    let tmp = TempDir::new();
    let pki = ensure_dev_pki(&tmp.0, now()).unwrap();
    assert_eq!(mode(&tmp.0.join(CA_KEY_FILE)), 0o600);
    assert_eq!(mode(&pki.server_key_path()), 0o600);
    assert_eq!(mode(&pki.ca_cert_path()), 0o644);
    assert_eq!(mode(&pki.server_cert_path()), 0o644);
    for inst in &pki.institutions {
        let d = pki.institution_dir(&inst.brin);
        assert_eq!(mode(&inst.client_key), 0o600);
        assert_eq!(mode(&d.join(SIGN_JWK_FILE)), 0o600);
        assert_eq!(mode(&d.join(ENC_JWK_FILE)), 0o600);
        assert_eq!(mode(&inst.client_cert), 0o644);
        assert_eq!(mode(&d.join(SIGN_PUBLIC_JWK_FILE)), 0o644);
        assert_eq!(mode(&d.join(ENC_PUBLIC_JWK_FILE)), 0o644);
        assert_eq!(mode(&d.join(CLIENT_FINGERPRINT_FILE)), 0o644);
    }
}

#[test]
fn demo_client_and_server_certs_chain_to_the_ca() {
    let tmp = TempDir::new();
    let pki = ensure_dev_pki(&tmp.0, now()).unwrap();
    let ca_pem = fs::read_to_string(pki.ca_cert_path()).unwrap();
    let ca = parse_der(Path::new("ca"), &der_of(&ca_pem))
        .unwrap()
        .subject()
        .to_string();
    assert_eq!(ca, "CN=Doorstroom Dev CA");

    for (inst, demo) in pki.institutions.iter().zip(DEMO_INSTITUTIONS) {
        let client_pem = fs::read_to_string(&inst.client_cert).unwrap();
        webpki_verify(&ca_pem, &client_pem, webpki::KeyUsage::client_auth(), now()).unwrap();
        // Not a server certificate.
        assert!(webpki_verify(&ca_pem, &client_pem, webpki::KeyUsage::server_auth(), now()).is_err());

        // The fingerprint is the SHA-256 of the SPKI, also in client.fingerprint.
        let der = der_of(&client_pem);
        let parsed = parse_der(Path::new("client"), &der).unwrap();
        let digest: [u8; 32] = Sha256::digest(parsed.public_key().raw).into();
        assert_eq!(inst.fingerprint, CertFingerprint::from_digest(digest));
        let file = fs::read_to_string(inst.client_cert.with_file_name(CLIENT_FINGERPRINT_FILE)).unwrap();
        assert_eq!(file.trim(), inst.fingerprint.as_str());

        assert_eq!(inst.brin.as_str(), demo.brin);
        assert_eq!(inst.oin.as_str(), demo.oin);
        assert_eq!(
            inst.cert_subject,
            format!(
                "CN={}, O={}, serialNumber={}, OU={}",
                demo.name, demo.name, demo.oin, demo.brin
            )
        );
        assert_eq!(inst.cert_not_after, leaf_not_after(now()).unwrap());
        // The key file belongs to the certificate.
        let key = KeyPair::from_pem(&fs::read_to_string(&inst.client_key).unwrap()).unwrap();
        assert_eq!(key.public_key_der().as_slice(), parsed.public_key().raw);
    }

    let server_pem = fs::read_to_string(pki.server_cert_path()).unwrap();
    webpki_verify(&ca_pem, &server_pem, webpki::KeyUsage::server_auth(), now()).unwrap();
    let server_der = CertificateDer::from(der_of(&server_pem));
    let server = webpki::EndEntityCert::try_from(&server_der).unwrap();
    for name in SERVER_NAMES {
        let name = ServerName::try_from(name).unwrap();
        server.verify_is_valid_for_subject_name(&name).unwrap();
    }
    // server.pem is the leaf followed by the CA.
    assert!(server_pem.ends_with(&ca_pem));
}

#[test]
fn jose_keys_pass_verify_x5c_against_ca_pem() {
    let tmp = TempDir::new();
    let pki = ensure_dev_pki(&tmp.0, now()).unwrap();
    let anchors = TrustAnchors::from_pem(&fs::read(pki.ca_cert_path()).unwrap()).unwrap();
    for inst in &pki.institutions {
        let d = pki.institution_dir(&inst.brin);
        for (json, key_use, alg, private_file) in [
            (&inst.sign_public_jwk, KeyUse::Sig, "ES256", SIGN_JWK_FILE),
            (&inst.enc_public_jwk, KeyUse::Enc, "ECDH-ES+A256KW", ENC_JWK_FILE),
        ] {
            let jwk = PublicJwk::parse(json).unwrap();
            assert_eq!(jwk.key_use(), key_use);
            assert_eq!(jwk.alg(), alg);
            let info = verify_x5c(&jwk, &anchors, now()).unwrap();
            assert_eq!(info.subject, format!("CN={} {} key", inst.brin, key_use));

            // kid "<BRIN>-<use>-<YYYYMMDD>-<4 hex>"
            let prefix = format!("{}-{}-20250301-", inst.brin, key_use);
            let suffix = jwk.kid().strip_prefix(&prefix).unwrap();
            assert!(suffix.len() == 4 && suffix.bytes().all(|b| b.is_ascii_hexdigit()));

            // The published file is the public JWK; the private one has d.
            let published: serde_json::Value =
                serde_json::from_slice(&fs::read(d.join(private_file.replace(".jwk", ".pub.jwk"))).unwrap()).unwrap();
            assert_eq!(&published, json);
            let private: serde_json::Value = serde_json::from_slice(&fs::read(d.join(private_file)).unwrap()).unwrap();
            assert!(private["d"].is_string());
            assert_eq!(private["kid"], json["kid"]);
            assert!(json.get("d").is_none());
        }
        assert_ne!(inst.sign_public_jwk["kid"], inst.enc_public_jwk["kid"]);
    }
}

#[test]
fn loaded_ca_issues_certificates_that_chain_to_ca_pem() {
    let tmp = TempDir::new();
    let created = Ca::create(&tmp.0, now()).unwrap();
    let loaded = Ca::load(&tmp.0).unwrap();
    assert_eq!(loaded.cert_pem(), created.cert_pem());
    let inst = &DEMO_INSTITUTIONS[1];
    let issued = loaded.issue_client(inst, now(), now() + Duration::days(10)).unwrap();
    webpki_verify(
        &loaded.cert_pem(),
        &issued.cert_pem,
        webpki::KeyUsage::client_auth(),
        now(),
    )
    .unwrap();

    let key = loaded.issue_jose_key(inst, KeyUse::Enc, now()).unwrap();
    let anchors = TrustAnchors::from_pem(loaded.cert_pem().as_bytes()).unwrap();
    verify_x5c(&key.public_jwk, &anchors, now()).unwrap();

    // CA validity and constraints.
    let ca_der = der_of(&created.cert_pem());
    let ca = parse_der(Path::new("ca"), &ca_der).unwrap();
    assert!(ca.is_ca());
    assert_eq!(
        asn1_to_chrono(ca.validity().not_before).unwrap(),
        now() - Duration::days(1)
    );
    assert_eq!(
        asn1_to_chrono(ca.validity().not_after).unwrap(),
        now().checked_add_months(Months::new(60)).unwrap()
    );
    let usage = ca.key_usage().unwrap().unwrap().value;
    assert!(usage.key_cert_sign() && usage.crl_sign());
}

#[test]
fn load_refuses_a_foreign_key() {
    let tmp = TempDir::new();
    Ca::create(&tmp.0, now()).unwrap();
    let other = TempDir::new();
    Ca::create(&other.0, now()).unwrap();
    fs::copy(other.0.join(CA_KEY_FILE), tmp.0.join(CA_KEY_FILE)).unwrap();
    assert!(matches!(Ca::load(&tmp.0), Err(PkiError::Invalid { .. })));
    // And ensure_dev_pki with half a CA refuses rather than overwrite.
    fs::remove_file(tmp.0.join(CA_KEY_FILE)).unwrap();
    assert!(matches!(ensure_dev_pki(&tmp.0, now()), Err(PkiError::Invalid { .. })));
}

#[test]
fn expired_client_certificate_is_refused_and_renewed() {
    let tmp = TempDir::new();
    let ca = Ca::create(&tmp.0, now()).unwrap();
    let inst = &DEMO_INSTITUTIONS[0];
    let expired = ca
        .issue_client(inst, now() - Duration::days(60), now() - Duration::days(30))
        .unwrap();
    assert_eq!(expired.not_after, now() - Duration::days(30));
    assert!(matches!(
        webpki_verify(
            &ca.cert_pem(),
            &expired.cert_pem,
            webpki::KeyUsage::client_auth(),
            now()
        ),
        Err(webpki::Error::CertExpired { .. })
    ));

    // ensure_dev_pki renews what has expired, and only that.
    let first = ensure_dev_pki(&tmp.0, now()).unwrap();
    let later = now() + Duration::days(800);
    let renewed = ensure_dev_pki(&tmp.0, later).unwrap();
    assert!(renewed.created);
    assert_ne!(first.institutions[0].fingerprint, renewed.institutions[0].fingerprint);
    assert_ne!(
        first.institutions[0].sign_public_jwk,
        renewed.institutions[0].sign_public_jwk
    );
    assert!(!ensure_dev_pki(&tmp.0, later).unwrap().created);
}

#[test]
fn missing_file_is_recreated_alone() {
    let tmp = TempDir::new();
    let first = ensure_dev_pki(&tmp.0, now()).unwrap();
    let enc_pub = tmp.0.join("25LX").join(ENC_PUBLIC_JWK_FILE);
    fs::remove_file(&enc_pub).unwrap();
    let second = ensure_dev_pki(&tmp.0, now()).unwrap();
    assert!(second.created);
    assert_eq!(
        first.institutions[1].sign_public_jwk,
        second.institutions[1].sign_public_jwk
    );
    assert_ne!(
        first.institutions[1].enc_public_jwk,
        second.institutions[1].enc_public_jwk
    );
    assert_eq!(first.institutions[1].fingerprint, second.institutions[1].fingerprint);
}
