//! A PostgreSQL server of the test's own, for tests that stop and start the
//! database under a running broker (the shared server of
//! `DOORSTROOM_TEST_PG_URL` must never be stopped).
//!
//! [`ThrowawayPostgres::start`] makes a cluster with `initdb` in a temporary
//! directory and starts it with `pg_ctl` on a free port of 127.0.0.1, trust
//! authentication for the `postgres` role, and its socket in that directory.
//! The binaries are PostgreSQL 15's (`/usr/lib/postgresql/15/bin`, or the
//! directory in `DOORSTROOM_TEST_PG_BIN`). `initdb` refuses to run as root,
//! so when the tests run as root (CI, containers) the cluster belongs to
//! the `postgres` user and every command runs as that user (`runuser`).
//! Dropping the value stops the server (immediate mode) and removes the
//! directory. Any failure to set it up fails the test: nothing is skipped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// Where the PostgreSQL binaries are, unless `DOORSTROOM_TEST_PG_BIN` says.
pub const DEFAULT_PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// The user that owns the cluster when the tests run as root.
const CLUSTER_OWNER: &str = "postgres";

/// A running throwaway PostgreSQL server (see the module docs).
pub struct ThrowawayPostgres {
    bin: PathBuf,
    data: PathBuf,
    log: PathBuf,
    port: u16,
    /// Run every command as [`CLUSTER_OWNER`] (the tests run as root).
    as_owner: bool,
    dir: TempDir,
}

impl ThrowawayPostgres {
    /// Makes and starts a new cluster. Panics, with the tool's output, if
    /// any step fails.
    pub fn start() -> ThrowawayPostgres {
        let bin = std::env::var_os("DOORSTROOM_TEST_PG_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_PG_BIN));
        assert!(
            bin.join("initdb").exists() && bin.join("pg_ctl").exists(),
            "no initdb/pg_ctl in {}: install PostgreSQL 15 or set DOORSTROOM_TEST_PG_BIN",
            bin.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("doorstroom-pg-")
            .tempdir()
            .expect("temporary directory for PostgreSQL");
        let as_owner = is_root();
        if as_owner {
            let (uid, gid) = owner_ids();
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .unwrap_or_else(|e| panic!("cannot hand {} to {CLUSTER_OWNER}: {e}", dir.path().display()));
        }
        let server = ThrowawayPostgres {
            data: dir.path().join("data"),
            log: dir.path().join("server.log"),
            port: free_port(),
            bin,
            as_owner,
            dir,
        };
        let data = server.data.display().to_string();
        server.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C",
            ],
        );
        server.start_again();
        server
    }

    /// The URL of database `database` on this server, as the `postgres` role.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Stops the server, `fast`: open sessions are ended at once, as in an
    /// operator's restart or a failover.
    pub fn stop(&self) {
        let data = self.data.display().to_string();
        self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
    }

    /// Starts the (stopped) server again, on the same port, and waits until
    /// it accepts connections.
    pub fn start_again(&self) {
        let data = self.data.display().to_string();
        let log = self.log.display().to_string();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c max_connections=50",
            self.port,
            self.dir.path().display()
        );
        self.run("pg_ctl", &["-D", &data, "-l", &log, "-o", &options, "-w", "start"]);
    }

    fn command(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        if self.as_owner {
            let mut command = Command::new("runuser");
            command.arg("-u").arg(CLUSTER_OWNER).arg("--").arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let output = self
            .command(tool)
            .args(args)
            // The server's working directory must be one its owner may enter.
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
        assert!(
            output.status.success(),
            "{tool} {args:?} failed: {}\n{}\nserver log:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// The data directory (for tests that look at the server's files).
    pub fn data_dir(&self) -> &Path {
        &self.data
    }
}

impl Drop for ThrowawayPostgres {
    fn drop(&mut self) {
        let data = self.data.display().to_string();
        // Already stopped is fine; anything else is reported, not raised
        // (a panic in drop would hide the test's own failure).
        let stopped = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .current_dir(self.dir.path())
            .output();
        if let Err(e) = stopped {
            eprintln!("could not stop the throwaway PostgreSQL: {e}");
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn owner_ids() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let output = Command::new("id")
            .arg(flag)
            .arg(CLUSTER_OWNER)
            .output()
            .unwrap_or_else(|e| panic!("cannot run id: {e}"));
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the tests run as root, so the cluster needs a `{CLUSTER_OWNER}` user"))
    };
    (id("-u"), id("-g"))
}

/// A port that was free a moment ago (the kernel's pick for port 0).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
