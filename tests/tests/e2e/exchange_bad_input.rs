//! Bad input to the dossier exchange (issue 3, "Bad input"): every class
//! gets a precise 4xx `application/problem+json` whose detail names the
//! problem, an audit event for the attempt (`rejected` or `denied`), and
//! stores nothing.
//!
//! Submissions are sealed with the jose crate directly (see
//! `exchange_support`); envelopes that the sealing code would refuse to
//! make are signed by hand with the sender's real key.

use doorstroom_client::Reply;
use doorstroom_devkit::pki::Ca;
use doorstroom_domain::{ApplicationStatus, Clock, KeyUse, Outcome, Role, Section};
use doorstroom_jose::{PrivateJwk, SectionInput, Submission};
use doorstroom_store::applications;
use doorstroom_tests::{MBO, OTHER_MBO, SECOND_VO, TestBroker, VO, assert_problem, without_instance};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::exchange_support::{
    As, BSN, PROBLEM_JSON, application_body, assert_audited, audit_mark, audited_since, b64url, b64url_decode, brin,
    bsn, demo, encryption_key, entry_for, envelope_payload, package_count, package_meta, personal_data,
    post_application, pull_as_system, raw_request, register_application, remarks, report_status, seal_package,
    seal_with, sign_envelope, signing_key, signing_key_json, stored_by_jti, stored_package, submission_json, submit,
    submit_json, support_needs,
};

const SUBMIT: &str = "submit_package";
const PULL: &str = "pull_package";

/// Asserts that `reply` is a problem document with `status` served as
/// `application/problem+json`, and returns its `detail`.
fn problem(reply: &Reply, status: u16) -> String {
    assert_eq!(
        reply.content_type.as_deref(),
        Some(PROBLEM_JSON),
        "content type of {}: {}",
        reply.status,
        String::from_utf8_lossy(&reply.raw)
    );
    let detail = assert_problem(reply.status.as_u16(), &reply.body, status);
    assert!(!detail.is_empty(), "a problem must say what is wrong: {}", reply.body);
    detail
}

/// Like [`problem`], and the problem's `pointer` must be `pointer`.
fn problem_at(reply: &Reply, status: u16, pointer: &str) -> String {
    let detail = problem(reply, status);
    assert_eq!(reply.body["pointer"].as_str(), Some(pointer), "pointer: {}", reply.body);
    detail
}

/// Flips bit `mask` of byte `at` of the base64url-decoded part `part` of a
/// compact serialization and re-encodes it: one flipped bit in what the
/// token carries.
fn flip_in_part(token: &str, part: usize, at: usize, mask: u8) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut bytes = b64url_decode(&parts[part]);
    bytes[at] ^= mask;
    parts[part] = b64url(&bytes);
    let flipped = parts.join(".");
    assert_ne!(flipped, token);
    flipped
}

/// The position of `needle` in the decoded part `part` of a token.
fn find_in_part(token: &str, part: usize, needle: &str) -> usize {
    let bytes = b64url_decode(token.split('.').nth(part).expect("part"));
    bytes
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .unwrap_or_else(|| panic!("{needle:?} in part {part}"))
}

/// A submission with its envelope replaced.
fn with_envelope(submission: &Submission, envelope: String) -> Submission {
    Submission {
        envelope,
        sections: submission.sections.clone(),
    }
}

/// A submission with one section token replaced.
fn with_section(submission: &Submission, section: Section, token: String) -> Submission {
    let mut sections = submission.sections.clone();
    sections.insert(section, token);
    Submission {
        envelope: submission.envelope.clone(),
        sections,
    }
}

/// Submits as the vo school and checks the whole contract of a refused
/// submission: `status`, a problem naming `expected` at `pointer`, one
/// audit event with `outcome`, and no package stored. Returns the detail.
async fn refused(
    broker: &TestBroker,
    submission: &Submission,
    status: u16,
    pointer: &str,
    expected: &str,
    outcome: Outcome,
) -> String {
    let before = package_count(broker);
    let mark = audit_mark(broker);
    let reply = submit(&broker.system(VO), submission).await;
    // A conflict (409) is about the state, not a field: it has no pointer.
    let detail = if status == 409 {
        problem(&reply, status)
    } else {
        problem_at(&reply, status, pointer)
    };
    assert!(detail.contains(expected), "expected {expected:?} in {detail:?}");
    assert_audited(broker, mark, SUBMIT, outcome);
    assert_eq!(package_count(broker), before, "nothing may be stored");
    let jti = envelope_payload(&submission.envelope)["jti"]
        .as_str()
        .map(str::to_owned);
    if let Some(jti) = jti.filter(|_| status != 409) {
        assert!(stored_by_jti(broker, &jti).is_none(), "no package under this jti");
    }
    detail
}

/// A valid package of 07AB for a new application at 25LX.
async fn valid_package(broker: &TestBroker) -> (Uuid, Submission) {
    let application = register_application(broker, MBO, BSN).await;
    let submission = seal_package(broker, application, MBO, &[personal_data(BSN), remarks()]);
    (application, submission)
}

/// Publishes a new signing key for 07AB as its own system; answers its private JWK.
async fn publish_signing_key(broker: &TestBroker) -> (Value, PrivateJwk) {
    let key = Ca::load(&broker.pki.dir)
        .expect("dev CA")
        .issue_jose_key(demo(VO), KeyUse::Sig, broker.clock.now())
        .expect("issue key");
    let reply = broker
        .system(VO)
        .fetch(
            Method::POST,
            &format!("/v1/institutions/{VO}/keys"),
            Some(&json!({"jwk": key.public_jwk.to_json()})),
        )
        .await
        .expect("publish key");
    assert_eq!(reply.status.as_u16(), 201, "publishing a key: {}", reply.body);
    let private = PrivateJwk::parse(&key.private_jwk).expect("private JWK");
    (key.private_jwk, private)
}

async fn set_key_status(broker: &TestBroker, kid: &str, action: &str) {
    let reply = broker
        .system(VO)
        .fetch(
            Method::POST,
            &format!("/v1/institutions/{VO}/keys/{kid}/{action}"),
            None,
        )
        .await
        .expect("key status");
    assert_eq!(reply.status.as_u16(), 200, "{action} {kid}: {}", reply.body);
}

#[tokio::test]
async fn a_flipped_bit_in_the_envelope_or_a_section_is_422() {
    TestBroker::on_every_backend(|broker| async move {
        let (_, good) = valid_package(&broker).await;
        let envelope = &good.envelope;

        // Signature part: a bit in the middle of the signature.
        let flipped = flip_in_part(envelope, 2, 20, 0x01);
        refused(
            &broker,
            &with_envelope(&good, flipped),
            422,
            "/envelope",
            "envelope: signature does not verify",
            Outcome::Rejected,
        )
        .await;

        // Payload part: the case bit of a letter of the jti, and the lowest
        // bit of the last digit of iat. Both leave well-formed canonical
        // JSON, so only the signature can tell.
        let jti_letter = find_in_part(envelope, 1, "\"jti\":\"07AB") + "\"jti\":\"07A".len();
        let iat_last_digit = find_in_part(envelope, 1, ",\"iss\"") - 1;
        for (at, mask) in [(jti_letter, 0x20), (iat_last_digit, 0x01)] {
            let flipped = flip_in_part(envelope, 1, at, mask);
            refused(
                &broker,
                &with_envelope(&good, flipped),
                422,
                "/envelope",
                "envelope: signature does not verify",
                Outcome::Rejected,
            )
            .await;
        }

        // Header part: the case bit of a letter of the kid names no key.
        let kid_letter = find_in_part(envelope, 0, "-sig-") + 1;
        let flipped = flip_in_part(envelope, 0, kid_letter, 0x20);
        refused(
            &broker,
            &with_envelope(&good, flipped),
            422,
            "/envelope",
            "envelope: kid is not a registered key of the sender",
            Outcome::Rejected,
        )
        .await;

        // A section token: a bit in its ciphertext, and one in its clear header.
        let token = good.sections[&Section::PersonalData].clone();
        for part in [3, 0] {
            let flipped = flip_in_part(&token, part, 5, 0x01);
            refused(
                &broker,
                &with_section(&good, Section::PersonalData, flipped),
                422,
                "/sections/personal_data",
                "section personal_data: sha256 does not match the envelope",
                Outcome::Rejected,
            )
            .await;
        }

        // Flips that break the envelope's form are refused too (their audit
        // is checked in `rejections_before_the_audit_spine_are_audited`).
        for (part, at) in [(0, 0), (1, 0)] {
            let reply = submit(
                &broker.system(VO),
                &with_envelope(&good, flip_in_part(envelope, part, at, 0x01)),
            )
            .await;
            let detail = problem_at(&reply, 422, "/envelope");
            assert!(detail.starts_with("envelope: "), "{detail}");
        }
        assert_eq!(package_count(&broker), 0);

        // The untouched package is accepted: the refusals were about the bits.
        let reply = submit(&broker.system(VO), &good).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        assert_eq!(package_count(&broker), 1);
    })
    .await;
}

#[tokio::test]
async fn an_unknown_retired_or_revoked_signing_key_is_422() {
    TestBroker::on_every_backend(|broker| async move {
        let application = register_application(&broker, MBO, BSN).await;
        let recipient_key = encryption_key(&broker, MBO);
        let sections = [personal_data(BSN)];

        // A key from the right CA that 07AB never published.
        let unpublished = Ca::load(&broker.pki.dir)
            .unwrap()
            .issue_jose_key(demo(VO), KeyUse::Sig, broker.clock.now())
            .unwrap();
        let unpublished = PrivateJwk::parse(&unpublished.private_jwk).unwrap();
        let sealed = seal_with(
            &package_meta(&broker, application, MBO),
            &sections,
            &unpublished,
            &recipient_key,
        );
        refused(
            &broker,
            &sealed,
            422,
            "/envelope",
            "envelope: kid is not a registered key of the sender",
            Outcome::Rejected,
        )
        .await;

        // Rotation: publish a second key, retire the first.
        let original = signing_key(&broker, VO);
        let (_, second) = publish_signing_key(&broker).await;
        set_key_status(&broker, original.kid(), "retire").await;
        let sealed = seal_with(
            &package_meta(&broker, application, MBO),
            &sections,
            &original,
            &recipient_key,
        );
        refused(
            &broker,
            &sealed,
            422,
            "/envelope",
            "envelope: the signing key is retired",
            Outcome::Rejected,
        )
        .await;

        // Revoke the second (active) key: never trusted again.
        set_key_status(&broker, second.kid(), "revoke").await;
        let sealed = seal_with(
            &package_meta(&broker, application, MBO),
            &sections,
            &second,
            &recipient_key,
        );
        refused(
            &broker,
            &sealed,
            422,
            "/envelope",
            "envelope: the signing key is revoked",
            Outcome::Rejected,
        )
        .await;

        // A third, active key works: the refusals were about key status.
        let (_, third) = publish_signing_key(&broker).await;
        let sealed = seal_with(
            &package_meta(&broker, application, MBO),
            &sections,
            &third,
            &recipient_key,
        );
        let reply = submit(&broker.system(VO), &sealed).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
    })
    .await;
}

/// Publishes a new encryption key for 25LX as its own system; answers its
/// public JWK.
async fn publish_recipient_key(broker: &TestBroker) -> doorstroom_jose::PublicJwk {
    let key = Ca::load(&broker.pki.dir)
        .expect("dev CA")
        .issue_jose_key(demo(MBO), KeyUse::Enc, broker.clock.now())
        .expect("issue key");
    let reply = broker
        .system(MBO)
        .fetch(
            Method::POST,
            &format!("/v1/institutions/{MBO}/keys"),
            Some(&json!({"jwk": key.public_jwk.to_json()})),
        )
        .await
        .expect("publish key");
    assert_eq!(reply.status.as_u16(), 201, "publishing a key: {}", reply.body);
    key.public_jwk
}

async fn set_recipient_key_status(broker: &TestBroker, kid: &str, action: &str) {
    let reply = broker
        .system(MBO)
        .fetch(
            Method::POST,
            &format!("/v1/institutions/{MBO}/keys/{kid}/{action}"),
            None,
        )
        .await
        .expect("key status");
    assert_eq!(reply.status.as_u16(), 200, "{action} {kid}: {}", reply.body);
}

/// A `personal_data` token of the form of §4.2 whose clear header says
/// `alg` RSA-OAEP-256 for the key `kid`, listed faithfully by an envelope
/// that 07AB signs: the broker cannot decrypt it, so the filler bytes are
/// as good as real ciphertext for what it checks.
fn rsa_shaped_submission(broker: &TestBroker, like: &Submission, kid: &str) -> Submission {
    let mut payload = envelope_payload(&like.envelope);
    let header = json!({
        "alg": "RSA-OAEP-256",
        "enc": "A256GCM",
        "kid": kid,
        "cty": "JWT",
        "sec": "personal_data",
        "pid": payload["pid"],
    });
    let token = [
        b64url(header.to_string().as_bytes()),
        b64url(&[7u8; 256]),
        b64url(&[1u8; 12]),
        b64url(&[2u8; 64]),
        b64url(&[3u8; 16]),
    ]
    .join(".");
    payload["sections"] = json!([entry_for(Section::PersonalData, &token)]);
    Submission {
        envelope: sign_envelope(&signing_key_json(broker, VO), &payload),
        sections: [(Section::PersonalData, token)].into_iter().collect(),
    }
}

#[tokio::test]
async fn a_section_not_sealed_for_an_active_key_of_the_recipient_is_422() {
    TestBroker::on_every_backend(|broker| async move {
        let application = register_application(&broker, MBO, BSN).await;
        let sections = [personal_data(BSN)];
        let sealed_for = |key: &doorstroom_jose::PublicJwk| {
            seal_with(
                &package_meta(&broker, application, MBO),
                &sections,
                &signing_key(&broker, VO),
                key,
            )
        };
        let not_the_recipients =
            "section personal_data: protected header `kid` is not an encryption key of the recipient";

        // Encrypted to the other mbo's key (a kid of another institution).
        let other = encryption_key(&broker, OTHER_MBO);
        assert_ne!(other.kid(), encryption_key(&broker, MBO).kid());
        refused(
            &broker,
            &sealed_for(&other),
            422,
            "/sections/personal_data",
            not_the_recipients,
            Outcome::Rejected,
        )
        .await;

        // A key from the right CA that 25LX never published: an unknown kid.
        let unpublished = Ca::load(&broker.pki.dir)
            .unwrap()
            .issue_jose_key(demo(MBO), KeyUse::Enc, broker.clock.now())
            .unwrap();
        refused(
            &broker,
            &sealed_for(&unpublished.public_jwk),
            422,
            "/sections/personal_data",
            not_the_recipients,
            Outcome::Rejected,
        )
        .await;

        // The recipient's own signing key is no encryption key.
        let signing_kid = signing_key(&broker, MBO).kid().to_owned();
        let for_signing_key = rsa_shaped_submission(&broker, &sealed_for(&encryption_key(&broker, MBO)), &signing_kid);
        refused(
            &broker,
            &for_signing_key,
            422,
            "/sections/personal_data",
            not_the_recipients,
            Outcome::Rejected,
        )
        .await;

        // The recipient's key, but another algorithm than the key's.
        let current = encryption_key(&broker, MBO);
        assert_eq!(current.alg(), "ECDH-ES+A256KW");
        let mismatched = rsa_shaped_submission(&broker, &sealed_for(&current), current.kid());
        refused(
            &broker,
            &mismatched,
            422,
            "/sections/personal_data",
            "section personal_data: protected header `alg` is not the algorithm of the recipient key",
            Outcome::Rejected,
        )
        .await;

        // Rotation at the recipient: a second key, the first retired.
        let second = publish_recipient_key(&broker).await;
        set_recipient_key_status(&broker, current.kid(), "retire").await;
        refused(
            &broker,
            &sealed_for(&current),
            422,
            "/sections/personal_data",
            "section personal_data: the recipient key is retired",
            Outcome::Rejected,
        )
        .await;

        // The second revoked: never sealed for again.
        set_recipient_key_status(&broker, second.kid(), "revoke").await;
        refused(
            &broker,
            &sealed_for(&second),
            422,
            "/sections/personal_data",
            "section personal_data: the recipient key is revoked",
            Outcome::Rejected,
        )
        .await;

        // A third, active key: the valid flow passes.
        let third = publish_recipient_key(&broker).await;
        let reply = submit(&broker.system(VO), &sealed_for(&third)).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        assert_eq!(package_count(&broker), 1);
    })
    .await;
}

#[tokio::test]
async fn a_client_certificate_of_another_institution_than_the_sender_is_refused() {
    TestBroker::on_every_backend(|broker| async move {
        let (_, sealed) = valid_package(&broker).await;

        // The mbo systems may not submit at all: the policy refuses them
        // (wrong sector), answered like a missing resource.
        for other in [MBO, OTHER_MBO] {
            let before = package_count(&broker);
            let mark = audit_mark(&broker);
            let reply = submit(&broker.system(other), &sealed).await;
            assert!(reply.status.is_client_error(), "{other}: {}", reply.status);
            let detail = problem(&reply, 404);
            assert!(detail.contains("does not exist or is not accessible"), "{detail}");
            assert_audited(&broker, mark, SUBMIT, Outcome::Denied);
            assert_eq!(package_count(&broker), before);
        }

        // Another vo school, with its own bound certificate, posting 07AB's envelope.
        let admin = broker.staff("admin.exchange", Role::BrokerAdmin, None).await;
        let reply = admin
            .fetch(
                Method::POST,
                "/v1/institutions",
                Some(&json!({
                    "brin": SECOND_VO.brin, "oin": SECOND_VO.oin, "name": SECOND_VO.name, "sector": "vo"
                })),
            )
            .await
            .unwrap();
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        let now = broker.clock.now();
        let cert = Ca::load(&broker.pki.dir)
            .unwrap()
            .issue_client(
                &SECOND_VO,
                now - chrono::Duration::hours(1),
                now + chrono::Duration::days(365),
            )
            .unwrap();
        let reply = admin
            .fetch(
                Method::POST,
                &format!("/v1/institutions/{}/certificates", SECOND_VO.brin),
                Some(&json!({"certificate": cert.cert_pem})),
            )
            .await
            .unwrap();
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        let second_vo = broker.with_identity(&cert.cert_pem, &cert.key_pem);

        let mark = audit_mark(&broker);
        let reply = submit(&second_vo, &sealed).await;
        let detail = problem_at(&reply, 422, "/envelope");
        assert_eq!(detail, "envelope: iss is not the institution of the client certificate");
        assert_audited(&broker, mark, SUBMIT, Outcome::Rejected);
        assert_eq!(package_count(&broker), 0);
    })
    .await;
}

#[tokio::test]
async fn a_recipient_that_is_unknown_or_not_an_mbo_is_422() {
    TestBroker::on_every_backend(|broker| async move {
        let application = register_application(&broker, MBO, BSN).await;
        for recipient in ["99ZZ", VO] {
            let sealed = seal_with(
                &package_meta(&broker, application, recipient),
                &[personal_data(BSN)],
                &signing_key(&broker, VO),
                // Any encryption key: the broker cannot and does not decrypt.
                &encryption_key(&broker, MBO),
            );
            refused(
                &broker,
                &sealed,
                422,
                "/envelope",
                "envelope: aud is not an active mbo institution",
                Outcome::Rejected,
            )
            .await;
        }
    })
    .await;
}

#[tokio::test]
async fn no_application_or_a_closed_one_is_422() {
    TestBroker::on_every_backend(|broker| async move {
        let no_application = "no open application of this student at the recipient";

        // An application id the broker never issued.
        let sealed = seal_package(&broker, Uuid::new_v4(), MBO, &[personal_data(BSN)]);
        let detail = refused(&broker, &sealed, 422, "/envelope", no_application, Outcome::Rejected).await;
        assert!(detail.contains("application"), "{detail}");

        // An application at 25LX, but the package is addressed to 27GH.
        let at_mbo = register_application(&broker, MBO, BSN).await;
        let sealed = seal_package(&broker, at_mbo, OTHER_MBO, &[personal_data(BSN)]);
        refused(&broker, &sealed, 422, "/envelope", no_application, Outcome::Rejected).await;

        // A closed application: the student withdrew.
        let student = bsn(42);
        let withdrawn = register_application(&broker, MBO, &student).await;
        let reply = report_status(&broker, MBO, withdrawn, "withdrawn").await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        let sealed = seal_package(&broker, withdrawn, MBO, &[personal_data(&student)]);
        refused(&broker, &sealed, 422, "/envelope", no_application, Outcome::Rejected).await;
    })
    .await;
}

#[tokio::test]
async fn a_replayed_jti_is_409_and_an_identical_resubmission_200() {
    TestBroker::on_every_backend(|broker| async move {
        let (application, first) = valid_package(&broker).await;
        let vo = broker.system(VO);
        let accepted = submit(&vo, &first).await;
        assert_eq!(accepted.status.as_u16(), 201, "{}", accepted.body);
        assert_eq!(package_count(&broker), 1);

        // The same bytes again: the first receipt, nothing new stored.
        let mark = audit_mark(&broker);
        let again = submit(&vo, &first).await;
        assert_eq!(again.status.as_u16(), 200, "{}", again.body);
        assert_eq!(again.body["package_id"], accepted.body["package_id"]);
        assert_eq!(
            again.body["receipt"], accepted.body["receipt"],
            "the same signed receipt"
        );
        // The same instant, to the stored millisecond.
        let millis = |reply: &Reply| {
            chrono::DateTime::parse_from_rfc3339(reply.body["received_at"].as_str().unwrap())
                .unwrap()
                .timestamp_millis()
        };
        assert_eq!(millis(&again), millis(&accepted));
        assert_eq!(package_count(&broker), 1);
        assert_audited(&broker, mark, SUBMIT, Outcome::Success);

        // A new envelope (a new package) under the same jti.
        let jti = envelope_payload(&first.envelope)["jti"].as_str().unwrap().to_owned();
        let mut meta = package_meta(&broker, application, MBO);
        meta.jti = jti.clone();
        let replay = seal_with(
            &meta,
            &[personal_data(BSN)],
            &signing_key(&broker, VO),
            &encryption_key(&broker, MBO),
        );
        let detail = refused(
            &broker,
            &replay,
            409,
            "",
            "envelope: jti was already used (replay)",
            Outcome::Rejected,
        )
        .await;
        assert!(detail.contains("replay"), "{detail}");
        assert!(stored_package(&broker, &meta.package_id).is_none());
        assert_eq!(
            stored_by_jti(&broker, &jti).map(|p| p.envelope),
            Some(first.envelope.clone()),
            "the jti still names the first package"
        );

        // The same package id re-sealed (new ciphertexts) under a new jti.
        let pid = envelope_payload(&first.envelope)["pid"].as_str().unwrap().to_owned();
        let mut meta = package_meta(&broker, application, MBO);
        meta.package_id = pid.clone();
        let resealed = seal_with(
            &meta,
            &[personal_data(BSN), remarks()],
            &signing_key(&broker, VO),
            &encryption_key(&broker, MBO),
        );
        let before = package_count(&broker);
        let mark = audit_mark(&broker);
        let reply = submit(&vo, &resealed).await;
        let detail = problem(&reply, 409);
        assert!(detail.contains("already exists"), "{detail}");
        assert_audited(&broker, mark, SUBMIT, Outcome::Rejected);
        assert_eq!(package_count(&broker), before);
        assert_eq!(
            stored_package(&broker, &pid).map(|p| p.envelope),
            Some(first.envelope.clone())
        );
    })
    .await;
}

#[tokio::test]
async fn an_identical_resubmission_answers_a_byte_identical_receipt() {
    TestBroker::on_every_backend(|broker| async move {
        let (_, first) = valid_package(&broker).await;
        let vo = broker.system(VO);
        let accepted = submit(&vo, &first).await;
        assert_eq!(accepted.status.as_u16(), 201, "{}", accepted.body);
        let again = submit(&vo, &first).await;
        assert_eq!(again.status.as_u16(), 200, "{}", again.body);
        assert_eq!(again.body, accepted.body, "the same receipt");
    })
    .await;
}

#[tokio::test]
async fn an_envelope_outside_the_iat_window_is_422() {
    TestBroker::on_every_backend(|broker| async move {
        let application = register_application(&broker, MBO, BSN).await;
        for (skew, expected) in [
            (chrono::Duration::days(-8), "envelope: iat is more than 7 days old"),
            (chrono::Duration::minutes(6), "envelope: iat lies in the future"),
        ] {
            let mut meta = package_meta(&broker, application, MBO);
            meta.iat = (broker.clock.now() + skew).timestamp();
            let sealed = seal_with(
                &meta,
                &[personal_data(BSN)],
                &signing_key(&broker, VO),
                &encryption_key(&broker, MBO),
            );
            refused(&broker, &sealed, 422, "/envelope", expected, Outcome::Rejected).await;
        }
    })
    .await;
}

/// A token of `len` bytes shaped like a compact JWE (five base64url parts).
fn big_token(len: usize) -> String {
    let head = "eyJhbGciOiJFQ0RILUVTK0EyNTZLVyJ9.AAAA.AAAAAAAAAAAAAAAA.";
    let tail = ".AAAAAAAAAAAAAAAAAAAAAA";
    format!("{head}{}{tail}", "A".repeat(len - head.len() - tail.len()))
}

#[tokio::test]
async fn an_oversized_section_is_422_and_an_oversized_package_413() {
    TestBroker::on_every_backend(|broker| async move {
        let (_, good) = valid_package(&broker).await;
        let big = big_token(600 * 1024);

        // The envelope lists the small token, the submission carries a big one.
        let detail = refused(
            &broker,
            &with_section(&good, Section::PersonalData, big.clone()),
            422,
            "/sections/personal_data",
            "section personal_data: exceeds 524288 bytes",
            Outcome::Rejected,
        )
        .await;
        assert_eq!(detail, "section personal_data: exceeds 524288 bytes");

        // An honest but careless sender: the signed envelope lists the big
        // token with its true size.
        let mut payload = envelope_payload(&good.envelope);
        payload["sections"] = json!([entry_for(Section::PersonalData, &big)]);
        let honest = Submission {
            envelope: sign_envelope(&signing_key_json(&broker, VO), &payload),
            sections: [(Section::PersonalData, big)].into_iter().collect(),
        };
        let reply = submit(&broker.system(VO), &honest).await;
        let detail = problem_at(&reply, 422, "/envelope");
        assert_eq!(detail, "section personal_data: exceeds 524288 bytes");
        assert_eq!(package_count(&broker), 0);

        // A body above the submission limit (10 506 240 bytes).
        let mut body = submission_json(&good);
        body["sections"]["attachments"] = Value::from("A".repeat(11 * 1024 * 1024));
        let reply = raw_request(
            &broker,
            As::System(VO),
            Method::POST,
            "/v1/packages",
            &[("content-type", "application/json")],
            Some(serde_json::to_vec(&body).unwrap()),
        )
        .await;
        let detail = problem(&reply, 413);
        assert!(detail.contains("exceeds the limit of 10506240 bytes"), "{detail}");
        assert_eq!(package_count(&broker), 0);
    })
    .await;
}

#[tokio::test]
async fn malformed_jose_is_refused_with_a_pointer() {
    TestBroker::on_every_backend(|broker| async move {
        let (_, good) = valid_package(&broker).await;
        let vo = broker.system(VO);

        // An envelope that is no JWS at all.
        let reply = submit(&vo, &with_envelope(&good, "abc".into())).await;
        let detail = problem_at(&reply, 422, "/envelope");
        assert_eq!(
            detail,
            "envelope: must be a JWS compact serialization (three base64url parts)"
        );

        // A section token that is no JWE, listed faithfully by a signed envelope.
        let mut payload = envelope_payload(&good.envelope);
        payload["sections"] = json!([entry_for(Section::PersonalData, "x.y.z")]);
        let listed = Submission {
            envelope: sign_envelope(&signing_key_json(&broker, VO), &payload),
            sections: [(Section::PersonalData, "x.y.z".to_owned())].into_iter().collect(),
        };
        let detail = refused(
            &broker,
            &listed,
            422,
            "/sections/personal_data",
            "section personal_data: must be a JWE compact serialization (five base64url parts)",
            Outcome::Rejected,
        )
        .await;
        assert!(detail.starts_with("section personal_data:"), "{detail}");

        // The same token under the original envelope: its size is wrong.
        refused(
            &broker,
            &with_section(&good, Section::PersonalData, "x.y.z".into()),
            422,
            "/sections/personal_data",
            "section personal_data: size does not match the envelope",
            Outcome::Rejected,
        )
        .await;

        // A section the format does not know.
        let mut body = submission_json(&good);
        body["sections"]["grades"] = Value::from("x.y.z");
        let reply = submit_json(&vo, &body).await;
        let detail = problem_at(&reply, 422, "/sections");
        assert!(detail.contains("grades") || detail.contains("section"), "{detail}");

        // A section listed in the envelope but left out.
        let mut body = submission_json(&good);
        body["sections"].as_object_mut().unwrap().remove("remarks");
        let reply = submit_json(&vo, &body).await;
        let detail = problem_at(&reply, 422, "/sections/remarks");
        assert_eq!(
            detail,
            "section remarks: listed in the envelope but missing from the submission"
        );

        // Members the submission does not have.
        let mut body = submission_json(&good);
        body["student"] = Value::from("x");
        let reply = submit_json(&vo, &body).await;
        let detail = problem(&reply, 422);
        assert!(detail.contains("unknown field `student`"), "{detail}");

        assert_eq!(package_count(&broker), 0);
    })
    .await;
}

#[tokio::test]
async fn a_student_number_failing_its_11_proef_is_422_without_echo() {
    TestBroker::on_every_backend(|broker| async move {
        let fails_bsn = "123456789";
        let not_onderwijsnummer = "123456782";
        let cases = [
            ("bsn", fails_bsn, "student_number: bsn fails the 11-proef"),
            (
                "onderwijsnummer",
                not_onderwijsnummer,
                "student_number: onderwijsnummer must start with 10",
            ),
        ];
        for (kind, number, expected) in cases {
            let mut body = application_body(number, "Verzorgende IG");
            body["student_number"] = json!({"type": kind, "number": number});
            let reply = post_application(&broker, MBO, &body).await;
            let detail = problem_at(&reply, 422, "/student_number");
            assert_eq!(detail, expected, "{kind}");
            let raw = String::from_utf8_lossy(&reply.raw);
            assert!(!raw.contains(number), "the {kind} answer must not echo the number");
        }
        let stored = broker
            .store
            .read(|conn| applications::list_for_sending(conn, &brin(VO), None, 1000))
            .unwrap();
        assert!(stored.is_empty(), "nothing registered");
    })
    .await;
}

#[tokio::test]
async fn only_the_recipients_intakers_can_pull_and_others_get_the_same_404() {
    TestBroker::on_every_backend(|broker| async move {
        let (_, sealed) = valid_package(&broker).await;
        let reply = submit(&broker.system(VO), &sealed).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        let pid = reply.body["package_id"].as_str().unwrap().to_owned();
        let random = Uuid::new_v4().to_string();
        let own_intaker = broker.create_staff("intake.25lx", Role::Intaker, Some(MBO));
        let other_intaker = broker.create_staff("intake.27gh", Role::Intaker, Some(OTHER_MBO));
        let not_delivered = |broker: &TestBroker| {
            let package = stored_package(broker, &pid).expect("stored");
            assert!(
                package.delivered_at.is_none(),
                "the package must not be marked delivered"
            );
        };

        // An intaker of the other mbo.
        let other = broker.login(&other_intaker).await;
        let mark = audit_mark(&broker);
        let foreign = other
            .fetch(Method::GET, &format!("/v1/packages/{pid}"), None)
            .await
            .unwrap();
        problem(&foreign, 404);
        assert_audited(&broker, mark, PULL, Outcome::Denied);
        let mark = audit_mark(&broker);
        let missing = other
            .fetch(Method::GET, &format!("/v1/packages/{random}"), None)
            .await
            .unwrap();
        problem(&missing, 404);
        assert_audited(&broker, mark, PULL, Outcome::Rejected);
        assert_eq!(
            without_instance(&foreign.raw),
            without_instance(&missing.raw),
            "byte-identical 404s"
        );
        assert_eq!(foreign.content_type, missing.content_type);
        not_delivered(&broker);

        // The sending school's own system (naming some intaker).
        for acting_for in [own_intaker.id.as_str(), other_intaker.id.as_str()] {
            let mark = audit_mark(&broker);
            let reply = pull_as_system(&broker, VO, &pid, Some(acting_for)).await;
            problem(&reply, 404);
            assert_eq!(
                without_instance(&reply.raw),
                without_instance(&missing.raw),
                "byte-identical 404s"
            );
            assert_audited(&broker, mark, PULL, Outcome::Denied);
        }
        not_delivered(&broker);

        // The recipient's system without naming an intaker: 400, checked
        // before anything is looked up, so the sender's system and a
        // package that does not exist get the very same answer (it says
        // nothing about the package), and each attempt is audited.
        let mark = audit_mark(&broker);
        let reply = pull_as_system(&broker, MBO, &pid, None).await;
        let detail = problem(&reply, 400);
        assert_eq!(
            detail,
            "header X-On-Behalf-Of: a school system must name the intaker it acts for"
        );
        assert_audited(&broker, mark, PULL, Outcome::Rejected);
        for (brin, id) in [(VO, pid.as_str()), (MBO, random.as_str())] {
            let mark = audit_mark(&broker);
            let other = pull_as_system(&broker, brin, id, None).await;
            assert_eq!(other.status, reply.status);
            assert_eq!(
                without_instance(&other.raw),
                without_instance(&reply.raw),
                "the same 400 whatever the package and the system"
            );
            assert_audited(&broker, mark, PULL, Outcome::Rejected);
        }
        not_delivered(&broker);

        // ... or naming someone who is not one of its intakers.
        let nobody = Uuid::new_v4().to_string();
        for acting_for in [other_intaker.id.as_str(), nobody.as_str()] {
            let mark = audit_mark(&broker);
            let reply = pull_as_system(&broker, MBO, &pid, Some(acting_for)).await;
            let detail = problem_at(&reply, 422, "/headers/x-on-behalf-of");
            assert_eq!(detail, "X-On-Behalf-Of: not an active intaker of this institution");
            assert_audited(&broker, mark, PULL, Outcome::Rejected);
        }
        not_delivered(&broker);

        // Control: naming its own intaker, the recipient's system gets it.
        let reply = pull_as_system(&broker, MBO, &pid, Some(&own_intaker.id)).await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        assert_eq!(reply.body["envelope"], Value::from(sealed.envelope.clone()));
    })
    .await;
}

#[tokio::test]
async fn a_consent_based_section_without_a_consent_ledger_is_422() {
    TestBroker::on_every_backend(|broker| async move {
        let application = register_application(&broker, MBO, BSN).await;
        let sealed = seal_package(&broker, application, MBO, &[personal_data(BSN), support_needs()]);
        let detail = refused(
            &broker,
            &sealed,
            422,
            "/sections/support_needs",
            "section support_needs needs consent, and no consent is recorded",
            Outcome::Rejected,
        )
        .await;
        assert!(detail.contains("support_needs"), "{detail}");

        let career: SectionInput = SectionInput {
            section: Section::CareerPortfolio,
            content: json!({"stages": ["zorg"]}),
        };
        let sealed = seal_package(&broker, application, MBO, &[career]);
        refused(
            &broker,
            &sealed,
            422,
            "/sections/career_portfolio",
            "section career_portfolio needs consent",
            Outcome::Rejected,
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn an_impossible_status_transition_is_409_with_the_rule() {
    TestBroker::on_every_backend(|broker| async move {
        let application = register_application(&broker, MBO, BSN).await;
        let mark = audit_mark(&broker);
        let reply = report_status(&broker, MBO, application, "enrolled").await;
        let detail = problem(&reply, 409);
        assert_eq!(detail, "a student can only be enrolled after a place was offered");
        assert_audited(&broker, mark, "report_status", Outcome::Rejected);

        let stored = broker
            .store
            .read(|conn| applications::get(conn, application))
            .unwrap()
            .expect("application");
        assert_eq!(stored.status, ApplicationStatus::Registered);
        let history = broker
            .store
            .read(|conn| applications::status_history(conn, application))
            .unwrap();
        assert!(
            history.iter().all(|e| e.status != ApplicationStatus::Enrolled),
            "no enrolment recorded"
        );
    })
    .await;
}

#[tokio::test]
async fn registering_an_application_twice_is_idempotent_and_a_different_one_409() {
    TestBroker::on_every_backend(|broker| async move {
        let body = application_body(BSN, "Verzorgende IG");
        let first = post_application(&broker, MBO, &body).await;
        assert_eq!(first.status.as_u16(), 201, "{}", first.body);
        let again = post_application(&broker, MBO, &body).await;
        assert_eq!(again.status.as_u16(), 200, "{}", again.body);
        assert_eq!(again.body["id"], first.body["id"]);

        let mut different = body.clone();
        different["applied_on"] = Value::from("2027-02-01");
        let mark = audit_mark(&broker);
        let reply = post_application(&broker, MBO, &different).await;
        let detail = problem(&reply, 409);
        assert!(detail.contains("registered with other details"), "{detail}");
        assert_audited(&broker, mark, "register_application", Outcome::Rejected);

        let id = Uuid::parse_str(first.body["id"].as_str().unwrap()).unwrap();
        let stored = broker
            .store
            .read(|conn| applications::get(conn, id))
            .unwrap()
            .expect("application");
        assert_eq!(stored.applied_on.to_string(), "2027-03-01", "unchanged");
        let all = broker
            .store
            .read(|conn| applications::list_for_sending(conn, &brin(VO), None, 1000))
            .unwrap();
        assert_eq!(all.len(), 1);
    })
    .await;
}

/// Requests refused before the handler reaches the audit spine (`perform`):
/// in the body extractor, in `peek_envelope`, or in the `X-On-Behalf-Of`
/// check. Issue 3 asks an audit event for each of these too.
#[tokio::test]
async fn rejections_before_the_audit_spine_are_audited() {
    TestBroker::on_every_backend(|broker| async move {
        let (_, good) = valid_package(&broker).await;
        let vo = broker.system(VO);
        let mut bodies: Vec<(&str, Value)> = Vec::new();
        bodies.push(("envelope abc", submission_json(&with_envelope(&good, "abc".into()))));
        bodies.push((
            "flipped header bit",
            submission_json(&with_envelope(&good, flip_in_part(&good.envelope, 0, 0, 0x01))),
        ));
        bodies.push((
            "flipped payload bit",
            submission_json(&with_envelope(&good, flip_in_part(&good.envelope, 1, 0, 0x01))),
        ));
        let mut unknown = submission_json(&good);
        unknown["sections"]["grades"] = Value::from("x.y.z");
        bodies.push(("unknown section", unknown));
        let big = big_token(600 * 1024);
        let mut payload = envelope_payload(&good.envelope);
        payload["sections"] = json!([entry_for(Section::PersonalData, &big)]);
        let honest = Submission {
            envelope: sign_envelope(&signing_key_json(&broker, VO), &payload),
            sections: [(Section::PersonalData, big)].into_iter().collect(),
        };
        bodies.push(("oversized section listed as such", submission_json(&honest)));
        let mut events = Vec::new();
        for (case, body) in &bodies {
            let mark = audit_mark(&broker);
            let reply = submit_json(&vo, body).await;
            assert!(reply.status.is_client_error(), "{case}: {}", reply.status);
            events.push((*case, audited_since(&broker, mark)));
        }

        let mark = audit_mark(&broker);
        let mut big = submission_json(&good);
        big["sections"]["attachments"] = Value::from("A".repeat(11 * 1024 * 1024));
        let reply = raw_request(
            &broker,
            As::System(VO),
            Method::POST,
            "/v1/packages",
            &[("content-type", "application/json")],
            Some(serde_json::to_vec(&big).unwrap()),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 413);
        events.push(("oversized body", audited_since(&broker, mark)));

        let mark = audit_mark(&broker);
        let mut body = application_body("123456789", "Verzorgende IG");
        body["student_number"]["type"] = Value::from("bsn");
        let reply = post_application(&broker, MBO, &body).await;
        assert_eq!(reply.status.as_u16(), 422);
        events.push(("11-proef", audited_since(&broker, mark)));

        let accepted = submit(&vo, &good).await;
        assert_eq!(accepted.status.as_u16(), 201);
        let pid = accepted.body["package_id"].as_str().unwrap().to_owned();
        let mark = audit_mark(&broker);
        let reply = pull_as_system(&broker, MBO, &pid, None).await;
        assert_eq!(reply.status.as_u16(), 400);
        events.push(("no X-On-Behalf-Of", audited_since(&broker, mark)));

        let missing: Vec<&str> = events
            .iter()
            .filter(|(_, events)| {
                !events
                    .iter()
                    .any(|e| matches!(e.outcome, Outcome::Rejected | Outcome::Denied))
            })
            .map(|(case, _)| *case)
            .collect();
        assert!(missing.is_empty(), "not audited: {missing:?}");
    })
    .await;
}

/// Issue 12: an mbo's system learns whom it may name in `X-On-Behalf-Of`,
/// with its own certificate: its own active intakers, nobody else's, and
/// nothing about other staff. Everyone else gets the same 404 (an unknown
/// BRIN too), and every attempt is audited.
#[tokio::test]
async fn an_mbo_system_lists_its_own_intakers_and_nobody_else_does() {
    TestBroker::on_every_backend(|broker| async move {
        const LIST: &str = "list_intakers";
        let first = broker.create_staff("intake.a.25lx", Role::Intaker, Some(MBO));
        let second = broker.create_staff("intake.b.25lx", Role::Intaker, Some(MBO));
        let admin = broker.create_staff("admin.25lx", Role::InstitutionAdmin, Some(MBO));
        let foreign = broker.create_staff("intake.27gh", Role::Intaker, Some(OTHER_MBO));
        let path = format!("/v1/institutions/{MBO}/intakers");

        // Every active intaker of the institution, as the store has them.
        let expected: Vec<Value> = broker
            .store
            .read(|conn| doorstroom_store::staff::list(conn, Some(&brin(MBO))))
            .unwrap()
            .into_iter()
            .filter(|a| a.role == Role::Intaker && a.status == doorstroom_domain::StaffStatus::Active)
            .map(|a| json!({"id": a.id.to_string(), "username": a.username.as_str(), "display_name": a.display_name}))
            .collect();

        let mark = audit_mark(&broker);
        let reply = raw_request(&broker, As::System(MBO), Method::GET, &path, &[], None).await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        assert_eq!(reply.body, Value::Array(expected), "sorted by username, intakers only");
        let ids: Vec<&str> = reply
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect();
        assert!(ids.contains(&first.id.as_str()) && ids.contains(&second.id.as_str()));
        assert!(!ids.contains(&admin.id.as_str()), "an admin is no intaker");
        assert!(!ids.contains(&foreign.id.as_str()), "another mbo's intaker");
        assert_audited(&broker, mark, LIST, Outcome::Success);
        let through_the_client = broker.system(MBO).intakers(MBO).await.unwrap();
        assert_eq!(through_the_client, reply.body, "the client library reads the same list");

        // The id it learned works in X-On-Behalf-Of.
        let inbox = raw_request(
            &broker,
            As::System(MBO),
            Method::GET,
            "/v1/inbox",
            &[("x-on-behalf-of", first.id.as_str())],
            None,
        )
        .await;
        assert_eq!(inbox.status.as_u16(), 200, "{}", inbox.body);

        // Another mbo's system, a vo system, and the mbo's system asking
        // about a BRIN nobody has: one 404, byte for byte, each audited.
        let unknown = raw_request(
            &broker,
            As::System(MBO),
            Method::GET,
            "/v1/institutions/99ZZ/intakers",
            &[],
            None,
        )
        .await;
        problem(&unknown, 404);
        for who in [OTHER_MBO, VO] {
            let mark = audit_mark(&broker);
            let reply = raw_request(&broker, As::System(who), Method::GET, &path, &[], None).await;
            problem(&reply, 404);
            assert_eq!(
                without_instance(&reply.raw),
                without_instance(&unknown.raw),
                "{who}: byte-identical 404s"
            );
            assert_audited(&broker, mark, LIST, Outcome::Denied);
        }
        // The vo system asking about its own school: an mbo's list only.
        let mark = audit_mark(&broker);
        let reply = raw_request(
            &broker,
            As::System(VO),
            Method::GET,
            &format!("/v1/institutions/{VO}/intakers"),
            &[],
            None,
        )
        .await;
        assert_eq!(
            without_instance(&reply.raw),
            without_instance(&unknown.raw),
            "vo: byte-identical 404s"
        );
        assert_audited(&broker, mark, LIST, Outcome::Denied);

        // Nobody: 401, and on the record.
        let mark = audit_mark(&broker);
        let reply = raw_request(&broker, As::Nobody, Method::GET, &path, &[], None).await;
        problem(&reply, 401);
        let events = audited_since(&broker, mark);
        assert_eq!(events.len(), 1, "{events:?}");
        assert_ne!(events[0].outcome, Outcome::Success);
    })
    .await;
}

/// Issue 12: `X-On-Behalf-Of` is documented as a staff id (a UUID) for
/// every caller, so a header that is not one is 400 for a staff member too,
/// as it is for a school system; a well-formed one is ignored for staff,
/// who act for themselves.
#[tokio::test]
async fn a_malformed_on_behalf_of_is_400_for_staff_too() {
    TestBroker::on_every_backend(|broker| async move {
        let creds = broker.create_staff("intaker.obo", Role::Intaker, Some(MBO));
        let (status, body) = broker
            .anonymous()
            .send(
                Method::POST,
                "/v1/auth/login",
                Some(&json!({
                    "username": creds.username,
                    "password": creds.password,
                    "totp": broker.totp(&creds.totp_secret),
                })),
            )
            .await
            .expect("login");
        assert_eq!(status.as_u16(), 200, "{body}");
        let token = body["access_token"].as_str().expect("token").to_owned();
        let someone = Uuid::new_v4().to_string();
        let package = Uuid::new_v4().to_string();
        for (method, path) in [
            (Method::GET, "/v1/inbox".to_owned()),
            (Method::GET, format!("/v1/packages/{package}")),
            (Method::POST, format!("/v1/packages/{package}/acknowledge")),
        ] {
            for malformed in ["", "not-a-uuid", "12345"] {
                let reply = raw_request(
                    &broker,
                    As::Token(&token),
                    method.clone(),
                    &path,
                    &[("x-on-behalf-of", malformed)],
                    None,
                )
                .await;
                let detail = problem(&reply, 400);
                assert_eq!(
                    detail, "header X-On-Behalf-Of: must be the id (UUID) of an intaker",
                    "{method} {path} {malformed:?}"
                );
            }
        }
        // Well-formed: the intaker still acts for themselves.
        let inbox = raw_request(
            &broker,
            As::Token(&token),
            Method::GET,
            "/v1/inbox",
            &[("x-on-behalf-of", someone.as_str())],
            None,
        )
        .await;
        assert_eq!(inbox.status.as_u16(), 200, "{}", inbox.body);
    })
    .await;
}

#[tokio::test]
async fn a_signing_key_revoked_elsewhere_is_refused_on_the_very_next_submission() {
    TestBroker::on_every_backend(|broker| async move {
        let application = register_application(&broker, MBO, BSN).await;
        let sections = [personal_data(BSN)];
        // A first package: the broker has now parsed and cached the key.
        let first = seal_package(&broker, application, MBO, &sections);
        let reply = submit(&broker.system(VO), &first).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);

        // Revoked in the database, as another broker node or the operator's
        // command line would: this node's key cache is not told.
        let kid = signing_key(&broker, VO).kid().to_owned();
        let revoked = broker
            .store
            .write(|conn| {
                doorstroom_store::keys::set_status(
                    conn,
                    &brin(VO),
                    &kid,
                    doorstroom_domain::KeyStatus::Revoked,
                    broker.clock.now(),
                )
            })
            .unwrap()
            .unwrap();
        assert_eq!(revoked.status, doorstroom_domain::KeyStatus::Revoked);

        let second = seal_package(&broker, application, MBO, &sections);
        refused(
            &broker,
            &second,
            422,
            "/envelope",
            "envelope: the signing key is revoked",
            Outcome::Rejected,
        )
        .await;
        // Not even an identical resubmission of the first is answered now.
        let reply = submit(&broker.system(VO), &first).await;
        assert_eq!(reply.status.as_u16(), 422, "{}", reply.body);
    })
    .await;
}
