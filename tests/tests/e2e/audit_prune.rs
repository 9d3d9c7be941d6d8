//! Pruning the audit log after the audit period, end to end with the
//! injected clock: events go at their due instant and not a second before,
//! never above the latest signed checkpoint, one summary event per batch
//! records it; afterwards the broker's own check passes at start, the
//! pruned prefix is served for outside verifiers and the CLI's checks pass,
//! proofs of the remaining entries verify, and tampering around the prune
//! boundary still stops the broker at start.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use doorstroom_app::purge::{self, PurgeOptions, PurgeSummary};
use doorstroom_cli::audit::{
    AuditCommand, Export, ExportArgs, ExportEntry, KeyArgs, PrunedPrefix, VerifyArgs, verifier, verify_export,
};
use doorstroom_client::Client;
use doorstroom_domain::{AuditEvent, Clock, Principal, Role};
use doorstroom_store::merkle::{self, Digest};
use doorstroom_tests::{TestBroker, assert_problem};
use reqwest::Method;
use serde_json::Value;

use crate::retention::all_events;
use crate::tlog::tamper;

fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap()
}

fn set_clock(broker: &TestBroker, at: DateTime<Utc>) {
    let now = broker.clock.now();
    assert!(at >= now, "the clock only moves forward");
    broker.clock.advance(at - now);
}

/// A purge run in batches of 5 at the broker's clock.
fn purge(broker: &TestBroker) -> PurgeSummary {
    let policy = broker.settings.retention.policy;
    let options = PurgeOptions {
        batch_size: 5,
        pause: std::time::Duration::ZERO,
    };
    purge::purge_expired(
        &broker.store,
        &policy,
        &broker.clock,
        &Principal::Operator,
        options,
        &purge::new_run_id(),
    )
    .expect("purge")
}

fn pruned_events(summary: &PurgeSummary) -> u64 {
    summary
        .deleted
        .get(doorstroom_domain::ResourceKind::AuditEvent.as_str())
        .and_then(|reasons| reasons.get("audit_retention"))
        .copied()
        .unwrap_or(0)
}

fn pruned_below(broker: &TestBroker) -> i64 {
    broker.store.read(merkle::pruned_below).unwrap()
}

async fn traffic(client: &Client, n: usize) {
    for _ in 0..n {
        let (status, body) = client.send(Method::GET, "/v1/whoami", None).await.unwrap();
        assert_eq!(status.as_u16(), 200, "{body}");
    }
}

async fn sign(po: &Client) -> String {
    let reply = po.fetch(Method::POST, "/v1/audit/checkpoint", None).await.unwrap();
    assert_eq!(reply.status.as_u16(), 200, "{}", String::from_utf8_lossy(&reply.raw));
    String::from_utf8(reply.raw).unwrap()
}

fn digest(b64: &Value) -> Digest {
    STANDARD.decode(b64.as_str().unwrap()).unwrap().try_into().unwrap()
}

fn digests(list: &Value) -> Vec<Digest> {
    list.as_array().unwrap().iter().map(digest).collect()
}

/// The events that record audit prunes.
fn prune_events(broker: &TestBroker) -> Vec<AuditEvent> {
    all_events(broker)
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| e.action.name == doorstroom_domain::SideEvent::AuditEventsPruned.name())
        .collect()
}

/// A broker whose log was pruned below its first signed checkpoint (all of
/// it due); answers that checkpoint's note and size.
async fn pruned_broker(broker: &TestBroker) -> (String, i64) {
    let t0 = ms(broker.clock.now());
    let admin_creds = broker.create_staff("admin.prune", Role::BrokerAdmin, None);
    let admin = broker.login(&admin_creds).await;
    let po = broker.staff("fg.prune", Role::PrivacyOfficer, None).await;
    traffic(&admin, 4).await;
    // The events recorded at t0.
    let early = broker.store.read(merkle::tree_size).unwrap();
    broker.clock.advance(Duration::seconds(1));
    traffic(&admin, 3).await;
    let note = sign(&po).await;
    let checkpoint = broker.store.read(merkle::latest_checkpoint).unwrap().unwrap();
    assert!(checkpoint.size > early);
    broker.clock.advance(Duration::days(1));
    let admin = broker.login(&admin_creds).await;
    traffic(&admin, 3).await;
    let size_before = broker.store.read(merkle::tree_size).unwrap();

    // A second before the first events are due: nothing goes.
    let audit_days = broker.settings.retention.policy.periods().audit;
    set_clock(broker, t0 + audit_days - Duration::seconds(1));
    assert_eq!(pruned_events(&purge(broker)), 0);
    assert_eq!(pruned_below(broker), 1);
    // At their due instant: exactly the events of t0; a dry run counts them.
    set_clock(broker, t0 + audit_days);
    let policy = broker.settings.retention.policy;
    let dry = purge::purge_dry_run(&broker.store, &policy, broker.clock.now(), &Principal::Operator, "dry").unwrap();
    assert_eq!(pruned_events(&dry), u64::try_from(early).unwrap(), "{dry:?}");
    assert_eq!(pruned_below(broker), 1, "a dry run prunes nothing");
    let done = purge(broker);
    assert_eq!(pruned_events(&done), u64::try_from(early).unwrap(), "{done:?}");
    assert_eq!(pruned_below(broker), early + 1);
    // Everything is due later, but only what the signed checkpoint pins goes.
    set_clock(broker, t0 + audit_days + Duration::days(10));
    let done = purge(broker);
    assert_eq!(
        pruned_events(&done),
        u64::try_from(checkpoint.size - early).unwrap(),
        "{done:?}"
    );
    assert_eq!(pruned_below(broker), checkpoint.size + 1);
    assert_eq!(pruned_events(&purge(broker)), 0);
    let first_left = all_events(broker)[0].0;
    assert_eq!(first_left, checkpoint.size + 1, "the events above the checkpoint stay");
    // One summary event per batch (of at most 5), the ranges back to back.
    let summaries = prune_events(broker);
    assert_eq!(
        summaries.len() as i64,
        (early + 4) / 5 + (checkpoint.size - early + 4) / 5,
        "{summaries:?}"
    );
    let mut next = 1;
    for event in &summaries {
        let (first, last) = event.resource.id.as_deref().unwrap().split_once("..=").unwrap();
        let (first, last): (i64, i64) = (first.parse().unwrap(), last.parse().unwrap());
        assert_eq!(first, next);
        assert_eq!(
            event.reason.as_deref(),
            Some(format!("audit_retention count={}", last - first + 1).as_str())
        );
        assert!(event.data_subject.is_none());
        next = last + 1;
    }
    assert_eq!(next, checkpoint.size + 1);
    assert!(broker.store.read(merkle::tree_size).unwrap() > size_before);
    (note, checkpoint.size)
}

#[tokio::test]
async fn audit_events_go_after_their_period_below_the_signed_checkpoint_and_the_log_still_verifies() {
    TestBroker::on_every_backend(|broker| async move {
        let (old_note, old_size) = pruned_broker(&broker).await;
        let po = broker.staff("fg.prune.later", Role::PrivacyOfficer, None).await;
        let old_root = broker.store.read(|c| merkle::tree_hash(c, old_size)).unwrap();

        // The broker's own check, and a restart.
        let verified = broker.store.read(merkle::verify_log).unwrap();
        let server = broker.start_again().await.expect("a pruned log starts");
        server.stop().await;

        // Entries and inclusion proofs of pruned events: a clear 400.
        let size = verified.size;
        let (status, body) = po
            .send(Method::GET, &format!("/v1/audit/entries?start=0&end={size}"), None)
            .await
            .unwrap();
        let detail = assert_problem(status.as_u16(), &body, 400);
        assert!(detail.contains("pruned"), "{detail}");
        let (status, body) = po
            .send(
                Method::GET,
                &format!("/v1/audit/proofs/inclusion?index=0&size={size}"),
                None,
            )
            .await
            .unwrap();
        assert!(assert_problem(status.as_u16(), &body, 400).contains("pruned"));

        // A new checkpoint; an outside verifier starts from the pruned prefix.
        let note = sign(&po).await;
        let size = broker.store.read(merkle::latest_checkpoint).unwrap().unwrap().size;
        let root = broker.store.read(|c| merkle::tree_hash(c, size)).unwrap();
        let prefix: PrunedPrefix = po.get("/v1/audit/pruned").await.unwrap();
        assert_eq!(prefix.pruned_below, old_size + 1);
        let mut entries = Vec::new();
        let mut next = old_size;
        while next < size {
            let page: Value = po
                .get(&format!("/v1/audit/entries?start={next}&end={size}"))
                .await
                .unwrap();
            for e in page["entries"].as_array().unwrap() {
                entries.push(ExportEntry {
                    seq: e["seq"].as_i64().unwrap(),
                    entry: e["entry"].as_str().unwrap().to_owned(),
                });
            }
            next = entries.last().unwrap().seq;
        }
        let key = String::from_utf8(
            broker
                .anonymous()
                .fetch(Method::GET, "/v1/audit/checkpoint/key", None)
                .await
                .unwrap()
                .raw,
        )
        .unwrap();
        let export = Export {
            checkpoint: note,
            pruned: Some(prefix),
            entries,
            verifier_key: None,
        };
        let checked = verify_export(&export, &verifier(&key).unwrap(), Some(&old_note)).unwrap();
        assert_eq!(
            (checked.size, checked.root, checked.previous),
            (size, root, Some(old_size))
        );

        // Proofs of the remaining entries, and consistency with the pruned size.
        let proof: Value = po
            .get(&format!("/v1/audit/proofs/inclusion?index={old_size}&size={size}"))
            .await
            .unwrap();
        merkle::check_inclusion(
            &digest(&proof["leaf_hash"]),
            old_size,
            size,
            &digests(&proof["proof"]),
            &root,
        )
        .unwrap();
        let proof: Value = po
            .get(&format!("/v1/audit/proofs/consistency?old=3&new={size}"))
            .await
            .unwrap();
        let root_3 = broker.store.read(|c| merkle::tree_hash(c, 3)).unwrap();
        merkle::check_consistency(3, size, &root_3, &root, &digests(&proof["proof"])).unwrap();
        let proof: Value = po
            .get(&format!("/v1/audit/proofs/consistency?old={old_size}&new={size}"))
            .await
            .unwrap();
        merkle::check_consistency(old_size, size, &old_root, &root, &digests(&proof["proof"])).unwrap();

        // Reading the pruned prefix is audited; others may not.
        assert!(
            all_events(&broker)
                .iter()
                .any(|(_, e)| e.resource.kind == "audit_pruned_prefix"),
        );
        let admin = broker.staff("admin.prune2", Role::BrokerAdmin, None).await;
        let (status, body) = admin.send(Method::GET, "/v1/audit/pruned", None).await.unwrap();
        assert_problem(status.as_u16(), &body, 403);
    })
    .await;
}

/// Starting a broker on the tampered database fails, naming the place.
async fn restart_fails(broker: &TestBroker, place: &str) {
    let err = match broker.start_again().await {
        Ok(server) => {
            server.stop().await;
            panic!("a broker started on a tampered log (expected: {place})");
        }
        Err(err) => err.to_string(),
    };
    assert!(err.starts_with("refusing to start: audit log"), "{err}");
    assert!(err.contains(place), "{err} (expected: {place})");
}

#[tokio::test]
async fn a_changed_hash_below_the_prune_boundary_stops_the_broker_at_start() {
    TestBroker::on_every_backend(|broker| async move {
        pruned_broker(&broker).await;
        let index = tlog_tiles::stored_hash_index(0, 2);
        let forged = match broker.backend {
            doorstroom_tests::TestBackend::Sqlite => format!("X'{}'", "42".repeat(32)),
            doorstroom_tests::TestBackend::Postgres => format!("'\\x{}'::bytea", "42".repeat(32)),
        };
        tamper(
            &broker,
            &format!("UPDATE audit_hashes SET hash = {forged} WHERE idx = {index}"),
        );
        restart_fails(&broker, "does not match the recomputed tree").await;
    })
    .await;
}

#[tokio::test]
async fn a_deleted_event_above_the_prune_boundary_stops_the_broker_at_start() {
    TestBroker::on_every_backend(|broker| async move {
        let (_, size) = pruned_broker(&broker).await;
        let gone = size + 1;
        tamper(&broker, &format!("DELETE FROM audit_events WHERE seq = {gone}"));
        restart_fails(&broker, &format!("event {gone} is missing")).await;
    })
    .await;
}

#[tokio::test]
async fn a_changed_remaining_entry_stops_the_broker_at_start() {
    TestBroker::on_every_backend(|broker| async move {
        let (_, size) = pruned_broker(&broker).await;
        let seq = size + 2;
        tamper(
            &broker,
            &format!("UPDATE audit_events SET entry = replace(entry, '{{\"time\"', '[\"time\"') WHERE seq = {seq}"),
        );
        restart_fails(&broker, &format!("event {seq}")).await;
    })
    .await;
}

/// A broker privacy officer's access token, logged in now.
async fn po_token(broker: &TestBroker, creds: &doorstroom_tests::StaffCredentials) -> String {
    let body = serde_json::json!({
        "username": creds.username,
        "password": creds.password,
        "totp": broker.totp(&creds.totp_secret),
    });
    let reply = broker
        .anonymous()
        .fetch(Method::POST, "/v1/auth/login", Some(&body))
        .await
        .unwrap();
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    reply.body["access_token"].as_str().unwrap().to_owned()
}

/// Runs `doorstroom audit …` as the command line does, against the broker.
async fn cli(broker: &TestBroker, command: AuditCommand) -> Result<(), String> {
    let url = broker.base_url.clone();
    let ca = broker.pki.ca_cert_path();
    tokio::task::spawn_blocking(move || doorstroom_cli::audit::run(command, &url, &ca, None))
        .await
        .unwrap()
        .map_err(|e| format!("{e:#}"))
}

fn remote(token: &str, key: &str, state: &std::path::Path) -> AuditCommand {
    AuditCommand::Verify(VerifyArgs {
        remote: true,
        export: None,
        token: Some(token.to_owned()),
        state: Some(state.to_owned()),
        key: KeyArgs {
            verifier_key: Some(key.to_owned()),
            verifier_key_file: None,
        },
    })
}

#[tokio::test]
async fn the_cli_verifies_a_pruned_log_remotely_and_from_an_export_holding_it_to_checkpoints_seen_before() {
    TestBroker::on_every_backend(|broker| async move {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.note");
        let t0 = ms(broker.clock.now());
        let creds = broker.create_staff("fg.cli", Role::PrivacyOfficer, None);
        let key = String::from_utf8(
            broker
                .anonymous()
                .fetch(Method::GET, "/v1/audit/checkpoint/key", None)
                .await
                .unwrap()
                .raw,
        )
        .unwrap();
        // Checkpoint A, seen by the verifier.
        let po = broker.login(&creds).await;
        traffic(&po, 3).await;
        sign(&po).await;
        let token = po_token(&broker, &creds).await;
        cli(&broker, remote(&token, &key, &state)).await.unwrap();
        let seen = std::fs::read_to_string(&state).unwrap();
        // Checkpoint B later; then everything up to B is pruned, so A lies
        // inside the pruned prefix.
        traffic(&po, 3).await;
        sign(&po).await;
        let b = broker.store.read(merkle::latest_checkpoint).unwrap().unwrap().size;
        let audit_days = broker.settings.retention.policy.periods().audit;
        set_clock(&broker, t0 + audit_days + Duration::days(1));
        assert_eq!(pruned_events(&purge(&broker)), u64::try_from(b).unwrap());
        assert_eq!(pruned_below(&broker), b + 1);

        // Remote: A is held to the broker's consistency proof, B becomes the state.
        let token = po_token(&broker, &creds).await;
        cli(&broker, remote(&token, &key, &state)).await.unwrap();
        let now_seen = std::fs::read_to_string(&state).unwrap();
        assert_ne!(now_seen, seen);
        // A new checkpoint C: B is exactly the pruned prefix.
        let po = broker.login(&creds).await;
        sign(&po).await;
        cli(&broker, remote(&token, &key, &state)).await.unwrap();

        // Export and verify it offline, against the state (C).
        let out = dir.path().join("audit.json");
        cli(
            &broker,
            AuditCommand::Export(ExportArgs {
                token: Some(token.clone()),
                out: out.clone(),
            }),
        )
        .await
        .unwrap();
        let export: Export = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(export.pruned.as_ref().unwrap().pruned_below, b + 1);
        assert_eq!(export.entries[0].seq, b + 1);
        let verify_export_file = |state: &std::path::Path| {
            AuditCommand::Verify(VerifyArgs {
                remote: false,
                export: Some(out.clone()),
                token: None,
                state: Some(state.to_owned()),
                key: KeyArgs {
                    verifier_key: Some(key.clone()),
                    verifier_key_file: None,
                },
            })
        };
        cli(&broker, verify_export_file(&state)).await.unwrap();
        // An export cannot hold the log to A, inside the pruned prefix: said so.
        let old_state = dir.path().join("old.note");
        std::fs::write(&old_state, &seen).unwrap();
        let err = cli(&broker, verify_export_file(&old_state)).await.unwrap_err();
        assert!(err.contains("pruned prefix"), "{err}");
        assert_eq!(std::fs::read_to_string(&old_state).unwrap(), seen, "the state stays");
    })
    .await;
}
