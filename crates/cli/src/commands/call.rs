//! `doorstroom call …`: plain calls to a running broker as a school system
//! (client certificate).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use doorstroom_domain::Brin;

use super::common::{print_json, runtime};

#[derive(Args)]
pub struct CallArgs {
    /// Client certificate (PEM); its key is read from --key.
    #[arg(long)]
    cert: Option<PathBuf>,
    #[arg(long)]
    key: Option<PathBuf>,
    #[command(subcommand)]
    what: CallCommand,
}

#[derive(Subcommand)]
enum CallCommand {
    /// Who the broker takes the caller to be.
    Whoami,
    /// An institution's published JWK Set.
    Jwks { brin: Brin },
    /// The active intakers of your own mbo, with the ids to name in `--on-behalf-of`.
    Intakers { brin: Brin },
}

pub fn run(url: &str, ca: &Path, args: CallArgs) -> anyhow::Result<()> {
    let ca = std::fs::read(ca).with_context(|| ca.display().to_string())?;
    let identity = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => {
            let mut pem = std::fs::read(cert).with_context(|| cert.display().to_string())?;
            pem.extend(std::fs::read(key).with_context(|| key.display().to_string())?);
            Some(pem)
        }
        (None, None) => None,
        _ => bail!("--cert and --key go together"),
    };
    let client = doorstroom_client::Client::new(url, &ca, identity.as_deref())?;
    let value = runtime()?.block_on(async {
        match args.what {
            CallCommand::Whoami => client.whoami().await,
            CallCommand::Jwks { brin } => client.jwks(brin.as_str()).await,
            CallCommand::Intakers { brin } => client.intakers(brin.as_str()).await,
        }
    })?;
    print_json(&value)
}
