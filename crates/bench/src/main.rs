//! `doorstroom-bench`: the load generator of the Doorstroom broker.
//!
//! By default it starts the broker in a child process of its own (this
//! binary, hidden subcommand `broker-node`; `--nodes 2`: two, on one
//! PostgreSQL database) on a fresh temporary directory with a development
//! PKI, the demo institutions and one intaker of the mbo `25LX`, on SQLite
//! (default) or PostgreSQL; or it drives brokers running elsewhere
//! (`--target https://HOST:PORT`, repeatable, with `--dev-dir` the
//! development PKI they trust). Then, with `C` concurrent workers that each
//! own one keep-alive HTTPS client (client certificate of the school
//! system, the dev CA as the only root; requests round-robin over the
//! nodes), it
//!
//! 1. registers `N` applications at `25LX` naming the vo school `07AB`
//!    (distinct BSNs that pass the 11-proef) — set-up, but measured too;
//! 2. records the students' inspections as `07AB`'s system;
//! 3. seals `N` packages as `07AB` would (`personal_data` ≈ 2 KiB and
//!    `remarks` ≈ 1 KiB of JSON, signed with 07AB's key, encrypted for
//!    25LX's key) — before any timing starts;
//! 4. **submit**: posts the packages (`POST /v1/packages`);
//! 5. **pull**: pulls them as 25LX's system acting for the intaker
//!    (`GET /v1/packages/{id}` with `X-On-Behalf-Of`);
//!
//! and prints, per phase, requests, errors, wall time, throughput, the
//! latency percentiles (HDR histogram, microsecond resolution) and what
//! the phase cost the broker: statements, transactions, commits and
//! batches per request (its `/metrics`), fsyncs per request (`--strace`)
//! and its peak RSS ([`probe`]). `--with-ceiling` (or `ceiling` alone)
//! first runs submit and pull against [`ceiling`], a minimal server doing
//! only the unavoidable work, and prints the broker's figures as a share of
//! it. It is a benchmark, not a test: it asserts nothing about speed. Every
//! loop is bounded by the number of packages and by `--time-limit`.
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
mod ceiling;
mod drive;
mod load;
mod login_flood;
mod nodes;
mod probe;
mod report;
mod workload;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Errors of the load generator: messages with their context.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Drives submit and pull of sealed packages over real TLS against a
/// broker (in a child process, or external with --target), and prints
/// throughput, latency percentiles and what each request cost the broker.
/// `audit-log` benchmarks appending to and verifying the audit log instead.
#[derive(Debug, Parser)]
#[command(name = "doorstroom-bench", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    load: load::Args,
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
    /// The stand-alone yardstick alone: TLS with client certificates, JSON,
    /// one ES256 verify and a group-committed SQLite write per request.
    Ceiling(load::Common),
    /// The broker end of `login-flood` (started by it).
    #[command(hide = true)]
    FloodTarget(login_flood::FloodTargetArgs),
    /// One broker node of the load mode (started by it).
    #[command(hide = true)]
    BrokerNode(nodes::BrokerNodeArgs),
    /// The ceiling's server (started by the load mode).
    #[command(hide = true)]
    CeilingNode(ceiling::CeilingNodeArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Some(Command::AuditLog(args)) => audit_log::run(args).await,
        Some(Command::LoginFlood(args)) => login_flood::run(args).await,
        Some(Command::Ceiling(args)) => load::run_ceiling_only(args).await,
        Some(Command::FloodTarget(args)) => login_flood::serve_target(args).await,
        Some(Command::BrokerNode(args)) => nodes::serve_broker_node(args).await,
        Some(Command::CeilingNode(args)) => ceiling::serve_ceiling_node(args).await,
        None => load::run(cli.load).await,
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
