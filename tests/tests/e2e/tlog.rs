//! The audit log as a verifiable log, through the API: signed checkpoints
//! that verify with the published key, entries that recompute to the signed
//! root, inclusion and consistency proofs, out-of-range requests, who may
//! read, and tampering behind the broker's back, caught by the broker's own
//! check at start and by its refusal to sign.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use diesel::connection::SimpleConnection;
use doorstroom_client::Client;
use doorstroom_domain::ResourceKind;
use doorstroom_domain::{Outcome, Role};
use doorstroom_store::StoreError;
use doorstroom_store::merkle::{self, Digest};
use doorstroom_tests::{MBO, TestBackend, TestBroker, assert_problem};
use reqwest::Method;
use serde_json::Value;
use signed_note::{Note, StandardVerifier, VerifierList};

const ORIGIN: &str = "doorstroom.example/audit";

async fn privacy_officer(broker: &TestBroker) -> Client {
    broker.staff("fg.broker", Role::PrivacyOfficer, None).await
}

/// A few audited requests.
async fn traffic(client: &Client, n: usize) {
    for _ in 0..n {
        let (status, body) = client.send(Method::GET, "/v1/whoami", None).await.unwrap();
        assert_eq!(status.as_u16(), 200, "{body}");
    }
}

/// Signs a checkpoint on demand and returns the note.
async fn sign(po: &Client) -> String {
    let reply = po.fetch(Method::POST, "/v1/audit/checkpoint", None).await.unwrap();
    assert_eq!(reply.status.as_u16(), 200, "{}", String::from_utf8_lossy(&reply.raw));
    assert_eq!(reply.content_type.as_deref(), Some("text/plain; charset=utf-8"));
    String::from_utf8(reply.raw).unwrap()
}

/// The published verifier key.
async fn verifier_key(broker: &TestBroker) -> String {
    let reply = broker
        .anonymous()
        .fetch(Method::GET, "/v1/audit/checkpoint/key", None)
        .await
        .unwrap();
    assert_eq!(reply.status.as_u16(), 200);
    String::from_utf8(reply.raw).unwrap()
}

/// Verifies `note` with the published key; answers its size and root.
async fn open_note(broker: &TestBroker, note: &str) -> (i64, Digest) {
    let key = verifier_key(broker).await;
    assert!(key.starts_with(&format!("{ORIGIN}+")), "{key}");
    let verifier = StandardVerifier::new(&key).unwrap();
    let note = Note::from_bytes(note.as_bytes()).unwrap();
    let (verified, unverified) = note.verify(&VerifierList::new(vec![Box::new(verifier)])).unwrap();
    assert_eq!((verified.len(), unverified.len()), (1, 0));
    let body = tlog_tiles::Checkpoint::from_bytes(note.text()).unwrap();
    assert_eq!(body.origin(), ORIGIN);
    assert_eq!(body.extension(), "");
    (i64::try_from(body.size()).unwrap(), body.hash().0)
}

/// The entries of leaves `0..size`, page by page.
async fn all_entries(po: &Client, size: i64) -> Vec<(i64, String)> {
    let mut entries = Vec::new();
    while (entries.len() as i64) < size {
        let start = entries.len();
        let page: Value = po
            .get(&format!("/v1/audit/entries?start={start}&end={size}"))
            .await
            .unwrap();
        let page = page["entries"].as_array().unwrap();
        assert!(!page.is_empty());
        for e in page {
            entries.push((e["seq"].as_i64().unwrap(), e["entry"].as_str().unwrap().to_owned()));
        }
    }
    entries
}

fn digest(b64: &Value) -> Digest {
    STANDARD.decode(b64.as_str().unwrap()).unwrap().try_into().unwrap()
}

fn digests(list: &Value) -> Vec<Digest> {
    list.as_array().unwrap().iter().map(digest).collect()
}

#[tokio::test]
async fn checkpoints_entries_and_proofs_verify() {
    TestBroker::on_every_backend(|broker| async move {
        // No checkpoint yet.
        let (status, problem) = broker
            .anonymous()
            .send(Method::GET, "/v1/audit/checkpoint", None)
            .await
            .unwrap();
        assert_problem(status.as_u16(), &problem, 404);

        let admin = broker.staff("admin.tlog", Role::BrokerAdmin, None).await;
        traffic(&admin, 5).await;
        let po = privacy_officer(&broker).await;
        let first = sign(&po).await;
        let (size1, root1) = open_note(&broker, &first).await;
        assert!(size1 > 5);

        // The latest checkpoint is public, and it is the one just signed.
        let reply = broker
            .anonymous()
            .fetch(Method::GET, "/v1/audit/checkpoint", None)
            .await
            .unwrap();
        assert_eq!(reply.status.as_u16(), 200);
        assert_eq!(reply.content_type.as_deref(), Some("text/plain; charset=utf-8"));
        assert_eq!(String::from_utf8(reply.raw).unwrap(), first);

        // The entries recompute to the signed root.
        let entries = all_entries(&po, size1).await;
        assert_eq!(entries.len() as i64, size1);
        assert_eq!(merkle::verify_entries(&entries).unwrap(), root1);

        // Inclusion of entry N in the checkpointed tree.
        let n = size1 / 2;
        let proof: Value = po
            .get(&format!("/v1/audit/proofs/inclusion?index={n}&size={size1}"))
            .await
            .unwrap();
        assert_eq!(
            (proof["index"].as_i64(), proof["size"].as_i64()),
            (Some(n), Some(size1))
        );
        let leaf = merkle::leaf_hash(entries[n as usize].1.as_bytes());
        assert_eq!(digest(&proof["leaf_hash"]), leaf);
        assert_eq!(digest(&proof["root"]), root1);
        let path = digests(&proof["proof"]);
        merkle::check_inclusion(&leaf, n, size1, &path, &root1).unwrap();
        // The same proof does not show another entry.
        let other = merkle::leaf_hash(entries[0].1.as_bytes());
        assert!(merkle::check_inclusion(&other, n, size1, &path, &root1).is_err());

        // A second checkpoint, consistent with the first.
        traffic(&admin, 3).await;
        let second = sign(&po).await;
        let (size2, root2) = open_note(&broker, &second).await;
        assert!(size2 > size1);
        let proof: Value = po
            .get(&format!("/v1/audit/proofs/consistency?old={size1}&new={size2}"))
            .await
            .unwrap();
        assert_eq!(
            (proof["old"].as_i64(), proof["new"].as_i64()),
            (Some(size1), Some(size2))
        );
        let path = digests(&proof["proof"]);
        merkle::check_consistency(size1, size2, &root1, &root2, &path).unwrap();
        assert!(merkle::check_consistency(size1, size2, &root2, &root1, &path).is_err());

        // Signing and reading were audited, as the privacy officer's.
        let events = broker.audit_events();
        let of_kind = |kind: &str| {
            events
                .iter()
                .filter(|e| e.resource.kind == kind && e.outcome == Outcome::Success)
                .count()
        };
        assert_eq!(of_kind("audit_checkpoint"), 2);
        assert!(of_kind("audit_entries") >= 1);
        assert_eq!(of_kind("audit_inclusion_proof"), 1);
        assert_eq!(of_kind("audit_consistency_proof"), 1);

        // An untouched log passes the check of a restarted broker.
        let again = broker.start_again().await.unwrap();
        again.stop().await;
    })
    .await;
}

#[tokio::test]
async fn out_of_range_requests_are_400() {
    TestBroker::on_every_backend(|broker| async move {
        let po = privacy_officer(&broker).await;
        let note = sign(&po).await;
        let (size, _) = open_note(&broker, &note).await;
        let beyond = size + 1000;
        for path in [
            format!("/v1/audit/entries?start=0&end={beyond}"),
            "/v1/audit/entries?start=-1&end=1".to_owned(),
            "/v1/audit/entries?start=3&end=2".to_owned(),
            format!("/v1/audit/proofs/inclusion?index={size}&size={size}"),
            format!("/v1/audit/proofs/inclusion?index=0&size={beyond}"),
            "/v1/audit/proofs/inclusion?index=-1&size=1".to_owned(),
            format!("/v1/audit/proofs/inclusion?index={}&size=1", i64::MAX),
            format!("/v1/audit/proofs/consistency?old=0&new={size}"),
            format!("/v1/audit/proofs/consistency?old={size}&new=1"),
            format!("/v1/audit/proofs/consistency?old=1&new={beyond}"),
            format!("/v1/audit/proofs/consistency?old=1&new={}", i64::MAX),
            "/v1/audit/proofs/consistency?old=1".to_owned(),
            "/v1/audit/proofs/inclusion?index=x&size=1".to_owned(),
        ] {
            let (status, problem) = po.send(Method::GET, &path, None).await.unwrap();
            assert_problem(status.as_u16(), &problem, 400);
            eprintln!("{path}: {}", problem["detail"]);
        }
    })
    .await;
}

#[tokio::test]
async fn only_the_brokers_privacy_officer_reads_entries_and_proofs() {
    TestBroker::on_every_backend(|broker| async move {
        let intaker = broker.staff("intaker.tlog", Role::Intaker, Some(MBO)).await;
        let institution_fg = broker.staff("fg.mbo", Role::PrivacyOfficer, Some(MBO)).await;
        let admin = broker.staff("admin.tlog", Role::BrokerAdmin, None).await;
        for client in [&intaker, &institution_fg, &admin] {
            for (method, path) in [
                (Method::GET, "/v1/audit/entries?start=0&end=1"),
                (Method::GET, "/v1/audit/proofs/inclusion?index=0&size=1"),
                (Method::GET, "/v1/audit/proofs/consistency?old=1&new=1"),
                (Method::POST, "/v1/audit/checkpoint"),
            ] {
                let (status, problem) = client.send(method, path, None).await.unwrap();
                assert_problem(status.as_u16(), &problem, 403);
            }
        }
        let (status, problem) = broker
            .anonymous()
            .send(Method::GET, "/v1/audit/entries?start=0&end=1", None)
            .await
            .unwrap();
        assert_problem(status.as_u16(), &problem, 401);
        // No checkpoint was made by the refused requests, and each refusal
        // is on the record.
        let (status, _) = broker
            .anonymous()
            .send(Method::GET, "/v1/audit/checkpoint", None)
            .await
            .unwrap();
        assert_eq!(status.as_u16(), 404);
        let denied = broker
            .audit_events()
            .into_iter()
            .filter(|e| e.resource.kind.starts_with("audit_") && e.outcome == Outcome::Denied)
            .count();
        assert_eq!(denied, 12);
    })
    .await;
}

// ---- tampering behind the broker's back ----

/// Raw SQL on the broker's database, as an attacker with access to it would
/// run it, after dropping the append-only guards.
pub(crate) fn tamper(broker: &TestBroker, sql: &str) {
    let guards = match broker.backend {
        TestBackend::Sqlite => {
            "DROP TRIGGER IF EXISTS audit_events_no_update; DROP TRIGGER IF EXISTS audit_events_no_delete; \
             DROP TRIGGER IF EXISTS audit_hashes_no_update; DROP TRIGGER IF EXISTS audit_hashes_no_delete; \
             DROP TRIGGER IF EXISTS audit_checkpoints_no_update; DROP TRIGGER IF EXISTS audit_checkpoints_no_delete;"
        }
        TestBackend::Postgres => {
            "ALTER TABLE audit_events DISABLE TRIGGER USER; ALTER TABLE audit_hashes DISABLE TRIGGER USER; \
             ALTER TABLE audit_checkpoints DISABLE TRIGGER USER;"
        }
    };
    for sql in [guards, sql] {
        broker
            .store
            .write(|c| -> Result<(), StoreError> { Ok(c.batch_execute(sql)?) })
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// Starting a broker on the tampered database fails, naming the place.
async fn restart_fails(broker: &TestBroker, place: &str) -> String {
    let err = match broker.start_again().await {
        Ok(server) => {
            server.stop().await;
            panic!("a broker started on a tampered log (expected: {place})");
        }
        Err(err) => err.to_string(),
    };
    assert!(err.starts_with("refusing to start: audit log"), "{err}");
    assert!(err.contains(place), "{err} (expected: {place})");
    err
}

/// A broker with some traffic in its log.
async fn with_traffic(broker: &TestBroker) {
    let admin = broker.staff("admin.tamper", Role::BrokerAdmin, None).await;
    traffic(&admin, 8).await;
}

#[tokio::test]
async fn an_altered_byte_stops_the_broker_at_start() {
    TestBroker::on_every_backend(|broker| async move {
        with_traffic(&broker).await;
        tamper(
            &broker,
            "UPDATE audit_events SET entry = replace(entry, '{\"time\"', '[\"time\"') WHERE seq = 3",
        );
        restart_fails(&broker, "event 3").await;
    })
    .await;
}

#[tokio::test]
async fn a_deleted_event_stops_the_broker_at_start() {
    TestBroker::on_every_backend(|broker| async move {
        with_traffic(&broker).await;
        tamper(&broker, "DELETE FROM audit_events WHERE seq = 4");
        restart_fails(&broker, "event 4 is missing").await;
    })
    .await;
}

#[tokio::test]
async fn swapped_events_stop_the_broker_at_start() {
    TestBroker::on_every_backend(|broker| async move {
        with_traffic(&broker).await;
        // Whole rows swapped, each still self-consistent: the leaf hashes tell.
        tamper(
            &broker,
            "CREATE TEMPORARY TABLE swap AS SELECT * FROM audit_events WHERE seq IN (2, 6); \
             DELETE FROM audit_events WHERE seq IN (2, 6); \
             UPDATE swap SET seq = 8 - seq; \
             INSERT INTO audit_events SELECT * FROM swap; \
             DROP TABLE swap;",
        );
        restart_fails(&broker, "event 2: its stored leaf hash").await;
    })
    .await;
}

#[tokio::test]
async fn a_truncated_and_reappended_log_is_refused_a_checkpoint_and_stops_the_broker_at_start() {
    TestBroker::on_every_backend(|broker| async move {
        with_traffic(&broker).await;
        let po = privacy_officer(&broker).await;
        let note = sign(&po).await;
        let (size, root) = open_note(&broker, &note).await;

        // Cut the last 3 checkpointed events and their hashes, then let new
        // traffic append others: a valid tree, but not the signed one.
        let keep = size - 3;
        let hashes = tlog_tiles::stored_hash_count(u64::try_from(keep).unwrap());
        tamper(
            &broker,
            &format!("DELETE FROM audit_events WHERE seq > {keep}; DELETE FROM audit_hashes WHERE idx >= {hashes};"),
        );
        let admin = broker.staff("admin.reappend", Role::BrokerAdmin, None).await;
        traffic(&admin, 6).await;

        // The broker refuses to sign a checkpoint inconsistent with the last.
        let (status, problem) = po.send(Method::POST, "/v1/audit/checkpoint", None).await.unwrap();
        let detail = assert_problem(status.as_u16(), &problem, 409);
        assert!(
            detail.contains(&format!("not consistent with the checkpoint at size {size}")),
            "{detail}"
        );
        // The latest checkpoint is still the one signed before.
        let reply = broker
            .anonymous()
            .fetch(Method::GET, "/v1/audit/checkpoint", None)
            .await
            .unwrap();
        assert_eq!(String::from_utf8(reply.raw).unwrap(), note);
        // The refusal is on the record.
        let refused = broker
            .audit_events()
            .into_iter()
            .filter(|e| e.resource.kind == "audit_checkpoint" && e.outcome == Outcome::Rejected)
            .count();
        assert_eq!(refused, 1);
        // The proofs a verifier asks for no longer lead to the signed root.
        let proof: Value = po
            .get(&format!("/v1/audit/proofs/inclusion?index=0&size={size}"))
            .await
            .unwrap();
        assert_ne!(digest(&proof["root"]), root);

        restart_fails(&broker, &format!("checkpoint at size {size}")).await;
    })
    .await;
}

#[tokio::test]
async fn a_forged_checkpoint_stops_the_broker_at_start() {
    TestBroker::on_every_backend(|broker| async move {
        with_traffic(&broker).await;
        let po = privacy_officer(&broker).await;
        let note = sign(&po).await;
        let (size, _) = open_note(&broker, &note).await;
        // The signature line replaced by one of another key: the body still
        // states the right size and root, but the broker did not sign it.
        let (body, _) = note.split_once("\n\n").unwrap();
        let (forger, _) = signed_note::generate_key(&mut rand::rngs::OsRng, ORIGIN);
        let mut forged = Note::new(format!("{body}\n").as_bytes(), &[]).unwrap();
        forged
            .add_sigs(&[&signed_note::StandardSigner::new(&forger).unwrap()])
            .unwrap();
        let forged = String::from_utf8(forged.to_bytes()).unwrap();
        tamper(
            &broker,
            &format!("UPDATE audit_checkpoints SET signed_note = '{forged}' WHERE size = {size}"),
        );
        restart_fails(&broker, &format!("checkpoint at size {size}")).await;
        // Nor does the broker sign on top of it.
        let (status, problem) = po.send(Method::POST, "/v1/audit/checkpoint", None).await.unwrap();
        let detail = assert_problem(status.as_u16(), &problem, 409);
        assert!(detail.contains("does not carry the broker's signature"), "{detail}");
    })
    .await;
}

#[tokio::test]
async fn scheduled_checkpoints_follow_the_log_and_stop_with_the_server() {
    for db in doorstroom_tests::TestDb::all() {
        eprintln!("-- on {}", db.backend.name());
        let broker =
            TestBroker::start_with(db, |s| s.audit.checkpoint_interval = std::time::Duration::from_secs(1)).await;
        let admin = broker.staff("admin.schedule", Role::BrokerAdmin, None).await;
        traffic(&admin, 2).await;
        let size_now = broker.store.read(merkle::tree_size).unwrap();
        let mut latest = None;
        for _ in 0..50 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            latest = broker.store.read(merkle::latest_checkpoint).unwrap();
            if latest.as_ref().is_some_and(|cp| cp.size >= size_now) {
                break;
            }
        }
        let latest = latest.expect("a scheduled checkpoint");
        let (size, root) = open_note(&broker, &latest.signed_note).await;
        assert_eq!((size, root), (latest.size, latest.root));
        // Nothing new: nothing signed, and the schedule adds no events.
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        assert_eq!(broker.store.read(merkle::tree_size).unwrap(), size);
        assert_eq!(
            broker.store.read(merkle::latest_checkpoint).unwrap().unwrap().size,
            size
        );

        // Stopped, the broker signs no more, however the log grows.
        let server = broker.server;
        server.stop().await;
        let event = doorstroom_domain::AuditEvent::success(
            doorstroom_domain::Clock::now(&broker.clock),
            &doorstroom_domain::Principal::Operator,
            doorstroom_domain::AuditAction::new(doorstroom_domain::CrudKind::Read, "test"),
            doorstroom_domain::ResourceRef::new(ResourceKind::AuditLog, None),
            doorstroom_domain::Purpose::Operations,
        );
        broker
            .store
            .write(|c| doorstroom_store::audit::append(c, &event))
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        assert_eq!(
            broker.store.read(merkle::latest_checkpoint).unwrap().unwrap().size,
            size
        );
    }
}
