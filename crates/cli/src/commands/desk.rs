//! `doorstroom desk [--dev]`: the intake desk ([`doorstroom_desk`]), run by
//! an mbo in its own network with its own private key. With `--dev` it
//! takes everything from the development PKI that `serve --dev` made: the
//! 25LX (mbo) client certificate, key and decryption key, and the dev
//! server certificate for its own HTTPS on <https://localhost:8444>.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::Utc;
use clap::Args;
use doorstroom_desk::{Broker, Desk, RunningDesk};
use doorstroom_devkit::pki::{CLIENT_CERT_FILE, CLIENT_KEY_FILE, ENC_JWK_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE};
use doorstroom_domain::KeyUse;

use super::common::runtime;
use crate::exchange::{load_anchors, load_private_jwk};

/// The development PKI's folder, as `serve --dev` lays it out.
const DEV_DIR: &str = "certs/dev";
/// The mbo whose desk `--dev` runs.
const DEV_MBO: &str = "25LX";

#[derive(Args)]
pub struct DeskArgs {
    /// Development mode: the 25LX folder and the server certificate of certs/dev/ (after `serve --dev`).
    #[arg(long)]
    dev: bool,
    /// The mbo's folder: client.pem + client.key (its system certificate) and enc.jwk (its private decryption key).
    #[arg(long = "as", value_name = "DIR", required_unless_present = "dev")]
    as_dir: Option<PathBuf>,
    /// The desk's own HTTPS certificate chain (PEM).
    #[arg(long, required_unless_present = "dev")]
    tls_cert: Option<PathBuf>,
    /// The desk's own HTTPS private key (PEM).
    #[arg(long, required_unless_present = "dev")]
    tls_key: Option<PathBuf>,
    /// Trust anchors for the schools' key certificate chains; default: the broker's CA (--ca).
    #[arg(long)]
    trust_anchors: Option<PathBuf>,
    /// Where the desk listens.
    #[arg(long, default_value = "127.0.0.1:8444")]
    bind: SocketAddr,
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Log lines to stderr (`RUST_LOG` filters, `info` by default). The desk
/// logs no dossier content and no personal data: broker failures by their
/// problem's rule, never a page's content.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _already = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn run(url: &str, ca: &Path, args: DeskArgs) -> anyhow::Result<()> {
    init_logging();
    let inputs = DeskInputs::read(ca, &args)?;
    runtime()?.block_on(async move { Ok(launch(url, inputs, args.bind).await?.wait().await?) })
}

/// The desk of the development PKI, for `serve --dev --desk` (one command
/// for the demo).
pub fn dev_inputs(ca: &Path, bind: SocketAddr) -> anyhow::Result<(DeskInputs, SocketAddr)> {
    let args = DeskArgs {
        dev: true,
        as_dir: None,
        tls_cert: None,
        tls_key: None,
        trust_anchors: None,
        bind,
    };
    Ok((DeskInputs::read(ca, &args)?, args.bind))
}

/// What the desk reads from disk before it connects.
pub struct DeskInputs {
    anchors: doorstroom_jose::TrustAnchors,
    key: doorstroom_jose::PrivateJwk,
    identity: Vec<u8>,
    ca_pem: Vec<u8>,
    tls: rustls::ServerConfig,
}

impl DeskInputs {
    fn read(ca: &Path, args: &DeskArgs) -> anyhow::Result<DeskInputs> {
        let dev = Path::new(DEV_DIR);
        let pick = |given: &Option<PathBuf>, dev_path: PathBuf| given.clone().unwrap_or(dev_path);
        let folder = pick(&args.as_dir, dev.join(DEV_MBO));
        let tls_cert = pick(&args.tls_cert, dev.join(SERVER_CERT_FILE));
        let tls_key = pick(&args.tls_key, dev.join(SERVER_KEY_FILE));
        let anchors = load_anchors(args.trust_anchors.as_deref().unwrap_or(ca))?;
        let key = load_private_jwk(&folder.join(ENC_JWK_FILE), KeyUse::Enc)?;
        let mut identity = read(&folder.join(CLIENT_CERT_FILE))?;
        identity.push(b'\n');
        identity.extend(read(&folder.join(CLIENT_KEY_FILE))?);
        Ok(DeskInputs {
            anchors,
            key,
            identity,
            ca_pem: read(ca)?,
            tls: doorstroom_desk::tls_config(&read(&tls_cert)?, &read(&tls_key)?)?,
        })
    }
}

/// Connects to the broker at `url` (refusing a key the broker does not
/// publish), reads the mbo's feed to its head and serves the desk.
pub async fn launch(url: &str, inputs: DeskInputs, bind: SocketAddr) -> anyhow::Result<RunningDesk> {
    let DeskInputs {
        anchors,
        key,
        identity,
        ca_pem,
        tls,
    } = inputs;
    let broker = Broker::connect(url, &ca_pem, &identity, key, anchors, Utc::now())
        .await
        .context("the desk refuses to start")?;
    let own = broker.own.clone();
    let desk = Desk::new(broker)
        .await
        .context("the desk could not read its mbo's event feed")?;
    let running = doorstroom_desk::start(desk, bind, tls)?;
    println!(
        "intake desk of {own} on https://localhost:{} (broker {url}); log in as one of {own}'s intakers",
        running.addr.port()
    );
    Ok(running)
}
