//! Development mode: the demo institutions of the dev PKI registered with
//! their certificates and keys, and demo staff accounts, so that the broker
//! can be tried with curl and the CLI straight after `serve --dev`.
//!
//! Seeding is idempotent, also when several brokers start at once on one
//! new database: a record that another start created first (the insert
//! meets the unique key: [`AppError::Conflict`]) counts as seeded. The
//! look-up before each insert only spares a restart the work; the database's
//! unique keys decide.

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use chrono::{DateTime, Utc};
use doorstroom_app::AppError;
use doorstroom_app::registry::ClientCertificateCheck;
use doorstroom_app::secrets::TotpKey;
use doorstroom_domain::{Brin, Password, Role, Username};
use doorstroom_jose::TrustAnchors;
use doorstroom_store::{Store, institutions};
use rand::Rng;
use rand::distributions::Alphanumeric;

use crate::operator;
use crate::pki::{DevInstitutionFiles, DevPki};

/// Registers each demo institution that is not registered yet, with its
/// client certificate and signing and encryption keys. Returns the BRINs
/// registered now.
pub fn register_demo_institutions(
    store: &Store,
    now: DateTime<Utc>,
    pki: &DevPki,
    roots: &dyn ClientCertificateCheck,
    anchors: &TrustAnchors,
) -> Result<Vec<Brin>, AppError> {
    let mut registered = Vec::new();
    for inst in &pki.institutions {
        let known = store.read(|conn| Ok::<_, AppError>(institutions::get(conn, &inst.brin)?.is_some()))?;
        if known {
            continue;
        }
        if seeded_already(register_institution(store, now, inst, roots, anchors))? {
            // Another start registered it first; the rest of its
            // registration (certificate, keys) was completed here too.
            continue;
        }
        registered.push(inst.brin.clone());
    }
    Ok(registered)
}

/// `Ok(true)` when the seeding step met a record that another start had
/// created first (a unique key: conflict), `Ok(false)` when it created it.
fn seeded_already<T>(step: Result<T, AppError>) -> Result<bool, AppError> {
    match step {
        Ok(_) => Ok(false),
        Err(AppError::Conflict(_)) => Ok(true),
        Err(other) => Err(other),
    }
}

/// Registers one institution of the dev PKI with its client certificate
/// and its signing and encryption keys. Each of the four steps that meets
/// its record already there (another start made it) goes on to the next;
/// the answer is [`AppError::Conflict`], after all four, when the
/// institution itself was registered already.
pub fn register_institution(
    store: &Store,
    now: DateTime<Utc>,
    inst: &DevInstitutionFiles,
    roots: &dyn ClientCertificateCheck,
    anchors: &TrustAnchors,
) -> Result<(), AppError> {
    let existed = seeded_already(operator::register_institution(
        store,
        now,
        inst.brin.clone(),
        Some(inst.oin.clone()),
        &inst.name,
        inst.sector,
    ))?;
    let pem = std::fs::read_to_string(&inst.client_cert).map_err(|e| AppError::Internal(e.to_string()))?;
    seeded_already(operator::bind_certificate(store, now, roots, inst.brin.clone(), &pem))?;
    seeded_already(operator::add_key(
        store,
        now,
        anchors,
        inst.brin.clone(),
        &inst.sign_public_jwk,
    ))?;
    seeded_already(operator::add_key(
        store,
        now,
        anchors,
        inst.brin.clone(),
        &inst.enc_public_jwk,
    ))?;
    if existed {
        return Err(AppError::Conflict(format!("institution {} already exists", inst.brin)));
    }
    Ok(())
}

/// The demo staff accounts: a broker admin, and for the first mbo an
/// intaker, an institution admin and a privacy officer, plus the broker's
/// privacy officer, the demo vo school's care coordinator (who sees its
/// demo cohort's students at risk) and the demo region's coordinator.
const DEMO_STAFF: &[(&str, &str, Role, Option<&str>)] = &[
    ("admin", "Broker Beheerder", Role::BrokerAdmin, None),
    ("fg.broker", "FG Broker", Role::PrivacyOfficer, None),
    ("intaker.25lx", "Ilse Intaker", Role::Intaker, Some("25LX")),
    ("beheer.25lx", "Bram Beheer", Role::InstitutionAdmin, Some("25LX")),
    ("fg.25lx", "Femke FG", Role::PrivacyOfficer, Some("25LX")),
    ("intaker.27gh", "Iris Intaker", Role::Intaker, Some("27GH")),
    ("zorg.07ab", "Zoë Zorg", Role::CareCoordinator, Some("07AB")),
    ("rmc.demo", "Rianne Regio", Role::RegionalCoordinator, None),
];

/// The demo region `serve --dev` configures when the settings name none:
/// the demo institutions, coordinated by the demo account `rmc.demo`.
pub const DEMO_REGION: (&str, &[&str], &str) = ("demo", &["07AB", "25LX", "27GH"], "rmc.demo");

/// Creates the demo staff accounts that do not exist yet, with random
/// passwords, and appends their credentials to `accounts_file` (mode 0600).
/// Returns a printable summary of the accounts created now.
pub fn create_demo_staff(
    store: &Store,
    totp_key: &TotpKey,
    now: DateTime<Utc>,
    accounts_file: &Path,
) -> Result<String, AppError> {
    let mut summary = String::new();
    for (username, name, role, brin) in DEMO_STAFF {
        let username = Username::parse(username).map_err(|e| AppError::Internal(e.to_string()))?;
        let exists =
            store.read(|conn| Ok::<_, AppError>(doorstroom_store::staff::by_username(conn, &username)?.is_some()))?;
        if exists {
            continue;
        }
        let password: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(20)
            .map(char::from)
            .collect();
        let password = Password::parse(&password).map_err(|e| AppError::Internal(e.to_string()))?;
        let institution = brin
            .map(Brin::parse)
            .transpose()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let created = match operator::create_staff(store, totp_key, now, username, name, *role, institution, &password)
        {
            Ok(created) => created,
            // Another start created it between the look-up and now.
            Err(AppError::Conflict(_)) => continue,
            Err(other) => return Err(other),
        };
        let _ = writeln!(
            summary,
            "  {:<14} {:<18} password {}  totp secret {}",
            created.account.username,
            role.as_str(),
            password.expose(),
            created.totp_secret
        );
    }
    if !summary.is_empty() {
        append_private(accounts_file, &summary).map_err(|e| AppError::Internal(e.to_string()))?;
    }
    Ok(summary)
}

fn append_private(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}
