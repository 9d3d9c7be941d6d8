//! The development CA and what it issues: the server certificate, client
//! (mTLS) certificates and the certificates of JOSE keys.

use std::fmt;
use std::path::Path;

use chrono::{DateTime, Months, Utc};
use doorstroom_domain::{Brin, CertFingerprint, KeyUse, Oin};
use doorstroom_jose::{PublicJwk, jwk_pair_from_pkcs8_pem};
use rand::RngCore as _;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType, DnValue, ExtendedKeyUsagePurpose,
    IsCa, KeyPair, KeyUsagePurpose, PrintableString, SerialNumber,
};

use super::demo::DemoInstitution;
use super::error::{PkiError, invalid};
use super::files::{PRIVATE_MODE, PUBLIC_MODE, ensure_dir, read_string, write_file};
use super::inspect::{describe_cert, parse_der, pem_certificate_der};
use super::layout::{CA_CERT_FILE, CA_COMMON_NAME, CA_KEY_FILE, CLIENT_CERT_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE};
use super::validity::{CA_VALIDITY_MONTHS, asn1_to_chrono, backdate, leaf_not_after, to_offset};

/// Names the server certificate is valid for.
pub(super) const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A certificate issued by the dev CA, with its key.
#[derive(Clone)]
pub struct IssuedCert {
    pub cert_pem: String,
    /// PKCS#8 PEM.
    pub key_pem: String,
    /// SHA-256 of the certificate's DER SubjectPublicKeyInfo: what the broker
    /// binds to one institution.
    pub fingerprint: CertFingerprint,
    pub not_after: DateTime<Utc>,
    /// The subject, e.g. `CN=…, O=…, serialNumber=<OIN>, OU=<BRIN>`.
    pub subject: String,
}

impl fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCert")
            .field("subject", &self.subject)
            .field("fingerprint", &self.fingerprint)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// A JOSE key issued for an institution.
#[derive(Clone)]
pub struct IssuedJoseKey {
    /// The private JWK (`d`, `x`, `y`, `kid`, `use`, `alg`, `x5c`), for the
    /// institution's own files only.
    pub private_jwk: serde_json::Value,
    pub public_jwk: PublicJwk,
}

impl fmt::Debug for IssuedJoseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedJoseKey")
            .field("public_jwk", &self.public_jwk)
            .finish_non_exhaustive()
    }
}

/// The development CA: its certificate and key, loadable from disk.
pub struct Ca {
    /// rcgen's handle for signing: same subject and key as `ca.pem` (when
    /// loaded from disk it is rebuilt from them, see [`Ca::load`]).
    pub(super) issuer: Certificate,
    pub(super) key: KeyPair,
    pub(super) cert_pem: String,
    pub(super) cert_der: Vec<u8>,
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca")
            .field("subject", &CA_COMMON_NAME)
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// Creates a new CA in `dir` (created 0700 if missing): writes `ca.pem`
    /// (0644) and `ca.key` (0600). CN "Doorstroom Dev CA", valid from a day
    /// before `now` for five years, basicConstraints CA (path length 0: it
    /// issues leaves only), keyUsage keyCertSign and cRLSign.
    pub fn create(dir: &Path, now: DateTime<Utc>) -> Result<Ca, PkiError> {
        ensure_dir(dir)?;
        let key = KeyPair::generate()?;
        let not_after = now
            .checked_add_months(Months::new(CA_VALIDITY_MONTHS))
            .ok_or(PkiError::TimeOutOfRange)?;
        let issuer = ca_params(backdate(now)?, not_after)?.self_signed(&key)?;
        let cert_pem = issuer.pem();
        write_file(&dir.join(CA_CERT_FILE), cert_pem.as_bytes(), PUBLIC_MODE)?;
        write_file(&dir.join(CA_KEY_FILE), key.serialize_pem().as_bytes(), PRIVATE_MODE)?;
        Ok(Ca {
            cert_der: issuer.der().to_vec(),
            issuer,
            key,
            cert_pem,
        })
    }

    /// Loads the CA from `dir/ca.pem` and `dir/ca.key`, checking that the
    /// certificate is a CA certificate, is the Doorstroom Dev CA and belongs
    /// to the key.
    pub fn load(dir: &Path) -> Result<Ca, PkiError> {
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        let cert_pem = read_string(&cert_path)?;
        let key = KeyPair::from_pem(&read_string(&key_path)?).map_err(|_| PkiError::Invalid {
            path: key_path.clone(),
            reason: "not a PKCS#8 PEM private key",
        })?;
        let cert_der = pem_certificate_der(&cert_path, cert_pem.as_bytes())?;
        let parsed = parse_der(&cert_path, &cert_der)?;
        if !parsed.is_ca() {
            return Err(invalid(&cert_path, "not a CA certificate"));
        }
        if parsed.public_key().raw != key.public_key_der().as_slice() {
            return Err(invalid(&key_path, "is not the key of ca.pem"));
        }

        // rcgen 0.13 signs with a `Certificate` as issuer but only uses its
        // subject and key identifier method; rebuild it from the same
        // parameters and key and make sure the subject is byte-identical.
        let issuer = ca_params(
            asn1_to_chrono(parsed.validity().not_before)?,
            asn1_to_chrono(parsed.validity().not_after)?,
        )?
        .self_signed(&key)?;
        let rebuilt = parse_der(&cert_path, issuer.der())?;
        if rebuilt.subject().as_raw() != parsed.subject().as_raw() {
            return Err(invalid(&cert_path, "not the Doorstroom Dev CA certificate"));
        }
        Ok(Ca {
            issuer,
            key,
            cert_pem,
            cert_der,
        })
    }

    /// The CA certificate as PEM (the trust anchor for mTLS and for x5c).
    pub fn cert_pem(&self) -> String {
        self.cert_pem.clone()
    }

    /// The CA certificate as DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// Server certificate for localhost: SANs `localhost`, `127.0.0.1`,
    /// `::1`; EKU serverAuth; valid from a day before `now` for two years.
    /// Writes `server.pem` (leaf then CA, 0644) and `server.key` (0600).
    pub fn issue_server(&self, dir: &Path, now: DateTime<Utc>) -> Result<(), PkiError> {
        ensure_dir(dir)?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(SERVER_NAMES.map(String::from).to_vec())?;
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, "localhost");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.set_leaf_defaults(&mut params, backdate(now)?, leaf_not_after(now)?)?;
        let cert = params.signed_by(&key, &self.issuer, &self.key)?;
        let chain = format!("{}{}", cert.pem(), self.cert_pem);
        write_file(&dir.join(SERVER_CERT_FILE), chain.as_bytes(), PUBLIC_MODE)?;
        write_file(&dir.join(SERVER_KEY_FILE), key.serialize_pem().as_bytes(), PRIVATE_MODE)?;
        Ok(())
    }

    /// Client (mTLS) certificate for an institution, as PKIoverheid makes
    /// them: subject CN = name, O = name, serialNumber = OIN, OU = BRIN; EKU
    /// clientAuth; validity exactly `[not_before, not_after]` (tests make
    /// expired ones). Nothing is written to disk.
    pub fn issue_client(
        &self,
        inst: &DemoInstitution,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<IssuedCert, PkiError> {
        let oin = Oin::parse(inst.oin)?;
        let brin = Brin::parse(inst.brin)?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, inst.name);
        params.distinguished_name.push(DnType::OrganizationName, inst.name);
        params.distinguished_name.push(
            DnType::CustomDnType(vec![2, 5, 4, 5]), // id-at-serialNumber
            DnValue::PrintableString(PrintableString::try_from(oin.as_str())?),
        );
        params
            .distinguished_name
            .push(DnType::OrganizationalUnitName, brin.as_str());
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.set_leaf_defaults(&mut params, not_before, not_after)?;
        let cert = params.signed_by(&key, &self.issuer, &self.key)?;
        let described = describe_cert(Path::new(CLIENT_CERT_FILE), cert.der())?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            fingerprint: described.fingerprint,
            not_after: described.not_after,
            subject: described.subject,
        })
    }

    /// A JOSE key for an institution: a fresh EC P-256 key, a certificate
    /// for it from this CA (CN "<BRIN> <use> key", keyUsage digitalSignature
    /// for `sig`, keyAgreement for `enc`, valid from a day before `now` for
    /// two years) and the JWK pair with kid `<BRIN>-<use>-<YYYYMMDD>-<4 hex>`,
    /// alg ES256 (`sig`) or ECDH-ES+A256KW (`enc`) and x5c = [leaf, CA].
    pub fn issue_jose_key(
        &self,
        inst: &DemoInstitution,
        key_use: KeyUse,
        now: DateTime<Utc>,
    ) -> Result<IssuedJoseKey, PkiError> {
        let brin = Brin::parse(inst.brin)?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{brin} {key_use} key"));
        params.key_usages = vec![match key_use {
            KeyUse::Sig => KeyUsagePurpose::DigitalSignature,
            KeyUse::Enc => KeyUsagePurpose::KeyAgreement,
        }];
        self.set_leaf_defaults(&mut params, backdate(now)?, leaf_not_after(now)?)?;
        let cert = params.signed_by(&key, &self.issuer, &self.key)?;

        let kid = format!(
            "{brin}-{key_use}-{}-{:04x}",
            now.format("%Y%m%d"),
            rand::random::<u16>()
        );
        let alg = match key_use {
            KeyUse::Sig => "ES256",
            KeyUse::Enc => "ECDH-ES+A256KW",
        };
        let x5c = vec![cert.der().to_vec(), self.cert_der.clone()];
        let (private_jwk, public_jwk) = jwk_pair_from_pkcs8_pem(&key.serialize_pem(), &kid, key_use, alg, x5c)?;
        Ok(IssuedJoseKey {
            private_jwk,
            public_jwk,
        })
    }

    /// Random serial, validity, and an authority key identifier for a leaf.
    ///
    /// A leaf carries no basicConstraints extension (`IsCa::NoCa`): RFC 5280
    /// §4.2.1.9 reads its absence as "not a CA", and rcgen's
    /// `IsCa::ExplicitNoCa` would encode `cA FALSE`, a DEFAULT value that DER
    /// forbids and that strict parsers (pyca/cryptography) refuse.
    pub(super) fn set_leaf_defaults(
        &self,
        params: &mut CertificateParams,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<(), PkiError> {
        params.serial_number = Some(random_serial());
        params.not_before = to_offset(not_before)?;
        params.not_after = to_offset(not_after)?;
        params.is_ca = IsCa::NoCa;
        params.use_authority_key_identifier_extension = true;
        Ok(())
    }
}

fn ca_params(not_before: DateTime<Utc>, not_after: DateTime<Utc>) -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, CA_COMMON_NAME);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.serial_number = Some(random_serial());
    params.not_before = to_offset(not_before)?;
    params.not_after = to_offset(not_after)?;
    Ok(params)
}

/// 128 random bits, positive, with no leading zero octet.
fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from(bytes.to_vec())
}
