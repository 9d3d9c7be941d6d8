//! Helpers for the dossier-exchange tests: registering applications as an
//! mbo system, sealing packages as the vo school with the jose crate
//! directly (the sender's side of `openapi/PACKAGE-FORMAT.md`), submitting
//! and pulling them over real TLS, and looking at what the broker stored
//! and audited.
//!
//! Shared by the bad-input tests and the happy-path test, so not every
//! helper is used by every test module.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use doorstroom_client::{Client, Reply};
use doorstroom_devkit::pki::{self, DEMO_INSTITUTIONS, DemoInstitution};
use doorstroom_domain::{AuditEvent, Brin, Clock, Outcome, Section};
use doorstroom_jose::{PackageMeta, PrivateJwk, PublicJwk, SectionInput, Submission, canonical_json, sha256_b64url};
use doorstroom_store::packages;
use doorstroom_tests::{TestBroker, VO};
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use uuid::Uuid;

/// A BSN that passes the 11-proef.
pub const BSN: &str = "123456782";

/// `application/problem+json`.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The `n`-th test BSN: eight digits from `n`, the ninth chosen so that
/// `9·d1 + … + 2·d8 − d9 ≡ 0 (mod 11)`. Skips prefixes for which no digit
/// fits (the check digit would have to be 10).
pub fn bsn(n: u32) -> String {
    let mut candidate = 10_000_000 + n;
    loop {
        let prefix = format!("{candidate:08}");
        let sum: u32 = prefix
            .bytes()
            .zip((2..=9).rev())
            .map(|(digit, weight)| u32::from(digit - b'0') * weight)
            .sum();
        let check = sum % 11;
        if check <= 9 {
            return format!("{prefix}{check}");
        }
        candidate += 1;
    }
}

pub fn brin(raw: &str) -> Brin {
    Brin::parse(raw).expect("brin")
}

pub fn demo(brin: &str) -> &'static DemoInstitution {
    DEMO_INSTITUTIONS
        .iter()
        .find(|d| d.brin == brin)
        .expect("demo institution")
}

fn read_json(broker: &TestBroker, institution: &str, file: &str) -> Value {
    let path = broker.institution_dir(institution).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("a JWK file")
}

/// The private signing JWK of a demo institution, as its file holds it.
pub fn signing_key_json(broker: &TestBroker, institution: &str) -> Value {
    read_json(broker, institution, pki::SIGN_JWK_FILE)
}

/// The private signing key of a demo institution (`sign.jwk`).
pub fn signing_key(broker: &TestBroker, institution: &str) -> PrivateJwk {
    PrivateJwk::parse(&signing_key_json(broker, institution)).expect("sign.jwk")
}

/// The private decryption key of a demo institution (`enc.jwk`).
pub fn decryption_key(broker: &TestBroker, institution: &str) -> PrivateJwk {
    PrivateJwk::parse(&read_json(broker, institution, pki::ENC_JWK_FILE)).expect("enc.jwk")
}

/// The public signing key of a demo institution (`sign.pub.jwk`).
pub fn signing_public_key(broker: &TestBroker, institution: &str) -> PublicJwk {
    PublicJwk::parse(&read_json(broker, institution, pki::SIGN_PUBLIC_JWK_FILE)).expect("sign.pub.jwk")
}

/// The public encryption key of a demo institution (`enc.pub.jwk`).
pub fn encryption_key(broker: &TestBroker, institution: &str) -> PublicJwk {
    PublicJwk::parse(&read_json(broker, institution, pki::ENC_PUBLIC_JWK_FILE)).expect("enc.pub.jwk")
}

/// The body of `POST /v1/applications` for a BSN, naming the vo school 07AB.
pub fn application_body(student: &str, programme: &str) -> Value {
    json!({
        "student_number": {"type": "bsn", "number": student},
        "sending_school": VO,
        "programme": {"name": programme, "crebo": "25491"},
        "school_year": "2027-2028",
        "applied_on": "2027-03-01",
    })
}

/// Posts `body` to `POST /v1/applications` as the system of `mbo`.
pub async fn post_application(broker: &TestBroker, mbo: &str, body: &Value) -> Reply {
    broker
        .system(mbo)
        .fetch(Method::POST, "/v1/applications", Some(body))
        .await
        .expect("POST /v1/applications")
}

/// Registers that `student` (a BSN) applied at `mbo`, naming the vo school
/// 07AB, as the mbo's system, and then records the student's inspection as
/// 07AB (which may record it only once an application names it); answers
/// the application's id.
pub async fn register_application(broker: &TestBroker, mbo: &str, student: &str) -> Uuid {
    let reply = post_application(broker, mbo, &application_body(student, "Verzorgende IG")).await;
    assert!(
        matches!(reply.status.as_u16(), 200 | 201),
        "registering an application: {} {}",
        reply.status,
        reply.body
    );
    record_inspection(broker, student).await;
    reply.body["id"]
        .as_str()
        .and_then(|id| Uuid::parse_str(id).ok())
        .expect("application id")
}

/// Records, as the system of 07AB, that the student inspected the dossier
/// an hour ago (a package waits for it by default).
pub async fn record_inspection(broker: &TestBroker, student: &str) {
    let at = broker.clock.now() - chrono::Duration::hours(1);
    let body = json!({
        "student_number": {"type": "bsn", "number": student},
        "inspected_at": at.to_rfc3339(),
        "inspected_by": "student",
        "remarks_added": false,
    });
    let reply = broker
        .system(VO)
        .fetch(Method::POST, "/v1/inspections", Some(&body))
        .await
        .expect("POST /v1/inspections");
    assert_eq!(reply.status.as_u16(), 201, "recording an inspection: {}", reply.body);
}

/// Reports `status` for an application as the system of `mbo`.
pub async fn report_status(broker: &TestBroker, mbo: &str, application: Uuid, status: &str) -> Reply {
    broker
        .system(mbo)
        .fetch(
            Method::POST,
            &format!("/v1/applications/{application}/status"),
            Some(&json!({"status": status})),
        )
        .await
        .expect("POST /v1/applications/{id}/status")
}

/// Fresh metadata for a package from 07AB: a new package id and `jti`,
/// `iat` at the broker's clock.
pub fn package_meta(broker: &TestBroker, application: Uuid, recipient: &str) -> PackageMeta {
    PackageMeta {
        package_id: Uuid::new_v4().to_string(),
        sender: brin(VO),
        recipient: brin(recipient),
        application: application.to_string(),
        jti: format!("{VO}-{}", Uuid::new_v4().simple()),
        iat: broker.clock.now().timestamp(),
    }
}

/// A `personal_data` section (legal obligation: always allowed).
pub fn personal_data(student: &str) -> SectionInput {
    SectionInput {
        section: Section::PersonalData,
        content: json!({
            "name": "Sam de Vries",
            "date_of_birth": "2011-05-04",
            "student_number": {"type": "bsn", "number": student},
        }),
    }
}

/// A `remarks` section (the student's remarks after inspection).
pub fn remarks() -> SectionInput {
    SectionInput {
        section: Section::Remarks,
        content: json!({"by": "student", "text": "Ik wil graag verpleegkunde doen."}),
    }
}

/// A `support_needs` section (explicit consent).
pub fn support_needs() -> SectionInput {
    SectionInput {
        section: Section::SupportNeeds,
        content: json!({"needs": "extra tijd bij toetsen"}),
    }
}

/// Seals `sections` with `meta`, signed by `signing_key` and encrypted for
/// `recipient_key`.
pub fn seal_with(
    meta: &PackageMeta,
    sections: &[SectionInput],
    signing_key: &PrivateJwk,
    recipient_key: &PublicJwk,
) -> Submission {
    doorstroom_jose::seal(meta, sections, signing_key, recipient_key).expect("seal")
}

/// Seals a valid package from 07AB (its `sign.jwk`) for the application
/// `application_id` at the demo institution `recipient` (its `enc.pub.jwk`).
pub fn seal_package(
    broker: &TestBroker,
    application_id: Uuid,
    recipient: &str,
    sections: &[SectionInput],
) -> Submission {
    seal_with(
        &package_meta(broker, application_id, recipient),
        sections,
        &signing_key(broker, VO),
        &encryption_key(broker, recipient),
    )
}

/// The JSON body of a submission.
pub fn submission_json(submission: &Submission) -> Value {
    serde_json::to_value(submission).expect("submission as JSON")
}

/// Posts a submission body to `POST /v1/packages` with `client`.
pub async fn submit_json(client: &Client, body: &Value) -> Reply {
    client
        .fetch(Method::POST, "/v1/packages", Some(body))
        .await
        .expect("POST /v1/packages")
}

/// Submits `submission` with `client`.
pub async fn submit(client: &Client, submission: &Submission) -> Reply {
    submit_json(client, &submission_json(submission)).await
}

/// Who makes a raw request.
pub enum As<'a> {
    Nobody,
    /// The system of a demo institution (its client certificate).
    System(&'a str),
    /// A bearer access token.
    Token(&'a str),
}

/// A request with any headers and body bytes, which the typed client
/// cannot make.
pub async fn raw_request(
    broker: &TestBroker,
    who: As<'_>,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Reply {
    let ca = reqwest::Certificate::from_pem(&broker.ca_pem()).expect("ca");
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .https_only(true);
    let mut map = HeaderMap::new();
    match who {
        As::Nobody => {}
        As::System(institution) => {
            let dir = broker.institution_dir(institution);
            let cert = std::fs::read_to_string(dir.join(pki::CLIENT_CERT_FILE)).expect("client cert");
            let key = std::fs::read_to_string(dir.join(pki::CLIENT_KEY_FILE)).expect("client key");
            let identity = reqwest::Identity::from_pem(format!("{cert}\n{key}").as_bytes()).expect("identity");
            builder = builder.identity(identity);
        }
        As::Token(token) => {
            map.insert(
                reqwest::header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}")).expect("header value"),
            );
        }
    }
    for (name, value) in headers {
        map.insert(
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        );
    }
    let http = builder.build().expect("http client");
    let mut request = http.request(method, format!("{}{path}", broker.base_url)).headers(map);
    if let Some(body) = body {
        request = request.body(body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = response.bytes().await.expect("body");
    Reply {
        status,
        content_type,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        raw: bytes.to_vec(),
    }
}

/// Pulls a package as the system of `institution`, acting for `on_behalf_of`
/// (a staff id) when given.
pub async fn pull_as_system(
    broker: &TestBroker,
    institution: &str,
    package_id: &str,
    on_behalf_of: Option<&str>,
) -> Reply {
    let headers: Vec<(&str, &str)> = on_behalf_of.map(|id| ("x-on-behalf-of", id)).into_iter().collect();
    raw_request(
        broker,
        As::System(institution),
        Method::GET,
        &format!("/v1/packages/{package_id}"),
        &headers,
        None,
    )
    .await
}

/// How many packages the broker holds (for every demo institution and the
/// unknown BRIN the tests use).
pub fn package_count(broker: &TestBroker) -> usize {
    ["07AB", "25LX", "27GH", "99ZZ"]
        .iter()
        .map(|raw| {
            let recipient = brin(raw);
            broker
                .store
                .read(|conn| packages::inbox(conn, &recipient, None, 1000))
                .expect("inbox")
                .len()
        })
        .sum()
}

/// The stored package with this id, if any.
pub fn stored_package(broker: &TestBroker, id: &str) -> Option<packages::Package> {
    broker.store.read(|conn| packages::get(conn, id)).expect("read package")
}

/// The stored package with this `jti`, if any.
pub fn stored_by_jti(broker: &TestBroker, jti: &str) -> Option<packages::Package> {
    broker
        .store
        .read(|conn| packages::by_jti(conn, jti))
        .expect("read package")
}

/// The number of audit events so far: a mark to compare against.
pub fn audit_mark(broker: &TestBroker) -> usize {
    broker.audit_events().len()
}

/// The audit events written after `mark`.
pub fn audited_since(broker: &TestBroker, mark: usize) -> Vec<AuditEvent> {
    broker.audit_events().into_iter().skip(mark).collect()
}

/// Asserts that exactly one audit event was written since `mark`, for
/// `action` with `outcome`, and returns it.
pub fn assert_audited(broker: &TestBroker, mark: usize, action: &str, outcome: Outcome) -> AuditEvent {
    let events = audited_since(broker, mark);
    let described: Vec<String> = events
        .iter()
        .map(|e| format!("{} {}", e.action.name, e.outcome.as_str()))
        .collect();
    assert_eq!(
        events.len(),
        1,
        "one audit event for the attempt at {action}; got {described:?}"
    );
    let event = events.into_iter().next().expect("one event");
    assert_eq!(event.action.name, action, "audited action; got {described:?}");
    assert_eq!(event.outcome, outcome, "audited outcome; got {described:?}");
    event
}

// ---- Building envelopes by hand (for senders that break the rules) ----

/// base64url without padding.
pub fn b64url(bytes: &[u8]) -> String {
    openssl::base64::encode_block(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// Decodes base64url without padding.
pub fn b64url_decode(text: &str) -> Vec<u8> {
    let mut standard = text.replace('-', "+").replace('_', "/");
    while !standard.len().is_multiple_of(4) {
        standard.push('=');
    }
    openssl::base64::decode_block(&standard).expect("base64url")
}

/// Signs `payload` (serialized canonically) as an envelope with the ES256
/// private JWK `key` (as in `sign.jwk`), following the format's header
/// rules. Unlike [`doorstroom_jose::seal`] this checks nothing about the
/// payload, so tests can sign what an honest but careless sender would.
pub fn sign_envelope(key: &Value, payload: &Value) -> String {
    let payload = canonical_json(payload).expect("canonical payload");
    sign_envelope_bytes(key, payload.as_bytes())
}

/// Signs exactly `payload` as an envelope (see [`sign_envelope`]).
pub fn sign_envelope_bytes(key: &Value, payload: &[u8]) -> String {
    assert_eq!(key["alg"], "ES256", "an ES256 signing key");
    let header = json!({"alg": "ES256", "kid": key["kid"], "typ": doorstroom_jose::ENVELOPE_TYP});
    let signing_input = format!("{}.{}", b64url(header.to_string().as_bytes()), b64url(payload));

    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
    let d = BigNum::from_slice(&b64url_decode(key["d"].as_str().expect("d"))).expect("d");
    let mut ctx = BigNumContext::new().expect("bn context");
    let mut public = EcPoint::new(&group).expect("point");
    public.mul_generator2(&group, &d, &mut ctx).expect("public point");
    let ec = EcKey::from_private_components(&group, &d, &public).expect("EC key");
    let digest = openssl::sha::sha256(signing_input.as_bytes());
    let signature = EcdsaSig::sign(&digest, &ec).expect("sign");
    let mut raw = signature.r().to_vec_padded(32).expect("r");
    raw.extend(signature.s().to_vec_padded(32).expect("s"));
    format!("{signing_input}.{}", b64url(&raw))
}

/// The decoded payload of an envelope (unverified).
pub fn envelope_payload(envelope: &str) -> Value {
    let payload = envelope.split('.').nth(1).expect("three parts");
    serde_json::from_slice(&b64url_decode(payload)).expect("JSON payload")
}

/// The envelope entry `{name, size, sha256}` for a token.
pub fn entry_for(section: Section, token: &str) -> Value {
    json!({"name": section.as_str(), "size": token.len(), "sha256": sha256_b64url(token)})
}

/// The time of the broker's clock.
pub fn now(broker: &TestBroker) -> DateTime<Utc> {
    broker.clock.now()
}
