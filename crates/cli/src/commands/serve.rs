//! `doorstroom serve [--dev]`: the broker over HTTPS; with `--dev` first the
//! development PKI, secrets, demo institutions and staff where missing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use doorstroom_devkit::pki::{self, DevPki};
use doorstroom_devkit::{demo_cohort, seed};
use doorstroom_domain::safety_net::CohortRetention;
use doorstroom_server::Secrets;
use doorstroom_server::clock::SystemClock;
use doorstroom_server::config::{LogFormat, Settings};
use doorstroom_server::tls::ClientRoots;
use doorstroom_store::Store;

use super::common::{load_trust_anchors, open_store, runtime};
use super::pki::print_pki;

/// Runs the broker; with `desk` (`--dev --desk`: the broker's CA and the
/// desk's address) also the development desk, connected to this broker
/// over its HTTPS, as a separate desk would be.
pub fn run(mut settings: Settings, dev_mode: bool, desk: Option<(&Path, SocketAddr)>) -> anyhow::Result<()> {
    init_logging(&settings);
    if dev_mode {
        keep_demo_cohorts(&mut settings);
    }
    let settings = if dev_mode {
        with_demo_region(settings)?
    } else {
        settings
    };
    let now = Utc::now();
    let mut banner = None;
    if dev_mode {
        let dir = settings.tls.cert.parent().unwrap_or(Path::new("certs/dev"));
        let pki = pki::ensure_dev_pki(dir, now)?;
        for path in Secrets::generate_missing(&settings.secrets)? {
            println!("created secret {}", path.display());
        }
        banner = Some(pki);
    }
    let secrets = Secrets::load(&settings.secrets)?;
    let store = open_store(&settings)?;
    if let Some(pki) = &banner {
        seed_demo(&settings, &store, &secrets, pki, now)?;
    }
    let desk = desk.map(|(ca, bind)| super::desk::dev_inputs(ca, bind)).transpose()?;
    let url = format!("https://localhost:{}", settings.server.bind.port());
    runtime()?.block_on(async move {
        let server = doorstroom_server::start(settings, store, secrets, Arc::new(SystemClock)).await?;
        if let Some(pki) = banner {
            let state = server.state.clone();
            // The use cases block (diesel): off the async executor.
            tokio::task::spawn_blocking(move || seed_demo_cohort(&state.app, &pki)).await??;
        }
        let Some((inputs, bind)) = desk else {
            return Ok(server.wait().await?);
        };
        let desk = super::desk::launch(&url, inputs, bind).await?;
        // Whichever stops first ends the demo.
        tokio::select! {
            served = server.wait() => Ok(served?),
            desked = desk.wait() => Ok(desked?),
        }
    })
}

/// With `--dev` and no region configured: the demo region (the demo
/// institutions, coordinated by `rmc.demo`), so that the regional figures
/// can be tried.
fn with_demo_region(mut settings: Settings) -> anyhow::Result<Settings> {
    use doorstroom_server::config::{RegionSection, RegionalSection, checked_regions};
    if settings.regional.regions.iter().next().is_some() {
        return Ok(settings);
    }
    let (name, institutions, coordinator) = seed::DEMO_REGION;
    let raw = vec![RegionSection {
        name: name.into(),
        institutions: institutions.iter().map(|b| (*b).to_owned()).collect(),
        coordinators: vec![coordinator.into()],
    }];
    let threshold = settings.regional.threshold;
    settings.regional = checked_regions(RegionalSection { threshold }, raw)?;
    Ok(settings)
}

/// Registers the demo institutions and staff that are missing and says
/// what there is to try.
fn seed_demo(
    settings: &Settings,
    store: &Store,
    secrets: &Secrets,
    pki: &DevPki,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let roots = ClientRoots::load(&settings.tls.client_ca)?;
    let anchors = load_trust_anchors(settings)?;
    let registered = seed::register_demo_institutions(store, now, pki, &roots, &anchors)?;
    let accounts_file = data_dir(settings).join("dev-accounts.txt");
    let staff = seed::create_demo_staff(store, secrets.totp_key(), now, &accounts_file)?;
    print_pki(pki);
    for brin in registered {
        println!("registered demo institution {brin} with its client certificate and JOSE keys");
    }
    if !staff.is_empty() {
        println!(
            "\ncreated demo staff accounts (also in {}):\n{staff}",
            accounts_file.display()
        );
    }
    print_dev_help(settings, pki, &accounts_file);
    Ok(())
}

/// In dev mode cohorts are kept at least this many days after their
/// enrolment deadline (instead of the configured 60), so that the demo
/// cohort of the latest school year whose deadlines have passed stays over
/// the winter: with 60 days, from 1 December to 1 April there is no cohort
/// whose deadlines have passed, and the demo would show nobody at risk.
const DEMO_COHORT_DAYS: i64 = 240;

fn keep_demo_cohorts(settings: &mut Settings) {
    let days = chrono::Duration::days(DEMO_COHORT_DAYS);
    if settings.safety_net.cohort_retention >= days {
        return;
    }
    settings.safety_net.cohort_retention = days;
    settings.retention.policy = settings.retention.policy.with_cohorts(CohortRetention {
        enrolled_by: settings.safety_net.deadlines.enrolled,
        after: days,
    });
    println!(
        "dev mode: safety-net cohorts are kept {DEMO_COHORT_DAYS} days after the enrolment deadline (for the demo cohort)"
    );
}

/// The demo vo school's leaving cohort of the current school year, unless
/// it has one (see [`demo_cohort`]).
fn seed_demo_cohort(app: &doorstroom_app::App, pki: &DevPki) -> anyhow::Result<()> {
    let year = demo_cohort::demo_year(app)?;
    let added = demo_cohort::seed_demo_cohort(app, pki, year)?;
    if added > 0 {
        // The broker's own assessment ran at start, before the cohort was
        // there: once more now, so 07AB's feed tells at once.
        let operator = doorstroom_domain::Principal::Operator;
        let told = doorstroom_app::safety_net::assess_cohorts(app, doorstroom_app::Caller::new(&operator, None))?;
        println!(
            "seeded the demo cohort of 07AB for {year}: {added} students, {} at risk (student.at_risk in 07AB's feed); log in to /console/safety-net as zorg.07ab to see who and why",
            told.notified
        );
    }
    Ok(())
}

fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log.filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // actix-http's ERROR for a request it cannot parse becomes a WARN.
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(doorstroom_server::malformed_http::MalformedHttpLog);
    let format = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    match settings.log.format {
        LogFormat::Json => registry.with(format.json()).init(),
        LogFormat::Pretty => registry.with(format).init(),
    }
}

fn data_dir(settings: &Settings) -> PathBuf {
    settings
        .secrets
        .pseudonym_key_file
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("data"))
}

fn print_dev_help(settings: &Settings, pki: &DevPki, accounts: &Path) {
    let url = format!("https://localhost:{}", settings.server.bind.port());
    let ca = pki.ca_cert_path();
    let vo = pki.institutions.first();
    println!("\nTry it:");
    println!("  curl --cacert {} {url}/healthz", ca.display());
    if let Some(vo) = vo {
        println!(
            "  curl --cacert {} --cert {} --key {} {url}/v1/whoami",
            ca.display(),
            vo.client_cert.display(),
            vo.client_key.display()
        );
        println!(
            "  doorstroom call --url {url} --ca {} --cert {} --key {} whoami",
            ca.display(),
            vo.client_cert.display(),
            vo.client_key.display()
        );
    }
    println!("  curl --cacert {} {url}/v1/institutions/25LX/jwks", ca.display());
    println!(
        "  staff login: POST {url}/v1/auth/login with the credentials in {}",
        accounts.display()
    );
    println!("    (the current TOTP code: doorstroom totp <secret>)\n");
}
