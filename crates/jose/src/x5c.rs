//! Checking a JWK's `x5c` chain against the configured trust anchors.
//!
//! This is what lets a school check another school's key without trusting
//! the broker: the broker serves keys, but whether a key belongs to an
//! institution is decided by the chain to a trust anchor (in production a
//! PKIoverheid / PKI-onderwijs CA) that the school configured itself.

use chrono::{DateTime, Utc};
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509, X509NameRef, X509StoreContext};

use crate::{JoseError, PublicJwk};

/// OpenSSL's `X509_V_ERR_CERT_NOT_YET_VALID`.
const X509_V_ERR_CERT_NOT_YET_VALID: i32 = 9;
/// OpenSSL's `X509_V_ERR_CERT_HAS_EXPIRED`.
const X509_V_ERR_CERT_HAS_EXPIRED: i32 = 10;

/// Trust anchors (CA certificates) against which `x5c` chains are checked.
///
/// Every certificate given is a trust anchor in the RFC 5280 sense: a chain
/// is accepted when it reaches any of them, even if the anchor is itself an
/// intermediate CA (OpenSSL's `X509_V_FLAG_PARTIAL_CHAIN`). That lets a
/// deployment trust, say, one PKIoverheid issuing CA rather than the whole
/// State of the Netherlands root.
#[derive(Debug, Clone)]
pub struct TrustAnchors {
    certs: Vec<X509>,
}

impl TrustAnchors {
    /// From PEM text with one or more `CERTIFICATE` blocks.
    pub fn from_pem(pem: &[u8]) -> Result<Self, JoseError> {
        let certs =
            X509::stack_from_pem(pem).map_err(|_| JoseError::InvalidTrustAnchors("must be PEM CERTIFICATE blocks"))?;
        if certs.is_empty() {
            return Err(JoseError::InvalidTrustAnchors("no PEM CERTIFICATE block found"));
        }
        Ok(Self { certs })
    }

    /// Whether there are no anchors (then nothing verifies).
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// How many anchors there are.
    pub fn len(&self) -> usize {
        self.certs.len()
    }
}

/// What a verified `x5c` leaf certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X5cInfo {
    /// The leaf's subject, e.g. `CN=07AB sig key`, attributes in certificate order.
    pub subject: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

/// Checks that the JWK's `x5c` chain leads to one of the anchors *at time
/// `at`* (the injected clock's time, not the system clock), and that the
/// leaf certificate's public key is exactly the JWK's public key.
///
/// The certificates after the leaf are offered as untrusted intermediates;
/// an anchor included at the end of `x5c` is harmless, it is trusted only
/// because it is among `anchors`. Every certificate on the path must be
/// valid at `at`.
pub fn verify_x5c(jwk: &PublicJwk, anchors: &TrustAnchors, at: DateTime<Utc>) -> Result<X5cInfo, JoseError> {
    if anchors.is_empty() {
        return Err(JoseError::Untrusted("no trust anchors configured"));
    }
    let not_der = || JoseError::InvalidX5c("each element must be a DER X.509 certificate");
    let mut certs = jwk
        .x5c_der()
        .iter()
        .map(|der| X509::from_der(der).map_err(|_| not_der()));
    let leaf = certs
        .next()
        .ok_or(JoseError::InvalidX5c("must hold at least one certificate"))??;
    let mut intermediates = Stack::new()?;
    for cert in certs {
        intermediates.push(cert?)?;
    }

    let mut store = X509StoreBuilder::new()?;
    for anchor in &anchors.certs {
        store.add_cert(anchor.clone())?;
    }
    let mut param = X509VerifyParam::new()?;
    // `time_t` is i64 on the platforms we build for; the conversion keeps
    // this correct (an error, not a wrap-around) where it is narrower.
    #[allow(clippy::useless_conversion)]
    let check_time = at.timestamp().try_into().map_err(|_| JoseError::TimeOutOfRange)?;
    param.set_time(check_time);
    param.set_flags(X509VerifyFlags::PARTIAL_CHAIN)?;
    store.set_param(&param)?;
    let store = store.build();

    let mut ctx = X509StoreContext::new()?;
    let (verified, result) = ctx.init(&store, &leaf, &intermediates, |ctx| {
        let verified = ctx.verify_cert()?;
        Ok((verified, ctx.error()))
    })?;
    if !verified {
        return Err(match result.as_raw() {
            X509_V_ERR_CERT_HAS_EXPIRED => JoseError::CertificateExpired,
            X509_V_ERR_CERT_NOT_YET_VALID => JoseError::CertificateNotYetValid,
            _ => JoseError::Untrusted(result.error_string()),
        });
    }

    let leaf_key = leaf.public_key().map_err(|_| JoseError::KeyMismatch)?;
    if !jwk.public_key().public_eq(&leaf_key) {
        return Err(JoseError::KeyMismatch);
    }

    Ok(X5cInfo {
        subject: name_to_string(leaf.subject_name()),
        not_before: asn1_to_chrono(leaf.not_before())?,
        not_after: asn1_to_chrono(leaf.not_after())?,
    })
}

fn name_to_string(name: &X509NameRef) -> String {
    name.entries()
        .map(|entry| {
            let key = entry.object().nid().short_name().unwrap_or("?");
            let value = entry.data().to_string().unwrap_or_else(|_| "?".to_owned());
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn asn1_to_chrono(time: &Asn1TimeRef) -> Result<DateTime<Utc>, JoseError> {
    let epoch = Asn1Time::from_unix(0)?;
    let diff = epoch.diff(time)?;
    let secs = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    DateTime::from_timestamp(secs, 0).ok_or(JoseError::TimeOutOfRange)
}
