//! `doorstroom purge`, the real binary against a real database (SQLite and
//! PostgreSQL): killed with SIGKILL half-way, it leaves every record either
//! deleted with exactly one purge event or kept with none; a second run
//! finishes the job, and the audit log verifies (`doorstroom audit verify`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use doorstroom_domain::{ApplicationStatus, Brin, InstitutionStatus, Pseudonym, Sector};
use doorstroom_store::applications::{self, NewApplication};
use doorstroom_store::institutions::{self, Institution};
use doorstroom_store::packages::{self, NewPackage, NewSection};
use doorstroom_store::testing::{TestDb, for_each_backend};
use doorstroom_store::{Store, audit, merkle};

const STUDENTS: u32 = 40;

fn brin(raw: &str) -> Brin {
    Brin::parse(raw).unwrap()
}

/// `STUDENTS` applications that ended 400 days ago, each with a package:
/// all due (packages 30 days after the end, applications a year after it).
fn fill(store: &Store) -> (Vec<String>, Vec<String>) {
    let long_ago = Utc::now() - chrono::Duration::days(400);
    store
        .write(|conn| {
            for (raw, sector) in [("07AB", Sector::Vo), ("25LX", Sector::Mbo)] {
                institutions::insert(
                    conn,
                    &Institution {
                        brin: brin(raw),
                        oin: None,
                        name: format!("School {raw}"),
                        sector,
                        status: InstitutionStatus::Active,
                        created_at: long_ago,
                        updated_at: long_ago,
                    },
                )?;
            }
            Ok::<_, doorstroom_store::StoreError>(())
        })
        .unwrap();
    let mut package_ids = Vec::new();
    let mut application_ids = Vec::new();
    for n in 0..STUDENTS {
        let student = Pseudonym::from_digest([u8::try_from(n).unwrap(); 32]);
        store
            .write(|conn| {
                let (application, _) = applications::register(
                    conn,
                    &NewApplication {
                        student: student.clone(),
                        receiving: brin("25LX"),
                        sending: Some(brin("07AB")),
                        programme: "Kok".into(),
                        crebo: None,
                        school_year: 2027,
                        applied_on: long_ago.date_naive(),
                        late: false,
                        registered_by: doorstroom_domain::ActorRef::Operator,
                    },
                    long_ago,
                )?;
                applications::set_status(
                    conn,
                    application.id,
                    doorstroom_domain::StatusReport::status_only(ApplicationStatus::Withdrawn),
                    &doorstroom_domain::ActorRef::Operator,
                    long_ago,
                )?;
                let id = uuid::Uuid::new_v4().to_string();
                packages::insert(
                    conn,
                    &NewPackage {
                        id: id.clone(),
                        application_id: application.id,
                        sender: brin("07AB"),
                        recipient: brin("25LX"),
                        student: student.clone(),
                        jti: format!("jti-{n}"),
                        envelope: "envelope".into(),
                        envelope_sha256: "digest".into(),
                        sender_kid: "kid".into(),
                        receipt: "receipt".into(),
                        submitted_at: long_ago,
                    },
                    &[NewSection {
                        section: doorstroom_domain::Section::PersonalData,
                        ciphertext: "ciphertext".into(),
                        size: 10,
                        sha256: "digest".into(),
                    }],
                )?;
                package_ids.push(id);
                application_ids.push(application.id.to_string());
                Ok::<_, doorstroom_store::StoreError>(())
            })
            .unwrap();
    }
    (package_ids, application_ids)
}

fn doorstroom(db: &TestDb, dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_doorstroom"));
    command
        .current_dir(dir)
        .env("DOORSTROOM__DATABASE__URL", &db.url)
        .env("DOORSTROOM__RETENTION__BATCH_SIZE", "4")
        .env("DOORSTROOM__RETENTION__BATCH_PAUSE_MS", "250")
        .env_remove("DOORSTROOM_CONFIG");
    command
}

/// How many purge events name each record id.
fn purge_events(store: &Store) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    let mut after = None;
    loop {
        let query = audit::AuditQuery {
            after_seq: after,
            ..Default::default()
        };
        let page = store.read(|conn| audit::list(conn, &query)).unwrap();
        let Some((last, _)) = page.last() else {
            return counts;
        };
        after = Some(*last);
        for (_, event) in page {
            if event.action.name.ends_with("_purged") {
                *counts.entry(event.resource.id.unwrap_or_default()).or_default() += 1;
            }
        }
    }
}

/// Every record is either still there with no purge event, or gone with
/// exactly one. Answers how many are gone.
fn assert_consistent(store: &Store, packages: &[String], applications: &[String]) -> usize {
    let events = purge_events(store);
    let mut gone = 0;
    for id in packages {
        let exists = store.read(|conn| packages::get(conn, id)).unwrap().is_some();
        let n = events.get(id).copied().unwrap_or(0);
        assert_eq!(n, usize::from(!exists), "package: exists {exists}, {n} purge events");
        gone += usize::from(!exists);
    }
    for id in applications {
        let uuid = uuid::Uuid::parse_str(id).unwrap();
        let exists = store.read(|conn| applications::get(conn, uuid)).unwrap().is_some();
        let n = events.get(id).copied().unwrap_or(0);
        assert_eq!(
            n,
            usize::from(!exists),
            "application: exists {exists}, {n} purge events"
        );
        gone += usize::from(!exists);
    }
    gone
}

#[test]
fn a_killed_purge_leaves_nothing_inconsistent_and_the_next_run_finishes() {
    for_each_backend(|db| {
        let dir = tempfile::tempdir().unwrap();
        let store = db.store();
        let (package_ids, application_ids) = fill(&store);
        let total = package_ids.len() + application_ids.len();

        // The first run: killed once its first batches are committed.
        let mut child = doorstroom(db, dir.path())
            .arg("purge")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while purge_events(&store).is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no batch committed within 60 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(!status.success(), "the purge was killed, not finished");
        let gone = assert_consistent(&store, &package_ids, &application_ids);
        assert!(gone > 0 && gone < total, "killed half-way: {gone} of {total} gone");
        store.read(merkle::verify_log).expect("the log verifies after the kill");

        // The second run carries on and finishes.
        let output = doorstroom(db, dir.path()).arg("purge").output().unwrap();
        assert!(
            output.status.success(),
            "second run: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let counted: u64 = summary["deleted"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|reasons| reasons.as_object().unwrap().values())
            .map(|n| n.as_u64().unwrap())
            .sum();
        assert_eq!(
            counted as usize,
            total - gone,
            "the second run deletes the rest: {summary}"
        );
        assert_eq!(
            assert_consistent(&store, &package_ids, &application_ids),
            total,
            "everything due is gone"
        );

        // A dry run now finds nothing due, and the log verifies with the
        // operator's command.
        let dry = doorstroom(db, dir.path())
            .args(["purge", "--dry-run"])
            .output()
            .unwrap();
        assert!(dry.status.success());
        let dry: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
        assert_eq!(dry["deleted"], serde_json::json!({}), "{dry}");
        let verify = doorstroom(db, dir.path()).args(["audit", "verify"]).output().unwrap();
        assert!(
            verify.status.success(),
            "audit verify: {}",
            String::from_utf8_lossy(&verify.stderr)
        );
        assert!(String::from_utf8_lossy(&verify.stdout).starts_with("ok:"));
    });
}

#[test]
fn two_purges_at_once_delete_each_record_once() {
    // Two broker nodes (or a cron job and a node) purging the same database
    // at the same time: each record is deleted, and audited, once.
    for_each_backend(|db| {
        let dir = tempfile::tempdir().unwrap();
        let store = db.store();
        let (package_ids, application_ids) = fill(&store);
        let runs: Vec<_> = (0..2)
            .map(|_| {
                doorstroom(db, dir.path())
                    .env("DOORSTROOM__RETENTION__BATCH_PAUSE_MS", "20")
                    .arg("purge")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut deleted = 0;
        for run in runs {
            let output = run.wait_with_output().unwrap();
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            deleted += summary["deleted"]
                .as_object()
                .unwrap()
                .values()
                .flat_map(|reasons| reasons.as_object().unwrap().values())
                .map(|n| n.as_u64().unwrap())
                .sum::<u64>();
        }
        let total = package_ids.len() + application_ids.len();
        // A node that finds the other purging ends its run early; whatever
        // is left goes with the next run.
        let gone = assert_consistent(&store, &package_ids, &application_ids);
        assert_eq!(deleted as usize, gone, "the runs' counts add up to what went");
        let last = doorstroom(db, dir.path()).arg("purge").output().unwrap();
        assert!(last.status.success());
        assert_eq!(assert_consistent(&store, &package_ids, &application_ids), total);
        store.read(merkle::verify_log).expect("the log verifies");
    });
}
