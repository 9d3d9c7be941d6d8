//! Driving the broker: `C` workers (tokio tasks), each with its own
//! keep-alive HTTPS client, take the next request from a shared counter
//! until all `N` are done or the phase's time limit has passed, and record
//! each request's latency (send to last body byte) in an HDR histogram.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use doorstroom_devkit::pki;
use hdrhistogram::Histogram;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Certificate, Client, Identity, RequestBuilder, StatusCode};

use crate::BoxError;
use crate::probe::Cost;

/// How long one request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a client keeps an idle connection: less than the 5 s after
/// which actix-web (the broker and the ceiling) closes an idle keep-alive
/// connection. A request sent on a connection the server is closing fails
/// ("error sending request"; a POST is not retried), which is what a run
/// with two nodes once counted as two errors: the vo's connections sat
/// idle for the whole register phase. Phases warm their connections up
/// again just before they start ([`Target::warm_up`]).
const IDLE_CONNECTION_KEPT: Duration = Duration::from_secs(4);
/// Highest latency the histograms track (microseconds): one hour.
const HISTOGRAM_MAX_US: u64 = 3_600_000_000;

/// The school system of one institution: one client per worker, talking
/// to every node (one keep-alive connection per node).
pub struct Target {
    base_urls: Vec<String>,
    clients: Vec<Client>,
}

impl Target {
    /// `concurrency` clients with the client certificate of `brin`'s school
    /// system from the development PKI in `dev_dir` and its CA as the only
    /// root. Requests go round-robin over `base_urls`; `localhost` is
    /// pinned to 127.0.0.1.
    pub fn new(base_urls: &[String], dev_dir: &Path, brin: &str, concurrency: usize) -> Result<Target, BoxError> {
        let ca_path = dev_dir.join(pki::CA_CERT_FILE);
        let ca_pem = std::fs::read(&ca_path).map_err(|e| format!("reading {}: {e}", ca_path.display()))?;
        let inst = dev_dir.join(brin);
        let cert = std::fs::read(inst.join(pki::CLIENT_CERT_FILE)).map_err(|e| format!("{brin} client.pem: {e}"))?;
        let key = std::fs::read(inst.join(pki::CLIENT_KEY_FILE)).map_err(|e| format!("{brin} client.key: {e}"))?;
        let mut identity_pem = cert;
        identity_pem.push(b'\n');
        identity_pem.extend_from_slice(&key);
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let clients = (0..concurrency)
            .map(|_| {
                Client::builder()
                    .use_rustls_tls()
                    .tls_built_in_root_certs(false)
                    .add_root_certificate(Certificate::from_pem(&ca_pem)?)
                    .identity(Identity::from_pem(&identity_pem)?)
                    .resolve("localhost", loopback)
                    .no_proxy()
                    .pool_max_idle_per_host(1)
                    .pool_idle_timeout(IDLE_CONNECTION_KEPT)
                    .timeout(REQUEST_TIMEOUT)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("building the HTTPS clients of {brin}: {e}"))?;
        Ok(Target {
            base_urls: base_urls.iter().map(|u| u.trim_end_matches('/').to_owned()).collect(),
            clients,
        })
    }

    /// One client, for requests outside the measured phases.
    pub fn client(&self) -> Option<&Client> {
        self.clients.first()
    }

    /// One `GET /healthz` per client and node, so that every worker's TLS
    /// handshakes are done before a measured phase: called just before
    /// each, since a connection idle longer than [`IDLE_CONNECTION_KEPT`]
    /// (sealing the packages takes seconds) is gone by then.
    pub async fn warm_up(&self) -> Result<(), BoxError> {
        for client in &self.clients {
            for base in &self.base_urls {
                let response = client
                    .get(format!("{base}/healthz"))
                    .send()
                    .await
                    .map_err(|e| format!("warm-up request to {base}: {e}"))?;
                let status = response.status();
                response.bytes().await.map_err(|e| format!("warm-up response: {e}"))?;
                if !status.is_success() {
                    return Err(format!("warm-up: GET {base}/healthz answered {status}").into());
                }
            }
        }
        Ok(())
    }

    /// The staff id of the mbo's intaker the school system acts for:
    /// `bench.intaker` if there is one, else the first active intaker.
    pub async fn intaker_id(&self, brin: &str) -> Result<String, BoxError> {
        let (client, base) = self.clients.first().zip(self.base_urls.first()).ok_or("no client")?;
        let response = client
            .get(format!("{base}/v1/institutions/{brin}/intakers"))
            .send()
            .await?
            .error_for_status()?;
        let intakers: Vec<serde_json::Value> = response.json().await?;
        let chosen = intakers
            .iter()
            .find(|i| i["username"] == crate::broker::INTAKER)
            .or_else(|| intakers.first())
            .ok_or_else(|| format!("{brin} has no active intaker to act for"))?;
        Ok(chosen["id"].as_str().ok_or("intaker without id")?.to_owned())
    }
}

/// What one phase measured.
pub struct PhaseResult {
    pub name: &'static str,
    /// Requests sent (at most `N`; fewer if the time limit struck).
    pub requests: usize,
    /// Requests that failed: transport error, timeout or an unexpected status.
    pub errors: usize,
    pub wall: Duration,
    /// Latencies in microseconds.
    pub histogram: Histogram<u64>,
    /// The first failure, for the report.
    pub first_error: Option<String>,
    /// What the phase cost the servers (filled in by the caller).
    pub cost: Cost,
}

impl PhaseResult {
    /// Requests per second over the phase's wall time.
    pub fn throughput(&self) -> f64 {
        let secs = self.wall.as_secs_f64();
        if secs > 0.0 { self.requests as f64 / secs } else { 0.0 }
    }
}

/// One worker's tally.
struct Tally {
    requests: usize,
    errors: usize,
    histogram: Histogram<u64>,
    first_error: Option<String>,
}

fn new_histogram() -> Result<Histogram<u64>, BoxError> {
    Ok(Histogram::new_with_bounds(1, HISTOGRAM_MAX_US, 3).map_err(|e| format!("histogram: {e}"))?)
}

/// Runs one phase of `n` requests over the target's clients. `request`
/// builds request `i`; `check` judges its response (`Err` counts as an error).
async fn drive<R, C>(
    name: &'static str,
    target: &Target,
    n: usize,
    time_limit: Duration,
    request: R,
    check: C,
) -> Result<PhaseResult, BoxError>
where
    R: Fn(&Client, &str, usize) -> RequestBuilder + Send + Sync + 'static,
    C: Fn(usize, StatusCode, &[u8]) -> Result<(), String> + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let check = Arc::new(check);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + time_limit;
    let mut tasks = Vec::with_capacity(target.clients.len());
    for client in &target.clients {
        let (client, base_urls) = (client.clone(), target.base_urls.clone());
        let (request, check, next) = (request.clone(), check.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally {
                requests: 0,
                errors: 0,
                histogram: new_histogram()?,
                first_error: None,
            };
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n || Instant::now() >= deadline {
                    break;
                }
                let base_url = base_urls.get(i % base_urls.len().max(1)).map_or("", String::as_str);
                let sent = Instant::now();
                let outcome =
                    send_and_check(request(&client, base_url, i), |status, body| check(i, status, body)).await;
                let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                tally.histogram.saturating_record(micros.max(1));
                tally.requests += 1;
                if let Err(e) = outcome {
                    tally.errors += 1;
                    tally.first_error.get_or_insert(e);
                }
            }
            Ok::<_, BoxError>(tally)
        }));
    }

    collect(name, started, tasks).await
}

/// Sends one request and judges its response with `check`.
async fn send_and_check(
    builder: RequestBuilder,
    check: impl FnOnce(StatusCode, &[u8]) -> Result<(), String>,
) -> Result<(), String> {
    match builder.send().await {
        Ok(response) => {
            let status = response.status();
            match response.bytes().await {
                Ok(body) => check(status, &body),
                Err(e) => Err(format!("reading the response: {e}")),
            }
        }
        Err(e) => Err(format!("request failed: {e}")),
    }
}

/// The phase's result from its workers' tallies; a worker that failed
/// counts as one error.
async fn collect(
    name: &'static str,
    started: Instant,
    tasks: Vec<tokio::task::JoinHandle<Result<Tally, BoxError>>>,
) -> Result<PhaseResult, BoxError> {
    let mut result = PhaseResult {
        name,
        requests: 0,
        errors: 0,
        wall: Duration::ZERO,
        histogram: new_histogram()?,
        first_error: None,
        cost: Cost::default(),
    };
    let mut failures = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Ok(tally)) => {
                result.requests += tally.requests;
                result.errors += tally.errors;
                if let Err(e) = result.histogram.add(&tally.histogram) {
                    failures.push(format!("merging histograms: {e}"));
                }
                if result.first_error.is_none() {
                    result.first_error = tally.first_error;
                }
            }
            Ok(Err(e)) => failures.push(e.to_string()),
            Err(e) => failures.push(format!("worker task: {e}")),
        }
    }
    result.wall = started.elapsed();
    if let Some(failure) = failures.into_iter().next() {
        result.first_error.get_or_insert(failure);
        result.errors += 1;
    }
    Ok(result)
}

fn expect(expected: StatusCode, status: StatusCode, body: &[u8]) -> Result<(), String> {
    if status == expected {
        Ok(())
    } else {
        let snippet: String = String::from_utf8_lossy(body).chars().take(300).collect();
        Err(format!("{status} (expected {expected}): {snippet}"))
    }
}

/// Registers one application per student as the mbo's system. Returns the
/// phase and the application ids, in student order (only if all succeeded).
pub async fn register(
    target: &Target,
    students: &[String],
    time_limit: Duration,
) -> Result<(PhaseResult, Vec<String>), BoxError> {
    let n = students.len();
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(students.iter().map(|s| crate::workload::application_body(s)).collect());
    let ids: Arc<Mutex<Vec<Option<String>>>> = Arc::new(Mutex::new(vec![None; n]));
    let sink = ids.clone();
    let phase = drive(
        "register",
        target,
        n,
        time_limit,
        move |client, base, i| {
            client
                .post(format!("{base}/v1/applications"))
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(bodies.get(i).cloned().unwrap_or_default())
        },
        move |i, status, body| {
            expect(StatusCode::CREATED, status, body)?;
            let view: serde_json::Value =
                serde_json::from_slice(body).map_err(|e| format!("application response: {e}"))?;
            let id = view["id"].as_str().ok_or("application response without id")?.to_owned();
            let mut ids = sink.lock().map_err(|_| "application id list poisoned")?;
            if let Some(slot) = ids.get_mut(i) {
                *slot = Some(id);
            }
            Ok(())
        },
    )
    .await?;
    let ids = ids
        .lock()
        .map(|ids| ids.iter().flatten().cloned().collect())
        .unwrap_or_default();
    Ok((phase, ids))
}

/// Records the students' inspection of their dossiers as the vo's system
/// (a package waits for it by default).
pub async fn inspect(target: &Target, students: &[String], time_limit: Duration) -> Result<PhaseResult, BoxError> {
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(students.iter().map(|s| crate::workload::inspection_body(s)).collect());
    drive(
        "inspect",
        target,
        students.len(),
        time_limit,
        move |client, base, i| {
            client
                .post(format!("{base}/v1/inspections"))
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(bodies.get(i).cloned().unwrap_or_default())
        },
        |_, status, body| expect(StatusCode::CREATED, status, body),
    )
    .await
}

/// Submits the sealed packages as the vo's system.
pub async fn submit(
    target: &Target,
    packages: Vec<crate::workload::SealedPackage>,
    time_limit: Duration,
) -> Result<PhaseResult, BoxError> {
    let n = packages.len();
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(packages.into_iter().map(|p| p.body).collect());
    drive(
        "submit",
        target,
        n,
        time_limit,
        move |client, base, i| {
            client
                .post(format!("{base}/v1/packages"))
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(bodies.get(i).cloned().unwrap_or_default())
        },
        |_, status, body| expect(StatusCode::CREATED, status, body),
    )
    .await
}

/// Pulls the packages as the mbo's system acting for the intaker.
pub async fn pull(
    target: &Target,
    package_ids: Vec<String>,
    intaker: String,
    time_limit: Duration,
) -> Result<PhaseResult, BoxError> {
    let n = package_ids.len();
    drive(
        "pull",
        target,
        n,
        time_limit,
        move |client, base, i| {
            let id = package_ids.get(i).map(String::as_str).unwrap_or_default();
            client
                .get(format!("{base}/v1/packages/{id}"))
                .header("X-On-Behalf-Of", intaker.as_str())
        },
        |_, status, body| {
            expect(StatusCode::OK, status, body)?;
            let pulled: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("pull response: {e}"))?;
            match pulled["sections"].as_object().map(serde_json::Map::len) {
                Some(2) => Ok(()),
                other => Err(format!("pull released {other:?} sections, expected 2")),
            }
        },
    )
    .await
}
