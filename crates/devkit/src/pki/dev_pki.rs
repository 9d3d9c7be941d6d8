//! The development PKI directory as `serve --dev` and the tests want it:
//! created where missing, completed where incomplete, renewed where expired.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use doorstroom_domain::{Brin, CertFingerprint, KeyUse, Oin, Sector};
use doorstroom_jose::TrustAnchors;

use super::ca::Ca;
use super::demo::{DEMO_INSTITUTIONS, DemoInstitution};
use super::error::{PkiError, invalid};
use super::files::{PRIVATE_MODE, PUBLIC_MODE, ensure_dir, json_bytes, write_file};
use super::inspect::{DescribedCert, current_cert, current_jose_key, parse_der};
use super::layout::{
    CA_CERT_FILE, CA_KEY_FILE, CLIENT_CERT_FILE, CLIENT_FINGERPRINT_FILE, CLIENT_KEY_FILE, ENC_JWK_FILE,
    ENC_PUBLIC_JWK_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE, SIGN_JWK_FILE, SIGN_PUBLIC_JWK_FILE,
};
use super::validity::{backdate, leaf_not_after};

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
