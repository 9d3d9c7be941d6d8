//! The development PKI: a throw-away CA with server, client and JOSE-key
//! certificates for the demo institutions, made with rcgen.
//!
//! Used by `doorstroom serve --dev`, by `doorstroom pki …` and by the
//! end-to-end tests (with a temporary directory). **Never use it in
//! production**: there the certificates come from PKIoverheid /
//! PKI-onderwijs and the keys never leave the institution (see
//! `certs/README.md`).
//!
//! Layout under the PKI directory (e.g. `certs/dev/`, git-ignored):
//!
//! ```text
//! ca.pem  ca.key                 the dev CA (key 0600)
//! server.pem  server.key         localhost server certificate, leaf then CA
//! <BRIN>/client.pem              client (mTLS) certificate of the institution
//! <BRIN>/client.key              its key (0600)
//! <BRIN>/client.fingerprint      SHA-256 of its SubjectPublicKeyInfo, hex
//! <BRIN>/sign.jwk  sign.pub.jwk  signing JWK, private (0600) and public
//! <BRIN>/enc.jwk   enc.pub.jwk   encryption JWK, private (0600) and public
//! ```
//!
//! All keys are EC P-256. Times are passed in (the injected clock), never
//! read here, so tests can make expired and not-yet-valid certificates.

use std::fmt;
use std::fs::{self, DirBuilder, OpenOptions, Permissions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Months, Utc};
use doorstroom_domain::{Brin, CertFingerprint, KeyUse, Oin, ParseError, Sector};
use doorstroom_jose::{JoseError, PublicJwk, TrustAnchors, jwk_pair_from_pkcs8_pem, verify_x5c};
use rand::RngCore as _;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType, DnValue, ExtendedKeyUsagePurpose,
    IsCa, KeyPair, KeyUsagePurpose, PrintableString, SerialNumber,
};
use sha2::{Digest as _, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::time::ASN1Time;

/// Common name of the development CA.
pub const CA_COMMON_NAME: &str = "Doorstroom Dev CA";
pub const CA_CERT_FILE: &str = "ca.pem";
pub const CA_KEY_FILE: &str = "ca.key";
pub const SERVER_CERT_FILE: &str = "server.pem";
pub const SERVER_KEY_FILE: &str = "server.key";
pub const CLIENT_CERT_FILE: &str = "client.pem";
pub const CLIENT_KEY_FILE: &str = "client.key";
pub const CLIENT_FINGERPRINT_FILE: &str = "client.fingerprint";
pub const SIGN_JWK_FILE: &str = "sign.jwk";
pub const SIGN_PUBLIC_JWK_FILE: &str = "sign.pub.jwk";
pub const ENC_JWK_FILE: &str = "enc.jwk";
pub const ENC_PUBLIC_JWK_FILE: &str = "enc.pub.jwk";

/// Names the server certificate is valid for.
const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];
/// The CA lives five years; everything it issues in `ensure_dev_pki` two.
const CA_VALIDITY_MONTHS: u32 = 60;
const LEAF_VALIDITY_MONTHS: u32 = 24;
/// Certificates start a day before `now`, to tolerate clock skew.
const BACKDATE_DAYS: i64 = 1;

const PRIVATE_MODE: u32 = 0o600;
const PUBLIC_MODE: u32 = 0o644;
const DIR_MODE: u32 = 0o700;

/// Why the development PKI could not be created or loaded.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file exists but is not what the dev PKI wrote there.
    #[error("{}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: &'static str },
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error(transparent)]
    Jose(#[from] JoseError),
    #[error("demo institution data: {0}")]
    Domain(#[from] ParseError),
    #[error("time is outside the range a certificate can express")]
    TimeOutOfRange,
    #[error("could not serialise a JWK")]
    Serialise,
}

/// A demo institution of the development set-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoInstitution {
    pub brin: &'static str,
    pub name: &'static str,
    pub sector: Sector,
    pub oin: &'static str,
}

/// One sending school (vo) and two receiving institutions (mbo).
pub const DEMO_INSTITUTIONS: &[DemoInstitution] = &[
    DemoInstitution {
        brin: "07AB",
        name: "Vo-school De Brug",
        sector: Sector::Vo,
        oin: "00000001000000070000",
    },
    DemoInstitution {
        brin: "25LX",
        name: "ROC Noorderpoort Demo",
        sector: Sector::Mbo,
        oin: "00000001000000250000",
    },
    DemoInstitution {
        brin: "27GH",
        name: "MBO College Zuid Demo",
        sector: Sector::Mbo,
        oin: "00000001000000270000",
    },
];

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
    issuer: Certificate,
    key: KeyPair,
    cert_pem: String,
    cert_der: Vec<u8>,
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
    fn set_leaf_defaults(
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

/// What `ensure_dev_pki` made or found.
#[derive(Debug, Clone)]
pub struct DevPki {
    pub dir: PathBuf,
    /// Whether anything was (re)created by this call.
    pub created: bool,
    pub institutions: Vec<DevInstitutionFiles>,
}

impl DevPki {
    /// `ca.pem`: the trust anchor for client certificates and x5c chains.
    pub fn ca_cert_path(&self) -> PathBuf {
        self.dir.join(CA_CERT_FILE)
    }
    /// `server.pem`: the server certificate chain.
    pub fn server_cert_path(&self) -> PathBuf {
        self.dir.join(SERVER_CERT_FILE)
    }
    /// `server.key`.
    pub fn server_key_path(&self) -> PathBuf {
        self.dir.join(SERVER_KEY_FILE)
    }
    /// Issues the files of one more institution under this PKI (as for a
    /// demo institution: client certificate, signing and encryption keys),
    /// or loads them when present and current. For tests that need more
    /// schools than the demo set.
    pub fn add_institution(
        &mut self,
        inst: &DemoInstitution,
        now: DateTime<Utc>,
    ) -> Result<DevInstitutionFiles, PkiError> {
        let ca = Ca::load(&self.dir)?;
        let ca_subject = parse_der(&self.ca_cert_path(), ca.cert_der())?
            .subject()
            .as_raw()
            .to_vec();
        let anchors = TrustAnchors::from_pem(ca.cert_pem.as_bytes())?;
        let files = ensure_institution(
            &ca,
            &ca_subject,
            &anchors,
            &self.dir,
            inst,
            false,
            now,
            &mut self.created,
        )?;
        self.institutions.retain(|known| known.brin != files.brin);
        self.institutions.push(files.clone());
        Ok(files)
    }

    /// The folder of one demo institution.
    pub fn institution_dir(&self, brin: &Brin) -> PathBuf {
        self.dir.join(brin.as_str())
    }
}

/// The files and facts of one demo institution.
#[derive(Debug, Clone)]
pub struct DevInstitutionFiles {
    pub brin: Brin,
    pub name: String,
    pub sector: Sector,
    pub oin: Oin,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub fingerprint: CertFingerprint,
    pub cert_subject: String,
    pub cert_not_after: DateTime<Utc>,
    pub sign_public_jwk: serde_json::Value,
    pub enc_public_jwk: serde_json::Value,
}

/// Everything `serve --dev` needs, created under `dir` if missing, loaded if
/// present: `ca.pem`/`ca.key`, `server.pem`/`server.key`, and per demo
/// institution a folder `<BRIN>/` with `client.pem`, `client.key`,
/// `client.fingerprint`, `sign.jwk`, `sign.pub.jwk`, `enc.jwk`,
/// `enc.pub.jwk`. Private files are 0600.
///
/// Idempotent: when everything is present and valid at `now`, nothing is
/// written and `created` is false. An item that is missing, incomplete, not
/// valid at `now` (expired) or not from the current CA is issued anew; a new
/// CA (only when neither `ca.pem` nor `ca.key` exists) re-issues everything.
/// Only one of `ca.pem`/`ca.key` present is an error: delete the directory
/// to start over.
pub fn ensure_dev_pki(dir: &Path, now: DateTime<Utc>) -> Result<DevPki, PkiError> {
    let ca_cert = dir.join(CA_CERT_FILE);
    let ca_key = dir.join(CA_KEY_FILE);
    let (ca, new_ca) = match (ca_cert.exists(), ca_key.exists()) {
        (true, true) => (Ca::load(dir)?, false),
        (false, false) => (Ca::create(dir, now)?, true),
        _ => {
            return Err(invalid(
                dir,
                "ca.pem and ca.key must both exist or both be absent; delete the directory to start over",
            ));
        }
    };
    let ca_der = ca.cert_der();
    let ca_subject = parse_der(&ca_cert, ca_der)?.subject().as_raw().to_vec();
    let anchors = TrustAnchors::from_pem(ca.cert_pem.as_bytes())?;
    let mut created = new_ca;

    let server_cert = dir.join(SERVER_CERT_FILE);
    let server_key = dir.join(SERVER_KEY_FILE);
    let server_ok = !new_ca && server_key.exists() && current_cert(&server_cert, &ca_subject, now)?.is_some();
    if !server_ok {
        ca.issue_server(dir, now)?;
        created = true;
    }

    let mut institutions = Vec::with_capacity(DEMO_INSTITUTIONS.len());
    for inst in DEMO_INSTITUTIONS {
        institutions.push(ensure_institution(
            &ca,
            &ca_subject,
            &anchors,
            dir,
            inst,
            new_ca,
            now,
            &mut created,
        )?);
    }

    Ok(DevPki {
        dir: dir.to_path_buf(),
        created,
        institutions,
    })
}

/// The files of one institution under `dir/<BRIN>/`: its client certificate
/// and its signing and encryption keys, issued by `ca` where missing or not
/// current at `now` (all of them when `new_ca`).
#[allow(clippy::too_many_arguments)]
fn ensure_institution(
    ca: &Ca,
    ca_subject: &[u8],
    anchors: &TrustAnchors,
    dir: &Path,
    inst: &DemoInstitution,
    new_ca: bool,
    now: DateTime<Utc>,
    created: &mut bool,
) -> Result<DevInstitutionFiles, PkiError> {
    let brin = Brin::parse(inst.brin)?;
    let oin = Oin::parse(inst.oin)?;
    let inst_dir = dir.join(brin.as_str());
    ensure_dir(&inst_dir)?;

    let client_cert = inst_dir.join(CLIENT_CERT_FILE);
    let client_key = inst_dir.join(CLIENT_KEY_FILE);
    let fingerprint_file = inst_dir.join(CLIENT_FINGERPRINT_FILE);
    let existing = if new_ca || !client_key.exists() {
        None
    } else {
        current_cert(&client_cert, ca_subject, now)?
    };
    let client = match existing {
        Some(described) => described,
        None => {
            let issued = ca.issue_client(inst, backdate(now)?, leaf_not_after(now)?)?;
            write_file(&client_cert, issued.cert_pem.as_bytes(), PUBLIC_MODE)?;
            write_file(&client_key, issued.key_pem.as_bytes(), PRIVATE_MODE)?;
            *created = true;
            DescribedCert {
                fingerprint: issued.fingerprint,
                subject: issued.subject,
                not_after: issued.not_after,
            }
        }
    };
    // The fingerprint file is derived from client.pem; keep it in step.
    let fingerprint_line = format!("{}\n", client.fingerprint);
    if fs::read_to_string(&fingerprint_file).ok().as_deref() != Some(fingerprint_line.as_str()) {
        write_file(&fingerprint_file, fingerprint_line.as_bytes(), PUBLIC_MODE)?;
        *created = true;
    }

    let sign_public_jwk = ensure_jose_key(ca, inst, &inst_dir, KeyUse::Sig, new_ca, anchors, now, created)?;
    let enc_public_jwk = ensure_jose_key(ca, inst, &inst_dir, KeyUse::Enc, new_ca, anchors, now, created)?;

    Ok(DevInstitutionFiles {
        brin,
        name: inst.name.to_owned(),
        sector: inst.sector,
        oin,
        client_cert,
        client_key,
        fingerprint: client.fingerprint,
        cert_subject: client.subject,
        cert_not_after: client.not_after,
        sign_public_jwk,
        enc_public_jwk,
    })
}

/// Loads the institution's JOSE key of `key_use` if it is current, else
/// issues and writes a new one (setting `created`); returns the public JWK.
#[allow(clippy::too_many_arguments)]
fn ensure_jose_key(
    ca: &Ca,
    inst: &DemoInstitution,
    inst_dir: &Path,
    key_use: KeyUse,
    new_ca: bool,
    anchors: &TrustAnchors,
    now: DateTime<Utc>,
    created: &mut bool,
) -> Result<serde_json::Value, PkiError> {
    let (private_name, public_name) = match key_use {
        KeyUse::Sig => (SIGN_JWK_FILE, SIGN_PUBLIC_JWK_FILE),
        KeyUse::Enc => (ENC_JWK_FILE, ENC_PUBLIC_JWK_FILE),
    };
    let private_path = inst_dir.join(private_name);
    let public_path = inst_dir.join(public_name);
    let current = if new_ca {
        None
    } else {
        current_jose_key(&private_path, &public_path, key_use, anchors, now)?
    };
    if let Some(public) = current {
        return Ok(public);
    }
    let issued = ca.issue_jose_key(inst, key_use, now)?;
    write_file(&private_path, &json_bytes(&issued.private_jwk)?, PRIVATE_MODE)?;
    let public = issued.public_jwk.to_json();
    write_file(&public_path, &json_bytes(&public)?, PUBLIC_MODE)?;
    *created = true;
    Ok(public)
}

/// The facts of a certificate that the rest of the system uses.
struct DescribedCert {
    fingerprint: CertFingerprint,
    subject: String,
    not_after: DateTime<Utc>,
}

fn describe_cert(path: &Path, der: &[u8]) -> Result<DescribedCert, PkiError> {
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
fn current_cert(path: &Path, ca_subject: &[u8], now: DateTime<Utc>) -> Result<Option<DescribedCert>, PkiError> {
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
fn made_as_now(leaf: &X509Certificate<'_>) -> bool {
    matches!(leaf.basic_constraints(), Ok(None))
}

/// The published JWK at `public_path` if both files exist, agree on the
/// `kid`, and its x5c chains to the CA at `now`; `None` if the key must be
/// issued anew.
fn current_jose_key(
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

fn backdate(now: DateTime<Utc>) -> Result<DateTime<Utc>, PkiError> {
    now.checked_sub_signed(Duration::days(BACKDATE_DAYS))
        .ok_or(PkiError::TimeOutOfRange)
}

fn leaf_not_after(now: DateTime<Utc>) -> Result<DateTime<Utc>, PkiError> {
    now.checked_add_months(Months::new(LEAF_VALIDITY_MONTHS))
        .ok_or(PkiError::TimeOutOfRange)
}

fn to_offset(t: DateTime<Utc>) -> Result<time::OffsetDateTime, PkiError> {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp()).map_err(|_| PkiError::TimeOutOfRange)
}

fn asn1_to_chrono(t: ASN1Time) -> Result<DateTime<Utc>, PkiError> {
    DateTime::from_timestamp(t.timestamp(), 0).ok_or(PkiError::TimeOutOfRange)
}

fn invalid(path: &Path, reason: &'static str) -> PkiError {
    PkiError::Invalid {
        path: path.to_path_buf(),
        reason,
    }
}

fn parse_der<'a>(path: &Path, der: &'a [u8]) -> Result<X509Certificate<'a>, PkiError> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, cert)| cert)
        .map_err(|_| invalid(path, "not an X.509 certificate"))
}

/// The DER of the first PEM block, which must be a CERTIFICATE.
fn pem_certificate_der(path: &Path, pem: &[u8]) -> Result<Vec<u8>, PkiError> {
    match x509_parser::pem::parse_x509_pem(pem) {
        Ok((_, block)) if block.label == "CERTIFICATE" => Ok(block.contents),
        _ => Err(invalid(path, "does not start with a PEM CERTIFICATE block")),
    }
}

fn json_bytes(value: &serde_json::Value) -> Result<Vec<u8>, PkiError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|_| PkiError::Serialise)?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn read_string(path: &Path) -> Result<String, PkiError> {
    fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Creates `dir` (and missing parents) with mode 0700 if it does not exist.
fn ensure_dir(dir: &Path) -> Result<(), PkiError> {
    if dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(|source| PkiError::Io {
            path: dir.to_path_buf(),
            source,
        })
}

/// Writes `contents` to `path` with exactly `mode`: first to a temporary
/// file in the same folder, created with that mode (so a key is never
/// readable by others, not even for a moment), then renamed into place.
fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), PkiError> {
    let io_err = |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| invalid(path, "not a file path"))?
        .to_string_lossy();
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    // A stale temporary file may have another mode; start afresh.
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(e)),
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io_err)?;
    // The umask may have cleared bits of a public file's mode.
    file.set_permissions(Permissions::from_mode(mode)).map_err(io_err)?;
    file.write_all(contents).map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_err)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
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
                    serde_json::from_slice(&fs::read(d.join(private_file.replace(".jwk", ".pub.jwk"))).unwrap())
                        .unwrap();
                assert_eq!(&published, json);
                let private: serde_json::Value =
                    serde_json::from_slice(&fs::read(d.join(private_file)).unwrap()).unwrap();
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
}
