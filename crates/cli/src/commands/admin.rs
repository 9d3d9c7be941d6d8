//! `doorstroom admin …`: the operator's commands on the broker's database,
//! audited as the operator ([`doorstroom_devkit::operator`]).

use std::path::PathBuf;

use anyhow::Context as _;
use chrono::Utc;
use clap::Subcommand;
use doorstroom_devkit::operator;
use doorstroom_domain::{Brin, InstitutionStatus, Oin, Password, Role, Sector, StaffId, Username};
use doorstroom_server::config::Settings;
use doorstroom_server::secrets::TotpKey;
use doorstroom_server::tls::ClientRoots;

use super::common::{load_trust_anchors, open_store, print_json};

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Register an institution.
    AddInstitution {
        #[arg(long)]
        brin: Brin,
        #[arg(long)]
        name: String,
        #[arg(long)]
        sector: Sector,
        #[arg(long)]
        oin: Option<Oin>,
    },
    /// List the registry.
    ListInstitutions,
    /// Suspend or reactivate an institution.
    SetInstitutionStatus {
        #[arg(long)]
        brin: Brin,
        #[arg(long)]
        status: InstitutionStatus,
    },
    /// Bind a client certificate (PEM file) to an institution.
    BindCertificate {
        #[arg(long)]
        brin: Brin,
        #[arg(long)]
        cert: PathBuf,
    },
    /// Publish a JOSE key (public JWK with x5c, JSON file) for an institution.
    AddKey {
        #[arg(long)]
        brin: Brin,
        #[arg(long)]
        jwk: PathBuf,
    },
    /// Create a staff account; the password is read from DOORSTROOM_NEW_PASSWORD.
    CreateStaff {
        #[arg(long)]
        username: Username,
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: Role,
        #[arg(long)]
        institution: Option<Brin>,
    },
    /// List staff accounts.
    ListStaff {
        #[arg(long)]
        institution: Option<Brin>,
    },
    /// Deactivate a staff account.
    DeactivateStaff {
        #[arg(long)]
        id: StaffId,
    },
}

pub fn run(settings: &Settings, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::AddInstitution {
            brin,
            name,
            sector,
            oin,
        } => {
            let store = open_store(settings)?;
            let i = operator::register_institution(&store, Utc::now(), brin, oin, &name, sector)?;
            println!("registered {} {} ({})", i.brin, i.name, i.sector);
        }
        AdminCommand::ListInstitutions => list_institutions(settings)?,
        AdminCommand::SetInstitutionStatus { brin, status } => {
            let store = open_store(settings)?;
            let i = operator::set_institution_status(&store, Utc::now(), brin, status)?;
            println!("{} is now {}", i.brin, i.status);
        }
        AdminCommand::BindCertificate { brin, cert } => bind_certificate(settings, brin, &cert)?,
        AdminCommand::AddKey { brin, jwk } => add_key(settings, brin, &jwk)?,
        AdminCommand::CreateStaff {
            username,
            name,
            role,
            institution,
        } => create_staff(settings, username, &name, role, institution)?,
        AdminCommand::ListStaff { institution } => list_staff(settings, institution)?,
        AdminCommand::DeactivateStaff { id } => {
            let store = open_store(settings)?;
            let a = operator::deactivate_staff(&store, Utc::now(), id)?;
            println!("{} is now {}", a.username, a.status.as_str());
        }
    }
    Ok(())
}

fn list_institutions(settings: &Settings) -> anyhow::Result<()> {
    let store = open_store(settings)?;
    for i in operator::list_institutions(&store, Utc::now())? {
        println!(
            "{}  {:<4} {:<9} {}",
            i.brin,
            i.sector.as_str(),
            i.status.as_str(),
            i.name
        );
    }
    Ok(())
}

fn bind_certificate(settings: &Settings, brin: Brin, cert: &std::path::Path) -> anyhow::Result<()> {
    let store = open_store(settings)?;
    let roots = ClientRoots::load(&settings.tls.client_ca)?;
    let pem = std::fs::read_to_string(cert).with_context(|| cert.display().to_string())?;
    let b = operator::bind_certificate(&store, Utc::now(), &roots, brin.clone(), &pem)?;
    println!("bound {} to {} ({})", b.fingerprint, brin, b.subject);
    Ok(())
}

fn add_key(settings: &Settings, brin: Brin, jwk: &std::path::Path) -> anyhow::Result<()> {
    let store = open_store(settings)?;
    let anchors = load_trust_anchors(settings)?;
    let text = std::fs::read_to_string(jwk).with_context(|| jwk.display().to_string())?;
    let value: serde_json::Value = serde_json::from_str(&text).with_context(|| jwk.display().to_string())?;
    let k = operator::add_key(&store, Utc::now(), &anchors, brin.clone(), &value)?;
    println!("published {} ({} {}) for {}", k.kid, k.key_use, k.alg, brin);
    Ok(())
}

fn create_staff(
    settings: &Settings,
    username: Username,
    name: &str,
    role: Role,
    institution: Option<Brin>,
) -> anyhow::Result<()> {
    let store = open_store(settings)?;
    let raw = std::env::var("DOORSTROOM_NEW_PASSWORD")
        .ok()
        .context("set DOORSTROOM_NEW_PASSWORD to the initial password")?;
    let password = Password::parse(&raw)?;
    let totp_key = TotpKey::load(&settings.secrets)?;
    let created = operator::create_staff(
        &store,
        &totp_key,
        Utc::now(),
        username,
        name,
        role,
        institution,
        &password,
    )?;
    print_json(&serde_json::json!({
        "id": created.account.id,
        "username": created.account.username,
        "role": created.account.role,
        "institution": created.account.institution,
        "totp_secret": created.totp_secret,
        "totp_uri": created.totp_uri,
    }))
}

fn list_staff(settings: &Settings, institution: Option<Brin>) -> anyhow::Result<()> {
    let store = open_store(settings)?;
    for a in operator::list_staff(&store, Utc::now(), institution)? {
        println!(
            "{}  {:<20} {:<18} {:<5} {}",
            a.id,
            a.username,
            a.role.as_str(),
            a.institution.as_deref().unwrap_or("-"),
            a.status.as_str()
        );
    }
    Ok(())
}
