//! The report: the machine, the settings and one line per phase, as text
//! and (with `--json`) as one JSON object.

use serde_json::{Value, json};

use crate::drive::PhaseResult;
use crate::probe::Counters;

/// The machine the benchmark ran on.
pub struct Machine {
    /// Logical CPUs available to this process (what `nproc` prints).
    pub cpus: usize,
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// `MemTotal` from /proc/meminfo, in MiB.
    pub memory_mib: Option<u64>,
    pub os: String,
}

impl Machine {
    pub fn detect() -> Machine {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_mib = field(&meminfo, "MemTotal").and_then(|v| {
            v.trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
                .map(|kib| kib / 1024)
        });
        let os = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|r| format!("{} {}", std::env::consts::OS, r.trim()))
            .unwrap_or_else(|_| std::env::consts::OS.to_owned());
        Machine {
            cpus,
            cpu_model,
            memory_mib,
            os,
        }
    }
}

/// The value of the first `key : value` line of a /proc file.
fn field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_owned())
    })
}

/// How the benchmark was run.
pub struct Settings {
    pub packages: usize,
    pub concurrency: usize,
    /// `sqlite`, `postgresql`, `external` or the ceiling's.
    pub backend: &'static str,
    /// External targets (empty: brokers started here).
    pub targets: Vec<String>,
    pub nodes: u32,
    pub broker_workers: u32,
    pub db_pool: u32,
    pub profile: &'static str,
    pub time_limit_secs: u64,
    pub strace: bool,
}

/// Everything a run measured.
pub struct Report {
    pub machine: Machine,
    pub settings: Settings,
    /// Mean submission body of the broker's phases, in bytes.
    pub package_bytes: usize,
    /// The broker's phases (empty for the ceiling alone).
    pub phases: Vec<PhaseResult>,
    /// The ceiling's submit and pull, if it ran.
    pub ceiling: Option<Vec<PhaseResult>>,
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// The `machine:` line of the text reports.
pub fn machine_line(machine: &Machine) -> String {
    let memory = machine
        .memory_mib
        .map_or_else(|| "unknown".to_owned(), |m| format!("{:.1} GiB", m as f64 / 1024.0));
    format!(
        "machine:  {} CPUs (nproc), {}, {} memory, {}",
        machine.cpus, machine.cpu_model, memory, machine.os
    )
}

/// The `machine` member of the JSON summaries.
pub fn machine_json(machine: &Machine) -> Value {
    json!({
        "cpus": machine.cpus,
        "cpu_model": machine.cpu_model,
        "memory_mib": machine.memory_mib,
        "os": machine.os,
    })
}

pub fn print_text(report: &Report) {
    let settings = &report.settings;
    println!();
    println!("doorstroom-bench {}", env!("CARGO_PKG_VERSION"));
    println!("{}", machine_line(&report.machine));
    let servers = if settings.targets.is_empty() {
        format!(
            "{} node(s) in child processes, {} workers each, db pool {}",
            settings.nodes, settings.broker_workers, settings.db_pool
        )
    } else {
        format!("external: {}", settings.targets.join(", "))
    };
    println!(
        "settings: N={} packages, C={} clients, backend={}, {servers}, profile={}",
        settings.packages, settings.concurrency, settings.backend, settings.profile
    );
    println!(
        "package:  personal_data ~2 KiB + remarks ~1 KiB JSON, ES256 + ECDH-ES+A256KW/A256GCM; \
         mean submission body {} bytes",
        report.package_bytes
    );
    println!("transport: HTTPS (rustls both sides, client certificates) over loopback, HTTP/1.1 keep-alive,");
    println!("           one connection per client and node, handshakes done before timing");
    if let Some(ceiling) = &report.ceiling {
        print_phases("ceiling", ceiling, settings);
    }
    if !report.phases.is_empty() {
        print_phases("broker", &report.phases, settings);
    }
    if let Some(ceiling) = &report.ceiling {
        print_ratios(&report.phases, ceiling);
    }
    print_notes(settings);
}

fn print_phases(title: &str, phases: &[PhaseResult], settings: &Settings) {
    println!();
    println!(
        "{title:<9} {:>8} {:>6} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8}",
        "requests", "errors", "wall s", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for p in phases {
        let h = &p.histogram;
        println!(
            "{:<9} {:>8} {:>6} {:>8.2} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            p.name,
            p.requests,
            p.errors,
            p.wall.as_secs_f64(),
            p.throughput(),
            ms(h.value_at_quantile(0.50)),
            ms(h.value_at_quantile(0.95)),
            ms(h.value_at_quantile(0.99)),
            ms(h.max()),
        );
    }
    println!(
        "{:<9} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9} {:>13}",
        "per req", "stmts", "prepares", "txs", "commits", "batches", "req/batch", "fsyncs", "peak RSS MiB"
    );
    for p in phases {
        let c = p.cost.counters;
        let per = |f: fn(&Counters) -> u64| c.map_or("-".into(), |c| per_request(f(&c), p.requests));
        let per_batch = c.filter(|c| c.batches > 0).map_or("-".into(), |c| {
            format!("{:.1}", c.batch_members as f64 / c.batches as f64)
        });
        let fsyncs = p.cost.fsyncs.map_or("-".into(), |f| per_request(f, p.requests));
        let rss = p
            .cost
            .peak_rss_kib
            .map_or("not measured".into(), |k| format!("{:.1}", k as f64 / 1024.0));
        println!(
            "{:<9} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9} {:>13}",
            p.name,
            per(|c| c.statements),
            per(|c| c.prepares),
            per(|c| c.transactions),
            per(|c| c.commits),
            per(|c| c.batches),
            per_batch,
            fsyncs,
            rss
        );
    }
    for p in phases {
        if p.requests < settings.packages {
            println!(
                "{}: stopped at the time limit of {} s after {} of {} requests",
                p.name, settings.time_limit_secs, p.requests, settings.packages
            );
        }
        if let Some(e) = &p.first_error {
            println!("{}: first error: {e}", p.name);
        }
    }
}

fn per_request(count: u64, requests: usize) -> String {
    if requests == 0 {
        "-".into()
    } else {
        format!("{:.2}", count as f64 / requests as f64)
    }
}

/// The broker's submit and pull as a share of the ceiling's.
fn print_ratios(broker: &[PhaseResult], ceiling: &[PhaseResult]) {
    println!();
    for c in ceiling {
        let Some(b) = broker.iter().find(|b| b.name == c.name) else {
            continue;
        };
        println!(
            "{:<9} broker {:.0} req/s = {:.1} % of the ceiling's {:.0} req/s; p99 {:.2} ms (ceiling {:.2} ms)",
            c.name,
            b.throughput(),
            ratio(b, c) * 100.0,
            c.throughput(),
            ms(b.histogram.value_at_quantile(0.99)),
            ms(c.histogram.value_at_quantile(0.99)),
        );
    }
}

fn ratio(broker: &PhaseResult, ceiling: &PhaseResult) -> f64 {
    let c = ceiling.throughput();
    if c > 0.0 { broker.throughput() / c } else { 0.0 }
}

fn print_notes(settings: &Settings) {
    println!();
    println!("per req: the server's store counters during the phase (its /metrics) divided by the requests:");
    println!("         statements (BEGIN/COMMIT/SAVEPOINT included), statements prepared, transactions begun and");
    println!("         committed (reads included), group-commit batches; req/batch: writes answered per batch");
    if !settings.targets.is_empty() {
        println!("fsyncs and peak RSS: not measured for external targets (no process of ours to look into)");
    } else if settings.strace {
        println!("fsyncs:  fsync + fdatasync calls of the server processes (strace -f -c) per request");
    } else {
        println!("fsyncs:  not counted (--strace counts them); on SQLite each write batch is one commit and one");
        println!("         fsync of the WAL, so fsyncs = batches + WAL checkpoints");
    }
    println!("peak RSS: the highest VmHWM of any server process during the phase (reset at its start)");
}

fn cost_json(p: &PhaseResult) -> Value {
    let c = p.cost.counters;
    json!({
        "counters": c.map(|c| json!({
            "statements": c.statements,
            "prepares": c.prepares,
            "transactions": c.transactions,
            "commits": c.commits,
            "batches": c.batches,
            "batch_members": c.batch_members,
        })),
        "fsyncs": p.cost.fsyncs,
        "peak_rss_kib": p.cost.peak_rss_kib,
    })
}

fn phases_json(phases: &[PhaseResult]) -> Vec<Value> {
    phases
        .iter()
        .map(|p| {
            let h = &p.histogram;
            json!({
                "phase": p.name,
                "requests": p.requests,
                "errors": p.errors,
                "wall_secs": p.wall.as_secs_f64(),
                "throughput_rps": p.throughput(),
                "latency_ms": {
                    "p50": ms(h.value_at_quantile(0.50)),
                    "p95": ms(h.value_at_quantile(0.95)),
                    "p99": ms(h.value_at_quantile(0.99)),
                    "max": ms(h.max()),
                    "mean": h.mean() / 1000.0,
                },
                "cost": cost_json(p),
                "first_error": p.first_error,
            })
        })
        .collect()
}

pub fn json(report: &Report) -> Value {
    let settings = &report.settings;
    let ratios: Option<Value> = report.ceiling.as_ref().map(|ceiling| {
        ceiling
            .iter()
            .filter_map(|c| {
                let b = report.phases.iter().find(|b| b.name == c.name)?;
                Some((c.name.to_owned(), json!(ratio(b, c))))
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    });
    json!({
        "machine": machine_json(&report.machine),
        "settings": {
            "packages": settings.packages,
            "concurrency": settings.concurrency,
            "backend": settings.backend,
            "targets": settings.targets,
            "nodes": settings.nodes,
            "broker_workers": settings.broker_workers,
            "db_pool": settings.db_pool,
            "profile": settings.profile,
            "time_limit_secs": settings.time_limit_secs,
            "strace": settings.strace,
            "mean_submission_bytes": report.package_bytes,
        },
        "phases": phases_json(&report.phases),
        "ceiling": report.ceiling.as_deref().map(phases_json),
        "share_of_ceiling": ratios,
    })
}
