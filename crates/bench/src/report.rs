//! The report: the machine, the settings and one line per phase, as text
//! and (with `--json`) as one JSON object.

use serde_json::{Value, json};

use crate::drive::PhaseResult;

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
    pub backend: &'static str,
    pub broker_workers: u32,
    pub db_pool: u32,
    pub profile: &'static str,
    pub time_limit_secs: u64,
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

pub fn print_text(machine: &Machine, settings: &Settings, package_bytes: usize, phases: &[PhaseResult]) {
    println!();
    println!("doorstroom-bench {}", env!("CARGO_PKG_VERSION"));
    println!("{}", machine_line(machine));
    println!(
        "settings: N={} packages, C={} clients, backend={}, broker workers={}, db pool={}, profile={}",
        settings.packages,
        settings.concurrency,
        settings.backend,
        settings.broker_workers,
        settings.db_pool,
        settings.profile
    );
    println!(
        "package:  personal_data ~2 KiB + remarks ~1 KiB JSON, ES256 + ECDH-ES+A256KW/A256GCM; \
         mean submission body {package_bytes} bytes"
    );
    println!("transport: HTTPS (rustls both sides, client certificates) over loopback, HTTP/1.1 keep-alive,");
    println!("           one connection per client, handshakes done before timing; broker and load in one process");
    println!();
    println!(
        "{:<9} {:>8} {:>6} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8}",
        "phase", "requests", "errors", "wall s", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms"
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

pub fn json(machine: &Machine, settings: &Settings, package_bytes: usize, phases: &[PhaseResult]) -> Value {
    json!({
        "machine": machine_json(machine),
        "settings": {
            "packages": settings.packages,
            "concurrency": settings.concurrency,
            "backend": settings.backend,
            "broker_workers": settings.broker_workers,
            "db_pool": settings.db_pool,
            "profile": settings.profile,
            "time_limit_secs": settings.time_limit_secs,
            "mean_submission_bytes": package_bytes,
        },
        "phases": phases.iter().map(|p| {
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
                "first_error": p.first_error,
            })
        }).collect::<Vec<_>>(),
    })
}
