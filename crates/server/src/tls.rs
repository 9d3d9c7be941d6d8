//! TLS: rustls with the ring provider, TLS 1.2 and 1.3 only, AEAD suites with
//! forward secrecy only.
//!
//! Client certificates are optional at the TLS layer (browsers and staff
//! clients have none). When a client presents one, the handshake proves
//! possession of its private key; whether the chain is valid *now* and
//! whether its key is bound to an active institution is decided per request
//! ([`ClientRoots::verify`], with the injected clock), so that an expired,
//! unknown or revoked certificate is answered with a 401 problem document
//! instead of an opaque handshake failure.

use std::any::Any;
use std::fs;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use actix_tls::accept::rustls_0_23::TlsStream;
use actix_web::dev::Extensions;
use actix_web::rt::net::TcpStream;
use chrono::{DateTime, Utc};
use doorstroom_domain::CertFingerprint;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use sha2::{Digest, Sha256};

/// Errors while loading TLS material at start.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {cause}")]
    Read { path: String, cause: String },
    #[error("{0}")]
    Invalid(String),
}

/// The process-wide crypto provider: ring, with only strong suites.
pub fn provider() -> CryptoProvider {
    let mut provider = ring::default_provider();
    provider.cipher_suites = vec![
        ring::cipher_suite::TLS13_AES_256_GCM_SHA384,
        ring::cipher_suite::TLS13_AES_128_GCM_SHA256,
        ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
        ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ring::cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ring::cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        ring::cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];
    provider
}

/// Installs the ring provider as the process default (once; later calls are
/// no-ops). Call at start, before any TLS object is built.
pub fn install_default_provider() {
    let _already_installed = provider().install_default();
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    fs::read(path).map_err(|e| TlsError::Read {
        path: path.display().to_string(),
        cause: e.to_string(),
    })
}

fn certs_from_pem(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Invalid(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(TlsError::Invalid(format!("{}: no certificate found", path.display())));
    }
    Ok(certs)
}

/// The CAs that issue school systems' client certificates.
pub struct ClientRoots {
    anchors: Vec<rustls::pki_types::TrustAnchor<'static>>,
    subjects: Vec<DistinguishedName>,
}

/// Why a presented client certificate is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertRejection {
    Expired,
    NotYetValid,
    UnknownIssuer,
    Unusable,
}

impl CertRejection {
    pub fn as_str(self) -> &'static str {
        match self {
            CertRejection::Expired => "client certificate expired",
            CertRejection::NotYetValid => "client certificate not yet valid",
            CertRejection::UnknownIssuer => "client certificate not issued by a trusted CA",
            CertRejection::Unusable => "client certificate not valid for client authentication",
        }
    }
}

/// A client certificate that chains to a trusted CA at the time asked.
pub struct VerifiedClientCert {
    pub fingerprint: CertFingerprint,
}

impl ClientRoots {
    pub fn load(path: &Path) -> Result<Self, TlsError> {
        let certs = certs_from_pem(path)?;
        let mut anchors = Vec::new();
        let mut subjects = Vec::new();
        for cert in &certs {
            let anchor = webpki::anchor_from_trusted_cert(cert)
                .map_err(|e| TlsError::Invalid(format!("{}: {e}", path.display())))?
                .to_owned();
            // webpki keeps the subject without its outer SEQUENCE; TLS wants it whole.
            subjects.push(DistinguishedName::in_sequence(anchor.subject.as_ref()));
            anchors.push(anchor);
        }
        Ok(Self { anchors, subjects })
    }

    /// Checks the chain the client presented against the roots at `now`, for
    /// client authentication, and returns the fingerprint of its key.
    pub fn verify(
        &self,
        chain: &[CertificateDer<'static>],
        now: DateTime<Utc>,
    ) -> Result<VerifiedClientCert, CertRejection> {
        let (leaf, intermediates) = chain.split_first().ok_or(CertRejection::Unusable)?;
        let end_entity = webpki::EndEntityCert::try_from(leaf).map_err(|_| CertRejection::Unusable)?;
        let secs = u64::try_from(now.timestamp()).unwrap_or(0);
        let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
        end_entity
            .verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &self.anchors,
                intermediates,
                time,
                webpki::KeyUsage::client_auth(),
                None,
                None,
            )
            .map_err(|e| match e {
                webpki::Error::CertExpired { .. } => CertRejection::Expired,
                webpki::Error::CertNotValidYet { .. } => CertRejection::NotYetValid,
                webpki::Error::UnknownIssuer | webpki::Error::InvalidSignatureForPublicKey => {
                    CertRejection::UnknownIssuer
                }
                _ => CertRejection::Unusable,
            })?;
        let fingerprint = spki_fingerprint(leaf).ok_or(CertRejection::Unusable)?;
        Ok(VerifiedClientCert { fingerprint })
    }
}

impl ClientRoots {
    /// [`ClientRoots::verify`] of a connection's chain, done once per TLS
    /// connection: the chain cannot change within a connection and the
    /// roots do not change while the broker runs, so what the check
    /// depends on after the first pass is only the time, and a later
    /// request within the validity window of every certificate presented
    /// (within that of the certificates webpki checks, which are among
    /// them) gets the same answer without the signature checks and the
    /// parsing. Outside the window, or until a check passed, it is checked
    /// in full. Whether the certificate is still *bound* is not decided
    /// here: the binding is read for every request (see `auth::system`).
    pub fn verify_peer(&self, peer: &PeerCertificates, now: DateTime<Utc>) -> Result<CertFingerprint, CertRejection> {
        // The same second as `verify` checks at.
        let secs = i64::try_from(u64::try_from(now.timestamp()).unwrap_or(0)).unwrap_or(i64::MAX);
        if let Some(checked) = peer.checked.get()
            && checked.from <= secs
            && secs <= checked.until
        {
            return Ok(checked.fingerprint.clone());
        }
        let verified = self.verify(&peer.chain, now)?;
        if let Some((from, until)) = validity_window(&peer.chain) {
            let _ = peer.checked.set(CheckedChain {
                fingerprint: verified.fingerprint.clone(),
                from,
                until,
            });
        }
        Ok(verified.fingerprint)
    }
}

/// SHA-256 of the certificate's DER SubjectPublicKeyInfo.
pub fn spki_fingerprint(cert: &[u8]) -> Option<CertFingerprint> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert).ok()?;
    let digest: [u8; 32] = Sha256::digest(parsed.tbs_certificate.subject_pki.raw).into();
    Some(CertFingerprint::from_digest(digest))
}

/// Accepts any client certificate at the handshake, after checking the
/// client's signature over the handshake (proof of key possession); the chain
/// itself is checked per request by [`ClientRoots::verify`].
#[derive(Debug)]
struct DeferredClientVerifier {
    subjects: Vec<DistinguishedName>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for DeferredClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.subjects
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Builds the server's TLS configuration.
pub fn server_config(cert: &Path, key: &Path, roots: &ClientRoots) -> Result<ServerConfig, TlsError> {
    let chain = certs_from_pem(cert)?;
    let key_pem = read(key)?;
    let key =
        PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Invalid(format!("{}: {e}", key.display())))?;
    let provider = Arc::new(provider());
    let verifier = Arc::new(DeferredClientVerifier {
        subjects: roots.subjects.clone(),
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Invalid(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Invalid(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The certificate chain a client presented on this connection, if any.
#[derive(Clone)]
pub struct PeerCertificates {
    pub chain: Arc<[CertificateDer<'static>]>,
    /// The chain's check, once it passed on this connection (see
    /// [`ClientRoots::verify_peer`]).
    checked: Arc<OnceLock<CheckedChain>>,
}

impl PeerCertificates {
    pub fn new(chain: Vec<CertificateDer<'static>>) -> Self {
        Self {
            chain: chain.into(),
            checked: Arc::default(),
        }
    }
}

/// A presented chain that passed [`ClientRoots::verify`]: its key's
/// fingerprint, and the seconds within which every certificate of it is
/// valid (the latest `notBefore`, the earliest `notAfter`).
struct CheckedChain {
    fingerprint: CertFingerprint,
    from: i64,
    until: i64,
}

/// The window in which every certificate of `chain` is valid, in seconds
/// since the epoch; `None` if one does not parse.
fn validity_window(chain: &[CertificateDer<'_>]) -> Option<(i64, i64)> {
    let mut window = (i64::MIN, i64::MAX);
    for cert in chain {
        let (_, parsed) = x509_parser::parse_x509_certificate(cert).ok()?;
        let validity = parsed.validity();
        window.0 = window.0.max(validity.not_before.timestamp());
        window.1 = window.1.min(validity.not_after.timestamp());
    }
    Some(window)
}

/// `HttpServer::on_connect` hook: keeps the client's certificate chain with
/// the connection so that extractors can read it.
pub fn on_connect(connection: &dyn Any, data: &mut Extensions) {
    if let Some(tls) = connection.downcast_ref::<TlsStream<TcpStream>>() {
        let (_, session) = tls.get_ref();
        if let Some(chain) = session.peer_certificates() {
            let chain = chain.iter().map(|c| c.clone().into_owned()).collect();
            data.insert(PeerCertificates::new(chain));
        }
    }
}

/// A client certificate is bound to an institution (`POST
/// /v1/institutions/{brin}/certificates`, the operator's `bind-certificate`)
/// only if it chains to these roots at the time of binding and allows
/// client authentication.
impl doorstroom_app::registry::ClientCertificateCheck for ClientRoots {
    fn binding(
        &self,
        pem: &str,
        brin: &doorstroom_domain::Brin,
        now: DateTime<Utc>,
    ) -> Result<doorstroom_store::certificates::CertificateBinding, &'static str> {
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|_| "certificate: not a PEM certificate")?;
        let verified = self
            .verify(std::slice::from_ref(&der), now)
            .map_err(CertRejection::as_str)?;
        let (_, parsed) = x509_parser::parse_x509_certificate(&der).map_err(|_| "certificate: not valid X.509")?;
        let not_after = DateTime::from_timestamp(parsed.validity().not_after.timestamp(), 0)
            .ok_or("certificate: validity out of range")?;
        Ok(doorstroom_store::certificates::CertificateBinding {
            fingerprint: verified.fingerprint,
            brin: brin.clone(),
            subject: parsed.subject().to_string(),
            not_after,
            created_at: now,
            revoked_at: None,
        })
    }
}
