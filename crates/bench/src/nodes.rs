//! The servers under load: broker nodes or the ceiling in child processes
//! of this same binary (hidden subcommands `broker-node` and
//! `ceiling-node`), so that their memory and system calls are theirs alone
//! and not the load generator's; or brokers running elsewhere (`--target`).
//!
//! A child announces `ready <port>` on its standard output once it listens
//! and runs until its standard input closes (the parent closes it when it
//! is done, or dies).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use doorstroom_devkit::pki;
use tempfile::TempDir;

use crate::BoxError;
use crate::broker::{Broker, DatabaseChoice, FreshDatabase, Node, sqlite_url};

/// The hidden `broker-node` subcommand: one broker node.
#[derive(Debug, clap::Args)]
pub struct BrokerNodeArgs {
    /// The development PKI directory (made where missing).
    #[arg(long)]
    dev_dir: PathBuf,
    /// Secrets go to `DATA_DIR/secrets`.
    #[arg(long)]
    data_dir: PathBuf,
    #[arg(long)]
    database: String,
    #[arg(long)]
    workers: u32,
    #[arg(long)]
    db_pool: u32,
}

/// Runs one broker node until standard input closes.
pub async fn serve_broker_node(args: BrokerNodeArgs) -> Result<bool, BoxError> {
    doorstroom_server::tls::install_default_provider();
    let node = Node {
        data_dir: args.data_dir,
        pki_dir: args.dev_dir,
        database_url: args.database,
        workers: args.workers,
        db_pool: args.db_pool,
    };
    let broker = Broker::start_in(&node, |s| s.log.filter = "error".into()).await?;
    println!("ready {}", broker.port());
    wait_for_stdin_to_close().await?;
    broker.stop().await;
    Ok(true)
}

/// Blocks (off the runtime's threads) until the parent closes our stdin.
pub async fn wait_for_stdin_to_close() -> Result<(), BoxError> {
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await?;
    Ok(())
}

/// A server in a child process; asked to stop (stdin closed) and, if it
/// does not within ten seconds, killed when dropped.
pub struct ChildNode {
    child: Child,
    pub pid: u32,
    pub port: u16,
}

impl ChildNode {
    /// Starts `this binary <subcommand> <args>` and waits for its `ready` line.
    pub async fn spawn(subcommand: &str, args: Vec<String>) -> Result<ChildNode, BoxError> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg(subcommand)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let pid = child.id();
        let stdout = child.stdout.take().ok_or("no stdout of the child")?;
        let mut node = ChildNode { child, pid, port: 0 };
        let ready = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        })
        .await??;
        match ready.split_whitespace().collect::<Vec<_>>()[..] {
            ["ready", port] => node.port = port.parse()?,
            _ => return Err(format!("{subcommand} did not start: {ready:?}").into()),
        }
        Ok(node)
    }
}

impl Drop for ChildNode {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// What the children of one run share: a temporary directory with the
/// development PKI (`certs/`) and, for SQLite, the database file.
pub struct Ground {
    /// The PostgreSQL database made for this run, dropped with the ground.
    _fresh: Option<FreshDatabase>,
    dir: TempDir,
    pub database_url: String,
}

impl Ground {
    pub fn prepare(database: DatabaseChoice) -> Result<Ground, BoxError> {
        let dir = tempfile::Builder::new()
            .prefix("doorstroom-bench-")
            .tempdir()
            .map_err(|e| format!("creating a temporary directory: {e}"))?;
        let (database_url, fresh) = match database {
            DatabaseChoice::Sqlite => (sqlite_url(dir.path()), None),
            DatabaseChoice::Given(url) => (url, None),
            DatabaseChoice::FreshPostgres(admin) => {
                let (fresh, url) = FreshDatabase::create(&admin)?;
                (url, Some(fresh))
            }
        };
        let ground = Ground {
            _fresh: fresh,
            dir,
            database_url,
        };
        pki::ensure_dev_pki(&ground.dev_dir(), Utc::now()).map_err(|e| format!("dev PKI: {e}"))?;
        Ok(ground)
    }

    pub fn dev_dir(&self) -> PathBuf {
        self.dir.path().join("certs")
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `sqlite` or `postgresql`.
    pub fn backend(&self) -> &'static str {
        if self.database_url.starts_with("sqlite") {
            "sqlite"
        } else {
            "postgresql"
        }
    }
}

/// The servers one phase is driven against.
pub struct Nodes {
    /// Base URLs, one per node; requests go round-robin over them.
    pub urls: Vec<String>,
    /// The development PKI the clients take their certificates from.
    pub dev_dir: PathBuf,
    /// The child processes (none for external targets).
    pub children: Vec<ChildNode>,
}

impl Nodes {
    /// Brokers running elsewhere.
    pub fn external(urls: Vec<String>, dev_dir: PathBuf) -> Nodes {
        Nodes {
            urls,
            dev_dir,
            children: Vec::new(),
        }
    }

    /// `count` broker nodes on the ground's database, started one after
    /// the other (the first migrates and seeds).
    pub async fn brokers(ground: &Ground, count: u32, workers: u32, db_pool: u32) -> Result<Nodes, BoxError> {
        let mut children = Vec::new();
        for _ in 0..count {
            let args = vec![
                "--dev-dir".into(),
                ground.dev_dir().display().to_string(),
                "--data-dir".into(),
                ground.path().display().to_string(),
                "--database".into(),
                ground.database_url.clone(),
                "--workers".into(),
                workers.to_string(),
                "--db-pool".into(),
                db_pool.to_string(),
            ];
            children.push(ChildNode::spawn("broker-node", args).await?);
        }
        Ok(Self::local(ground, children))
    }

    /// The ceiling on the development PKI in `dev_dir`, with its SQLite
    /// file in `ground/ceiling/`.
    pub async fn ceiling(ground: &Ground, dev_dir: PathBuf, workers: u32) -> Result<Nodes, BoxError> {
        let data_dir = ground.path().join("ceiling");
        std::fs::create_dir_all(&data_dir)?;
        let args = vec![
            "--dev-dir".into(),
            dev_dir.display().to_string(),
            "--data-dir".into(),
            data_dir.display().to_string(),
            "--workers".into(),
            workers.to_string(),
        ];
        let child = ChildNode::spawn("ceiling-node", args).await?;
        let mut nodes = Self::local(ground, vec![child]);
        nodes.dev_dir = dev_dir;
        Ok(nodes)
    }

    fn local(ground: &Ground, children: Vec<ChildNode>) -> Nodes {
        Nodes {
            urls: children
                .iter()
                .map(|c| format!("https://localhost:{}", c.port))
                .collect(),
            dev_dir: ground.dev_dir(),
            children,
        }
    }

    /// The child processes' ids.
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(|c| c.pid).collect()
    }
}
