//! Reading certificates and keys back: their facts, and whether what is on
//! disk is current (issued by this CA, valid now, made as this module makes
//! them now) or must be issued anew.

use std::path::Path;

use chrono::{DateTime, Utc};
use doorstroom_domain::{CertFingerprint, KeyUse};
use doorstroom_jose::{PublicJwk, TrustAnchors, verify_x5c};
use sha2::{Digest as _, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::time::ASN1Time;

use super::error::{PkiError, invalid};
use super::files::read_string;
use super::validity::asn1_to_chrono;

/// The facts of a certificate that the rest of the system uses.
pub(super) struct DescribedCert {
    pub(super) fingerprint: CertFingerprint,
    pub(super) subject: String,
    pub(super) not_after: DateTime<Utc>,
}

pub(super) fn describe_cert(path: &Path, der: &[u8]) -> Result<DescribedCert, PkiError> {
    let cert = parse_der(path, der)?;
    Ok(DescribedCert {
        fingerprint: spki_fingerprint(&cert),
        subject: cert.subject().to_string(),
        not_after: asn1_to_chrono(cert.validity().not_after)?,
    })
}

/// SHA-256 of the DER SubjectPublicKeyInfo.
fn spki_fingerprint(cert: &X509Certificate<'_>) -> CertFingerprint {
    CertFingerprint::from_digest(Sha256::digest(cert.public_key().raw).into())
}

/// The certificate at `path` if it exists, was issued by the CA with
/// subject `ca_subject` and is valid at `now`; `None` if it must be issued
/// anew. A file that is not a certificate at all is an error (someone put
/// something else there).
pub(super) fn current_cert(
    path: &Path,
    ca_subject: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<DescribedCert>, PkiError> {
    if !path.exists() {
        return Ok(None);
    }
    let der = pem_certificate_der(path, read_string(path)?.as_bytes())?;
    let cert = parse_der(path, &der)?;
    let at = ASN1Time::from_timestamp(now.timestamp()).map_err(|_| PkiError::TimeOutOfRange)?;
    if cert.issuer().as_raw() != ca_subject || !cert.validity().is_valid_at(at) || !made_as_now(&cert) {
        return Ok(None);
    }
    describe_cert(path, &der).map(Some)
}

/// Whether a leaf is made the way this module makes leaves now: without a
/// basicConstraints extension. Older versions wrote an encoded `cA FALSE`
/// (see [`Ca::set_leaf_defaults`]); such a leaf is issued anew.
pub(super) fn made_as_now(leaf: &X509Certificate<'_>) -> bool {
    matches!(leaf.basic_constraints(), Ok(None))
}

/// The published JWK at `public_path` if both files exist, agree on the
/// `kid`, and its x5c chains to the CA at `now`; `None` if the key must be
/// issued anew.
pub(super) fn current_jose_key(
    private_path: &Path,
    public_path: &Path,
    key_use: KeyUse,
    anchors: &TrustAnchors,
    now: DateTime<Utc>,
) -> Result<Option<serde_json::Value>, PkiError> {
    if !private_path.exists() || !public_path.exists() {
        return Ok(None);
    }
    let read_json = |path: &Path| -> Result<serde_json::Value, PkiError> {
        serde_json::from_str(&read_string(path)?).map_err(|_| invalid(path, "not a JSON file"))
    };
    let private = read_json(private_path)?;
    let public = PublicJwk::parse(&read_json(public_path)?)?;
    let same_key = private.get("kid").and_then(|k| k.as_str()) == Some(public.kid()) && public.key_use() == key_use;
    if !same_key || verify_x5c(&public, anchors, now).is_err() {
        return Ok(None);
    }
    let leaf_made_as_now = public
        .x5c_der()
        .first()
        .and_then(|der| x509_parser::parse_x509_certificate(der).ok())
        .is_some_and(|(_, leaf)| made_as_now(&leaf));
    if !leaf_made_as_now {
        return Ok(None);
    }
    Ok(Some(public.to_json()))
}

pub(super) fn parse_der<'a>(path: &Path, der: &'a [u8]) -> Result<X509Certificate<'a>, PkiError> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, cert)| cert)
        .map_err(|_| invalid(path, "not an X.509 certificate"))
}

/// The DER of the first PEM block, which must be a CERTIFICATE.
pub(super) fn pem_certificate_der(path: &Path, pem: &[u8]) -> Result<Vec<u8>, PkiError> {
    match x509_parser::pem::parse_x509_pem(pem) {
        Ok((_, block)) if block.label == "CERTIFICATE" => Ok(block.contents),
        _ => Err(invalid(path, "does not start with a PEM CERTIFICATE block")),
    }
}
