//! `doorstroom-bench`: the load generator of the Doorstroom broker.
//!
//! It starts a broker in-process (as the end-to-end harness does) on
//! `127.0.0.1:0` with a fresh temporary directory: a development PKI, fresh
//! secrets, the demo institutions and one intaker of the mbo `25LX`, on
//! SQLite (default) or PostgreSQL. Then, with `C` concurrent workers that
//! each own one keep-alive HTTPS client (client certificate of the school
//! system, the dev CA as the only root), it
//!
//! 1. registers `N` applications at `25LX` naming the vo school `07AB`
//!    (distinct BSNs that pass the 11-proef) — set-up, but measured too;
//! 2. seals `N` packages as `07AB` would (`personal_data` ≈ 2 KiB and
//!    `remarks` ≈ 1 KiB of JSON, signed with 07AB's key, encrypted for
//!    25LX's key) — before any timing starts;
//! 3. **submit**: posts the packages (`POST /v1/packages`);
//! 4. **pull**: pulls them as 25LX's system acting for the intaker
//!    (`GET /v1/packages/{id}` with `X-On-Behalf-Of`);
//!
//! and prints, per phase, requests, errors, wall time, throughput and the
//! latency percentiles (HDR histogram, microsecond resolution), with the
//! settings and the machine. It is a benchmark, not a test: it asserts
//! nothing about speed. All traffic stays on loopback; every loop is bounded
//! by the number of packages and by `--time-limit`.
//!
//! `doorstroom-bench audit-log` benchmarks the audit log on its own, without
//! a broker: appending `N` events through `audit::append` (with their Merkle
//! stored hashes) and verifying the log, see [`audit_log`].
//!
//! `doorstroom-bench login-flood` floods a broker (in a child process) with
//! concurrent anonymous logins and reports its memory (VmRSS, VmHWM) idle,
//! at peak and after, see [`login_flood`].

mod audit_log;
mod broker;
mod drive;
mod login_flood;
mod report;
mod workload;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

use crate::broker::{Broker, DatabaseChoice};
use crate::drive::{PhaseResult, Target};
use crate::report::{Machine, Settings};

/// Errors of the load generator: messages with their context.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Drives submit and pull of sealed packages over real TLS against an
/// in-process broker, and prints throughput and latency percentiles.
/// `audit-log` benchmarks appending to and verifying the audit log instead.
#[derive(Debug, Parser)]
#[command(name = "doorstroom-bench", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    load: Args,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Append N audit events (with their Merkle stored hashes) in
    /// transactions of B events, then time `verify_log` and an outside
    /// verifier's `verify_entries` over the whole log.
    AuditLog(audit_log::AuditArgs),
    /// Rounds of concurrent anonymous logins against a broker in a child
    /// process; reports the broker's VmRSS/VmHWM idle, at peak and after.
    LoginFlood(login_flood::LoginFloodArgs),
    /// The broker end of `login-flood` (started by it).
    #[command(hide = true)]
    FloodTarget(login_flood::FloodTargetArgs),
}

/// The submit/pull load benchmark (the default mode).
#[derive(Debug, clap::Args)]
struct Args {
    /// Number of packages (and applications) to build, submit and pull.
    #[arg(short = 'n', long = "packages", default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    packages: u32,
    /// Concurrent clients (tokio tasks), each with its own keep-alive connection.
    #[arg(short = 'c', long = "concurrency", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    concurrency: u32,
    /// Run on this (fresh, empty) PostgreSQL database instead of a SQLite
    /// file in the temporary directory, e.g. postgres://user:pw@127.0.0.1:5432/bench.
    #[arg(long, conflicts_with = "fresh_postgres")]
    database_url: Option<String>,
    /// Create a fresh PostgreSQL database `bench_<random>` through this admin
    /// URL (a role with CREATEDB), run on it, and drop it afterwards.
    #[arg(long, value_name = "ADMIN_URL")]
    fresh_postgres: Option<String>,
    /// Worker threads of the broker (actix workers).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=256))]
    workers: u32,
    /// Connections in the broker's database pool.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    db_pool: u32,
    /// Upper bound of each phase, in seconds: workers take no new request after it.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    time_limit: u64,
    /// Also print a machine-readable summary (one JSON object on the last line).
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Some(Command::AuditLog(args)) => audit_log::run(args).await,
        Some(Command::LoginFlood(args)) => login_flood::run(args).await,
        Some(Command::FloodTarget(args)) => login_flood::serve_target(args).await,
        None => run(cli.load).await,
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(e) => {
            eprintln!("doorstroom-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the benchmark; `Ok(false)` when some requests failed.
async fn run(args: Args) -> Result<bool, BoxError> {
    doorstroom_server::tls::install_default_provider();
    let n = usize::try_from(args.packages)?;
    let concurrency = usize::try_from(args.concurrency)?;
    let time_limit = Duration::from_secs(args.time_limit);
    let machine = Machine::detect();

    let database = match (&args.database_url, &args.fresh_postgres) {
        (Some(url), _) => DatabaseChoice::Given(url.clone()),
        (None, Some(admin)) => DatabaseChoice::FreshPostgres(admin.clone()),
        (None, None) => DatabaseChoice::Sqlite,
    };
    eprintln!("starting the broker ({} workers) ...", args.workers);
    let broker = Broker::start(database, args.workers, args.db_pool).await?;
    let settings = Settings {
        packages: n,
        concurrency,
        backend: broker.backend_name(),
        broker_workers: args.workers,
        db_pool: args.db_pool,
        profile: if cfg!(debug_assertions) { "debug" } else { "release" },
        time_limit_secs: args.time_limit,
    };

    let outcome = bench(&broker, n, concurrency, time_limit).await;
    broker.stop().await;
    let (phases, package_bytes) = outcome?;

    report::print_text(&machine, &settings, package_bytes, &phases);
    if args.json {
        println!("{}", report::json(&machine, &settings, package_bytes, &phases));
    }
    Ok(phases.iter().all(|p| p.errors == 0 && p.requests == n))
}

/// The three phases against a running broker. Returns the phase results and
/// the mean submission body size.
async fn bench(
    broker: &Broker,
    n: usize,
    concurrency: usize,
    time_limit: Duration,
) -> Result<(Vec<PhaseResult>, usize), BoxError> {
    let mbo = Target::new(broker, workload::MBO, concurrency)?;
    let vo = Target::new(broker, workload::VO, concurrency)?;
    mbo.warm_up().await?;
    vo.warm_up().await?;

    eprintln!("phase register: {n} applications ...");
    let students = workload::students(n)?;
    let (register, application_ids) = drive::register(&mbo, &students, time_limit).await?;
    if application_ids.len() != n {
        return Err(format!(
            "only {} of {n} applications were registered; first error: {}",
            application_ids.len(),
            register.first_error.as_deref().unwrap_or("none")
        )
        .into());
    }

    eprintln!("phase inspect: {n} inspections ...");
    let inspect = drive::inspect(&vo, &students, time_limit).await?;

    eprintln!("sealing {n} packages ...");
    let started = Instant::now();
    let packages = workload::seal_all(broker.pki_dir(), &students, &application_ids).await?;
    let package_bytes = packages.iter().map(|p| p.body.len()).sum::<usize>() / n.max(1);
    eprintln!(
        "sealed {n} packages in {:.2} s (mean submission body {package_bytes} bytes)",
        started.elapsed().as_secs_f64()
    );

    eprintln!("phase submit ...");
    let package_ids: Vec<String> = packages.iter().map(|p| p.package_id.clone()).collect();
    let submit = drive::submit(&vo, packages, time_limit).await?;
    eprintln!("phase pull ...");
    let pull = drive::pull(&mbo, package_ids, broker.intaker_id(), time_limit).await?;
    Ok((vec![register, inspect, submit, pull], package_bytes))
}
