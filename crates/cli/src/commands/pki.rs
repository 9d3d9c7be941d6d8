//! `doorstroom pki …`: the development PKI and the broker's secret files.

use std::path::{Path, PathBuf};

use chrono::Utc;
use clap::Subcommand;
use doorstroom_devkit::pki::{self, DevPki};
use doorstroom_server::Secrets;

use super::common::load_settings;

#[derive(Subcommand)]
pub enum PkiCommand {
    /// Create (or complete) the development PKI: CA, server certificate, and per demo
    /// institution a client certificate and JOSE signing and encryption keys.
    InitDev {
        #[arg(long, default_value = "certs/dev")]
        dir: PathBuf,
    },
    /// Generate missing secret files (pseudonym key, token key, broker signing key, TOTP sealing key), mode 0600.
    InitSecrets,
}

pub fn run(command: PkiCommand, config: Option<&Path>) -> anyhow::Result<()> {
    match command {
        PkiCommand::InitDev { dir } => {
            let pki = pki::ensure_dev_pki(&dir, Utc::now())?;
            print_pki(&pki);
        }
        PkiCommand::InitSecrets => {
            let created = Secrets::generate_missing(&load_settings(config)?.secrets)?;
            for path in created {
                println!("created {}", path.display());
            }
        }
    }
    Ok(())
}

/// The PKI's files and each demo institution's certificate, as `pki init-dev` and `serve --dev` show them.
pub fn print_pki(pki: &DevPki) {
    println!(
        "development PKI in {}{}",
        pki.dir.display(),
        if pki.created { " (created now)" } else { "" }
    );
    println!("  CA           {}", pki.ca_cert_path().display());
    println!("  server       {}", pki.server_cert_path().display());
    for inst in &pki.institutions {
        println!(
            "  {} {:<24} {:<4} client cert {}  (SPKI SHA-256 {})",
            inst.brin,
            inst.name,
            inst.sector.as_str(),
            inst.client_cert.display(),
            inst.fingerprint
        );
    }
}
