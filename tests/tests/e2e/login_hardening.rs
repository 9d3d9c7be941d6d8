//! Login under attack: the failure limit holds under concurrency (also with
//! two broker nodes on one database), password checks are bounded, a TOTP
//! code works once, TOTP secrets are sealed at rest, and the SQLite files
//! are the broker's alone.

use std::os::unix::fs::PermissionsExt;

use doorstroom_domain::{Clock, Outcome, Role, StaffId};
use doorstroom_server::config::Settings;
use doorstroom_server::secrets::{SEALED_TOTP_PREFIX, TotpKey};
use doorstroom_store::{Store, staff};
use doorstroom_tests::{MBO, TestBackend, TestBroker, TestDb, without_instance};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::task::JoinSet;

/// One login answer, with the headers the tests look at.
struct Answer {
    status: u16,
    content_type: Option<String>,
    retry_after: Option<String>,
    body: Value,
    raw: Vec<u8>,
}

async fn login_at(base_url: String, ca_pem: Vec<u8>, body: Value) -> Answer {
    let http = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca_pem).expect("ca"))
        .https_only(true)
        .build()
        .expect("http client");
    let response = http
        .request(Method::POST, format!("{base_url}/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .expect("login request");
    let header = |name: reqwest::header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header(reqwest::header::CONTENT_TYPE);
    let retry_after = header(reqwest::header::RETRY_AFTER);
    let status = response.status().as_u16();
    let raw = response.bytes().await.expect("body").to_vec();
    Answer {
        status,
        content_type,
        retry_after,
        body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
        raw,
    }
}

async fn login(broker: &TestBroker, body: Value) -> Answer {
    login_at(broker.base_url.clone(), broker.ca_pem(), body).await
}

/// Runs `test` on a fresh broker with adjusted settings, on every backend.
async fn on_every_backend_with<F, Fut>(configure: impl Fn(&mut Settings), test: F)
where
    F: Fn(TestBroker) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in TestDb::all() {
        eprintln!("-- on {}", db.backend.name());
        let broker = TestBroker::start_with(db, &configure).await;
        test(broker).await;
    }
}

fn login_events_with_reason(broker: &TestBroker, reason: &str) -> usize {
    broker
        .audit_events()
        .iter()
        .filter(|e| e.action.name == "login" && e.reason.as_deref() == Some(reason))
        .count()
}

fn stored_totp_secret(store: &Store, id: &str) -> String {
    let id: StaffId = id.parse().unwrap();
    store.read(|c| staff::get(c, id)).unwrap().unwrap().totp_secret.unwrap()
}

#[tokio::test]
async fn concurrent_wrong_passwords_hit_the_limit_across_two_nodes() {
    // Enough password-check slots that every admitted attempt is checked:
    // the refusals here come from the failure limit alone.
    on_every_backend_with(
        |s| s.auth.max_concurrent_password_checks = 32,
        |broker| async move {
            let creds = broker.create_staff("intaker.flood", Role::Intaker, Some(MBO));
            let limit = usize::try_from(broker.settings.auth.max_failures_per_account).unwrap();
            // A second broker node on the same database.
            let second = broker.start_again().await.expect("second node");
            let second_url = format!("https://localhost:{}", second.addr.port());

            let attempts = 12;
            let mut running = JoinSet::new();
            for n in 0..attempts {
                let url = if n % 2 == 0 {
                    broker.base_url.clone()
                } else {
                    second_url.clone()
                };
                let body = json!({
                    "username": creds.username,
                    "password": format!("wrong password {n}"),
                    "totp": "000000",
                });
                running.spawn(login_at(url, broker.ca_pem(), body));
            }
            let answers = running.join_all().await;
            let count = |status| answers.iter().filter(|a| a.status == status).count();
            let (unauthorized, limited) = (count(401), count(429));
            assert_eq!(
                unauthorized + limited,
                attempts,
                "only 401 and 429: {:?}",
                answers.iter().map(|a| a.status).collect::<Vec<_>>()
            );
            assert!(unauthorized <= limit, "{unauthorized} attempts got past a limit of {limit}");
            assert!(limited >= attempts - limit, "only {limited} refused by the limit");
            for a in answers.iter().filter(|a| a.status == 429) {
                assert_eq!(a.content_type.as_deref(), Some("application/problem+json"));
                assert_eq!(a.body["type"], "urn:doorstroom:problem:too-many-attempts");
                assert!(a.retry_after.is_some(), "429 without Retry-After");
            }
            // Every attempt is on record, each refusal with its reason.
            assert_eq!(login_events_with_reason(&broker, "rate_limited"), limited);
            assert_eq!(login_events_with_reason(&broker, "bad_credentials"), unauthorized);

            // The limit now holds for the right password too.
            let right = login(
                &broker,
                json!({"username": creds.username, "password": creds.password, "totp": broker.totp(&creds.totp_secret)}),
            )
            .await;
            assert_eq!(right.status, 429);
            second.stop().await;
        },
    )
    .await;
}

#[tokio::test]
async fn a_replayed_totp_code_is_refused_like_a_wrong_one() {
    on_every_backend_with(
        |s| s.auth.max_concurrent_password_checks = 32,
        |broker| async move {
            let creds = broker.create_staff("fg.replay", Role::PrivacyOfficer, Some(MBO));
            let with_code = |code: &str| json!({"username": creds.username, "password": creds.password, "totp": code});
            let code = broker.totp(&creds.totp_secret);
            let first = login(&broker, with_code(&code)).await;
            assert_eq!(first.status, 200, "{}", first.body);

            // The same code again, within its window: refused, and the answer
            // is the one for a wrong code, byte for byte.
            let replay = login(&broker, with_code(&code)).await;
            let wrong = login(&broker, with_code(if code == "000000" { "111111" } else { "000000" })).await;
            assert_eq!(replay.status, 401);
            assert_eq!(without_instance(&replay.raw), without_instance(&wrong.raw));
            assert_eq!(login_events_with_reason(&broker, "second_factor_replayed"), 1);
            assert_eq!(login_events_with_reason(&broker, "bad_second_factor"), 1);
            let replayed = broker
                .audit_events()
                .into_iter()
                .find(|e| e.reason.as_deref() == Some("second_factor_replayed"))
                .unwrap();
            assert_eq!(replayed.outcome, Outcome::Unauthenticated);
            assert_eq!(replayed.resource.id.as_deref(), Some(creds.id.as_str()));

            // A later step's code works once more.
            let next = broker.totp(&creds.totp_secret);
            assert_ne!(next, code);
            let again = login(&broker, with_code(&next)).await;
            assert_eq!(again.status, 200, "{}", again.body);

            // Concurrent uses of one fresh code: exactly one gets in.
            let fresh = broker.totp(&creds.totp_secret);
            let mut running = JoinSet::new();
            for _ in 0..4 {
                running.spawn(login_at(broker.base_url.clone(), broker.ca_pem(), with_code(&fresh)));
            }
            let statuses: Vec<u16> = running.join_all().await.iter().map(|a| a.status).collect();
            assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
            assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 3, "{statuses:?}");
        },
    )
    .await;
}

#[tokio::test]
async fn logins_beyond_the_password_check_bound_are_refused_at_once() {
    on_every_backend_with(
        |s| {
            s.auth.max_concurrent_password_checks = 1;
            // The flood comes from one address; its own limit is not what
            // this test is about.
            s.auth.max_failures_per_address = 10_000;
        },
        |broker| async move {
            let mut busy = Vec::new();
            let mut answered = 0;
            // Waves of concurrent logins for unknown users (each its own
            // account bucket) until one finds every slot taken.
            for wave in 0..5 {
                let mut running = JoinSet::new();
                for n in 0..24 {
                    let body = json!({"username": format!("nobody.{wave}.{n}"), "password": "not the password", "totp": "000000"});
                    running.spawn(login_at(broker.base_url.clone(), broker.ca_pem(), body));
                }
                for a in running.join_all().await {
                    answered += 1;
                    assert!(matches!(a.status, 401 | 503), "{} {}", a.status, a.body);
                    if a.status == 503 {
                        busy.push(a);
                    }
                }
                if !busy.is_empty() {
                    break;
                }
            }
            assert!(!busy.is_empty(), "none of {answered} logins found the single slot taken");
            for a in &busy {
                assert_eq!(a.content_type.as_deref(), Some("application/problem+json"));
                assert_eq!(a.body["type"], "urn:doorstroom:problem:overloaded");
                assert_eq!(a.body["status"], 503);
                assert_eq!(a.retry_after.as_deref(), Some("1"));
            }
            // Each refusal is audited, and was not counted as a failed
            // attempt (only the checked ones were).
            assert_eq!(login_events_with_reason(&broker, "password_checks_busy"), busy.len());
            let checked = login_events_with_reason(&broker, "bad_credentials");
            assert_eq!(checked + busy.len(), answered);

            // The broker still logs people in.
            let creds = broker.create_staff("intaker.after", Role::Intaker, Some(MBO));
            broker.login(&creds).await;
        },
    )
    .await;
}

#[tokio::test]
async fn totp_secrets_are_sealed_at_rest() {
    TestBroker::on_every_backend(|broker| async move {
        // Through the operator's path, the API and a reset of the factor.
        let operator_made = broker.create_staff("admin.sealed", Role::BrokerAdmin, None);
        let admin = broker.login(&operator_made).await;
        let created: Value = admin
            .post(
                "/v1/staff",
                &json!({
                    "username": "intaker.sealed",
                    "display_name": "Intaker Sealed",
                    "role": "intaker",
                    "institution": MBO,
                    "password": "a long enough password",
                }),
            )
            .await
            .unwrap();
        let api_made_id = created["account"]["id"].as_str().unwrap().to_owned();
        let api_secret = secret_of(created["totp_uri"].as_str().unwrap());
        let reset: Value = admin
            .post(&format!("/v1/staff/{api_made_id}/second-factor"), &json!({}))
            .await
            .unwrap();
        let reset_secret = secret_of(reset["totp_uri"].as_str().unwrap());
        assert_ne!(reset_secret, api_secret);

        // The stored form is sealed, for this account only.
        let key = TotpKey::load(&broker.settings.secrets).unwrap();
        let stored = stored_totp_secret(&broker.store, &api_made_id);
        assert!(stored.starts_with(SEALED_TOTP_PREFIX), "{stored}");
        assert_eq!(key.open(api_made_id.parse().unwrap(), &stored).unwrap(), reset_secret);
        assert!(key.open(operator_made.id.parse().unwrap(), &stored).is_err());

        // And nowhere in the database in plain text.
        let dump = String::from_utf8_lossy(&broker.database_dump()).into_owned();
        for secret in [&operator_made.totp_secret, &api_secret, &reset_secret] {
            assert!(!dump.contains(secret.as_str()), "a TOTP secret is stored in plain text");
        }

        // The reset factor logs in.
        let reply = login(
            &broker,
            json!({"username": "intaker.sealed", "password": "a long enough password", "totp": broker.totp(&reset_secret)}),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    })
    .await;
}

/// The base32 secret in an `otpauth://` URI.
fn secret_of(uri: &str) -> String {
    let query = uri.split_once('?').unwrap().1;
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == "secret")
        .unwrap()
        .1
}

#[tokio::test]
async fn plaintext_totp_secrets_are_sealed_at_start() {
    TestBroker::on_every_backend(|broker| async move {
        let creds = broker.create_staff("fg.legacy", Role::PrivacyOfficer, Some(MBO));
        let id: StaffId = creds.id.parse().unwrap();
        // The way secrets were stored before: plain base32.
        broker
            .store
            .write(|c| staff::set_totp_secret(c, id, Some(&creds.totp_secret), broker.clock.now()))
            .unwrap();
        assert_eq!(stored_totp_secret(&broker.store, &creds.id), creds.totp_secret);

        // A start seals it; a second start leaves it as it is.
        let node = broker.start_again().await.expect("restart");
        let sealed = stored_totp_secret(&broker.store, &creds.id);
        assert!(sealed.starts_with(SEALED_TOTP_PREFIX), "not sealed at start");
        let key = TotpKey::load(&broker.settings.secrets).unwrap();
        assert_eq!(key.open(id, &sealed).unwrap(), creds.totp_secret);
        node.stop().await;
        let node = broker.start_again().await.expect("second restart");
        assert_eq!(stored_totp_secret(&broker.store, &creds.id), sealed);
        node.stop().await;

        // The account logs in with its authenticator as before.
        broker.login(&creds).await;
    })
    .await;
}

#[tokio::test]
async fn the_sqlite_files_are_readable_by_the_broker_alone() {
    // A PostgreSQL database has no files of the broker's: SQLite only.
    let broker = TestBroker::start(TestDb::new(TestBackend::Sqlite)).await;
    // Some writes, so that the WAL and shared-memory files exist.
    broker.create_staff("admin.modes", Role::BrokerAdmin, None);
    let path = broker.settings.database.url.trim_start_matches("sqlite://").to_owned();
    for file in [path.clone(), format!("{path}-wal"), format!("{path}-shm")] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file} has mode {mode:o}");
    }

    // A database made elsewhere with wider permissions is narrowed at open.
    let dir = tempfile::tempdir().unwrap();
    let loose = dir.path().join("loose.db");
    std::fs::write(&loose, b"").unwrap();
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = Store::open(loose.to_str().unwrap(), 2).unwrap();
    drop(store);
    let mode = std::fs::metadata(&loose).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}
