//! SQLite on a full file system (issue 11, "an outage is mistaken for an
//! attack"): the database lives on a small tmpfs of the test's own, which
//! the test fills. Writes then answer 503 problem+json with `Retry-After`
//! (never 500), `/readyz` answers 503, nothing of a refused request is
//! committed, the file stays intact (`PRAGMA integrity_check`) and the
//! audit log verifies; once space is freed the same broker writes again.
//!
//! Mounting needs root, which the tests have in CI and here. A test that
//! cannot mount fails with the reason; it is never skipped.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use diesel::{Connection, RunQueryDsl, SqliteConnection};
use doorstroom_domain::Role;
use doorstroom_tests::{MBO, TestBackend, TestBroker, TestDb};
use reqwest::StatusCode;
use serde_json::Value;

/// Size of the file system: room for the broker's database, little more.
const TMPFS_SIZE: &str = "32m";

/// A tmpfs mounted on a temporary directory, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount() -> Tmpfs {
        let dir = tempfile::Builder::new()
            .prefix("doorstroom-full-")
            .tempdir()
            .expect("mount point");
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={TMPFS_SIZE},mode=0700"), "tmpfs"])
            .arg(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run mount: {e}"));
        assert!(
            output.status.success(),
            "this test needs to mount a tmpfs (it runs as root in CI) and could not: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a file still open (a pooled connection not yet closed)
        // must not keep the mount behind.
        let unmounted = Command::new("umount").arg("-l").arg(self.dir.path()).status();
        if !unmounted.is_ok_and(|s| s.success()) {
            eprintln!("could not unmount {}", self.dir.path().display());
        }
    }
}

/// Fills the file system holding `path` with one file, up to the last byte.
fn fill(path: &Path) -> PathBuf {
    let filler = path.join("filler");
    let mut file = std::fs::File::create(&filler).expect("filler file");
    let block = vec![0u8; 64 * 1024];
    loop {
        if file.write_all(&block).is_err() {
            break;
        }
    }
    // The last bytes that fit, so that not even a page is left.
    while file.write_all(&[0u8]).is_ok() {}
    let _ = file.sync_all();
    filler
}

/// An audited read of the mbo's inbox: every one writes its audit event.
async fn audited_write(
    client: &reqwest::Client,
    base: &str,
    intaker: &str,
) -> (StatusCode, Option<String>, Option<String>, Value) {
    let response = client
        .get(format!("{base}/v1/inbox"))
        .header("X-On-Behalf-Of", intaker)
        .send()
        .await
        .expect("inbox request");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let request_id = header("x-request-id");
    let retry_after = header("retry-after");
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, request_id, retry_after, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_on_a_full_file_system() {
    // Declared first, dropped (unmounted) last.
    let tmpfs = Tmpfs::mount();
    let db_path = tmpfs.path().join("doorstroom.sqlite3");
    let db = TestDb::existing(format!("sqlite://{}", db_path.display()), TestBackend::Sqlite);
    let broker = TestBroker::start_with(db, |settings| {
        // Long enough to span the whole test: the last failed write
        // decides readiness until a write succeeds.
        settings.database.write_failure_window = std::time::Duration::from_secs(600);
    })
    .await;
    let base = broker.base_url.clone();
    let mbo = broker.http(Some(MBO));
    let anonymous = broker.http(None);
    let intaker = broker.create_staff("intaker.full", Role::Intaker, Some(MBO)).id;

    let (status, _, _, body) = audited_write(&mbo, &base, &intaker).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ready = anonymous.get(format!("{base}/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), StatusCode::OK);

    let filler = fill(tmpfs.path());

    // Writes until one fails: SQLite may still fit a write or two into
    // space its files already hold. None may be a 500.
    let mut refused = HashSet::new();
    for _ in 0..500 {
        let (status, request_id, retry_after, body) = audited_write(&mbo, &base, &intaker).await;
        match status {
            StatusCode::OK => continue,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(body["status"], 503, "{body}");
                assert!(
                    body["type"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("urn:doorstroom:problem:")),
                    "{body}"
                );
                assert!(retry_after.is_some(), "503 without Retry-After");
                refused.insert(request_id.expect("request id"));
                if refused.len() == 3 {
                    break;
                }
            }
            other => panic!("a write on a full disk answered {other}: {body}"),
        }
    }
    assert_eq!(refused.len(), 3, "writes kept succeeding on a full file system");

    let ready = anonymous.get(format!("{base}/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE, "readyz on a full disk");
    assert!(ready.headers().contains_key("retry-after"));
    let health = anonymous.get(format!("{base}/healthz")).send().await.expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);

    // Space again: the same broker writes and is ready.
    std::fs::remove_file(&filler).expect("free the space");
    let (status, _, _, body) = audited_write(&mbo, &base, &intaker).await;
    assert_eq!(status, StatusCode::OK, "write after space was freed: {body}");
    let ready = anonymous.get(format!("{base}/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), StatusCode::OK, "readyz after space was freed");

    // Nothing of a refused request was committed.
    let events = broker.audit_events();
    let committed: Vec<_> = events
        .iter()
        .filter(|e| e.request_id.as_ref().is_some_and(|id| refused.contains(id)))
        .collect();
    assert!(committed.is_empty(), "refused requests left events: {committed:?}");

    // The file is intact...
    let mut conn = SqliteConnection::establish(&db_path.display().to_string()).expect("open the database");
    #[derive(diesel::QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let checks: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .expect("integrity check");
    let checks: Vec<_> = checks.into_iter().map(|c| c.integrity_check).collect();
    assert_eq!(checks, vec!["ok".to_owned()]);
    drop(conn);
    // ...and the audit log verifies: the broker's own check at start.
    let again = broker.start_again().await.expect("the audit log verifies at start");
    again.stop().await;
    drop(broker);
}
