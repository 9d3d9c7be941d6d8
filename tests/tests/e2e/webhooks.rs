//! Signed webhooks, end to end on both backends: a receiver on loopback
//! (rustls, the dev PKI's `localhost` certificate, the dev CA uploaded as
//! the endpoint's CA) answers 503, a redirect and a hang before it takes
//! deliveries; the broker is restarted in between; every feed entry
//! arrives, signed by the broker's key, with its id as the idempotency id;
//! no redirect is followed; attempts are visible to the admin and in
//! `/metrics`. Registration refuses what it must.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use doorstroom_domain::Role;
use doorstroom_tests::{MBO, OTHER_MBO, TestBroker, TestDb, VO, assert_problem};
use reqwest::Method;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::exchange_support::{bsn, personal_data, register_application, seal_package, submit};

/// How the receiver answers one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Status(u16),
    Redirect,
    Hang,
}

#[derive(Debug, Clone)]
struct Received {
    path: String,
    idempotency_key: String,
    content_type: String,
    body: String,
    answered: Answer,
}

#[derive(Default)]
struct Script {
    next: VecDeque<Answer>,
    otherwise: Option<Answer>,
    received: Vec<Received>,
}

/// An HTTPS endpoint on loopback that records what it gets.
#[derive(Clone)]
struct Receiver {
    port: u16,
    script: Arc<Mutex<Script>>,
}

impl Receiver {
    async fn start(broker: &TestBroker) -> Receiver {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(broker.pki.server_cert_path())
            .expect("certs")
            .collect::<Result<_, _>>()
            .expect("certs");
        let key = PrivateKeyDer::from_pem_file(broker.pki.server_key_path()).expect("key");
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let receiver = Receiver {
            port,
            script: Arc::new(Mutex::new(Script {
                otherwise: Some(Answer::Status(503)),
                ..Script::default()
            })),
        };
        let script = receiver.script.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, script) = (acceptor.clone(), script.clone());
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        serve(tls, script).await;
                    }
                });
            }
        });
        receiver
    }

    fn url(&self) -> String {
        format!("https://localhost:{}/doorstroom/hook", self.port)
    }

    fn then(&self, answers: &[Answer], otherwise: Answer) {
        let mut script = self.script.lock().unwrap();
        script.next.extend(answers);
        script.otherwise = Some(otherwise);
    }

    fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }
}

async fn serve(mut tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>, script: Arc<Mutex<Script>>) {
    let mut buffer = Vec::new();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match tls.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let length: usize = header("content-length").parse().unwrap_or(0);
    while buffer.len() < head_end + length {
        match tls.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
    let answer = {
        let mut script = script.lock().unwrap();
        let answer = script
            .next
            .pop_front()
            .or(script.otherwise)
            .unwrap_or(Answer::Status(200));
        script.received.push(Received {
            path: head.split_whitespace().nth(1).unwrap_or_default().to_owned(),
            idempotency_key: header("idempotency-key"),
            content_type: header("content-type"),
            body: String::from_utf8_lossy(&buffer[head_end..head_end + length]).to_string(),
            answered: answer,
        });
        answer
    };
    let response = match answer {
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            return;
        }
        Answer::Redirect => {
            "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned()
        }
        Answer::Status(code) => format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    };
    let _ = tls.write_all(response.as_bytes()).await;
    let _ = tls.shutdown().await;
}

/// A verifier for the broker's signing key, from `GET /v1/broker/jwks`.
async fn broker_verifier(broker: &TestBroker) -> josekit::jws::alg::eddsa::EddsaJwsVerifier {
    let keys = broker.anonymous().broker_jwks().await.expect("broker JWKS");
    let key = serde_json::to_value(&keys).expect("JWKS as JSON")["keys"][0].clone();
    josekit::jws::EdDSA
        .verifier_from_jwk(&josekit::jwk::Jwk::from_map(key.as_object().expect("a JWK").clone()).expect("JWK"))
        .expect("EdDSA verifier")
}

/// Waits (moving the broker's clock on, so that retries and leases come
/// due) until `done` holds.
async fn wait_until(broker: &TestBroker, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        broker.clock.advance(chrono::Duration::seconds(2));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn configured(s: &mut doorstroom_server::config::Settings) {
    s.webhooks.allow_private_addresses = true;
    s.webhooks.poll_interval = Some(Duration::from_millis(100));
    s.webhooks.timeout = Duration::from_secs(2);
    s.webhooks.first_retry = Duration::from_millis(500);
    s.webhooks.max_backoff = Duration::from_secs(2);
}

#[tokio::test]
async fn every_entry_arrives_signed_once_the_endpoint_takes_it_through_a_restart() {
    for db in TestDb::all() {
        eprintln!("-- on {}", db.backend.name());
        let broker = TestBroker::start_with(db, configured).await;
        deliveries_through_a_restart(broker).await;
    }
}

async fn deliveries_through_a_restart(mut broker: TestBroker) {
    let receiver = Receiver::start(&broker).await;
    let admin = broker.staff("hook.admin", Role::InstitutionAdmin, Some(MBO)).await;
    let ca = std::fs::read_to_string(broker.pki.ca_cert_path()).expect("ca");
    let reply = admin
        .fetch(
            Method::PUT,
            &format!("/v1/institutions/{MBO}/webhook"),
            Some(&json!({"url": receiver.url(), "ca_pem": ca})),
        )
        .await
        .expect("register");
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(reply.body["own_ca"], json!(true));

    // A redirect, a hang past the timeout, then 503 until the restart.
    receiver.then(&[Answer::Redirect, Answer::Hang], Answer::Status(503));
    for n in 0..2 {
        let student = bsn(9200 + n);
        let application = register_application(&broker, MBO, &student).await;
        let submission = seal_package(&broker, application, MBO, &[personal_data(&student)]);
        assert_eq!(submit(&broker.system(VO), &submission).await.status.as_u16(), 201);
    }
    wait_until(&broker, "failed attempts", || {
        receiver
            .received()
            .iter()
            .filter(|r| r.answered == Answer::Status(503))
            .count()
            >= 2
    })
    .await;

    // The broker restarts (a new node on the same database, the old one
    // stopped); then the endpoint recovers.
    let restarted = broker.start_again().await.expect("restart");
    let old = std::mem::replace(&mut broker.server, restarted);
    old.stop().await;
    broker.base_url = doorstroom_tests::base_url(&broker.server);
    receiver.then(&[], Answer::Status(200));

    let feed: Vec<String> = broker
        .system(MBO)
        .events(None, 0)
        .await
        .expect("feed")
        .events
        .iter()
        .map(|e| e.id.to_string())
        .collect();
    assert_eq!(feed.len(), 2);
    wait_until(&broker, "both deliveries", || {
        let delivered: BTreeSet<String> = receiver
            .received()
            .into_iter()
            .filter(|r| r.answered == Answer::Status(200))
            .map(|r| r.idempotency_key)
            .collect();
        delivered.len() == 2
    })
    .await;

    let verifier = broker_verifier(&broker).await;
    let received = receiver.received();
    for r in &received {
        assert_eq!(r.path, "/doorstroom/hook", "no redirect was followed");
        assert_eq!(r.content_type, "application/jose");
        let (payload, header) = josekit::jws::deserialize_compact(&r.body, &verifier).expect("signed by the broker");
        assert_eq!(header.token_type(), Some("doorstroom-event+jwt"));
        let claims: Value = serde_json::from_slice(&payload).expect("claims");
        assert_eq!(claims["aud"], json!(MBO));
        assert_eq!(claims["jti"], json!(r.idempotency_key));
        assert_eq!(claims["event"]["id"], json!(r.idempotency_key));
        assert_eq!(claims["event"]["kind"], json!("package.available"));
        assert!(feed.contains(&r.idempotency_key), "an entry of the feed");
    }
    let delivered: BTreeSet<&str> = received
        .iter()
        .filter(|r| r.answered == Answer::Status(200))
        .map(|r| r.idempotency_key.as_str())
        .collect();
    assert_eq!(delivered, feed.iter().map(String::as_str).collect::<BTreeSet<_>>());

    // What the admin sees (logged in at the restarted broker), and the
    // metrics.
    let admin = broker
        .staff("hook.admin.again", Role::InstitutionAdmin, Some(MBO))
        .await;
    let status = admin
        .fetch(Method::GET, &format!("/v1/institutions/{MBO}/webhook"), None)
        .await
        .expect("status");
    assert_eq!(status.status.as_u16(), 200, "{}", status.body);
    let deliveries = status.body["deliveries"].as_array().expect("deliveries");
    assert_eq!(deliveries.len(), 2);
    let outcomes: Vec<&str> = deliveries.iter().map(|d| d["state"].as_str().unwrap_or("")).collect();
    assert_eq!(outcomes, ["delivered", "delivered"], "{}", status.body);
    let attempts: i64 = deliveries.iter().map(|d| d["attempts"].as_i64().unwrap_or(0)).sum();
    assert!(attempts >= 4, "{}", status.body);
    let metrics = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&broker.ca_pem()).expect("ca"))
        .build()
        .expect("client")
        .get(format!("{}/metrics", broker.base_url))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("doorstroom_webhook_attempts_total{result=\"delivered\"}"),
        "{metrics}"
    );
    // Another mbo sees nothing of it.
    let other = broker
        .staff("hook.other", Role::InstitutionAdmin, Some(OTHER_MBO))
        .await;
    let reply = other
        .fetch(Method::GET, &format!("/v1/institutions/{MBO}/webhook"), None)
        .await
        .expect("other");
    assert_problem(reply.status.as_u16(), &reply.body, 404);
}

#[tokio::test]
async fn registration_refuses_what_may_not_be_called() {
    TestBroker::on_every_backend(|broker| async move {
        let admin = broker.staff("hook.rules", Role::InstitutionAdmin, Some(MBO)).await;
        let path = format!("/v1/institutions/{MBO}/webhook");
        for (body, pointer) in [
            (json!({"url": "http://hooks.example.nl/x"}), "/url"),
            (json!({"url": "https://127.0.0.1:8443/x"}), "/url"),
            (json!({"url": "https://localhost/x"}), "/url"),
            (json!({"url": "https://10.1.2.3/x"}), "/url"),
            (json!({"url": "https://[::1]/x"}), "/url"),
            (json!({"url": "https://user:pw@hooks.example.nl/x"}), "/url"),
            (json!({"url": "not a url"}), "/url"),
            (
                json!({"url": "https://hooks.example.nl/x", "ca_pem": "not a certificate"}),
                "/ca_pem",
            ),
            (
                json!({"url": "https://hooks.example.nl/x", "ca_pem": "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"}),
                "/ca_pem",
            ),
        ] {
            let reply = admin.fetch(Method::PUT, &path, Some(&body)).await.expect("put");
            assert_problem(reply.status.as_u16(), &reply.body, 422);
            assert_eq!(reply.body["pointer"], json!(pointer), "{body}");
        }
        let ok = admin
            .fetch(
                Method::PUT,
                &path,
                Some(&json!({"url": "https://hooks.example.nl/doorstroom"})),
            )
            .await
            .expect("put");
        assert_eq!(ok.status.as_u16(), 200, "{}", ok.body);
        assert_eq!(ok.body["own_ca"], json!(false));
        let read = admin.fetch(Method::GET, &path, None).await.expect("get");
        assert_eq!(
            read.body["endpoint"]["url"],
            json!("https://hooks.example.nl/doorstroom")
        );
        // Another institution's admin: the same 404 as for no institution.
        let other = broker
            .staff("hook.rules.other", Role::InstitutionAdmin, Some(OTHER_MBO))
            .await;
        let theirs = other
            .fetch(Method::PUT, &path, Some(&json!({"url": "https://evil.example/x"})))
            .await
            .expect("put");
        assert_problem(theirs.status.as_u16(), &theirs.body, 404);
        let removed = other.fetch(Method::DELETE, &path, None).await.expect("delete");
        assert_problem(removed.status.as_u16(), &removed.body, 404);
        let read = admin.fetch(Method::GET, &path, None).await.expect("get");
        assert_eq!(
            read.body["endpoint"]["url"],
            json!("https://hooks.example.nl/doorstroom")
        );
        // Its own admin removes it; removing again is the same answer.
        for _ in 0..2 {
            let removed = admin.fetch(Method::DELETE, &path, None).await.expect("delete");
            assert_eq!(removed.status.as_u16(), 204, "{}", removed.body);
        }
        let read = admin.fetch(Method::GET, &path, None).await.expect("get");
        assert_eq!(read.body["endpoint"], json!(null), "{}", read.body);
    })
    .await;
}

#[tokio::test]
async fn a_hanging_endpoint_or_a_bad_certificate_delays_nothing_else() {
    for db in TestDb::all() {
        eprintln!("-- on {}", db.backend.name());
        let broker = TestBroker::start_with(db, configured).await;
        hanging_and_untrusted(broker).await;
    }
}

async fn register(client: &doorstroom_client::Client, brin: &str, url: &str, ca: Option<&str>) {
    let reply = client
        .fetch(
            Method::PUT,
            &format!("/v1/institutions/{brin}/webhook"),
            Some(&json!({"url": url, "ca_pem": ca})),
        )
        .await
        .expect("register");
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
}

async fn hanging_and_untrusted(broker: TestBroker) {
    let ca = std::fs::read_to_string(broker.pki.ca_cert_path()).expect("ca");
    // The mbo's endpoint hangs on every request.
    let hanging = Receiver::start(&broker).await;
    hanging.then(&[], Answer::Hang);
    let mbo_admin = broker.staff("hook.mbo", Role::InstitutionAdmin, Some(MBO)).await;
    register(&mbo_admin, MBO, &hanging.url(), Some(&ca)).await;
    // The vo school's endpoint answers, but first without its CA: its
    // certificate is then not trusted.
    let answering = Receiver::start(&broker).await;
    answering.then(&[], Answer::Status(200));
    let vo_admin = broker.staff("hook.vo", Role::InstitutionAdmin, Some(VO)).await;
    register(&vo_admin, VO, &answering.url(), None).await;

    let student = bsn(9300);
    let application = register_application(&broker, MBO, &student).await;
    let submission = seal_package(&broker, application, MBO, &[personal_data(&student)]);
    let reply = submit(&broker.system(VO), &submission).await;
    assert_eq!(reply.status.as_u16(), 201);
    let package = reply.body["package_id"].as_str().expect("package").to_owned();
    wait_until(&broker, "the hanging attempt", || !hanging.received().is_empty()).await;
    let intaker = broker.staff("hook.intaker", Role::Intaker, Some(MBO)).await;
    let ack = intaker
        .fetch(Method::POST, &format!("/v1/packages/{package}/acknowledge"), None)
        .await
        .expect("ack");
    assert_eq!(ack.status.as_u16(), 200);

    // The untrusted certificate: the attempt fails before a byte is sent.
    let status = |admin: doorstroom_client::Client, brin: &'static str| async move {
        admin
            .fetch(Method::GET, &format!("/v1/institutions/{brin}/webhook"), None)
            .await
            .expect("status")
            .body
    };
    let started = Instant::now();
    loop {
        let body = status(vo_admin.clone(), VO).await;
        if body["deliveries"][0]["last_outcome"] == json!("connect or tls") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answering.received().is_empty(), "nothing sent to an untrusted endpoint");

    // With its CA the vo school's endpoint gets the entry at once, while
    // the mbo's attempt still hangs (its timeout is 2 s).
    register(&vo_admin, VO, &answering.url(), Some(&ca)).await;
    let started = Instant::now();
    wait_until(&broker, "the vo's delivery", || !answering.received().is_empty()).await;
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    let body = status(vo_admin.clone(), VO).await;
    let mbo_body = status(mbo_admin.clone(), MBO).await;
    assert_eq!(body["deliveries"][0]["state"], json!("delivered"), "{body}");
    assert_eq!(mbo_body["deliveries"][0]["state"], json!("pending"), "{mbo_body}");
}
