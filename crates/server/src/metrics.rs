//! Prometheus metrics: requests and latencies by route pattern, method and
//! status, and the store's statement, transaction and commit counters.
//! Labels never carry identifiers or personal data.

use std::fmt::Write as _;

use doorstroom_store::{Counters, Store};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    anomalies: IntCounterVec,
    /// Webhook delivery attempts by result.
    webhooks: IntCounterVec,
    /// The store whose counters `/metrics` exposes, if any.
    store: Option<Store>,
}

/// The counters in the text exposition format, one counter family each
/// (`doorstroom_store_<field>_total`).
pub fn render_store_counters(counters: &Counters) -> String {
    let families = [
        (
            "statements",
            "SQL statements executed by the store",
            counters.statements,
        ),
        ("prepares", "SQL statements prepared by the store", counters.prepares),
        (
            "transactions",
            "Database transactions begun by the store",
            counters.transactions,
        ),
        (
            "commits",
            "Database transactions committed by the store",
            counters.commits,
        ),
        (
            "batches",
            "Group-commit batches committed by the store",
            counters.batches,
        ),
        (
            "batch_members",
            "Writers answered by group-commit batches",
            counters.batch_members,
        ),
    ];
    let mut out = String::new();
    for (field, help, value) in families {
        let name = format!("doorstroom_store_{field}_total");
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");
    }
    out
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "doorstroom_http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "doorstroom_http_request_duration_seconds",
                "HTTP request latency by route and method",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["route", "method"],
        )?;
        let anomalies = IntCounterVec::new(
            Opts::new(
                "doorstroom_anomaly_alerts_total",
                "Anomaly alerts written to the audit log, by kind",
            ),
            &["kind"],
        )?;
        registry.register(Box::new(anomalies.clone()))?;
        let webhooks = IntCounterVec::new(
            Opts::new(
                "doorstroom_webhook_attempts_total",
                "Webhook delivery attempts by result: delivered, failed (retried later), given_up",
            ),
            &["result"],
        )?;
        registry.register(Box::new(webhooks.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            anomalies,
            webhooks,
            store: None,
        })
    }

    /// The same, exposing `store`'s counters too.
    pub fn watching(self, store: Store) -> Self {
        Self {
            store: Some(store),
            ..self
        }
    }

    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.latency.with_label_values(&[route, method]).observe(seconds);
    }

    /// An anomaly alert of `kind` was written.
    pub fn anomaly(&self, kind: &str) {
        self.anomalies.with_label_values(&[kind]).inc();
    }

    /// The text exposition format.
    /// A webhook delivery attempt ended with `result`.
    pub fn webhook_attempt(&self, result: &str) {
        self.webhooks.with_label_values(&[result]).inc();
    }

    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        let encoder = TextEncoder::new();
        if encoder.encode(&self.registry.gather(), &mut buffer).is_err() {
            return String::new();
        }
        let mut text = String::from_utf8(buffer).unwrap_or_default();
        if let Some(store) = &self.store {
            text.push_str(&render_store_counters(&store.counters()));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_counters_render_as_counter_families() {
        let text = render_store_counters(&Counters {
            statements: 31,
            prepares: 2,
            transactions: 5,
            commits: 4,
            batches: 3,
            batch_members: 7,
        });
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                "doorstroom_store_statements_total 31",
                "doorstroom_store_prepares_total 2",
                "doorstroom_store_transactions_total 5",
                "doorstroom_store_commits_total 4",
                "doorstroom_store_batches_total 3",
                "doorstroom_store_batch_members_total 7",
            ]
        );
        assert!(text.contains("# TYPE doorstroom_store_commits_total counter\n"));
    }
}
