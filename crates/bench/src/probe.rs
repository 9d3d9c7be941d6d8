//! What a phase costs the server, beside time: the store's counters from
//! each node's `/metrics` (statements, transactions, commits, batches),
//! fsyncs counted by `strace -c` attached to each child for the phase, and
//! each child's peak resident memory (`VmHWM`, reset at the phase's start).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::Client;

use crate::BoxError;

/// The store's counters, summed over the nodes (`doorstroom_store_*_total`).
pub use doorstroom_store::Counters;

/// The store's counters in a `/metrics` text; `None` when the store
/// exposes none.
pub fn parse_counters(text: &str) -> Option<Counters> {
    let values: BTreeMap<&str, u64> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(name, value)| Some((name, value.trim().parse::<f64>().ok()? as u64)))
        .collect();
    let get = |field: &str| values.get(format!("doorstroom_store_{field}_total").as_str()).copied();
    Some(Counters {
        statements: get("statements")?,
        prepares: get("prepares").unwrap_or(0),
        transactions: get("transactions").unwrap_or(0),
        commits: get("commits").unwrap_or(0),
        batches: get("batches").unwrap_or(0),
        batch_members: get("batch_members").unwrap_or(0),
    })
}

/// What one phase cost the servers.
#[derive(Debug, Clone, Default)]
pub struct Cost {
    /// Store counters during the phase, all nodes; `None` when a node
    /// exposes none.
    pub counters: Option<Counters>,
    /// fsync + fdatasync calls of the children during the phase (`--strace`).
    pub fsyncs: Option<u64>,
    /// The highest `VmHWM` of the children during the phase, in KiB; `None`
    /// for external targets.
    pub peak_rss_kib: Option<u64>,
}

/// Measures the servers of a run around each phase.
pub struct Probe {
    client: Client,
    urls: Vec<String>,
    pids: Vec<u32>,
    strace: bool,
    scratch: PathBuf,
}

/// A phase under way: the counters at its start, strace attached.
pub struct Started {
    counters: Option<Counters>,
    straces: Vec<Strace>,
}

impl Probe {
    /// `client` reaches every URL (`/metrics`); `pids` are the children;
    /// strace output goes to files in `scratch`.
    pub fn new(client: Client, urls: Vec<String>, pids: Vec<u32>, strace: bool, scratch: PathBuf) -> Probe {
        Probe {
            client,
            urls,
            pids,
            strace,
            scratch,
        }
    }

    pub async fn start(&self, phase: &str) -> Result<Started, BoxError> {
        for pid in &self.pids {
            reset_peak_rss(*pid);
        }
        let counters = self.counters().await?;
        let mut straces = Vec::new();
        if self.strace {
            for pid in &self.pids {
                let out = self.scratch.join(format!("strace-{phase}-{pid}.txt"));
                straces.push(Strace::attach(*pid, out).await?);
            }
        }
        Ok(Started { counters, straces })
    }

    pub async fn finish(&self, started: Started) -> Result<Cost, BoxError> {
        let mut fsyncs = None;
        for strace in started.straces {
            *fsyncs.get_or_insert(0) += strace.finish().await?;
        }
        let counters = match (self.counters().await?, started.counters) {
            (Some(after), Some(before)) => Some(after.since(&before)),
            _ => None,
        };
        let peak_rss_kib = self.pids.iter().filter_map(|pid| peak_rss_kib(*pid)).max();
        Ok(Cost {
            counters,
            fsyncs,
            peak_rss_kib,
        })
    }

    /// The counters of all nodes; `None` if one exposes none.
    async fn counters(&self) -> Result<Option<Counters>, BoxError> {
        let mut sum = Counters::default();
        for url in &self.urls {
            let response = self.client.get(format!("{url}/metrics")).send().await?;
            let text = response.error_for_status()?.text().await?;
            match parse_counters(&text) {
                Some(c) => sum = sum.plus(&c),
                None => return Ok(None),
            }
        }
        Ok(Some(sum))
    }
}

/// `VmHWM` of a process, in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Resets a process's `VmHWM` to its current RSS (`clear_refs` 5), so that
/// the next reading is the phase's peak. Where refused, the reading is the
/// peak since the process started.
fn reset_peak_rss(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// `strace -f -c -e trace=fsync,fdatasync` attached to a process.
struct Strace {
    child: Child,
    out: PathBuf,
}

impl Strace {
    /// Attaches, and returns once strace says it has attached.
    async fn attach(pid: u32, out: PathBuf) -> Result<Strace, BoxError> {
        let mut child = Command::new("strace")
            .args(["-f", "-c", "-e", "trace=fsync,fdatasync", "-o"])
            .arg(&out)
            .arg("-p")
            .arg(pid.to_string())
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting strace (is it installed?): {e}"))?;
        let stderr = child.stderr.take().ok_or("no stderr of strace")?;
        // The first line says it has attached; the rest is read to the end,
        // so that strace never writes into a closed pipe (and dies of it).
        let (said, heard) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::{BufRead, Read};
            let mut reader = std::io::BufReader::new(stderr);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = said.send(line);
            let _ = reader.read_to_end(&mut Vec::new());
        });
        let first = tokio::task::spawn_blocking(move || heard.recv().unwrap_or_default()).await?;
        if !first.contains("attached") {
            return Err(format!("strace did not attach to {pid}: {first}").into());
        }
        Ok(Strace { child, out })
    }

    /// Detaches (SIGINT, as Ctrl-C) and returns the count of fsync and
    /// fdatasync calls from strace's summary.
    async fn finish(self) -> Result<u64, BoxError> {
        let Strace { mut child, out } = self;
        Command::new("kill").args(["-INT", &child.id().to_string()]).status()?;
        let waited = tokio::time::timeout(
            Duration::from_secs(10),
            tokio::task::spawn_blocking(move || child.wait()),
        )
        .await;
        if !matches!(waited, Ok(Ok(Ok(_)))) {
            return Err("strace did not finish within 10 s".into());
        }
        let summary = std::fs::read_to_string(&out)?;
        Ok(syscall_calls(&summary, &["fsync", "fdatasync"]))
    }
}

/// The `calls` of the given syscalls in an `strace -c` summary.
pub fn syscall_calls(summary: &str, names: &[&str]) -> u64 {
    summary
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let name = fields.last()?;
            // % time, seconds, usecs/call, calls, [errors,] syscall
            names.contains(name).then(|| fields.get(3)?.parse::<u64>().ok())?
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_parse_from_metrics_text() {
        let text = "# HELP doorstroom_store_statements_total x\n\
                    # TYPE doorstroom_store_statements_total counter\n\
                    doorstroom_store_statements_total 31\n\
                    doorstroom_store_commits_total 4\n\
                    doorstroom_store_batches_total 3\n\
                    doorstroom_http_requests_total{route=\"/x\"} 9\n";
        let c = parse_counters(text);
        assert_eq!(
            c,
            Some(Counters {
                statements: 31,
                commits: 4,
                batches: 3,
                ..Counters::default()
            })
        );
        assert_eq!(parse_counters("doorstroom_http_requests_total 1\n"), None);
    }

    #[test]
    fn strace_summary_counts_fsync_and_fdatasync() {
        let summary = "% time     seconds  usecs/call     calls    errors syscall\n\
                       ------ ----------- ----------- --------- --------- ----------------\n \
                       81.81    0.001250          78        16           fsync\n \
                       18.19    0.000278          17         5         1 fdatasync\n\
                       ------ ----------- ----------- --------- --------- ----------------\n\
                       100.00    0.001528          47        21         1 total\n";
        assert_eq!(syscall_calls(summary, &["fsync", "fdatasync"]), 21);
        assert_eq!(syscall_calls(summary, &["fsync"]), 16);
    }
}
