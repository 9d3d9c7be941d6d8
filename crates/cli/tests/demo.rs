//! The whole demo in one command: `doorstroom serve --dev --desk` runs the
//! broker and 25LX's intake desk, the desk connected to the broker over
//! its HTTPS with the development PKI, as a separate desk would be. On
//! each backend, the real binary in a folder of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use doorstroom_store::testing::TestDb;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// Waits until `url` answers 200 and gives its body; fails if the demo
/// exited first.
async fn answered(child: &mut Killed, http: &reqwest::Client, url: &str, log: &Path) -> String {
    let started = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            panic!(
                "the demo exited ({status}):\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if let Ok(reply) = http.get(url).send().await
            && reply.status().is_success()
        {
            return reply.text().await.unwrap();
        }
        assert!(started.elapsed() < Duration::from_secs(90), "{url} did not answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn serve_dev_desk_runs_the_broker_and_the_desk() {
    for db in TestDb::all() {
        eprintln!("-- on {}", db.backend.name());
        let dir = tempfile::tempdir().unwrap();
        let (broker_port, desk_port) = (free_port(), free_port());
        let log = dir.path().join("demo.log");
        let child = Command::new(env!("CARGO_BIN_EXE_doorstroom"))
            .current_dir(dir.path())
            .args(["serve", "--dev", "--desk", "--desk-bind"])
            .arg(format!("127.0.0.1:{desk_port}"))
            .env("DOORSTROOM__DATABASE__URL", &db.url)
            .env("DOORSTROOM__SERVER__BIND", format!("127.0.0.1:{broker_port}"))
            .env("DOORSTROOM__RETENTION__PURGE_INTERVAL_SECS", "0")
            .env("DOORSTROOM__LOG__FILTER", "warn")
            .env_remove("DOORSTROOM_CONFIG")
            .stdout(std::fs::File::create(dir.path().join("stdout.log")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let mut child = Killed(child);
        // The development PKI is made before the broker starts.
        let ca_path = dir.path().join("certs/dev/ca.pem");
        let started = Instant::now();
        while !ca_path.exists() {
            assert!(started.elapsed() < Duration::from_secs(60), "no development CA");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let ca = std::fs::read(&ca_path).unwrap();
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
            .build()
            .unwrap();
        let health = answered(
            &mut child,
            &http,
            &format!("https://localhost:{broker_port}/healthz"),
            &log,
        )
        .await;
        assert!(health.contains("ok"), "{health}");
        let login = answered(&mut child, &http, &format!("https://localhost:{desk_port}/login"), &log).await;
        assert!(login.contains("name=\"totp\""), "the desk's login form: {login}");
        let said = std::fs::read_to_string(dir.path().join("stdout.log")).unwrap();
        assert!(
            said.contains(&format!("intake desk of 25LX on https://localhost:{desk_port}")),
            "{said}"
        );
    }
}
