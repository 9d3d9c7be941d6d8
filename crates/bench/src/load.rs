//! The submit/pull load mode: which servers, which phases, in which order.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::BoxError;
use crate::broker::DatabaseChoice;
use crate::drive::{self, PhaseResult, Target};
use crate::nodes::{Ground, Nodes};
use crate::probe::Probe;
use crate::report::{self, Machine, Report, Settings};
use crate::workload;

/// What the load mode and the ceiling share.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// Number of packages (and applications) to build, submit and pull.
    #[arg(short = 'n', long = "packages", default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    packages: u32,
    /// Concurrent clients (tokio tasks), each with its own keep-alive connection (per node).
    #[arg(short = 'c', long = "concurrency", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    concurrency: u32,
    /// Worker threads of each server started here (actix workers).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=256))]
    workers: u32,
    /// Upper bound of each phase, in seconds: workers take no new request after it.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    time_limit: u64,
    /// Count the fsync/fdatasync calls of each server started here during
    /// each phase with `strace -f -c` (strace must be installed and allowed
    /// to attach). Attached strace stops the server at every system call,
    /// which cuts its throughput several times: take the counts from such a
    /// run, the speed from one without.
    #[arg(long)]
    strace: bool,
    /// Also print a machine-readable summary (one JSON object on the last line).
    #[arg(long)]
    json: bool,
}

/// The submit/pull load benchmark (the default mode).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    common: Common,
    /// Drive this broker instead of starting one (repeatable: several
    /// nodes of one broker, requests round-robin over them), e.g.
    /// https://localhost:8443. Needs --dev-dir.
    #[arg(long, value_name = "URL", requires = "dev_dir")]
    target: Vec<String>,
    /// With --target: the development PKI the targets trust, as
    /// `doorstroom serve --dev` writes it (ca.pem, 07AB/ and 25LX/ with
    /// client certificates and keys), e.g. certs/dev.
    #[arg(long, value_name = "DIR", requires = "target")]
    dev_dir: Option<PathBuf>,
    /// Run on this (fresh, empty) PostgreSQL database instead of a SQLite
    /// file in the temporary directory, e.g. postgres://user:pw@127.0.0.1:5432/bench.
    #[arg(long, conflicts_with_all = ["fresh_postgres", "target"])]
    database_url: Option<String>,
    /// Create a fresh PostgreSQL database `bench_<random>` through this admin
    /// URL (a role with CREATEDB), run on it, and drop it afterwards.
    #[arg(long, value_name = "ADMIN_URL", conflicts_with = "target")]
    fresh_postgres: Option<String>,
    /// Broker nodes to start, each a child process on the one database
    /// (more than one needs PostgreSQL).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=8), conflicts_with = "target")]
    nodes: u32,
    /// Connections in each broker node's database pool.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    db_pool: u32,
    /// First run submit and pull against the ceiling (same clients, same
    /// packages' size), then the broker, and print the broker's figures as
    /// a share of the ceiling's.
    #[arg(long)]
    with_ceiling: bool,
}

/// Runs the benchmark; `Ok(false)` when some requests failed.
pub async fn run(args: Args) -> Result<bool, BoxError> {
    doorstroom_server::tls::install_default_provider();
    let common = &args.common;
    let database = match (&args.database_url, &args.fresh_postgres) {
        (Some(url), _) => DatabaseChoice::Given(url.clone()),
        (None, Some(admin)) => DatabaseChoice::FreshPostgres(admin.clone()),
        (None, None) => DatabaseChoice::Sqlite,
    };
    if args.nodes > 1 && matches!(database, DatabaseChoice::Sqlite) {
        return Err("--nodes above 1 needs PostgreSQL (--database-url or --fresh-postgres)".into());
    }
    let ground = Ground::prepare(database)?;
    let ceiling = if args.with_ceiling {
        Some(ceiling_phases(&ground, args.dev_dir.clone(), common).await?)
    } else {
        None
    };
    let (nodes, backend, first_bsn) = match &args.dev_dir {
        Some(dev_dir) => {
            let first = rand::thread_rng().gen_range(10_000_000..90_000_000);
            (Nodes::external(args.target.clone(), dev_dir.clone()), "external", first)
        }
        None => {
            eprintln!(
                "starting {} broker node(s) ({} workers each) ...",
                args.nodes, common.workers
            );
            let nodes = Nodes::brokers(&ground, args.nodes, common.workers, args.db_pool).await?;
            (nodes, ground.backend(), workload::FIRST_PREFIX)
        }
    };
    let probe = |target: &Target| probe_for(&nodes, target, &ground, common.strace);
    let (phases, package_bytes) = broker_phases(&nodes, probe, common, first_bsn).await?;
    drop(nodes);

    let settings = Settings {
        packages: usize::try_from(common.packages)?,
        concurrency: usize::try_from(common.concurrency)?,
        backend,
        targets: args.target.clone(),
        nodes: if args.target.is_empty() {
            args.nodes
        } else {
            u32::try_from(args.target.len())?
        },
        broker_workers: common.workers,
        db_pool: args.db_pool,
        profile: if cfg!(debug_assertions) { "debug" } else { "release" },
        time_limit_secs: common.time_limit,
        strace: common.strace,
    };
    let complete = phases.iter().all(|p| p.errors == 0 && p.requests == settings.packages);
    finish(common, settings, package_bytes, phases, ceiling);
    Ok(complete)
}

/// `doorstroom-bench ceiling`: the ceiling's submit and pull alone.
pub async fn run_ceiling_only(common: Common) -> Result<bool, BoxError> {
    doorstroom_server::tls::install_default_provider();
    let ground = Ground::prepare(DatabaseChoice::Sqlite)?;
    let ceiling = ceiling_phases(&ground, None, &common).await?;
    let complete = ceiling
        .iter()
        .all(|p| p.errors == 0 && p.requests == common.packages as usize);
    let settings = Settings {
        packages: usize::try_from(common.packages)?,
        concurrency: usize::try_from(common.concurrency)?,
        backend: "ceiling (SQLite)",
        targets: Vec::new(),
        nodes: 1,
        broker_workers: common.workers,
        db_pool: 0,
        profile: if cfg!(debug_assertions) { "debug" } else { "release" },
        time_limit_secs: common.time_limit,
        strace: common.strace,
    };
    finish(&common, settings, 0, Vec::new(), Some(ceiling));
    Ok(complete)
}

fn finish(
    common: &Common,
    settings: Settings,
    package_bytes: usize,
    phases: Vec<PhaseResult>,
    ceiling: Option<Vec<PhaseResult>>,
) {
    let report = Report {
        machine: Machine::detect(),
        settings,
        package_bytes,
        phases,
        ceiling,
    };
    report::print_text(&report);
    if common.json {
        println!("{}", report::json(&report));
    }
}

/// The probe of a run's servers, scraping `/metrics` with `target`'s client.
fn probe_for(nodes: &Nodes, target: &Target, ground: &Ground, strace: bool) -> Result<Probe, BoxError> {
    let client = target.client().ok_or("no client")?.clone();
    Ok(Probe::new(
        client,
        nodes.urls.clone(),
        nodes.pids(),
        strace,
        ground.path().to_path_buf(),
    ))
}

/// Runs `phase` between the probe's two readings and attaches its cost.
async fn measured<T>(
    probe: &Probe,
    name: &str,
    phase: impl Future<Output = Result<(PhaseResult, T), BoxError>>,
) -> Result<(PhaseResult, T), BoxError> {
    let started = probe.start(name).await?;
    let (mut result, extra) = phase.await?;
    result.cost = probe.finish(started).await?;
    Ok((result, extra))
}

/// The broker's four phases. Returns the phase results and the mean
/// submission body size.
async fn broker_phases(
    nodes: &Nodes,
    probe: impl Fn(&Target) -> Result<Probe, BoxError>,
    common: &Common,
    first_bsn: u32,
) -> Result<(Vec<PhaseResult>, usize), BoxError> {
    let (n, concurrency) = (common.packages as usize, common.concurrency as usize);
    let time_limit = Duration::from_secs(common.time_limit);
    let mbo = Target::new(&nodes.urls, &nodes.dev_dir, workload::MBO, concurrency)?;
    let vo = Target::new(&nodes.urls, &nodes.dev_dir, workload::VO, concurrency)?;
    let intaker = mbo.intaker_id(workload::MBO).await?;
    let probe = probe(&vo)?;

    eprintln!("phase register: {n} applications ...");
    mbo.warm_up().await?;
    let students = workload::students(n, first_bsn)?;
    let (register, application_ids) =
        measured(&probe, "register", drive::register(&mbo, &students, time_limit)).await?;
    if application_ids.len() != n {
        return Err(format!(
            "only {} of {n} applications were registered; first error: {}",
            application_ids.len(),
            register.first_error.as_deref().unwrap_or("none")
        )
        .into());
    }
    eprintln!("phase inspect: {n} inspections ...");
    vo.warm_up().await?;
    let inspecting = async { Ok((drive::inspect(&vo, &students, time_limit).await?, ())) };
    let (inspect, ()) = measured(&probe, "inspect", inspecting).await?;

    let packages = seal(&nodes.dev_dir, &students, &application_ids).await?;
    let package_bytes = packages.iter().map(|p| p.body.len()).sum::<usize>() / n.max(1);
    let [submit, pull] = submit_and_pull(&probe, &vo, &mbo, packages, intaker, time_limit).await?;
    Ok((vec![register, inspect, submit, pull], package_bytes))
}

/// Seals the packages, before any timing.
async fn seal(
    dev_dir: &std::path::Path,
    students: &[String],
    application_ids: &[String],
) -> Result<Vec<workload::SealedPackage>, BoxError> {
    let n = students.len();
    eprintln!("sealing {n} packages ...");
    let started = Instant::now();
    let packages = workload::seal_all(dev_dir, students, application_ids).await?;
    eprintln!("sealed {n} packages in {:.2} s", started.elapsed().as_secs_f64());
    Ok(packages)
}

/// The submit phase, then the pull phase of the same packages.
async fn submit_and_pull(
    probe: &Probe,
    vo: &Target,
    mbo: &Target,
    packages: Vec<workload::SealedPackage>,
    intaker: String,
    time_limit: Duration,
) -> Result<[PhaseResult; 2], BoxError> {
    eprintln!("phase submit ...");
    vo.warm_up().await?;
    let package_ids: Vec<String> = packages.iter().map(|p| p.package_id.clone()).collect();
    let submitting = async { Ok((drive::submit(vo, packages, time_limit).await?, ())) };
    let (submit, ()) = measured(probe, "submit", submitting).await?;
    eprintln!("phase pull ...");
    mbo.warm_up().await?;
    let pulling = async { Ok((drive::pull(mbo, package_ids, intaker, time_limit).await?, ())) };
    let (pull, ()) = measured(probe, "pull", pulling).await?;
    Ok([submit, pull])
}

/// Submit and pull against the ceiling, on `dev_dir` (the targets' PKI)
/// or the ground's own.
async fn ceiling_phases(
    ground: &Ground,
    dev_dir: Option<PathBuf>,
    common: &Common,
) -> Result<Vec<PhaseResult>, BoxError> {
    let (n, concurrency) = (common.packages as usize, common.concurrency as usize);
    eprintln!("starting the ceiling ({} workers) ...", common.workers);
    let dev_dir = dev_dir.unwrap_or_else(|| ground.dev_dir());
    let nodes = Nodes::ceiling(ground, dev_dir, common.workers).await?;
    let mbo = Target::new(&nodes.urls, &nodes.dev_dir, workload::MBO, concurrency)?;
    let vo = Target::new(&nodes.urls, &nodes.dev_dir, workload::VO, concurrency)?;
    let probe = probe_for(&nodes, &vo, ground, common.strace)?;
    let students = workload::students(n, workload::FIRST_PREFIX)?;
    let applications: Vec<String> = (0..n).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let packages = seal(&nodes.dev_dir, &students, &applications).await?;
    let time_limit = Duration::from_secs(common.time_limit);
    let phases = submit_and_pull(&probe, &vo, &mbo, packages, String::new(), time_limit).await?;
    Ok(phases.into_iter().collect())
}
