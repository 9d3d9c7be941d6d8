//! `doorstroom-bench audit-log`: the audit log on its own, without a broker.
//!
//! On a fresh store (a SQLite file in a temporary directory, or PostgreSQL)
//! it
//!
//! 1. **append**: writes `N` realistic audit events — the mix of a transfer
//!    season (applications registered, inspections recorded, packages
//!    submitted, listed, pulled and acknowledged, with some denials, failed
//!    logins and privacy-officer reads), pseudonymous data subjects, system
//!    and staff actors of tens of institutions, request ids — through
//!    [`audit::append`], `B` events per transaction, so that every event
//!    gets its Merkle stored hashes exactly as in the broker; the events of
//!    each transaction are generated before it starts and the clock runs
//!    only around the transaction;
//! 2. **verify_log**: runs [`merkle::verify_log`] over the whole log (what
//!    `audit verify` and the broker's start-up check do with the database:
//!    every entry parsed and checked against its columns, every stored hash
//!    recomputed and compared);
//! 3. **entries + verify_entries**: reads the log as an outside verifier
//!    does, in pages of [`merkle::MAX_ENTRIES`] through [`merkle::entries`]
//!    (one read transaction per page, as one API request each), and then
//!    recomputes the tree hash from the entries alone with
//!    [`merkle::verify_entries`] (no stored hashes needed);
//!
//! and checks that the three roots (`verify_log`, `verify_entries` and the
//! stored tree hash) agree. It prints the events per second of each step,
//! the transaction latencies and the size of the database. Every loop is
//! bounded by `N`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::DateTime;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use doorstroom_domain::{
    Actor, ActorKind, AuditAction, AuditEvent, Brin, CertFingerprint, Outcome, Pseudonym, Purpose, ResourceRef, StaffId,
};
use doorstroom_store::schema::audit_hashes;
use doorstroom_store::{Backend, DbConn, Store, StoreError, audit, merkle};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::BoxError;
use crate::broker::FreshDatabase;
use crate::report::{self, Machine};
use doorstroom_domain::{Action, ResourceKind, SideEvent};

/// Highest transaction latency the histogram tracks (microseconds): one hour.
const HISTOGRAM_MAX_US: u64 = 3_600_000_000;
/// Database connections: the benchmark is one writer, then one reader.
const POOL: u32 = 2;

/// Appends `N` audit events and times verifying the log.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Number of audit events to append.
    #[arg(short = 'n', long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    events: u64,
    /// Events per transaction.
    #[arg(short = 'b', long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    batch: u64,
    /// Run on this (fresh, empty) PostgreSQL database instead of a SQLite
    /// file in a temporary directory, e.g. postgres://user:pw@127.0.0.1:5432/bench.
    #[arg(long, conflicts_with = "fresh_postgres")]
    database_url: Option<String>,
    /// Create a fresh PostgreSQL database `bench_<random>` through this admin
    /// URL (a role with CREATEDB), run on it, and drop it afterwards.
    #[arg(long, value_name = "ADMIN_URL")]
    fresh_postgres: Option<String>,
    /// Seed of the generated events: the same seed gives the same log.
    #[arg(long, default_value_t = 9162)]
    seed: u64,
    /// Also print a machine-readable summary (one JSON object on the last line).
    #[arg(long)]
    json: bool,
}

/// Runs the audit-log benchmark (blocking database work, off the executor);
/// `Ok(false)` when the log did not verify to the same root three ways.
pub async fn run(args: AuditArgs) -> Result<bool, BoxError> {
    tokio::task::spawn_blocking(move || run_blocking(&args))
        .await
        .map_err(|e| format!("audit-log benchmark task: {e}"))?
}

fn run_blocking(args: &AuditArgs) -> Result<bool, BoxError> {
    let machine = Machine::detect();
    let n = args.events;
    let db = Database::open(args)?;
    let backend = match db.store.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgresql",
    };
    let before = db.store.read(merkle::tree_size)?;
    if before != 0 {
        return Err(format!("the database already holds {before} audit events; give a fresh, empty one").into());
    }

    eprintln!("append: {n} events in transactions of {} on {backend} ...", args.batch);
    let append = append(&db.store, n, args.batch, args.seed)?;

    eprintln!("verify_log ...");
    let started = Instant::now();
    let verified = db
        .store
        .read(merkle::verify_log)
        .map_err(|e| format!("verify_log: {e}"))?;
    let verify_log_wall = started.elapsed();

    eprintln!("entries (pages of {}) + verify_entries ...", merkle::MAX_ENTRIES);
    let outside = outside_verifier(&db.store, verified.size)?;

    let stored_root = db.store.read(|conn| merkle::tree_hash(conn, verified.size))?;
    let (stored_hashes, database_bytes) = db.sizes()?;

    let result = AuditResult {
        backend,
        append,
        verify_log_wall,
        verified_size: verified.size,
        verify_log_root: verified.root,
        outside,
        stored_root,
        stored_hashes,
        database_bytes,
    };
    print_text(&machine, args, &result);
    if args.json {
        println!("{}", to_json(&machine, args, &result));
    }
    drop(db);
    Ok(result.consistent(n))
}

/// The store under test and what has to be cleaned up after it. Fields drop
/// in order: the pool, then a fresh database, then the temporary directory.
struct Database {
    store: Store,
    sqlite_path: Option<PathBuf>,
    _fresh: Option<FreshDatabase>,
    _dir: TempDir,
}

impl Database {
    fn open(args: &AuditArgs) -> Result<Database, BoxError> {
        let dir = tempfile::Builder::new()
            .prefix("doorstroom-bench-audit-")
            .tempdir()
            .map_err(|e| format!("creating a temporary directory: {e}"))?;
        let (url, fresh, sqlite_path) = match (&args.database_url, &args.fresh_postgres) {
            (Some(url), _) => (url.clone(), None, None),
            (None, Some(admin)) => {
                let (fresh, url) = FreshDatabase::create(admin)?;
                (url, Some(fresh), None)
            }
            (None, None) => {
                let path = dir.path().join("doorstroom.db");
                (format!("sqlite://{}", path.display()), None, Some(path))
            }
        };
        let store = Store::open(&url, POOL).map_err(|e| format!("opening the store: {e}"))?;
        Ok(Database {
            store,
            sqlite_path,
            _fresh: fresh,
            _dir: dir,
        })
    }

    /// The number of stored hashes, and the size of the database: its files
    /// for SQLite, `pg_database_size` for PostgreSQL.
    fn sizes(&self) -> Result<(i64, DatabaseBytes), BoxError> {
        let (hashes, pg_bytes) = self.store.read(|conn| {
            let hashes: i64 = audit_hashes::table.count().get_result(conn)?;
            let pg_bytes = match conn {
                DbConn::Postgres(pg) => Some(
                    diesel::select(diesel::dsl::sql::<BigInt>("pg_database_size(current_database())"))
                        .get_result::<i64>(pg)?,
                ),
                DbConn::Sqlite(_) => None,
            };
            Ok::<_, StoreError>((hashes, pg_bytes))
        })?;
        let bytes = match (&self.sqlite_path, pg_bytes) {
            (Some(path), _) => DatabaseBytes::Sqlite {
                main: file_size(path),
                wal: file_size(&suffixed(path, "-wal")),
            },
            (None, Some(total)) => DatabaseBytes::Postgres { total },
            (None, None) => DatabaseBytes::Unknown,
        };
        Ok((hashes, bytes))
    }
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The size of the database after the append.
#[derive(Debug, Clone, Copy)]
enum DatabaseBytes {
    Sqlite { main: u64, wal: u64 },
    Postgres { total: i64 },
    Unknown,
}

// ---- the steps ----

struct AppendResult {
    events: u64,
    transactions: u64,
    /// Sum of the transactions' times (`Store::write`, commit included).
    in_transactions: Duration,
    /// Generating the events (outside the transactions).
    generating: Duration,
    wall: Duration,
    /// Mean bytes of an event's canonical entry.
    mean_entry_bytes: u64,
    /// Transaction latencies in microseconds.
    histogram: Histogram<u64>,
}

fn append(store: &Store, n: u64, batch: u64, seed: u64) -> Result<AppendResult, BoxError> {
    let mut generator = EventGenerator::new(seed, n)?;
    let transactions = n.div_ceil(batch);
    let mut histogram = Histogram::<u64>::new_with_bounds(1, HISTOGRAM_MAX_US, 3)?;
    let mut in_transactions = Duration::ZERO;
    let mut generating = Duration::ZERO;
    let mut entry_bytes: u64 = 0;
    let progress_every = transactions.div_ceil(10).max(1);
    let started = Instant::now();
    for t in 0..transactions {
        let len = batch.min(n.saturating_sub(t.saturating_mul(batch)));
        let generated = Instant::now();
        let events = (0..len)
            .map(|_| generator.next_event())
            .collect::<Result<Vec<_>, _>>()?;
        entry_bytes = events.iter().fold(entry_bytes, |sum, e| {
            sum.saturating_add(e.canonical_json().len() as u64)
        });
        generating += generated.elapsed();

        let written = Instant::now();
        store
            .write(|conn| {
                for event in &events {
                    audit::append(conn, event)?;
                }
                Ok::<_, StoreError>(())
            })
            .map_err(|e| format!("appending transaction {t}: {e}"))?;
        let took = written.elapsed();
        in_transactions += took;
        histogram.saturating_record(micros(took));
        if (t + 1) % progress_every == 0 {
            eprintln!(
                "  {} of {n} events, {:.0} events/s so far",
                (t + 1).saturating_mul(batch).min(n),
                rate((t + 1).saturating_mul(batch).min(n), in_transactions)
            );
        }
    }
    Ok(AppendResult {
        events: n,
        transactions,
        in_transactions,
        generating,
        wall: started.elapsed(),
        mean_entry_bytes: entry_bytes / n.max(1),
        histogram,
    })
}

struct OutsideResult {
    pages: u64,
    /// Reading all entries, page by page.
    fetch: Duration,
    /// `verify_entries` over all of them.
    compute: Duration,
    entries: u64,
    entry_bytes: u64,
    root: merkle::Digest,
}

/// What a verifier outside the broker does: fetch every entry in pages,
/// then recompute the tree hash from the entries alone.
fn outside_verifier(store: &Store, size: i64) -> Result<OutsideResult, BoxError> {
    let capacity = usize::try_from(size)?;
    let max_pages = (size / merkle::MAX_ENTRIES).saturating_add(2);
    let mut all: Vec<(i64, String)> = Vec::with_capacity(capacity);
    let mut pages = 0u64;
    let started = Instant::now();
    for _ in 0..max_pages {
        // Page on from the last seq: leaf index `seq` is the next one.
        let start = all.last().map_or(0, |(seq, _)| *seq);
        if start >= size {
            break;
        }
        let end = size.min(start.saturating_add(merkle::MAX_ENTRIES));
        let page = store
            .read(|conn| merkle::entries(conn, start, end))
            .map_err(|e| format!("reading entries {start}..{end}: {e}"))?;
        if page.is_empty() {
            return Err(format!("no entries in {start}..{end} of a log of {size}").into());
        }
        all.extend(page);
        pages += 1;
    }
    let fetch = started.elapsed();
    if all.len() != capacity {
        return Err(format!("read {} entries of a log of {size}", all.len()).into());
    }
    let entry_bytes = all.iter().map(|(_, e)| e.len() as u64).sum();

    let started = Instant::now();
    let root = merkle::verify_entries(&all).map_err(|e| format!("verify_entries: {e}"))?;
    let compute = started.elapsed();
    Ok(OutsideResult {
        pages,
        fetch,
        compute,
        entries: all.len() as u64,
        entry_bytes,
        root,
    })
}

// ---- the events ----

/// One institution of the generated population.
struct Institution {
    brin: Brin,
    /// The SPKI fingerprint of its school system's client certificate.
    fingerprint: String,
    /// Intakers (mbo) or mentors (vo).
    staff: Vec<StaffId>,
    privacy_officer: StaffId,
}

/// Who the next event is about: one vo school, one mbo and one of its
/// intakers (indexes into the generated institutions).
#[derive(Clone, Copy)]
struct Who {
    vo: usize,
    mbo: usize,
    intaker: StaffId,
}

/// A run of `list_inbox_entry` events of one inbox listing (one request).
struct InboxRun {
    mbo: usize,
    on_behalf_of: StaffId,
    request_id: String,
    remaining: u32,
}

/// Generates the events of a transfer season, deterministically from a
/// seed: times advance 0–99 ms per event from 1 March 2025, 08:00 UTC.
struct EventGenerator {
    rng: StdRng,
    vo: Vec<Institution>,
    mbo: Vec<Institution>,
    students: Vec<Pseudonym>,
    time_ms: i64,
    inbox: Option<InboxRun>,
}

/// vo schools and mbo institutions in the population.
const VO_SCHOOLS: usize = 40;
const MBO_INSTITUTIONS: usize = 20;
/// Staff accounts per institution.
const STAFF_PER_INSTITUTION: usize = 8;
/// Data subjects: one per four events, at most this many.
const MAX_STUDENTS: u64 = 250_000;
/// 2025-03-01T08:00:00Z.
const START_MS: i64 = 1_740_816_000_000;

impl EventGenerator {
    fn new(seed: u64, events: u64) -> Result<EventGenerator, BoxError> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut used = std::collections::BTreeSet::new();
        let mut institutions = Vec::with_capacity(VO_SCHOOLS + MBO_INSTITUTIONS);
        // Bounded: 10 * 26 * 26 * 10 candidates are far more than needed.
        for _ in 0..10_000 {
            if institutions.len() == VO_SCHOOLS + MBO_INSTITUTIONS {
                break;
            }
            let raw = format!(
                "{:02}{}{}",
                rng.gen_range(0..100u32),
                char::from(rng.gen_range(b'A'..=b'Z')),
                char::from(rng.gen_range(b'A'..=b'Z'))
            );
            if !used.insert(raw.clone()) {
                continue;
            }
            let staff = (0..STAFF_PER_INSTITUTION)
                .map(|_| StaffId(uuid::Builder::from_random_bytes(rng.r#gen()).into_uuid()))
                .collect();
            institutions.push(Institution {
                brin: Brin::parse(&raw)?,
                fingerprint: CertFingerprint::from_digest(rng.r#gen()).as_str().to_owned(),
                staff,
                privacy_officer: StaffId(uuid::Builder::from_random_bytes(rng.r#gen()).into_uuid()),
            });
        }
        if institutions.len() < VO_SCHOOLS + MBO_INSTITUTIONS {
            return Err("could not generate the institutions".into());
        }
        let mbo = institutions.split_off(VO_SCHOOLS);
        let students = (0..events.div_ceil(4).clamp(1, MAX_STUDENTS))
            .map(|_| Pseudonym::from_digest(rng.r#gen()))
            .collect();
        Ok(EventGenerator {
            rng,
            vo: institutions,
            mbo,
            students,
            time_ms: START_MS,
            inbox: None,
        })
    }

    fn uuid(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.rng.r#gen())
            .into_uuid()
            .to_string()
    }

    fn student(&mut self) -> Pseudonym {
        let i = self.rng.gen_range(0..self.students.len());
        self.students[i].clone()
    }

    fn system(institution: &Institution) -> Actor {
        Actor {
            kind: ActorKind::System,
            institution: Some(institution.brin.clone()),
            id: Some(institution.fingerprint.clone()),
        }
    }

    fn staff(institution: &Institution, id: StaffId) -> Actor {
        Actor {
            kind: ActorKind::Staff,
            institution: Some(institution.brin.clone()),
            id: Some(id.to_string()),
        }
    }

    /// The next event of the mix (per mille): pull 250, submit 150, inbox
    /// listing entries 150, register application 120, record inspection
    /// 100, acknowledge 80, read application 50, report status 40, denied
    /// pull 20, failed authentication 20, privacy officer reads 10, whoami 10.
    fn next_event(&mut self) -> Result<AuditEvent, BoxError> {
        self.time_ms = self.time_ms.saturating_add(self.rng.gen_range(0..100));
        let time = DateTime::from_timestamp_millis(self.time_ms).ok_or("event time out of range")?;
        if let Some(event) = self.continue_inbox_run(time) {
            return Ok(event);
        }
        let vo = self.rng.gen_range(0..self.vo.len());
        let mbo = self.rng.gen_range(0..self.mbo.len());
        let intaker = self.mbo[mbo].staff[self.rng.gen_range(0..STAFF_PER_INSTITUTION)];
        let request_id = Some(self.uuid());
        let subject = Some(self.student());
        let mut event = AuditEvent {
            time,
            actor: Self::system(&self.mbo[mbo]),
            on_behalf_of: None,
            action: AuditAction::from(Action::PullPackage),
            resource: ResourceRef::new(ResourceKind::Package, Some(self.uuid())),
            data_subject: subject,
            purpose: Purpose::Intake,
            outcome: Outcome::Success,
            reason: None,
            request_id,
        };
        let who = Who { vo, mbo, intaker };
        match self.rng.gen_range(0..1000u32) {
            roll @ 0..550 => self.exchange_event(&mut event, roll, who),
            roll @ 550..940 => self.registration_event(&mut event, roll, who),
            roll => self.refusal_or_oversight_event(&mut event, roll, who),
        }
        Ok(event)
    }

    /// Pulls, submissions and inbox listings (rolls 0..550).
    fn exchange_event(&mut self, event: &mut AuditEvent, roll: u32, who: Who) {
        let Who { vo, mbo, intaker } = who;
        match roll {
            0..250 => event.on_behalf_of = Some(intaker),
            250..400 => {
                event.actor = Self::system(&self.vo[vo]);
                event.action = AuditAction::from(Action::SubmitPackage);
            }
            _ => {
                let run = InboxRun {
                    mbo,
                    on_behalf_of: intaker,
                    request_id: event.request_id.clone().unwrap_or_default(),
                    remaining: self.rng.gen_range(0..20),
                };
                event.on_behalf_of = Some(intaker);
                event.action = AuditAction::from(SideEvent::ListInboxEntry);
                self.inbox = Some(run);
            }
        }
    }

    /// Applications, inspections, acknowledgements and status (rolls 550..940).
    fn registration_event(&mut self, event: &mut AuditEvent, roll: u32, who: Who) {
        let Who { vo, mbo, intaker } = who;
        match roll {
            550..670 => {
                event.action = AuditAction::from(Action::RegisterApplication);
                event.resource = ResourceRef::new(ResourceKind::Application, None);
            }
            670..770 => {
                event.actor = Self::system(&self.vo[vo]);
                event.action = AuditAction::from(Action::RecordInspection);
                event.resource = ResourceRef::new(ResourceKind::Inspection, None);
            }
            770..850 => {
                event.on_behalf_of = Some(intaker);
                event.action = AuditAction::from(Action::AcknowledgePackage);
            }
            850..900 => {
                event.actor = Self::staff(&self.mbo[mbo], intaker);
                event.action = AuditAction::from(Action::ReadApplication);
                event.resource = ResourceRef::new(ResourceKind::Application, Some(self.uuid()));
            }
            _ => {
                event.action = AuditAction::from(Action::ReportStatus);
                event.resource = ResourceRef::new(ResourceKind::Application, Some(self.uuid()));
            }
        }
    }

    /// Refusals, failed authentication, an officer's read, whoami (rolls 940..1000).
    fn refusal_or_oversight_event(&mut self, event: &mut AuditEvent, roll: u32, who: Who) {
        let Who { vo, mbo, intaker } = who;
        match roll {
            940..960 => {
                // Another mbo's system tries a package that is not its own.
                let other = (mbo + 1) % self.mbo.len();
                event.actor = Self::system(&self.mbo[other]);
                event.outcome = Outcome::Denied;
                event.reason = Some("other_institution".into());
            }
            960..980 => {
                event.actor = Actor::anonymous();
                event.action = AuditAction::from(SideEvent::Authenticate);
                event.resource = ResourceRef::new(ResourceKind::Route, Some("GET /v1/packages/{id}".into()));
                event.data_subject = None;
                event.purpose = Purpose::Authentication;
                event.outcome = Outcome::Unauthenticated;
                event.reason = Some("client certificate is not bound to an active institution".into());
            }
            980..990 => {
                let institution = if self.rng.gen_bool(0.5) {
                    &self.vo[vo]
                } else {
                    &self.mbo[mbo]
                };
                event.actor = Self::staff(institution, institution.privacy_officer);
                event.action = AuditAction::from(Action::ReadAuditLog);
                event.resource = ResourceRef::new(ResourceKind::AuditLog, Some(institution.brin.to_string()));
                event.purpose = Purpose::Supervision;
            }
            _ => {
                event.actor = Self::staff(&self.mbo[mbo], intaker);
                event.action = AuditAction::from(Action::WhoAmI);
                event.resource = ResourceRef::new(ResourceKind::StaffAccount, Some(intaker.to_string()));
                event.data_subject = None;
                event.purpose = Purpose::Authentication;
            }
        }
    }

    /// The next entry of an inbox listing under way (same request id,
    /// another package and student), if one is.
    fn continue_inbox_run(&mut self, time: DateTime<chrono::Utc>) -> Option<AuditEvent> {
        let run = self.inbox.take()?;
        if run.remaining == 0 {
            return None;
        }
        let package = self.uuid();
        let subject = self.student();
        let event = AuditEvent {
            time,
            actor: Self::system(&self.mbo[run.mbo]),
            on_behalf_of: Some(run.on_behalf_of),
            action: AuditAction::from(SideEvent::ListInboxEntry),
            resource: ResourceRef::new(ResourceKind::Package, Some(package)),
            data_subject: Some(subject),
            purpose: Purpose::Intake,
            outcome: Outcome::Success,
            reason: None,
            request_id: Some(run.request_id.clone()),
        };
        self.inbox = Some(InboxRun {
            remaining: run.remaining - 1,
            ..run
        });
        Some(event)
    }
}

// ---- the report ----

struct AuditResult {
    backend: &'static str,
    append: AppendResult,
    verify_log_wall: Duration,
    verified_size: i64,
    verify_log_root: merkle::Digest,
    outside: OutsideResult,
    stored_root: merkle::Digest,
    stored_hashes: i64,
    database_bytes: DatabaseBytes,
}

impl AuditResult {
    /// The log holds all `n` events and the three roots agree.
    fn consistent(&self, n: u64) -> bool {
        u64::try_from(self.verified_size) == Ok(n)
            && self.outside.entries == n
            && self.verify_log_root == self.outside.root
            && self.verify_log_root == self.stored_root
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

fn rate(count: u64, over: Duration) -> f64 {
    let secs = over.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn hex(digest: &merkle::Digest) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn print_text(machine: &Machine, args: &AuditArgs, r: &AuditResult) {
    print_settings(machine, args, r);
    print_steps(r);
    print_append_and_entries(args, r);
    print_database_and_root(r);
}

/// What was measured, on what.
fn print_settings(machine: &Machine, args: &AuditArgs, r: &AuditResult) {
    let a = &r.append;
    println!();
    println!("doorstroom-bench {} audit-log", env!("CARGO_PKG_VERSION"));
    println!("{}", report::machine_line(machine));
    println!(
        "settings: N={} events, B={} events per transaction, backend={}, profile={}, seed={}",
        args.events,
        args.batch,
        r.backend,
        if cfg!(debug_assertions) { "debug" } else { "release" },
        args.seed
    );
    println!("events:   transfer-season mix (pull, submit, inbox listing, register, inspection, acknowledge, ...,");
    println!(
        "          2% denied, 2% failed logins), {} vo + {} mbo institutions, {} data subjects;",
        VO_SCHOOLS,
        MBO_INSTITUTIONS,
        args.events.div_ceil(4).clamp(1, MAX_STUDENTS)
    );
    println!(
        "          mean entry {} bytes; generated outside the timed transactions ({:.2} s)",
        a.mean_entry_bytes,
        a.generating.as_secs_f64()
    );
}

/// One line per timed step.
fn print_steps(r: &AuditResult) {
    let a = &r.append;
    let o = &r.outside;
    let size = u64::try_from(r.verified_size).unwrap_or(0);
    println!();
    println!("{:<22} {:>9} {:>9} {:>11}", "step", "events", "wall s", "events/s");
    let line = |name: &str, count: u64, took: Duration| {
        println!(
            "{:<22} {:>9} {:>9.2} {:>11.0}",
            name,
            count,
            took.as_secs_f64(),
            rate(count, took)
        );
    };
    line("append (in tx)", a.events, a.in_transactions);
    line("verify_log", size, r.verify_log_wall);
    line("entries (read pages)", o.entries, o.fetch);
    line("verify_entries", o.entries, o.compute);
    line("entries+verify_entries", o.entries, o.fetch + o.compute);
    println!();
}

/// The append latencies and the entry pages.
fn print_append_and_entries(args: &AuditArgs, r: &AuditResult) {
    let a = &r.append;
    let o = &r.outside;
    let h = &a.histogram;
    println!(
        "append:   {} transactions of up to {} events: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
         whole step {:.2} s with generation",
        a.transactions,
        args.batch,
        ms(h.value_at_quantile(0.50)),
        ms(h.value_at_quantile(0.95)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max()),
        a.wall.as_secs_f64()
    );
    println!(
        "entries:  {} pages of up to {}, one read transaction each; {:.1} MiB of entries",
        o.pages,
        merkle::MAX_ENTRIES,
        mib(o.entry_bytes)
    );
}

/// The database's size and whether the three roots agree.
fn print_database_and_root(r: &AuditResult) {
    let o = &r.outside;
    let size = u64::try_from(r.verified_size).unwrap_or(0);
    let per_event = |bytes: u64| bytes as f64 / size.max(1) as f64;
    match r.database_bytes {
        DatabaseBytes::Sqlite { main, wal } => println!(
            "database: SQLite file {:.1} MiB + WAL {:.1} MiB = {:.0} bytes per event; {} stored hashes ({:.2} per event)",
            mib(main),
            mib(wal),
            per_event(main.saturating_add(wal)),
            r.stored_hashes,
            r.stored_hashes as f64 / size.max(1) as f64
        ),
        DatabaseBytes::Postgres { total } => {
            let total = u64::try_from(total).unwrap_or(0);
            println!(
                "database: pg_database_size {:.1} MiB = {:.0} bytes per event (schema included); \
                 {} stored hashes ({:.2} per event)",
                mib(total),
                per_event(total),
                r.stored_hashes,
                r.stored_hashes as f64 / size.max(1) as f64
            );
        }
        DatabaseBytes::Unknown => println!("database: size unknown; {} stored hashes", r.stored_hashes),
    }
    let agree = r.verify_log_root == o.root && r.verify_log_root == r.stored_root;
    println!(
        "root:     {} at size {} ({})",
        hex(&r.verify_log_root),
        r.verified_size,
        if agree {
            "verify_log, verify_entries and the stored tree hash agree".to_owned()
        } else {
            format!(
                "MISMATCH: verify_entries {}, stored tree hash {}",
                hex(&o.root),
                hex(&r.stored_root)
            )
        }
    );
}

fn to_json(machine: &Machine, args: &AuditArgs, r: &AuditResult) -> Value {
    let a = &r.append;
    let o = &r.outside;
    let size = u64::try_from(r.verified_size).unwrap_or(0);
    let h = &a.histogram;
    let database = match r.database_bytes {
        DatabaseBytes::Sqlite { main, wal } => json!({"sqlite_file_bytes": main, "sqlite_wal_bytes": wal}),
        DatabaseBytes::Postgres { total } => json!({"pg_database_size_bytes": total}),
        DatabaseBytes::Unknown => Value::Null,
    };
    json!({
        "mode": "audit-log",
        "machine": report::machine_json(machine),
        "settings": {
            "events": args.events,
            "batch": args.batch,
            "backend": r.backend,
            "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
            "seed": args.seed,
            "mean_entry_bytes": a.mean_entry_bytes,
        },
        "append": {
            "events": a.events,
            "transactions": a.transactions,
            "in_transactions_secs": a.in_transactions.as_secs_f64(),
            "events_per_sec": rate(a.events, a.in_transactions),
            "generating_secs": a.generating.as_secs_f64(),
            "wall_secs": a.wall.as_secs_f64(),
            "transaction_ms": {
                "p50": ms(h.value_at_quantile(0.50)),
                "p95": ms(h.value_at_quantile(0.95)),
                "p99": ms(h.value_at_quantile(0.99)),
                "max": ms(h.max()),
            },
        },
        "verify_log": {
            "entries": size,
            "wall_secs": r.verify_log_wall.as_secs_f64(),
            "entries_per_sec": rate(size, r.verify_log_wall),
        },
        "outside_verifier": {
            "entries": o.entries,
            "pages": o.pages,
            "fetch_secs": o.fetch.as_secs_f64(),
            "fetch_entries_per_sec": rate(o.entries, o.fetch),
            "verify_entries_secs": o.compute.as_secs_f64(),
            "verify_entries_per_sec": rate(o.entries, o.compute),
            "entry_bytes": o.entry_bytes,
        },
        "database": database,
        "stored_hashes": r.stored_hashes,
        "root": hex(&r.verify_log_root),
        "roots_agree": r.verify_log_root == o.root && r.verify_log_root == r.stored_root,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_events_are_deterministic_and_canonical() {
        let mut a = EventGenerator::new(7, 1000).unwrap();
        let mut b = EventGenerator::new(7, 1000).unwrap();
        let mut actions = std::collections::BTreeSet::new();
        for _ in 0..1000 {
            let x = a.next_event().unwrap();
            let y = b.next_event().unwrap();
            assert_eq!(x, y);
            let entry = x.canonical_json();
            let back: AuditEvent = serde_json::from_str(&entry).unwrap();
            assert_eq!(back.canonical_json(), entry);
            actions.insert(x.action.name.clone());
        }
        assert!(actions.len() >= 8, "{actions:?}");
    }

    #[test]
    fn a_small_log_appends_and_verifies_three_ways() {
        let args = AuditArgs {
            events: 2500,
            batch: 1000,
            database_url: None,
            fresh_postgres: None,
            seed: 1,
            json: false,
        };
        let db = Database::open(&args).unwrap();
        let appended = append(&db.store, 2500, 1000, 1).unwrap();
        assert_eq!(appended.transactions, 3);
        let verified = db.store.read(merkle::verify_log).unwrap();
        assert_eq!(verified.size, 2500);
        let outside = outside_verifier(&db.store, verified.size).unwrap();
        assert_eq!(outside.entries, 2500);
        assert_eq!(outside.pages, 3);
        assert_eq!(outside.root, verified.root);
    }
}
