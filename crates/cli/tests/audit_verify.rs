//! `doorstroom audit verify`: the export/remote checks on data taken from a
//! real store (SQLite) and checkpoints signed here with a signed-note test
//! key, and the command's exit codes and messages through the binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use chrono::{TimeZone, Utc};
use diesel::connection::SimpleConnection as _;
use doorstroom_cli::audit::{
    self, EntryChecker, Export, ExportEntry, SignedCheckpoint, VerifyError, check_consistency_proof, check_succession,
    open_checkpoint, verifier, verify_export,
};
use doorstroom_domain::ResourceKind;
use doorstroom_domain::{
    Actor, ActorKind, AuditAction, AuditEvent, Brin, CrudKind, Outcome, Purpose, ResourceRef, StaffId,
};
use doorstroom_store::merkle::{self, Digest, EMPTY_ROOT};
use doorstroom_store::testing::TestDb;
use doorstroom_store::{Store, StoreError};
use signed_note::{Note, StandardSigner};

const ORIGIN: &str = "doorstroom.test/audit";

// ---- fixtures ----

fn event(n: u32) -> AuditEvent {
    let staff = matches!(n % 2, 0);
    AuditEvent {
        time: Utc
            .timestamp_opt(1_772_366_400 + i64::from(n), 250_000_000)
            .single()
            .unwrap(),
        actor: Actor {
            kind: if staff { ActorKind::Staff } else { ActorKind::System },
            institution: Some(Brin::parse(if staff { "25LX" } else { "30AB" }).unwrap()),
            id: Some(format!("actor-{n}")),
        },
        on_behalf_of: matches!(n % 3, 0).then(|| StaffId(uuid::Uuid::from_u128(u128::from(n)))),
        action: AuditAction::new(CrudKind::Read, "read_institution"),
        resource: ResourceRef::new(ResourceKind::Institution, Some("25LX".to_owned())),
        data_subject: None,
        purpose: Purpose::Administration,
        outcome: Outcome::Success,
        reason: None,
        request_id: Some(format!("req-{n}")),
    }
}

/// An audit log in a fresh SQLite store.
struct Log {
    store: Store,
    _db: TestDb,
}

impl Log {
    fn new(events: impl IntoIterator<Item = AuditEvent>) -> Log {
        let db = TestDb::sqlite();
        let store = db.store();
        let log = Log { store, _db: db };
        log.append(events);
        log
    }

    fn append(&self, events: impl IntoIterator<Item = AuditEvent>) {
        for e in events {
            self.store.write(|c| doorstroom_store::audit::append(c, &e)).unwrap();
        }
    }

    fn root(&self, size: i64) -> Digest {
        self.store.read(|c| merkle::tree_hash(c, size)).unwrap()
    }

    fn entries(&self, size: i64) -> Vec<ExportEntry> {
        let mut out = Vec::new();
        while (out.len() as i64) < size {
            let start = out.len() as i64;
            let page = self.store.read(|c| merkle::entries(c, start, size)).unwrap();
            assert!(!page.is_empty());
            out.extend(page.into_iter().map(|(seq, entry)| ExportEntry { seq, entry }));
        }
        out
    }

    fn consistency_proof(&self, old: i64, new: i64) -> Vec<Digest> {
        self.store.read(|c| merkle::consistency_proof(c, old, new)).unwrap()
    }

    /// An export of the log at `size`, signed by `key`.
    fn export(&self, key: &TestKey, size: i64) -> Export {
        Export {
            pruned: None,
            checkpoint: key.sign(size, &self.root(size)),
            entries: self.entries(size),
            verifier_key: None,
        }
    }
}

struct TestKey {
    signer: StandardSigner,
    vkey: String,
}

impl TestKey {
    fn new(name: &str) -> TestKey {
        let (skey, vkey) = signed_note::generate_key(&mut rand::rngs::OsRng, name);
        TestKey {
            signer: StandardSigner::new(&skey).unwrap(),
            vkey,
        }
    }

    fn verifier(&self) -> signed_note::StandardVerifier {
        verifier(&self.vkey).unwrap()
    }

    fn sign_text(&self, text: &[u8]) -> String {
        let mut note = Note::new(text, &[]).unwrap();
        note.add_sigs(&[&self.signer]).unwrap();
        String::from_utf8(note.to_bytes()).unwrap()
    }

    fn sign(&self, size: i64, root: &Digest) -> String {
        self.sign_as(ORIGIN, size, root)
    }

    fn sign_as(&self, origin: &str, size: i64, root: &Digest) -> String {
        let body = tlog_tiles::Checkpoint::new(origin, size as u64, tlog_tiles::Hash(*root), "").unwrap();
        self.sign_text(&body.to_bytes())
    }

    fn open(&self, note: &str) -> SignedCheckpoint {
        open_checkpoint(note, &self.verifier()).unwrap()
    }
}

fn events(range: std::ops::RangeInclusive<u32>) -> Vec<AuditEvent> {
    range.map(event).collect()
}

fn flip_bit(entry: &str, byte: usize, bit: u8) -> Option<String> {
    let mut bytes = entry.as_bytes().to_vec();
    bytes[byte] ^= 1 << bit;
    String::from_utf8(bytes).ok()
}

// ---- the export checks ----

#[test]
fn a_good_export_passes_and_gives_the_stores_root() {
    let key = TestKey::new(ORIGIN);
    let log = Log::new(events(1..=7));
    let export = log.export(&key, 7);
    let verified = verify_export(&export, &key.verifier(), None).unwrap();
    assert_eq!(verified.size, 7);
    assert_eq!(verified.root, log.root(7));
    assert_eq!(verified.previous, None);
    assert_eq!(verified.origin, ORIGIN);
    assert_eq!(verified.note, export.checkpoint);
    // The broker's own check agrees.
    let local = log.store.read(merkle::verify_log).unwrap();
    assert_eq!((local.size, local.root), (7, verified.root));
    // An export survives its JSON form.
    let json = serde_json::to_string(&export).unwrap();
    assert_eq!(serde_json::from_str::<Export>(&json).unwrap(), export);
}

#[test]
fn an_empty_log_verifies_against_a_checkpoint_of_size_zero() {
    let key = TestKey::new(ORIGIN);
    let export = Export {
        pruned: None,
        checkpoint: key.sign(0, &EMPTY_ROOT),
        entries: vec![],
        verifier_key: None,
    };
    let verified = verify_export(&export, &key.verifier(), None).unwrap();
    assert_eq!((verified.size, verified.root), (0, EMPTY_ROOT));
}

#[test]
fn a_flipped_byte_that_breaks_the_event_names_its_seq() {
    let key = TestKey::new(ORIGIN);
    let log = Log::new(events(1..=6));
    let mut export = log.export(&key, 6);
    // `{"time"…` → `z"time"…`: no longer JSON.
    export.entries[2].entry = flip_bit(&export.entries[2].entry, 0, 0).unwrap();
    let err = verify_export(&export, &key.verifier(), None).unwrap_err();
    assert!(matches!(err, VerifyError::Entry { seq: 3, .. }), "{err}");
    assert!(err.to_string().starts_with("entry seq 3: "), "{err}");

    // `"outcome":"success"` → `"outcome":"success"` with one bit off: not an outcome.
    let mut export = log.export(&key, 6);
    let at = export.entries[4].entry.find("\"success\"").unwrap() + 1;
    export.entries[4].entry = flip_bit(&export.entries[4].entry, at, 0).unwrap();
    let err = verify_export(&export, &key.verifier(), None).unwrap_err();
    assert!(matches!(err, VerifyError::Entry { seq: 5, .. }), "{err}");
}

#[test]
fn a_flipped_byte_that_leaves_a_valid_event_breaks_the_root() {
    let key = TestKey::new(ORIGIN);
    let log = Log::new(events(1..=6));
    let mut export = log.export(&key, 6);
    // `req-4` → `req-5`: still a canonical event, so only the root can tell.
    let at = export.entries[3].entry.find("req-4").unwrap() + 4;
    export.entries[3].entry = flip_bit(&export.entries[3].entry, at, 0).unwrap();
    assert!(export.entries[3].entry.contains("req-5"));
    let err = verify_export(&export, &key.verifier(), None).unwrap_err();
    assert!(matches!(err, VerifyError::Root { size: 6, .. }), "{err}");
    assert!(err.to_string().contains("checkpoint of size 6"), "{err}");

    // With an older checkpoint seen before, a change before its size is
    // placed there.
    let older = key.sign(4, &log.root(4));
    let err = verify_export(&export, &key.verifier(), Some(&older)).unwrap_err();
    assert!(matches!(err, VerifyError::Inconsistent { old: 4, .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("not consistent with the checkpoint of size 4 seen before"),
        "{err}"
    );
}

#[test]
fn every_single_bit_flip_in_an_entry_is_caught() {
    let key = TestKey::new(ORIGIN);
    let log = Log::new(events(1..=5));
    let good = log.export(&key, 5);
    // The signature is checked once (debug-build Ed25519 is slow); the
    // entries go through the same checker `verify_export` uses.
    let latest = key.open(&good.checkpoint);
    let check = |entries: &[ExportEntry]| -> Result<audit::Verified, VerifyError> {
        let mut checker = EntryChecker::new(&latest, None)?;
        for e in entries {
            checker.push(e.seq, &e.entry)?;
        }
        checker.finish()
    };
    check(&good.entries).unwrap();
    let entry = &good.entries[1].entry;
    let (mut named, mut by_root) = (0, 0);
    for byte in 0..entry.len() {
        for bit in 0..8 {
            let Some(flipped) = flip_bit(entry, byte, bit) else {
                continue; // not UTF-8: cannot even be a JSON string in an export
            };
            let mut entries = good.entries.clone();
            entries[1].entry = flipped;
            match check(&entries) {
                Err(VerifyError::Entry { seq: 2, .. }) => named += 1,
                Err(VerifyError::Root { size: 5, .. }) => by_root += 1,
                other => panic!("byte {byte} bit {bit}: {other:?}"),
            }
        }
    }
    assert!(named > 0 && by_root > 0, "named {named}, by root {by_root}");
}

#[test]
fn a_removed_entry_fails() {
    let key = TestKey::new(ORIGIN);
    let log = Log::new(events(1..=6));
    let mut export = log.export(&key, 6);
    export.entries.remove(3);
    let err = verify_export(&export, &key.verifier(), None).unwrap_err();
    assert_eq!(err, VerifyError::Missing { expected: 4, found: 5 });
    assert_eq!(err.to_string(), "entry seq 4 is missing (the next entry has seq 5)");

    let mut export = log.export(&key, 6);
    export.entries.pop();
    let err = verify_export(&export, &key.verifier(), None).unwrap_err();
    assert_eq!(err, VerifyError::Truncated { last: 5, size: 6 });

    // Removed and renumbered: the tree no longer has the signed root.
    let mut export = log.export(&key, 6);
    export.entries.remove(1);
    for (i, e) in export.entries.iter_mut().enumerate() {
        e.seq = i as i64 + 1;
    }
    let err = verify_export(&export, &key.verifier(), None).unwrap_err();
    assert_eq!(err, VerifyError::Truncated { last: 5, size: 6 });

    // Reordered.
    let mut export = log.export(&key, 6);
    export.entries.swap(1, 2);
    let err = verify_export(&export, &key.verifier(), None).unwrap_err();
    assert_eq!(err, VerifyError::Missing { expected: 2, found: 3 });

    // An entry beyond the checkpoint.
    let mut export = log.export(&key, 6);
    export.checkpoint = key.sign(5, &log.root(5));
    let err = verify_export(&export, &key.verifier(), None).unwrap_err();
    assert!(matches!(err, VerifyError::Entry { seq: 6, .. }), "{err}");
}

#[test]
fn a_wrong_signature_fails() {
    let key = TestKey::new(ORIGIN);
    let log = Log::new(events(1..=4));
    let good = log.export(&key, 4);

    // Signed by another key of the same name.
    let other = TestKey::new(ORIGIN);
    let mut export = good.clone();
    export.checkpoint = other.sign(4, &log.root(4));
    let err = verify_export(&export, &key.verifier(), None).unwrap_err();
    assert!(matches!(err, VerifyError::Checkpoint(_)), "{err}");
    assert!(err.to_string().contains("no signature by the key"), "{err}");

    // The signature's bytes changed (same key id).
    let mut export = good.clone();
    let (text, sig) = good.checkpoint.rsplit_once("\n— ").unwrap();
    let (name, b64) = sig.trim_end().split_once(' ').unwrap();
    let mut raw = base64_decode(b64);
    let last = raw.len() - 1;
    raw[last] ^= 1;
    export.checkpoint = format!("{text}\n— {name} {}\n", base64_encode(&raw));
    let err = verify_export(&export, &key.verifier(), None).unwrap_err();
    assert!(matches!(err, VerifyError::Signature { .. }), "{err}");
    assert!(
        err.to_string().starts_with("checkpoint signature does not verify"),
        "{err}"
    );

    // The signed text changed under the signature (size 4 → 3).
    let mut export = good.clone();
    export.checkpoint = good.checkpoint.replacen("\n4\n", "\n3\n", 1);
    export.entries.pop();
    let err = verify_export(&export, &key.verifier(), None).unwrap_err();
    assert!(matches!(err, VerifyError::Signature { .. }), "{err}");

    // A well-signed checkpoint of another root.
    let mut export = good.clone();
    export.checkpoint = key.sign(4, &log.root(3));
    let err = verify_export(&export, &key.verifier(), None).unwrap_err();
    assert!(matches!(err, VerifyError::Root { size: 4, .. }), "{err}");

    // A well-signed note of another log.
    let mut export = good.clone();
    export.checkpoint = key.sign_as("elsewhere.test/log", 4, &log.root(4));
    let err = verify_export(&export, &key.verifier(), None).unwrap_err();
    assert!(err.to_string().contains("is not the key's name"), "{err}");

    // Not a note at all; a malformed key.
    let mut export = good;
    export.checkpoint = "hello\n".into();
    assert!(verify_export(&export, &key.verifier(), None).is_err());
    assert!(matches!(verifier("not-a-key"), Err(VerifyError::Key(_))));
}

#[test]
fn a_state_with_a_later_checkpoint_is_a_rollback() {
    let key = TestKey::new(ORIGIN);
    let log = Log::new(events(1..=8));
    let later = key.sign(8, &log.root(8));
    let export = log.export(&key, 5);
    let err = verify_export(&export, &key.verifier(), Some(&later)).unwrap_err();
    assert_eq!(err, VerifyError::Rollback { old: 8, new: 5 });
    assert_eq!(
        err.to_string(),
        "rollback: the checkpoint has size 5, smaller than the checkpoint of size 8 seen before"
    );
}

#[test]
fn a_state_with_an_older_checkpoint_passes_only_when_consistent() {
    let key = TestKey::new(ORIGIN);
    let log = Log::new(events(1..=5));
    let old_note = key.sign(5, &log.root(5));
    log.append(events(6..=9));
    let export = log.export(&key, 9);

    // Consistent: passes, and says with what.
    let verified = verify_export(&export, &key.verifier(), Some(&old_note)).unwrap();
    assert_eq!((verified.size, verified.previous), (9, Some(5)));
    // The same checkpoint again passes too.
    let again = verify_export(&log.export(&key, 9), &key.verifier(), Some(&export.checkpoint)).unwrap();
    assert_eq!(again.previous, Some(9));
    // And the broker's consistency proof holds.
    let (old, new) = (key.open(&old_note), key.open(&export.checkpoint));
    check_consistency_proof(&old, &new, &log.consistency_proof(5, 9)).unwrap();

    // Inconsistent: the checkpoint seen before was of a log whose second
    // event differed (the broker rewrote it since).
    let mut rewritten = events(1..=5);
    rewritten[1].request_id = Some("req-rewritten".into());
    let other = Log::new(rewritten);
    let forked_note = key.sign(5, &other.root(5));
    let err = verify_export(&export, &key.verifier(), Some(&forked_note)).unwrap_err();
    assert!(matches!(err, VerifyError::Inconsistent { old: 5, .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("not consistent with the checkpoint of size 5 seen before"),
        "{err}"
    );
    let forked = key.open(&forked_note);
    let err = check_consistency_proof(&forked, &new, &log.consistency_proof(5, 9)).unwrap_err();
    assert!(matches!(err, VerifyError::Inconsistent { old: 5, .. }), "{err}");

    // Same size, another root: a fork.
    let rewritten_9 = key.sign(9, &other.root(5));
    let err = check_succession(&key.open(&rewritten_9), &new).unwrap_err();
    assert!(matches!(err, VerifyError::Inconsistent { old: 9, .. }), "{err}");

    // Every single bit flip in the proof is rejected.
    let proof = log.consistency_proof(5, 9);
    for i in 0..proof.len() {
        for bit in 0..256 {
            let mut bad = proof.clone();
            bad[i][bit / 8] ^= 1 << (bit % 8);
            assert!(check_consistency_proof(&old, &new, &bad).is_err(), "hash {i} bit {bit}");
        }
    }
    // A proof with a hash missing is rejected.
    assert!(check_consistency_proof(&old, &new, &proof[1..]).is_err());

    // A state checkpoint signed by another key is refused.
    let stranger = TestKey::new(ORIGIN).sign(5, &log.root(5));
    let err = verify_export(&export, &key.verifier(), Some(&stranger)).unwrap_err();
    assert!(matches!(err, VerifyError::Previous(_)), "{err}");
}

#[test]
fn the_state_file_round_trips_the_raw_note() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.state");
    assert_eq!(audit::read_state(Some(&path)).unwrap(), None);
    let note = TestKey::new(ORIGIN).sign(0, &EMPTY_ROOT);
    audit::write_state(&path, &note).unwrap();
    assert_eq!(audit::read_state(Some(&path)).unwrap(), Some(note));
}

#[test]
fn proofs_are_decoded_from_base64() {
    let h = [7u8; 32];
    let encoded = vec![base64_encode(&h)];
    assert_eq!(audit::decode_proof(&encoded).unwrap(), vec![h]);
    assert!(matches!(
        audit::decode_proof(&["AAAA".to_owned()]),
        Err(VerifyError::Proof(_))
    ));
}

// ---- the command ----

fn doorstroom(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_doorstroom"));
    command
        .args(args)
        .env_remove("DOORSTROOM_TOKEN")
        .env_remove("DOORSTROOM_CONFIG");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write_json(path: &Path, export: &Export) {
    std::fs::write(path, serde_json::to_vec(export).unwrap()).unwrap();
}

#[test]
fn the_command_verifies_an_export_keeps_state_and_exits_non_zero_on_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let (file, state) = (dir.path().join("export.json"), dir.path().join("state"));
    let (file_s, state_s) = (file.to_str().unwrap(), state.to_str().unwrap());
    let key = TestKey::new(ORIGIN);
    let log = Log::new(events(1..=5));
    write_json(&file, &log.export(&key, 5));
    let verify = [
        "audit",
        "verify",
        "--export",
        file_s,
        "--state",
        state_s,
        "--verifier-key",
        &key.vkey,
    ];

    let (code, out, err) = doorstroom(&verify, &[]);
    assert_eq!(code, 0, "{out}{err}");
    let root = base64_encode(&log.root(5));
    assert!(out.starts_with(&format!("ok: 5 entries, root {root}\n")), "{out}");
    assert_eq!(std::fs::read_to_string(&state).unwrap(), log.export(&key, 5).checkpoint);

    // The log grows: consistent with the state, which moves on.
    log.append(events(6..=7));
    write_json(&file, &log.export(&key, 7));
    let (code, out, err) = doorstroom(&verify, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("consistent with the checkpoint of size 5 seen before"),
        "{out}"
    );

    // An older export now is a rollback, and the state stays.
    let kept = std::fs::read_to_string(&state).unwrap();
    write_json(&file, &log.export(&key, 6));
    let (code, _, err) = doorstroom(&verify, &[]);
    assert_eq!(code, 1);
    assert!(err.contains("rollback"), "{err}");
    assert_eq!(std::fs::read_to_string(&state).unwrap(), kept);

    // A changed entry names its seq.
    let mut export = log.export(&key, 7);
    export.entries[2].entry = export.entries[2].entry.replacen('{', "[", 1);
    write_json(&file, &export);
    let (code, _, err) = doorstroom(&verify, &[]);
    assert_eq!(code, 1);
    assert!(err.contains("entry seq 3: "), "{err}");

    // Without a pinned key, one carried in the export is used, with a warning.
    let mut export = log.export(&key, 7);
    export.verifier_key = Some(key.vkey.clone());
    write_json(&file, &export);
    let (code, out, err) = doorstroom(&["audit", "verify", "--export", file_s], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("trust on first use"), "{err}");
    // With no key at all it refuses.
    write_json(&file, &log.export(&key, 7));
    let (code, _, err) = doorstroom(&["audit", "verify", "--export", file_s], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("--verifier-key"), "{err}");
}

#[test]
fn the_command_verifies_the_local_database_and_names_the_tampered_event() {
    let log = Log::new(events(1..=4));
    let url = log._db.url.clone();
    let env = [("DOORSTROOM__DATABASE__URL", url.as_str())];
    let (code, out, err) = doorstroom(&["audit", "verify"], &env);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, format!("ok: 4 entries, root {}\n", base64_encode(&log.root(4))));

    log.store
        .write(|c| -> Result<(), StoreError> {
            // As an attacker with database access: the append-only guard first.
            Ok(c.batch_execute(
                "DROP TRIGGER audit_events_no_update; \
                 UPDATE audit_events SET entry = replace(entry, 'req-2', 'req-9') WHERE seq = 2",
            )?)
        })
        .unwrap();
    let (code, _, err) = doorstroom(&["audit", "verify"], &env);
    assert_eq!(code, 1);
    assert!(err.contains("event 2"), "{err}");
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

// ---- after a prune ----

/// A log of 10 events with a checkpoint signed by `key` at 8, pruned (all
/// due) below 9, and its export at 10 as `audit export` makes it after a
/// prune: the pruned prefix's subtrees and the entries from 9 on.
fn pruned_log(key: &TestKey) -> (Log, Export) {
    let log = Log::new(events(1..=10));
    let checkpoint = merkle::Checkpoint {
        size: 8,
        root: log.root(8),
        signed_note: key.sign(8, &log.root(8)),
        created_at: Utc.timestamp_opt(1_772_366_500, 0).single().unwrap(),
    };
    log.store.write(|c| merkle::record_checkpoint(c, &checkpoint)).unwrap();
    let now = Utc.timestamp_opt(1_772_366_400, 0).single().unwrap() + chrono::Duration::days(1900);
    let pruned = log
        .store
        .write(|c| {
            doorstroom_store::retention::prune_audit(c, &doorstroom_domain::RetentionPolicy::default(), now, 100)
        })
        .unwrap()
        .unwrap();
    assert_eq!((pruned.first, pruned.last), (1, 8));
    let prefix = log.store.read(merkle::pruned_prefix).unwrap();
    let rest = log.store.read(|c| merkle::entries(c, 8, 10)).unwrap();
    let export = Export {
        checkpoint: key.sign(10, &log.root(10)),
        pruned: Some(audit::PrunedPrefix {
            pruned_below: prefix.pruned_below,
            subtrees: prefix.subtrees.iter().map(|h| base64_encode(h)).collect(),
        }),
        entries: rest
            .into_iter()
            .map(|(seq, entry)| ExportEntry { seq, entry })
            .collect(),
        verifier_key: None,
    };
    (log, export)
}

#[test]
fn a_pruned_export_verifies_from_the_boundary_and_its_prefix_is_pinned_by_the_checkpoint() {
    let key = TestKey::new(ORIGIN);
    let (log, export) = pruned_log(&key);
    let verified = verify_export(&export, &key.verifier(), None).unwrap();
    assert_eq!((verified.size, verified.root), (10, log.root(10)));
    // Consistent with a checkpoint seen at or after the boundary.
    let at_8 = key.sign(8, &log.root(8));
    let at_9 = key.sign(9, &log.root(9));
    assert_eq!(
        verify_export(&export, &key.verifier(), Some(&at_8)).unwrap().previous,
        Some(8)
    );
    assert_eq!(
        verify_export(&export, &key.verifier(), Some(&at_9)).unwrap().previous,
        Some(9)
    );
    // One inside the pruned prefix cannot be shown from an export: said so.
    let at_5 = key.sign(5, &log.root(5));
    let err = verify_export(&export, &key.verifier(), Some(&at_5)).unwrap_err();
    assert!(err.to_string().contains("pruned prefix"), "{err}");
    // A changed subtree hash gives another root.
    let mut changed = export.clone();
    let prefix = changed.pruned.as_mut().unwrap();
    prefix.subtrees[0] = base64_encode(&[7u8; 32]);
    assert!(matches!(
        verify_export(&changed, &key.verifier(), None),
        Err(VerifyError::Root { size: 10, .. })
    ));
    // Too few subtree hashes, or a boundary past the checkpoint.
    let mut short = export.clone();
    short.pruned.as_mut().unwrap().subtrees.pop();
    assert!(matches!(
        verify_export(&short, &key.verifier(), None),
        Err(VerifyError::Pruned(_))
    ));
    let mut beyond = export.clone();
    beyond.pruned.as_mut().unwrap().pruned_below = 12;
    assert!(matches!(
        verify_export(&beyond, &key.verifier(), None),
        Err(VerifyError::Pruned(_))
    ));
    // A missing remaining entry is still a gap.
    let mut gap = export.clone();
    gap.entries.remove(0);
    assert!(matches!(
        verify_export(&gap, &key.verifier(), None),
        Err(VerifyError::Missing { expected: 9, found: 10 })
    ));
    // An export survives its JSON form.
    let json = serde_json::to_string(&export).unwrap();
    assert_eq!(serde_json::from_str::<Export>(&json).unwrap(), export);
}

#[test]
fn the_command_verifies_a_pruned_log_locally_and_from_an_export() {
    let key = TestKey::new(ORIGIN);
    let (log, export) = pruned_log(&key);
    let url = log._db.url.clone();
    let (code, out, err) = doorstroom(&["audit", "verify"], &[("DOORSTROOM__DATABASE__URL", url.as_str())]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("ok: 10 entries"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.json");
    write_json(&file, &export);
    let (code, out, err) = doorstroom(
        &[
            "audit",
            "verify",
            "--export",
            file.to_str().unwrap(),
            "--verifier-key",
            &key.vkey,
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("ok: 10 entries"), "{out}");
}
