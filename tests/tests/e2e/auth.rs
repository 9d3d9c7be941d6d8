//! Who is calling: client certificates, staff logins, tokens, and the
//! audit records of every attempt.

use chrono::{Duration, Utc};
use doorstroom_devkit::pki::{Ca, DEMO_INSTITUTIONS};
use doorstroom_domain::{Outcome, Role};
use doorstroom_tests::{MBO, OTHER_MBO, TestBroker, VO, assert_problem, problem_without_instance};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn system_endpoint_needs_a_bound_client_certificate() {
    TestBroker::on_every_backend(|broker| async move {
        let reply = broker.anonymous().fetch(Method::GET, "/v1/whoami", None).await.unwrap();
        assert_problem(reply.status.as_u16(), &reply.body, 401);
        assert_eq!(reply.content_type.as_deref(), Some("application/problem+json"));

        let me = broker.system(VO).whoami().await.unwrap();
        assert_eq!(me["kind"], "system");
        assert_eq!(me["institution"], VO);
        assert_eq!(me["sector"], "vo");

        // The unauthenticated attempt and the successful call are both on record.
        let events = broker.audit_events();
        assert!(
            events
                .iter()
                .any(|e| e.outcome == Outcome::Unauthenticated && e.action.name == "authenticate")
        );
        assert!(events.iter().any(|e| e.outcome == Outcome::Success
            && e.action.name == "whoami"
            && e.actor.institution.as_ref().map(|b| b.as_str()) == Some(VO)));
    })
    .await;
}

#[tokio::test]
async fn unknown_expired_foreign_and_revoked_certificates_get_401() {
    TestBroker::on_every_backend(|broker| async move {
        let now = Utc::now();
        let ca = Ca::load(&broker.pki.dir).unwrap();
        let demo = &DEMO_INSTITUTIONS[0];

        // Issued by the right CA but never bound.
        let unbound = ca
            .issue_client(demo, now - Duration::days(1), now + Duration::days(30))
            .unwrap();
        let (status, body) = broker
            .with_identity(&unbound.cert_pem, &unbound.key_pem)
            .send(Method::GET, "/v1/whoami", None)
            .await
            .unwrap();
        let detail = assert_problem(status.as_u16(), &body, 401);
        assert!(detail.contains("not bound"), "{detail}");

        // Expired.
        let expired = ca
            .issue_client(demo, now - Duration::days(30), now - Duration::days(1))
            .unwrap();
        let (status, body) = broker
            .with_identity(&expired.cert_pem, &expired.key_pem)
            .send(Method::GET, "/v1/whoami", None)
            .await
            .unwrap();
        let detail = assert_problem(status.as_u16(), &body, 401);
        assert!(detail.contains("expired"), "{detail}");

        // From another CA.
        let elsewhere = tempfile::tempdir().unwrap();
        let foreign_ca = Ca::create(elsewhere.path(), now).unwrap();
        let foreign = foreign_ca
            .issue_client(demo, now - Duration::days(1), now + Duration::days(30))
            .unwrap();
        let (status, body) = broker
            .with_identity(&foreign.cert_pem, &foreign.key_pem)
            .send(Method::GET, "/v1/whoami", None)
            .await
            .unwrap();
        let detail = assert_problem(status.as_u16(), &body, 401);
        assert!(detail.contains("trusted CA"), "{detail}");

        // Revoked: the demo mbo's own certificate, after an admin revokes it.
        let system = broker.system(OTHER_MBO);
        assert_eq!(system.whoami().await.unwrap()["institution"], OTHER_MBO);
        let admin = broker.staff("admin.revoke", Role::BrokerAdmin, None).await;
        let fingerprint =
            std::fs::read_to_string(broker.institution_dir(OTHER_MBO).join("client.fingerprint")).unwrap();
        let path = format!(
            "/v1/institutions/{OTHER_MBO}/certificates/{}/revoke",
            fingerprint.trim()
        );
        let (status, body) = admin.send(Method::POST, &path, None).await.unwrap();
        assert_eq!(status.as_u16(), 200, "{body}");
        assert!(body["revoked_at"].is_string());
        let (status, body) = system.send(Method::GET, "/v1/whoami", None).await.unwrap();
        assert_problem(status.as_u16(), &body, 401);
    })
    .await;
}

#[tokio::test]
async fn a_suspended_institution_cannot_authenticate() {
    TestBroker::on_every_backend(|broker| async move {
        let admin = broker.staff("admin.suspend", Role::BrokerAdmin, None).await;
        let (status, body) = admin
            .send(
                Method::PATCH,
                &format!("/v1/institutions/{MBO}"),
                Some(&json!({"status": "suspended"})),
            )
            .await
            .unwrap();
        assert_eq!(status.as_u16(), 200, "{body}");
        assert_eq!(body["status"], "suspended");
        let (status, body) = broker.system(MBO).send(Method::GET, "/v1/whoami", None).await.unwrap();
        assert_problem(status.as_u16(), &body, 401);
    })
    .await;
}

#[tokio::test]
async fn staff_login_with_password_and_totp_yields_a_token_until_it_expires() {
    TestBroker::on_every_backend(|broker| async move {
        let creds = broker.create_staff("intaker.e2e", Role::Intaker, Some(MBO));
        let intaker = broker.login(&creds).await;
        let me = intaker.whoami().await.unwrap();
        assert_eq!(me["kind"], "staff");
        assert_eq!(me["role"], "intaker");
        assert_eq!(me["institution"], MBO);

        broker.clock.advance(Duration::seconds(14 * 60 + 50));
        assert!(intaker.whoami().await.is_ok(), "token must work until its expiry");
        broker.clock.advance(Duration::seconds(11));
        let (status, body) = intaker.send(Method::GET, "/v1/whoami", None).await.unwrap();
        let detail = assert_problem(status.as_u16(), &body, 401);
        assert!(detail.contains("expired"), "{detail}");
    })
    .await;
}

#[tokio::test]
async fn wrong_password_or_code_is_refused_alike_and_rate_limited() {
    TestBroker::on_every_backend(|broker| async move {
        let creds = broker.create_staff("fg.e2e", Role::PrivacyOfficer, Some(MBO));
        let anonymous = broker.anonymous();
        let login =
            |password: &str, totp: &str| json!({"username": creds.username, "password": password, "totp": totp});
        let good_code = broker.totp(&creds.totp_secret);
        let wrong_code = if good_code == "000000" {
            "111111".to_owned()
        } else {
            "000000".to_owned()
        };

        let (s1, b1) = anonymous
            .send(
                Method::POST,
                "/v1/auth/login",
                Some(&login("wrong password!!", &good_code)),
            )
            .await
            .unwrap();
        let (s2, b2) = anonymous
            .send(
                Method::POST,
                "/v1/auth/login",
                Some(&login(&creds.password, &wrong_code)),
            )
            .await
            .unwrap();
        let (s3, b3) = anonymous
            .send(
                Method::POST,
                "/v1/auth/login",
                Some(&json!({"username": "nobody.here", "password": "whatever-it-is", "totp": good_code})),
            )
            .await
            .unwrap();
        // The three failures look exactly alike.
        assert_problem(s1.as_u16(), &b1, 401);
        assert_eq!(problem_without_instance(&b1), problem_without_instance(&b2));
        assert_eq!(problem_without_instance(&b1), problem_without_instance(&b3));
        assert_eq!((s1, s2, s3), (s1, s1, s1));

        // Five failures for the account in the window: even the right
        // credentials are refused now.
        for _ in 0..3 {
            anonymous
                .send(
                    Method::POST,
                    "/v1/auth/login",
                    Some(&login("wrong password!!", &good_code)),
                )
                .await
                .unwrap();
        }
        let reply = anonymous
            .fetch(
                Method::POST,
                "/v1/auth/login",
                Some(&login(&creds.password, &good_code)),
            )
            .await
            .unwrap();
        assert_problem(reply.status.as_u16(), &reply.body, 429);

        // After the window the right credentials work again.
        broker
            .clock
            .advance(broker.settings.auth.login_failure_window + Duration::seconds(1));
        let me = broker.login(&creds).await.whoami().await.unwrap();
        assert_eq!(me["role"], "privacy_officer");

        let events = broker.audit_events();
        let failed = events
            .iter()
            .filter(|e| e.action.name == "login" && e.outcome == Outcome::Unauthenticated)
            .count();
        assert_eq!(failed, 7, "every failed or refused login is audited");
    })
    .await;
}

#[tokio::test]
async fn a_deactivated_account_loses_its_token_at_once() {
    TestBroker::on_every_backend(|broker| async move {
        let admin = broker.staff("admin.deact", Role::BrokerAdmin, None).await;
        let creds = broker.create_staff("intaker.gone", Role::Intaker, Some(MBO));
        let intaker = broker.login(&creds).await;
        assert!(intaker.whoami().await.is_ok());
        let (status, body) = admin
            .send(Method::POST, &format!("/v1/staff/{}/deactivate", creds.id), None)
            .await
            .unwrap();
        assert_eq!(status.as_u16(), 200, "{body}");
        let (status, body) = intaker.send(Method::GET, "/v1/whoami", None).await.unwrap();
        assert_problem(status.as_u16(), &body, 401);
    })
    .await;
}

#[tokio::test]
async fn tls_below_1_2_is_refused() {
    TestBroker::on_every_backend(|broker| async move {
        let port = broker.server.addr.port();
        let outcome = tokio::task::spawn_blocking(move || {
            let mut builder = openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls()).unwrap();
            builder.set_verify(openssl::ssl::SslVerifyMode::NONE);
            builder
                .set_min_proto_version(Some(openssl::ssl::SslVersion::TLS1))
                .unwrap();
            builder
                .set_max_proto_version(Some(openssl::ssl::SslVersion::TLS1_1))
                .unwrap();
            // OpenSSL 3 hides TLS 1.0/1.1 behind security level 0.
            builder.set_cipher_list("DEFAULT:@SECLEVEL=0").unwrap();
            let connector = builder.build();
            let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            connector
                .connect("localhost", tcp)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .await
        .unwrap();
        assert!(outcome.is_err(), "a TLS 1.1 handshake must fail");

        let tls12 = tokio::task::spawn_blocking(move || {
            let mut builder = openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls()).unwrap();
            builder.set_verify(openssl::ssl::SslVerifyMode::NONE);
            builder
                .set_max_proto_version(Some(openssl::ssl::SslVersion::TLS1_2))
                .unwrap();
            let connector = builder.build();
            let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            connector
                .connect("localhost", tcp)
                .map(|s| s.ssl().version_str().to_owned())
                .map_err(|e| e.to_string())
        })
        .await
        .unwrap();
        assert_eq!(tls12.as_deref(), Ok("TLSv1.2"));
    })
    .await;
}

/// One HTTP/1.1 `GET` on an open connection; the status of the answer
/// (its body read to the end, so that the connection can carry the next).
async fn get_on<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(stream: &mut S, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(stream.read(&mut byte).await.unwrap(), 1, "connection closed");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .expect("content-length");
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.unwrap();
    head.split(' ').nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_revoked_certificate_stops_the_next_request_of_an_open_connection() {
    use std::sync::Arc;

    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

    TestBroker::on_every_backend(|broker| async move {
        let dir = broker.institution_dir(OTHER_MBO);
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("client.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_file(dir.join("client.key")).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(broker.pki.ca_cert_path()).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .unwrap();
        let tcp = tokio::net::TcpStream::connect(broker.server.addr).await.unwrap();
        let mut stream = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();

        // Twice on the one connection: the chain's check is kept with it.
        assert_eq!(get_on(&mut stream, "/v1/whoami").await, 200);
        assert_eq!(get_on(&mut stream, "/v1/whoami").await, 200);

        let admin = broker.staff("admin.keepalive", Role::BrokerAdmin, None).await;
        let fingerprint = std::fs::read_to_string(dir.join("client.fingerprint")).unwrap();
        let path = format!(
            "/v1/institutions/{OTHER_MBO}/certificates/{}/revoke",
            fingerprint.trim()
        );
        let (status, body) = admin.send(Method::POST, &path, None).await.unwrap();
        assert_eq!(status.as_u16(), 200, "{body}");

        // The very next request on the same, still open connection.
        assert_eq!(get_on(&mut stream, "/v1/whoami").await, 401);
    })
    .await;
}
