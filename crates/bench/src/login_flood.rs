//! `doorstroom-bench login-flood`: the broker's memory under a flood of
//! anonymous logins.
//!
//! Every login costs an argon2id check of 19 MiB; unbounded, a flood holds
//! that much per request at once and the allocator keeps it. This mode
//! measures what the bound (`auth.max_concurrent_password_checks`) leaves:
//! it starts the broker in a child process (this same binary, subcommand
//! `flood-target`, SQLite in a fresh temporary directory), so that the
//! memory read is the broker's alone and not the load generator's, reads
//! the child's `VmRSS` and `VmHWM` from `/proc/<pid>/status` while idle,
//! then sends rounds of `C` concurrent logins of unknown users (each over
//! its own fresh TLS connection, as independent clients would), sampling
//! `VmRSS` every 20 ms, and reads both again after each level and once
//! the flood has settled. The client address's failure limit is raised in
//! the child so that the flood reaches the password checks instead of
//! being refused as rate-limited. It measures; it asserts nothing.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::task::JoinSet;

use crate::BoxError;
use crate::broker::{Broker, DatabaseChoice};
use crate::report::Machine;

/// The login flood.
#[derive(Debug, clap::Args)]
pub struct LoginFloodArgs {
    /// Concurrent logins per round, one level after the other (comma-separated).
    #[arg(short = 'c', long = "concurrency", value_delimiter = ',', default_values_t = [40u32, 200])]
    concurrency: Vec<u32>,
    /// Rounds per level.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    rounds: u32,
    /// Worker threads of the broker (actix workers).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=256))]
    workers: u32,
    /// The broker's `auth.max_concurrent_password_checks` (0: one per core).
    #[arg(long, default_value_t = 0)]
    password_checks: usize,
    /// Also print a machine-readable summary (one JSON object on the last line).
    #[arg(long)]
    json: bool,
}

/// The broker end of the flood (started by `login-flood`, not by hand).
#[derive(Debug, clap::Args)]
pub struct FloodTargetArgs {
    #[arg(long)]
    workers: u32,
    #[arg(long)]
    password_checks: usize,
}

/// Runs the broker until its standard input closes; announces its port and
/// CA file on standard output first.
pub async fn serve_target(args: FloodTargetArgs) -> Result<bool, BoxError> {
    doorstroom_server::tls::install_default_provider();
    let checks = args.password_checks;
    let broker = Broker::start_with(DatabaseChoice::Sqlite, args.workers, 8, move |s| {
        s.auth.max_concurrent_password_checks = checks;
        s.auth.max_failures_per_address = i64::MAX;
        s.log.filter = "error".into();
    })
    .await?;
    println!("ready {} {}", broker.port(), broker.ca_path().display());
    // Until the parent closes the pipe (or dies).
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await?;
    broker.stop().await;
    Ok(true)
}

/// Memory of a process, from `/proc/<pid>/status`, in KiB.
#[derive(Debug, Clone, Copy)]
struct Memory {
    rss_kib: u64,
    hwm_kib: u64,
}

fn memory_of(pid: u32) -> Result<Memory, BoxError> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = |key: &str| -> Result<u64, BoxError> {
        let line = status
            .lines()
            .find(|l| l.starts_with(key))
            .ok_or_else(|| format!("{key} missing from /proc/{pid}/status"))?;
        Ok(line
            .trim_start_matches(key)
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()?)
    };
    Ok(Memory {
        rss_kib: kib("VmRSS:")?,
        hwm_kib: kib("VmHWM:")?,
    })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// One level of the flood, measured.
struct Level {
    concurrency: u32,
    logins: usize,
    statuses: std::collections::BTreeMap<u16, usize>,
    errors: usize,
    wall: Duration,
    peak_rss_kib: u64,
    after: Memory,
}

/// The child broker; killed if the parent leaves early.
struct Target {
    child: Child,
}

impl Drop for Target {
    fn drop(&mut self) {
        // Closing stdin asks it to stop; if it is still there, end it.
        drop(self.child.stdin.take());
        std::thread::sleep(Duration::from_millis(500));
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

pub async fn run(args: LoginFloodArgs) -> Result<bool, BoxError> {
    doorstroom_server::tls::install_default_provider();
    let machine = Machine::detect();
    let (target, pid, port, ca_path) = start_target(&args).await?;
    let base_url = format!("https://localhost:{port}");
    let ca_pem = std::fs::read(ca_path)?;

    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = memory_of(pid)?;
    eprintln!(
        "idle broker: VmRSS {:.1} MiB, VmHWM {:.1} MiB",
        mib(idle.rss_kib),
        mib(idle.hwm_kib)
    );

    let mut levels = Vec::new();
    for &concurrency in &args.concurrency {
        eprintln!("flood: {} rounds of {concurrency} concurrent logins ...", args.rounds);
        levels.push(flood(pid, &base_url, &ca_pem, concurrency, args.rounds).await?);
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let settled = memory_of(pid)?;
    drop(target);

    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    print_text(&machine, &args, profile, &idle, &levels, &settled);
    if args.json {
        print_json(&machine, &args, profile, &idle, &levels, &settled);
    }
    Ok(levels.iter().all(|l| l.errors == 0))
}

/// Starts the broker in a child process (`flood-target`) and waits for
/// its `ready <port> <ca path>` line.
async fn start_target(args: &LoginFloodArgs) -> Result<(Target, u32, String, String), BoxError> {
    let exe = std::env::current_exe()?;
    eprintln!("starting the broker in a child process ...");
    let mut child = Command::new(exe)
        .arg("flood-target")
        .arg("--workers")
        .arg(args.workers.to_string())
        .arg("--password-checks")
        .arg(args.password_checks.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let pid = child.id();
    let stdout = child.stdout.take().ok_or("no stdout of the child")?;
    let target = Target { child };
    let ready = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await??;
    let mut words = ready.split_whitespace();
    let (Some("ready"), Some(port), Some(ca_path)) = (words.next(), words.next(), words.next()) else {
        return Err(format!("the broker did not start: {ready:?}").into());
    };
    Ok((target, pid, port.to_owned(), ca_path.to_owned()))
}

/// The table of the flood, for a reader.
fn print_text(
    machine: &Machine,
    args: &LoginFloodArgs,
    profile: &str,
    idle: &Memory,
    levels: &[Level],
    settled: &Memory,
) {
    println!(
        "machine: {} CPUs ({}), {} MiB, {}",
        machine.cpus,
        machine.cpu_model,
        machine.memory_mib.map_or("?".into(), |m| m.to_string()),
        machine.os
    );
    println!(
        "broker: SQLite, {} workers, max_concurrent_password_checks = {}, {profile} build",
        args.workers,
        if args.password_checks == 0 {
            format!("0 (= {} cores)", machine.cpus)
        } else {
            args.password_checks.to_string()
        }
    );
    println!(
        "idle: VmRSS {:.1} MiB, VmHWM {:.1} MiB",
        mib(idle.rss_kib),
        mib(idle.hwm_kib)
    );
    println!(
        "{:>11} {:>7} {:>9} {:>24} {:>14} {:>14} {:>14}",
        "concurrency", "logins", "wall s", "statuses", "peak RSS MiB", "VmHWM MiB", "after RSS MiB"
    );
    for l in levels {
        let statuses = l
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}:{n}"))
            .chain((l.errors > 0).then(|| format!("err:{}", l.errors)))
            .collect::<Vec<_>>()
            .join(" ");
        println!(
            "{:>11} {:>7} {:>9.2} {:>24} {:>14.1} {:>14.1} {:>14.1}",
            l.concurrency,
            l.logins,
            l.wall.as_secs_f64(),
            statuses,
            mib(l.peak_rss_kib),
            mib(l.after.hwm_kib),
            mib(l.after.rss_kib)
        );
    }
    println!(
        "settled (5 s after the flood): VmRSS {:.1} MiB, VmHWM {:.1} MiB",
        mib(settled.rss_kib),
        mib(settled.hwm_kib)
    );
}

/// The same figures as one JSON document, for a script.
fn print_json(
    machine: &Machine,
    args: &LoginFloodArgs,
    profile: &str,
    idle: &Memory,
    levels: &[Level],
    settled: &Memory,
) {
    let levels: Vec<_> = levels
            .iter()
            .map(|l| {
                json!({
                    "concurrency": l.concurrency,
                    "logins": l.logins,
                    "wall_secs": l.wall.as_secs_f64(),
                    "statuses": l.statuses.iter().map(|(s, n)| (s.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
                    "errors": l.errors,
                    "peak_rss_kib": l.peak_rss_kib,
                    "hwm_kib": l.after.hwm_kib,
                    "rss_after_kib": l.after.rss_kib,
                })
            })
            .collect();
    println!(
        "{}",
        json!({
            "mode": "login-flood",
            "cpus": machine.cpus,
            "memory_mib": machine.memory_mib,
            "profile": profile,
            "workers": args.workers,
            "password_checks": args.password_checks,
            "idle": {"rss_kib": idle.rss_kib, "hwm_kib": idle.hwm_kib},
            "levels": levels,
            "settled": {"rss_kib": settled.rss_kib, "hwm_kib": settled.hwm_kib},
        })
    );
}

/// `rounds` rounds of `concurrency` concurrent logins, while sampling the
/// broker's RSS.
async fn flood(pid: u32, base_url: &str, ca_pem: &[u8], concurrency: u32, rounds: u32) -> Result<Level, BoxError> {
    let peak = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (Arc::clone(&peak), Arc::clone(&sampling));
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                if let Ok(m) = memory_of(pid) {
                    peak.fetch_max(m.rss_kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let started = Instant::now();
    let mut statuses = std::collections::BTreeMap::new();
    let mut errors = 0;
    let mut logins = 0;
    for round in 0..rounds {
        let mut running = JoinSet::new();
        for n in 0..concurrency {
            let http = reqwest::Client::builder()
                .use_rustls_tls()
                .tls_built_in_root_certs(false)
                .add_root_certificate(reqwest::Certificate::from_pem(ca_pem)?)
                .https_only(true)
                .build()?;
            let url = format!("{base_url}/v1/auth/login");
            let body = json!({
                "username": format!("flood.{concurrency}.{round}.{n}"),
                "password": "not the password at all",
                "totp": "000000",
            });
            running.spawn(async move { http.post(url).json(&body).send().await.map(|r| r.status().as_u16()) });
        }
        while let Some(done) = running.join_next().await {
            logins += 1;
            match done {
                Ok(Ok(status)) => *statuses.entry(status).or_insert(0) += 1,
                _ => errors += 1,
            }
        }
    }
    let wall = started.elapsed();
    sampling.store(false, Ordering::Relaxed);
    sampler.await?;
    let after = memory_of(pid)?;
    Ok(Level {
        concurrency,
        logins,
        statuses,
        errors,
        wall,
        peak_rss_kib: peak.load(Ordering::Relaxed).max(after.rss_kib),
        after,
    })
}
