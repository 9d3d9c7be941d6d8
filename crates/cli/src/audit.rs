//! `doorstroom audit …`: verify the audit log, on the broker's host, against
//! a running broker, or from an export, and export it.
//!
//! # Three ways to verify
//! - **Locally** (`audit verify`, the operator on the broker's host): opens
//!   the configured database and runs [`merkle::verify_log`], which checks
//!   the events, the stored hashes and every recorded checkpoint.
//! - **Remotely** (`audit verify --remote --token …`, the broker's privacy
//!   officer, or anyone with such a token): fetches the latest signed
//!   checkpoint, checks its signature against a verifier key (pinned with
//!   `--verifier-key`, or — trust on first use, with a warning — fetched from
//!   the broker), pages through the entries up to the checkpoint's size,
//!   recomputes the tree and compares the root. With `--state FILE` it also
//!   holds the broker to the last checkpoint it saw: the entries must
//!   reproduce the old root at the old size, the broker's consistency proof
//!   old → new must verify, a smaller size is a rollback. On success the new
//!   checkpoint (the raw signed note) is written to the state file.
//! - **From an export** (`audit verify --export FILE`): the same checks
//!   offline, on a file made by `audit export`.
//!
//! # After a prune
//! Audit events older than the audit period are deleted by the broker's
//! purge (below the latest signed checkpoint; their stored hashes stay).
//! The remote and export verifiers then start from the prune boundary: the
//! broker serves the hashes of the perfect subtrees that make up the pruned
//! prefix (`GET /v1/audit/pruned`, privacy officer, audited), the verifier
//! seeds its tree with them ([`EntryChecker::after_prune`]) and recomputes
//! the rest from the entries. The signed checkpoint's root pins those
//! hashes: a changed one gives another root, so they need no trust of their
//! own. What was in the pruned events can no longer be shown, only that the
//! log kept its shape. A checkpoint seen before that lies inside the pruned
//! prefix is held to the broker's consistency proof (remote); an export
//! cannot show that and says so.
//! The prefix is fetched after the checkpoint: should the broker prune
//! past that checkpoint in between (it had signed a newer one), the
//! verifier says the prefix lies beyond the checkpoint; run it again.
//!
//! The checks themselves ([`open_checkpoint`], [`check_succession`],
//! [`EntryChecker`], [`check_consistency_proof`], [`verify_export`]) are
//! pure functions of the fetched data, so they are tested without a server.
//! Signatures are C2SP signed notes ([`signed_note`]); checkpoint bodies are
//! C2SP tlog-checkpoints ([`tlog_tiles::Checkpoint`]); the tree is the
//! store's ([`TreeBuilder`], RFC 9162). No cryptography is written here.
//!
//! What cannot be told from a checkpoint alone: *which* entry was changed
//! when every entry is still a well-formed event. Then the error says that
//! the recomputed root over entries 1..=N differs from the checkpoint's
//! (and, with a state file, whether the change lies at or before the old
//! checkpoint's size).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use doorstroom_client::Client;
use doorstroom_domain::AuditEvent;
use doorstroom_store::merkle::{self, Digest, EMPTY_ROOT, TreeBuilder};
use serde::{Deserialize, Serialize};
use signed_note::{Note, NoteError, StandardVerifier, Verifier as _, VerifierList};

use crate::commands::common::{load_settings, open_store, problem_line};
use crate::exchange::{self, Identity};

/// The broker's latest signed checkpoint (text, public).
pub const CHECKPOINT_PATH: &str = "/v1/audit/checkpoint";
/// The broker's signed-note verifier key (text, public).
pub const KEY_PATH: &str = "/v1/audit/checkpoint/key";
/// Entries `start..end` (leaf indexes, end exclusive), at most
/// [`merkle::MAX_ENTRIES`] per call (broker privacy officer).
pub const ENTRIES_PATH: &str = "/v1/audit/entries";
/// The prune boundary and the subtree hashes of the pruned prefix.
pub const PRUNED_PATH: &str = "/v1/audit/pruned";
/// The consistency proof between two tree sizes.
pub const CONSISTENCY_PATH: &str = "/v1/audit/proofs/consistency";

// ---- command line ----

/// `doorstroom audit …`.
#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Verify the audit log: the local database (default), a running broker
    /// (--remote) or an export (--export FILE). Exits non-zero on any
    /// mismatch, saying where.
    Verify(VerifyArgs),
    /// Fetch the latest signed checkpoint and all entries up to its size
    /// into one JSON file, for `audit verify --export`.
    Export(ExportArgs),
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Verify a running broker's log (--url, --ca) with a broker privacy officer's --token.
    #[arg(long, group = "source")]
    pub remote: bool,
    /// Verify an export made by `doorstroom audit export`, offline.
    #[arg(long, value_name = "FILE", group = "source")]
    pub export: Option<PathBuf>,
    /// A staff access token of the broker's privacy officer (for --remote).
    #[arg(long, env = "DOORSTROOM_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// File with the last checkpoint seen (a signed note): the log must be
    /// consistent with it; replaced by the new checkpoint on success.
    #[arg(long, value_name = "FILE", requires = "source")]
    pub state: Option<PathBuf>,
    #[command(flatten)]
    pub key: KeyArgs,
}

/// The checkpoint signer's verifier key (`name+id+base64`).
#[derive(clap::Args, Clone, Default)]
pub struct KeyArgs {
    /// The broker's signed-note verifier key, pinned (name+hexid+base64).
    #[arg(long, value_name = "KEY", conflicts_with = "verifier_key_file", requires = "source")]
    pub verifier_key: Option<String>,
    /// A file holding the verifier key.
    #[arg(long, value_name = "FILE", requires = "source")]
    pub verifier_key_file: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// A staff access token of the broker's privacy officer.
    #[arg(long, env = "DOORSTROOM_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Where to write the export (JSON, mode 0600: it names staff and pseudonyms).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Runs `doorstroom audit …`; `Err` is the message for a non-zero exit.
pub fn run(command: AuditCommand, url: &str, ca: &Path, config: Option<&Path>) -> anyhow::Result<()> {
    match command {
        AuditCommand::Verify(args) => match (args.remote, &args.export) {
            (false, None) => verify_local(config),
            (true, _) => verify_remote(url, ca, &args),
            (false, Some(file)) => verify_export_file(file, &args),
        },
        AuditCommand::Export(args) => export(url, ca, &args),
    }
}

fn verify_local(config: Option<&Path>) -> anyhow::Result<()> {
    let store = open_store(&load_settings(config)?)?;
    let log = store.read(merkle::verify_log)?;
    say(&format!("ok: {} entries, root {}", log.size, STANDARD.encode(log.root)))
}

fn verify_remote(url: &str, ca: &Path, args: &VerifyArgs) -> anyhow::Result<()> {
    let client = connect(url, ca, args.token.as_deref())?;
    let runtime = runtime()?;
    runtime.block_on(async {
        let note = fetch_text(&client, CHECKPOINT_PATH).await?;
        let key = match pinned_key(&args.key)? {
            Some(key) => key,
            None => {
                let key = fetch_text(&client, KEY_PATH).await?;
                warn_tofu("from the broker");
                key
            }
        };
        let verifier = verifier(&key)?;
        let latest = open_checkpoint(&note, &verifier).map_err(|e| anyhow!("the broker's {e}"))?;
        let previous = read_previous(args.state.as_deref(), &verifier)?;
        if let Some(previous) = &previous {
            check_succession(previous, &latest)?;
        }
        let mut checker = EntryChecker::new(&latest, previous.as_ref())?;
        let pruned: PrunedPrefix = client.get(PRUNED_PATH).await.context(PRUNED_PATH)?;
        checker.after_prune(&pruned)?;
        while checker.size() < latest.size {
            let page: EntriesPage = client
                .get(&format!("{ENTRIES_PATH}?start={}&end={}", checker.size(), latest.size))
                .await
                .with_context(|| format!("{ENTRIES_PATH} from index {}", checker.size()))?;
            if page.entries.is_empty() {
                bail!(
                    "the broker returned no entries from seq {} on, but its checkpoint has size {}",
                    checker.size().saturating_add(1),
                    latest.size
                );
            }
            for e in &page.entries {
                checker.push(e.seq, &e.entry)?;
            }
        }
        let verified = checker.finish()?;
        if let Some(previous) = &previous
            && previous.size > 0
            && previous.size < latest.size
        {
            let reply: ConsistencyReply = client
                .get(&format!("{CONSISTENCY_PATH}?old={}&new={}", previous.size, latest.size))
                .await
                .context(CONSISTENCY_PATH)?;
            if reply.old != previous.size || reply.new != latest.size {
                bail!(
                    "the broker answered a consistency proof for sizes {} → {}, not {} → {}",
                    reply.old,
                    reply.new,
                    previous.size,
                    latest.size
                );
            }
            let proof = decode_proof(&reply.proof)?;
            check_consistency_proof(previous, &latest, &proof)?;
        }
        finish(&verified, args.state.as_deref())
    })
}

fn verify_export_file(file: &Path, args: &VerifyArgs) -> anyhow::Result<()> {
    let text = fs::read_to_string(file).with_context(|| file.display().to_string())?;
    let export: Export =
        serde_json::from_str(&text).map_err(|e| anyhow!("{}: not an audit export ({e})", file.display()))?;
    let key = match (pinned_key(&args.key)?, &export.verifier_key) {
        (Some(key), _) => key,
        (None, Some(key)) => {
            warn_tofu("from the export (as the broker served it when the export was made)");
            key.clone()
        }
        (None, None) => {
            bail!("give the broker's verifier key: --verifier-key KEY or --verifier-key-file FILE");
        }
    };
    let verifier = verifier(&key)?;
    let previous = read_state(args.state.as_deref())?;
    let verified = verify_export(&export, &verifier, previous.as_deref())?;
    finish(&verified, args.state.as_deref())
}

fn export(url: &str, ca: &Path, args: &ExportArgs) -> anyhow::Result<()> {
    let client = connect(url, ca, args.token.as_deref())?;
    let (export, size) = runtime()?.block_on(async {
        let checkpoint = fetch_text(&client, CHECKPOINT_PATH).await?;
        let body = tlog_tiles::Checkpoint::from_reader(&mut std::io::Cursor::new(checkpoint.as_bytes()), false)
            .map_err(|_| anyhow!("the broker's checkpoint is not a tlog checkpoint"))?;
        let size = i64::try_from(body.size()).map_err(|_| anyhow!("the broker's checkpoint size is out of range"))?;
        // The key is only carried along (trust on first use for whoever
        // verifies without pinning one); a failure to fetch it is no reason
        // to lose the export.
        let verifier_key = fetch_text(&client, KEY_PATH).await.ok();
        let pruned: PrunedPrefix = client.get(PRUNED_PATH).await.context(PRUNED_PATH)?;
        let mut entries: Vec<ExportEntry> = Vec::new();
        let mut next = pruned.pruned_below.saturating_sub(1).max(0);
        while next < size {
            let page: EntriesPage = client
                .get(&format!("{ENTRIES_PATH}?start={next}&end={size}"))
                .await
                .with_context(|| format!("{ENTRIES_PATH} from index {next}"))?;
            let Some(last) = page.entries.last().map(|e| e.seq) else {
                bail!(
                    "the broker returned no entries from seq {} on, but its checkpoint has size {size}",
                    next.saturating_add(1)
                );
            };
            if last <= next {
                bail!("the broker returned entries out of order at seq {last}");
            }
            next = last;
            entries.extend(page.entries);
        }
        Ok::<_, anyhow::Error>((
            Export {
                checkpoint,
                pruned: (pruned.pruned_below > 1).then_some(pruned),
                entries,
                verifier_key,
            },
            size,
        ))
    })?;
    let json = serde_json::to_vec_pretty(&export)?;
    write_private(&args.out, &json)?;
    say(&format!(
        "wrote the checkpoint of size {size} and its {} entries to {}; check it with \
         `doorstroom audit verify --export {} --verifier-key KEY`",
        export.entries.len(),
        args.out.display(),
        args.out.display()
    ))
}

fn finish(verified: &Verified, state: Option<&Path>) -> anyhow::Result<()> {
    if let Some(path) = state {
        write_state(path, &verified.note)?;
    }
    say(&format!(
        "ok: {} entries, root {}",
        verified.size,
        STANDARD.encode(verified.root)
    ))?;
    match verified.previous {
        Some(old) => say(&format!(
            "consistent with the checkpoint of size {old} seen before; checkpoint of {} signed by {}",
            verified.origin, verified.signer
        )),
        None => say(&format!(
            "checkpoint of {} signed by {}{}",
            verified.origin,
            verified.signer,
            if state.is_some() {
                " (no checkpoint seen before: the state file now holds this one)"
            } else {
                ""
            }
        )),
    }
}

fn say(line: &str) -> anyhow::Result<()> {
    writeln!(std::io::stdout().lock(), "{line}").context("stdout")
}

fn warn_tofu(source: &str) {
    eprintln!(
        "warning: the checkpoint verifier key was taken {source}: that trusts the broker for its own key \
         (trust on first use). Pin the key with --verifier-key or --verifier-key-file."
    );
}

fn connect(url: &str, ca: &Path, token: Option<&str>) -> anyhow::Result<Client> {
    let Some(token) = token else {
        bail!("give the broker privacy officer's access token: --token TOKEN (or DOORSTROOM_TOKEN)");
    };
    let identity = Identity {
        dir: None,
        token: Some(token.to_owned()),
    };
    Ok(exchange::connect(url, ca, &identity)?)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("the async runtime")
}

/// A text resource; anything but a success is an error naming the path.
async fn fetch_text(client: &Client, path: &str) -> anyhow::Result<String> {
    let reply = client
        .fetch(reqwest::Method::GET, path, None)
        .await
        .context(path.to_owned())?;
    if !reply.status.is_success() {
        bail!("{path}: {}", problem_line(reply.status, &reply.body));
    }
    String::from_utf8(reply.raw).map_err(|_| anyhow!("{path}: the answer is not UTF-8"))
}

fn pinned_key(args: &KeyArgs) -> anyhow::Result<Option<String>> {
    match (&args.verifier_key, &args.verifier_key_file) {
        (Some(key), _) => Ok(Some(key.trim().to_owned())),
        (None, Some(file)) => fs::read_to_string(file)
            .map(|k| Some(k.trim().to_owned()))
            .with_context(|| file.display().to_string()),
        (None, None) => Ok(None),
    }
}

/// The raw note in the state file, or `None` if there is no state file yet.
pub fn read_state(path: Option<&Path>) -> anyhow::Result<Option<String>> {
    let Some(path) = path else {
        return Ok(None);
    };
    match fs::read_to_string(path) {
        Ok(note) => Ok(Some(note)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context(format!("state file {}", path.display()))),
    }
}

fn read_previous(path: Option<&Path>, verifier: &StandardVerifier) -> anyhow::Result<Option<SignedCheckpoint>> {
    let Some(note) = read_state(path)? else {
        return Ok(None);
    };
    let shown = path.map(|p| p.display().to_string()).unwrap_or_default();
    open_checkpoint(&note, verifier)
        .map(Some)
        .with_context(|| format!("state file {shown}: the checkpoint seen before"))
}

/// Replaces the state file with `note`, atomically (a sibling file renamed
/// over it).
pub fn write_state(path: &Path, note: &str) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    write_private(&tmp, note.as_bytes())?;
    fs::rename(&tmp, path).with_context(|| format!("state file {}", path.display()))
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| path.display().to_string())?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| path.display().to_string())
}

// ---- wire and file formats ----

/// One entry as the broker serves it: `seq` (1-based) and the entry's bytes
/// (the event's canonical JSON), which are what the tree hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportEntry {
    pub seq: i64,
    pub entry: String,
}

/// `GET /v1/audit/entries`.
#[derive(Debug, Deserialize)]
struct EntriesPage {
    entries: Vec<ExportEntry>,
}

/// `GET /v1/audit/proofs/consistency`.
#[derive(Debug, Deserialize)]
struct ConsistencyReply {
    old: i64,
    new: i64,
    proof: Vec<String>,
}

/// `GET /v1/audit/pruned`: events `1..pruned_below` were deleted under
/// the retention policy; `subtrees` are the hashes (base64) of the perfect
/// subtrees that make up their leaves, largest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrunedPrefix {
    pub pruned_below: i64,
    pub subtrees: Vec<String>,
}

/// An export: the signed checkpoint and the entries 1..=its size (after a
/// prune: the pruned prefix's subtree hashes and the entries from the
/// boundary on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    /// The signed note, exactly as served.
    pub checkpoint: String,
    /// The pruned prefix, if events were pruned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pruned: Option<PrunedPrefix>,
    pub entries: Vec<ExportEntry>,
    /// The verifier key the broker served when the export was made. Only
    /// used (with a warning) when none is pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifier_key: Option<String>,
}

// ---- the checks ----

/// Where a log or checkpoint does not hold up. Every message says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("verifier key: {0}")]
    Key(String),
    /// The note cannot be read, is not signed by the key, or does not hold
    /// a checkpoint.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    #[error("checkpoint signature does not verify with the key {key}")]
    Signature { key: String },
    #[error("entry seq {expected} is missing (the next entry has seq {found})")]
    Missing { expected: i64, found: i64 },
    #[error("entry seq {seq}: out of order or repeated (expected seq {expected})")]
    OutOfOrder { seq: i64, expected: i64 },
    #[error("entry seq {seq}: {problem}")]
    Entry { seq: i64, problem: String },
    #[error("the entries end at seq {last}, but the checkpoint has size {size}: entry seq {} is missing", last.saturating_add(1))]
    Truncated { last: i64, size: i64 },
    #[error(
        "entries 1..={size} recompute to root {computed}, but the checkpoint of size {size} states root {stated}: \
         an entry at or before seq {size} was changed, or the checkpoint is not of these entries"
    )]
    Root {
        size: i64,
        computed: String,
        stated: String,
    },
    #[error("rollback: the checkpoint has size {new}, smaller than the checkpoint of size {old} seen before")]
    Rollback { old: i64, new: i64 },
    #[error("not consistent with the checkpoint of size {old} seen before: {detail}")]
    Inconsistent { old: i64, detail: String },
    /// The pruned prefix the broker or export gave cannot start the tree.
    #[error("pruned prefix: {0}")]
    Pruned(String),
    /// The checkpoint seen before (the state file) does not hold up.
    #[error("the checkpoint seen before: {0}")]
    Previous(Box<VerifyError>),
    #[error("consistency proof: {0}")]
    Proof(String),
    #[error("merkle tree: {0}")]
    Tree(String),
}

/// A checkpoint whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The raw signed note (what the state file keeps).
    pub note: String,
    pub origin: String,
    pub size: i64,
    pub root: Digest,
    /// `name+id` of the key that signed it.
    pub signer: String,
}

/// A log that verified against its checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub size: i64,
    pub root: Digest,
    pub origin: String,
    pub signer: String,
    /// The raw note of the checkpoint verified against.
    pub note: String,
    /// The size of the checkpoint seen before that it is consistent with.
    pub previous: Option<i64>,
}

/// A signed-note verifier key (`name+hexid+base64`, Ed25519).
pub fn verifier(key: &str) -> Result<StandardVerifier, VerifyError> {
    StandardVerifier::new(key.trim()).map_err(|e| VerifyError::Key(e.to_string()))
}

fn key_name(verifier: &StandardVerifier) -> String {
    format!("{}+{:08x}", verifier.name(), verifier.key_id())
}

/// Checks the note's signature by `verifier` and reads its checkpoint body
/// (C2SP tlog-checkpoint: origin, size, base64 root).
pub fn open_checkpoint(note: &str, verifier: &StandardVerifier) -> Result<SignedCheckpoint, VerifyError> {
    let parsed = Note::from_bytes(note.as_bytes()).map_err(|_| VerifyError::Checkpoint("not a signed note".into()))?;
    let known = VerifierList::new(vec![Box::new(verifier.clone())]);
    match parsed.verify(&known) {
        Ok(_) => {}
        Err(NoteError::InvalidSignature { .. }) => {
            return Err(VerifyError::Signature {
                key: key_name(verifier),
            });
        }
        Err(NoteError::UnverifiedNote) => {
            return Err(VerifyError::Checkpoint(format!(
                "it bears no signature by the key {}",
                key_name(verifier)
            )));
        }
        Err(e) => {
            return Err(VerifyError::Checkpoint(format!(
                "its signatures cannot be checked: {e}"
            )));
        }
    }
    let body = tlog_tiles::Checkpoint::from_bytes(parsed.text())
        .map_err(|_| VerifyError::Checkpoint("the signed text is not a tlog checkpoint".into()))?;
    // C2SP: the origin is the log's name, and this broker's signing key is
    // named after it; a note of another log signed with the key is refused.
    if body.origin() != verifier.name() {
        return Err(VerifyError::Checkpoint(format!(
            "its origin `{}` is not the key's name `{}`",
            body.origin(),
            verifier.name()
        )));
    }
    let size = i64::try_from(body.size()).map_err(|_| VerifyError::Checkpoint("its size is out of range".into()))?;
    Ok(SignedCheckpoint {
        note: note.to_owned(),
        origin: body.origin().to_owned(),
        size,
        root: body.hash().0,
        signer: key_name(verifier),
    })
}

/// Checks that `latest` can follow `previous`: same log, not smaller, and
/// at the same size the same root. (That the trees are consistent is shown
/// by the entries, [`EntryChecker`], and the proof, [`check_consistency_proof`].)
pub fn check_succession(previous: &SignedCheckpoint, latest: &SignedCheckpoint) -> Result<(), VerifyError> {
    if previous.origin != latest.origin {
        return Err(VerifyError::Inconsistent {
            old: previous.size,
            detail: format!(
                "it was of the log `{}`, this checkpoint is of `{}`",
                previous.origin, latest.origin
            ),
        });
    }
    if latest.size < previous.size {
        return Err(VerifyError::Rollback {
            old: previous.size,
            new: latest.size,
        });
    }
    if latest.size == previous.size && latest.root != previous.root {
        return Err(VerifyError::Inconsistent {
            old: previous.size,
            detail: format!(
                "the same size with another root ({} instead of {}): the log was rewritten",
                STANDARD.encode(latest.root),
                STANDARD.encode(previous.root)
            ),
        });
    }
    Ok(())
}

/// Recomputes the tree of a checkpoint from its entries, one at a time
/// (memory O(log n)): each entry must come in order, be an audit event in
/// canonical form, and, at the size of the checkpoint seen before (if any),
/// the tree must have its root.
#[derive(Debug)]
pub struct EntryChecker<'a> {
    latest: &'a SignedCheckpoint,
    previous: Option<&'a SignedCheckpoint>,
    tree: TreeBuilder,
}

impl<'a> EntryChecker<'a> {
    pub fn new(latest: &'a SignedCheckpoint, previous: Option<&'a SignedCheckpoint>) -> Result<Self, VerifyError> {
        if let Some(previous) = previous {
            check_succession(previous, latest)?;
        }
        let checker = Self {
            latest,
            previous,
            tree: TreeBuilder::new(),
        };
        checker.check_previous()?;
        Ok(checker)
    }

    /// The number of entries pushed (counting a pruned prefix).
    pub fn size(&self) -> i64 {
        self.tree.size()
    }

    /// Starts the tree after the pruned prefix (nothing to do if nothing
    /// was pruned); only before the first entry. The checkpoint's root pins
    /// the prefix's subtree hashes (see the module docs).
    pub fn after_prune(&mut self, pruned: &PrunedPrefix) -> Result<(), VerifyError> {
        let prefix = pruned.pruned_below.saturating_sub(1);
        if prefix <= 0 {
            return Ok(());
        }
        if self.tree.size() != 0 {
            return Err(VerifyError::Pruned(
                "the pruned prefix comes before the first entry".into(),
            ));
        }
        if prefix > self.latest.size {
            return Err(VerifyError::Pruned(format!(
                "events below {} are pruned, beyond the checkpoint's size {}",
                pruned.pruned_below, self.latest.size
            )));
        }
        let subtrees = decode_proof(&pruned.subtrees).map_err(|e| VerifyError::Pruned(e.to_string()))?;
        self.tree = TreeBuilder::from_prefix(prefix, &subtrees).map_err(|e| VerifyError::Pruned(e.to_string()))?;
        self.check_previous()
    }

    pub fn push(&mut self, seq: i64, entry: &str) -> Result<(), VerifyError> {
        let expected = self.tree.size().saturating_add(1);
        if seq > expected {
            return Err(VerifyError::Missing { expected, found: seq });
        }
        if seq < expected {
            return Err(VerifyError::OutOfOrder { seq, expected });
        }
        if seq > self.latest.size {
            return Err(VerifyError::Entry {
                seq,
                problem: format!("lies beyond the checkpoint's size {}", self.latest.size),
            });
        }
        let event: AuditEvent = serde_json::from_str(entry).map_err(|_| VerifyError::Entry {
            seq,
            problem: "the entry is not an audit event".into(),
        })?;
        if event.canonical_json() != entry {
            return Err(VerifyError::Entry {
                seq,
                problem: "the entry is not in canonical form".into(),
            });
        }
        self.tree
            .push(entry.as_bytes())
            .map_err(|e| VerifyError::Tree(e.to_string()))?;
        self.check_previous()
    }

    /// At the previous checkpoint's size: the prefix must have its root.
    fn check_previous(&self) -> Result<(), VerifyError> {
        let Some(previous) = self.previous.filter(|p| p.size == self.tree.size()) else {
            return Ok(());
        };
        let root = self.root()?;
        if root != previous.root {
            return Err(VerifyError::Inconsistent {
                old: previous.size,
                detail: format!(
                    "entries 1..={} recompute to root {}, but that checkpoint states root {}: an entry at or before \
                     seq {} was changed since",
                    previous.size,
                    STANDARD.encode(root),
                    STANDARD.encode(previous.root),
                    previous.size
                ),
            });
        }
        Ok(())
    }

    fn root(&self) -> Result<Digest, VerifyError> {
        if self.tree.size() == 0 {
            return Ok(EMPTY_ROOT);
        }
        self.tree.root().map_err(|e| VerifyError::Tree(e.to_string()))
    }

    /// All entries pushed: they must be exactly the checkpoint's and give
    /// its root.
    pub fn finish(self) -> Result<Verified, VerifyError> {
        let size = self.tree.size();
        if size < self.latest.size {
            return Err(VerifyError::Truncated {
                last: size,
                size: self.latest.size,
            });
        }
        let root = self.root()?;
        if root != self.latest.root {
            return Err(VerifyError::Root {
                size,
                computed: STANDARD.encode(root),
                stated: STANDARD.encode(self.latest.root),
            });
        }
        Ok(Verified {
            size,
            root,
            origin: self.latest.origin.clone(),
            signer: self.latest.signer.clone(),
            note: self.latest.note.clone(),
            previous: self.previous.map(|p| p.size),
        })
    }
}

/// Checks the broker's consistency proof from `previous` to `latest`
/// (RFC 9162 §2.1.4.2). Nothing to prove from the empty tree or to the same
/// size ([`check_succession`] compares the roots there).
pub fn check_consistency_proof(
    previous: &SignedCheckpoint,
    latest: &SignedCheckpoint,
    proof: &[Digest],
) -> Result<(), VerifyError> {
    check_succession(previous, latest)?;
    if previous.size == 0 || previous.size == latest.size {
        return Ok(());
    }
    merkle::check_consistency(previous.size, latest.size, &previous.root, &latest.root, proof).map_err(|e| {
        VerifyError::Inconsistent {
            old: previous.size,
            detail: format!(
                "the broker's consistency proof from size {} to {} does not hold ({e})",
                previous.size, latest.size
            ),
        }
    })
}

/// Decodes a proof's base64 hashes.
pub fn decode_proof(proof: &[String]) -> Result<Vec<Digest>, VerifyError> {
    proof
        .iter()
        .enumerate()
        .map(|(i, h)| {
            STANDARD
                .decode(h)
                .ok()
                .and_then(|bytes| Digest::try_from(bytes.as_slice()).ok())
                .ok_or_else(|| VerifyError::Proof(format!("hash {i} is not 32 bytes of base64")))
        })
        .collect()
}

/// Verifies an export offline: the checkpoint's signature, every entry, the
/// recomputed root, and, given the raw note of a checkpoint seen before
/// (`previous`), that the log is consistent with it.
pub fn verify_export(
    export: &Export,
    verifier: &StandardVerifier,
    previous: Option<&str>,
) -> Result<Verified, VerifyError> {
    let latest = open_checkpoint(&export.checkpoint, verifier)?;
    let previous = previous
        .map(|note| open_checkpoint(note, verifier).map_err(|e| VerifyError::Previous(Box::new(e))))
        .transpose()?;
    let mut checker = EntryChecker::new(&latest, previous.as_ref())?;
    if let Some(pruned) = &export.pruned {
        checker.after_prune(pruned)?;
        if let Some(previous) = previous.as_ref().filter(|p| p.size > 0 && p.size < checker.size()) {
            return Err(VerifyError::Inconsistent {
                old: previous.size,
                detail: format!(
                    "it lies in the pruned prefix (events below {} were deleted under the retention policy), \
                     which an export cannot check: verify with --remote, which checks the broker's consistency proof",
                    pruned.pruned_below
                ),
            });
        }
    }
    for e in &export.entries {
        checker.push(e.seq, &e.entry)?;
    }
    checker.finish()
}
