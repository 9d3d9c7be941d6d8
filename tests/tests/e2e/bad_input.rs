//! Malformed and hostile input: every class of bad input gets a 4xx RFC 9457
//! `application/problem+json` answer that says what is wrong (never a 500,
//! never a panic), and bad input stores nothing and changes nothing.

use chrono::Duration;
use doorstroom_client::{Client, Reply};
use doorstroom_devkit::pki::{Ca, DEMO_INSTITUTIONS, DemoInstitution};
use doorstroom_domain::{Brin, Clock, KeyUse, Role};
use doorstroom_store::{certificates, institutions, keys};
use doorstroom_tests::{MBO, OTHER_MBO, TestBroker, assert_problem, without_instance};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::{Value, json};

const PROBLEM_JSON: &str = "application/problem+json";

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

fn demo(brin: &str) -> &'static DemoInstitution {
    DEMO_INSTITUTIONS
        .iter()
        .find(|d| d.brin == brin)
        .expect("demo institution")
}

fn brin(raw: &str) -> Brin {
    Brin::parse(raw).expect("brin")
}

/// A new account of `role`, logged in; answers its bearer token.
async fn token_of(broker: &TestBroker, username: &str, role: Role, institution: Option<&str>) -> String {
    let creds = broker.create_staff(username, role, institution);
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
    body["access_token"].as_str().expect("access_token").to_owned()
}

/// A request that the typed client cannot make: any headers, any bytes.
async fn raw_request(
    broker: &TestBroker,
    method: Method,
    path: &str,
    headers: &[(&'static str, &str)],
    body: Option<Vec<u8>>,
) -> Reply {
    let ca = reqwest::Certificate::from_pem(&broker.ca_pem()).expect("ca");
    let http = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .https_only(true)
        .build()
        .expect("http client");
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(*name, HeaderValue::from_str(value).expect("header value"));
    }
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

fn stored_institution(broker: &TestBroker, raw: &str) -> Option<institutions::Institution> {
    let b = brin(raw);
    broker
        .store
        .read(|conn| institutions::get(conn, &b))
        .expect("read institution")
}

fn institution_count(broker: &TestBroker) -> usize {
    broker.store.read(institutions::list).expect("list institutions").len()
}

fn stored_kids(broker: &TestBroker, raw: &str) -> Vec<String> {
    let b = brin(raw);
    broker
        .store
        .read(|conn| keys::list_for(conn, &b))
        .expect("read keys")
        .into_iter()
        .map(|k| format!("{} {}", k.kid, k.status.as_str()))
        .collect()
}

fn stored_fingerprints(broker: &TestBroker, raw: &str) -> Vec<String> {
    let b = brin(raw);
    broker
        .store
        .read(|conn| certificates::list_for(conn, &b))
        .expect("read certificates")
        .into_iter()
        .map(|c| format!("{} {:?}", c.fingerprint, c.revoked_at))
        .collect()
}

async fn admin(broker: &TestBroker) -> Client {
    broker.staff("admin.bad", Role::BrokerAdmin, None).await
}

#[tokio::test]
async fn a_body_that_is_not_json_is_400() {
    TestBroker::on_every_backend(|broker| async move {
        let token = token_of(&broker, "admin.notjson", Role::BrokerAdmin, None).await;
        let before = institution_count(&broker);
        let bearer = format!("Bearer {token}");
        for body in [
            &b"{\"brin\":"[..],
            b"",
            b"not json",
            b"{\"brin\":\"88XX\",\"name\":\"N\",\"sector\":\"mbo\"} trailing",
        ] {
            let reply = raw_request(
                &broker,
                Method::POST,
                "/v1/institutions",
                &[("content-type", "application/json"), ("authorization", &bearer)],
                Some(body.to_vec()),
            )
            .await;
            let detail = problem(&reply, 400);
            assert!(detail.contains("not valid JSON"), "{detail}");
            assert!(reply.body.get("pointer").is_none(), "{}", reply.body);
        }
        assert_eq!(institution_count(&broker), before);
    })
    .await;
}

#[tokio::test]
async fn a_body_that_is_not_declared_json_is_415() {
    TestBroker::on_every_backend(|broker| async move {
        let token = token_of(&broker, "admin.ctype", Role::BrokerAdmin, None).await;
        let bearer = format!("Bearer {token}");
        let good = serde_json::to_vec(&json!({"brin": "88XX", "name": "Nieuw", "sector": "mbo"})).unwrap();
        let cases: [&[(&'static str, &str)]; 3] = [
            &[("content-type", "text/plain"), ("authorization", &bearer)],
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("authorization", &bearer),
            ],
            &[("authorization", &bearer)],
        ];
        for headers in cases {
            let reply = raw_request(&broker, Method::POST, "/v1/institutions", headers, Some(good.clone())).await;
            let detail = problem(&reply, 415);
            assert!(detail.contains("application/json"), "{detail}");
        }
        assert!(stored_institution(&broker, "88XX").is_none(), "nothing registered");
    })
    .await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_stores_nothing() {
    TestBroker::on_every_backend(|broker| async move {
        let limit = broker.settings.server.body_limit_bytes;
        assert_eq!(limit, 65536);
        let admin = admin(&broker).await;
        let before = institution_count(&broker);
        let name = "x".repeat(70_000);
        let reply = admin
            .fetch(
                Method::POST,
                "/v1/institutions",
                Some(&json!({"brin": "88XX", "name": name, "sector": "mbo"})),
            )
            .await
            .unwrap();
        let detail = problem(&reply, 413);
        assert!(detail.contains("65536"), "{detail}");
        assert!(stored_institution(&broker, "88XX").is_none());
        assert_eq!(institution_count(&broker), before);

        // Just under the limit the body is read; the name then breaks its rule.
        let name = "x".repeat(limit - 100);
        let reply = admin
            .fetch(
                Method::POST,
                "/v1/institutions",
                Some(&json!({"brin": "88XX", "name": name, "sector": "mbo"})),
            )
            .await
            .unwrap();
        let detail = problem_at(&reply, 422, "/name");
        assert!(detail.contains("1 to 200 characters"), "{detail}");
        assert!(stored_institution(&broker, "88XX").is_none());

        // The broker still serves the same client afterwards.
        assert_eq!(admin.whoami().await.unwrap()["role"], "broker_admin");
    })
    .await;
}

#[tokio::test]
async fn an_unknown_field_is_422_with_a_pointer_to_it() {
    TestBroker::on_every_backend(|broker| async move {
        let admin = admin(&broker).await;
        let reply = admin
            .fetch(
                Method::POST,
                "/v1/institutions",
                Some(&json!({"brin": "88XX", "name": "Nieuw", "sector": "mbo", "status": "active"})),
            )
            .await
            .unwrap();
        let detail = problem_at(&reply, 422, "/status");
        assert!(detail.contains("unknown field `status`"), "{detail}");
        assert!(stored_institution(&broker, "88XX").is_none());

        // The same on PATCH: nothing about 25LX changes.
        let original = stored_institution(&broker, MBO).expect("25LX");
        let reply = admin
            .fetch(
                Method::PATCH,
                &format!("/v1/institutions/{MBO}"),
                Some(&json!({"name": "Overgenomen", "sector": "vo"})),
            )
            .await
            .unwrap();
        let detail = problem_at(&reply, 422, "/sector");
        assert!(detail.contains("unknown field `sector`"), "{detail}");
        let after = stored_institution(&broker, MBO).expect("25LX");
        assert_eq!(after.name, original.name);
        assert_eq!(after.updated_at, original.updated_at);
    })
    .await;
}

#[tokio::test]
async fn malformed_brin_oin_and_sector_are_named() {
    TestBroker::on_every_backend(|broker| async move {
        let admin = admin(&broker).await;
        let before = institution_count(&broker);
        let register = |body: Value| {
            let admin = admin.clone();
            async move {
                admin
                    .fetch(Method::POST, "/v1/institutions", Some(&body))
                    .await
                    .unwrap()
            }
        };

        for bad in ["25lx", "2LXX", "25LXX", "", "２５LX"] {
            let reply = register(json!({"brin": bad, "name": "Nieuw", "sector": "mbo"})).await;
            let detail = problem_at(&reply, 422, "/brin");
            assert!(
                detail.contains("two digits followed by two capital letters"),
                "{bad:?}: {detail}"
            );
        }
        let reply = register(json!({"brin": 25, "name": "Nieuw", "sector": "mbo"})).await;
        problem_at(&reply, 422, "/brin");

        for bad in ["123", "0000000100000088000X", "000000010000008800001"] {
            let reply = register(json!({"brin": "88XX", "oin": bad, "name": "Nieuw", "sector": "mbo"})).await;
            let detail = problem_at(&reply, 422, "/oin");
            assert!(detail.contains("exactly 20 digits"), "{bad:?}: {detail}");
        }

        let reply = register(json!({"brin": "88XX", "name": "Nieuw", "sector": "hbo"})).await;
        let detail = problem_at(&reply, 422, "/sector");
        assert!(detail.contains("unknown variant `hbo`"), "{detail}");
        assert!(detail.contains("mbo"), "{detail}");

        let reply = register(json!({"brin": "88XX", "name": "Nieuw"})).await;
        let detail = problem(&reply, 422);
        assert!(detail.contains("missing field `sector`"), "{detail}");

        let reply = register(json!({"brin": "88XX", "name": "  ", "sector": "mbo"})).await;
        problem_at(&reply, 422, "/name");
        let reply = register(json!({"brin": "88XX", "name": "a\u{0}b", "sector": "mbo"})).await;
        problem_at(&reply, 422, "/name");

        assert!(stored_institution(&broker, "88XX").is_none());
        assert_eq!(institution_count(&broker), before);

        // A malformed BRIN in a path is a malformed request, not a 404.
        for path in [
            "/v1/institutions/25lx",
            "/v1/institutions/25lx/keys",
            "/v1/institutions/25lx/certificates",
            "/v1/institutions/XXXX/jwks",
        ] {
            let client = if path.ends_with("/jwks") {
                broker.anonymous()
            } else {
                admin.clone()
            };
            let reply = client.fetch(Method::GET, path, None).await.unwrap();
            let detail = problem(&reply, 400);
            assert!(
                detail.contains("brin") && detail.contains("two digits followed by two capital letters"),
                "{path}: {detail}"
            );
        }
        let reply = admin
            .fetch(Method::PATCH, "/v1/institutions/25lx", Some(&json!({"name": "Nieuw"})))
            .await
            .unwrap();
        problem(&reply, 400);
        assert_eq!(
            stored_institution(&broker, MBO).expect("25LX").name,
            demo(MBO).name,
            "nothing changed"
        );
    })
    .await;
}

#[tokio::test]
async fn malformed_jwks_are_422_and_publish_nothing() {
    TestBroker::on_every_backend(|broker| async move {
        let admin = admin(&broker).await;
        let now = broker.clock.now();
        let path = format!("/v1/institutions/{MBO}/keys");
        let before = stored_kids(&broker, MBO);
        let listed_before = admin.fetch(Method::GET, &path, None).await.unwrap();
        assert_eq!(listed_before.status.as_u16(), 200);

        let ca = Ca::load(&broker.pki.dir).unwrap();
        let issued = ca.issue_jose_key(demo(MBO), KeyUse::Sig, now).unwrap();
        let public = issued.public_jwk.to_json();
        let add = |jwk: Value| {
            let admin = admin.clone();
            let path = path.clone();
            async move {
                admin
                    .fetch(Method::POST, &path, Some(&json!({ "jwk": jwk })))
                    .await
                    .unwrap()
            }
        };
        let with = |edit: &dyn Fn(&mut serde_json::Map<String, Value>)| {
            let mut jwk = public.clone();
            edit(jwk.as_object_mut().expect("jwk object"));
            jwk
        };

        // Private key material.
        let reply = add(issued.private_jwk.clone()).await;
        let detail = problem_at(&reply, 422, "/jwk");
        assert!(detail.contains("private key material"), "{detail}");
        assert!(detail.contains("`d`"), "{detail}");
        let reply = add(with(&|m| {
            m.insert("k".into(), "c2VjcmV0".into());
        }))
        .await;
        let detail = problem_at(&reply, 422, "/jwk");
        assert!(detail.contains("private key material"), "{detail}");

        // Not an object; missing members.
        let reply = add(json!("not a key")).await;
        let detail = problem_at(&reply, 422, "/jwk");
        assert!(detail.contains("JSON object"), "{detail}");
        let reply = add(with(&|m| {
            m.remove("x5c");
        }))
        .await;
        let detail = problem_at(&reply, 422, "/jwk");
        assert!(detail.contains("x5c"), "{detail}");
        let reply = add(with(&|m| {
            m.remove("kid");
        }))
        .await;
        let detail = problem_at(&reply, 422, "/jwk");
        assert!(detail.contains("`kid` is required"), "{detail}");
        let reply = add(with(&|m| {
            m.insert("kid".into(), "../../etc/passwd".into());
        }))
        .await;
        let detail = problem_at(&reply, 422, "/jwk");
        assert!(detail.contains("`kid` must be"), "{detail}");

        // An `alg` that does not fit the `use` or the key type.
        let reply = add(with(&|m| {
            m.insert("alg".into(), "RSA-OAEP-256".into());
        }))
        .await;
        let detail = problem_at(&reply, 422, "/jwk");
        assert!(detail.contains("`alg` is not allowed"), "{detail}");
        let reply = add(with(&|m| {
            m.insert("alg".into(), "HS256".into());
        }))
        .await;
        let detail = problem_at(&reply, 422, "/jwk");
        assert!(detail.contains("`alg`"), "{detail}");
        let reply = add(with(&|m| {
            m.insert("alg".into(), "EdDSA".into());
        }))
        .await;
        let detail = problem_at(&reply, 422, "/jwk");
        assert!(detail.contains("`alg` EdDSA requires"), "{detail}");

        // Key material that is not a point on the curve.
        let reply = add(with(&|m| {
            m.insert("x".into(), "AAAA".into());
        }))
        .await;
        let detail = problem_at(&reply, 422, "/jwk");
        assert!(detail.contains("`x`"), "{detail}");

        // An x5c that is not base64 DER.
        let reply = add(with(&|m| {
            m.insert("x5c".into(), json!(["!!not base64!!"]));
        }))
        .await;
        let detail = problem(&reply, 422);
        assert!(detail.contains("x5c"), "{detail}");

        // A chain from another CA.
        let elsewhere = tempfile::tempdir().unwrap();
        let foreign_ca = Ca::create(elsewhere.path(), now).unwrap();
        let foreign = foreign_ca.issue_jose_key(demo(MBO), KeyUse::Sig, now).unwrap();
        let reply = add(foreign.public_jwk.to_json()).await;
        let detail = problem_at(&reply, 422, "/jwk/x5c");
        assert!(detail.contains("does not lead to a trust anchor"), "{detail}");

        // A trusted chain for another key.
        let reply = add(with(&|m| {
            let other = foreign.public_jwk.to_json();
            m.insert("x".into(), other["x"].clone());
            m.insert("y".into(), other["y"].clone());
        }))
        .await;
        let detail = problem_at(&reply, 422, "/jwk/x5c");
        assert!(detail.contains("not the JWK's public key"), "{detail}");

        // The wrapper itself: `jwk` missing or an extra member next to it.
        let reply = admin.fetch(Method::POST, &path, Some(&json!({}))).await.unwrap();
        let detail = problem(&reply, 422);
        assert!(detail.contains("missing field `jwk`"), "{detail}");
        let reply = admin
            .fetch(Method::POST, &path, Some(&json!({"jwk": public, "brin": OTHER_MBO})))
            .await
            .unwrap();
        problem_at(&reply, 422, "/brin");

        // Nothing was published.
        assert_eq!(stored_kids(&broker, MBO), before);
        let listed_after = admin.fetch(Method::GET, &path, None).await.unwrap();
        assert_eq!(listed_after.body, listed_before.body);

        // And the well-formed key is accepted, so the rejections were about
        // the defects and not about the key.
        let reply = add(public.clone()).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
    })
    .await;
}

#[tokio::test]
async fn malformed_certificates_are_422_and_bind_nothing() {
    TestBroker::on_every_backend(|broker| async move {
        let admin = admin(&broker).await;
        let now = broker.clock.now();
        let path = format!("/v1/institutions/{MBO}/certificates");
        let before = stored_fingerprints(&broker, MBO);
        let bind = |pem: Value| {
            let admin = admin.clone();
            let path = path.clone();
            async move {
                admin
                    .fetch(Method::POST, &path, Some(&json!({ "certificate": pem })))
                    .await
                    .unwrap()
            }
        };

        for not_pem in [
            "hello",
            "",
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        ] {
            let reply = bind(json!(not_pem)).await;
            let detail = problem_at(&reply, 422, "/certificate");
            assert!(detail.contains("not a PEM certificate"), "{not_pem:?}: {detail}");
        }

        // PEM armour around bytes that are not a certificate.
        let garbage = "-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQ==\n-----END CERTIFICATE-----\n";
        let reply = bind(json!(garbage)).await;
        let detail = problem_at(&reply, 422, "/certificate");
        assert!(detail.contains("certificate"), "{detail}");

        // A private key is not a certificate (and must not be echoed back).
        let ca = Ca::load(&broker.pki.dir).unwrap();
        let good = ca
            .issue_client(demo(MBO), now - Duration::days(1), now + Duration::days(30))
            .unwrap();
        let reply = bind(json!(good.key_pem)).await;
        let detail = problem_at(&reply, 422, "/certificate");
        assert!(detail.contains("not a PEM certificate"), "{detail}");
        assert!(!String::from_utf8_lossy(&reply.raw).contains("PRIVATE KEY"));

        // From another CA.
        let elsewhere = tempfile::tempdir().unwrap();
        let foreign_ca = Ca::create(elsewhere.path(), now).unwrap();
        let foreign = foreign_ca
            .issue_client(demo(MBO), now - Duration::days(1), now + Duration::days(30))
            .unwrap();
        let reply = bind(json!(foreign.cert_pem)).await;
        let detail = problem_at(&reply, 422, "/certificate");
        assert!(detail.contains("not issued by a trusted CA"), "{detail}");

        // Expired.
        let expired = ca
            .issue_client(demo(MBO), now - Duration::days(30), now - Duration::days(1))
            .unwrap();
        let reply = bind(json!(expired.cert_pem)).await;
        let detail = problem_at(&reply, 422, "/certificate");
        assert!(detail.contains("expired"), "{detail}");

        // Not yet valid.
        let future = ca
            .issue_client(demo(MBO), now + Duration::days(1), now + Duration::days(30))
            .unwrap();
        let reply = bind(json!(future.cert_pem)).await;
        let detail = problem_at(&reply, 422, "/certificate");
        assert!(detail.contains("not yet valid"), "{detail}");

        // The CA certificate itself is no client certificate.
        let reply = bind(json!(ca.cert_pem())).await;
        problem_at(&reply, 422, "/certificate");

        // Wrong JSON type.
        let reply = bind(json!(42)).await;
        let detail = problem_at(&reply, 422, "/certificate");
        assert!(detail.contains("invalid type"), "{detail}");

        // Nothing was bound.
        assert_eq!(stored_fingerprints(&broker, MBO), before);

        // The good one binds, so the rejections were about the defects.
        let reply = bind(json!(good.cert_pem)).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        // A malformed fingerprint in a path.
        let reply = admin
            .fetch(
                Method::POST,
                &format!("/v1/institutions/{MBO}/certificates/not-hex/revoke"),
                None,
            )
            .await
            .unwrap();
        let detail = problem(&reply, 400);
        assert!(detail.contains("fingerprint"), "{detail}");
    })
    .await;
}

#[tokio::test]
async fn malformed_credentials_are_4xx() {
    TestBroker::on_every_backend(|broker| async move {
        let creds = broker.create_staff("intaker.creds", Role::Intaker, Some(MBO));
        let anonymous = broker.anonymous();

        // Login without `totp`.
        let reply = anonymous
            .fetch(
                Method::POST,
                "/v1/auth/login",
                Some(&json!({"username": creds.username, "password": creds.password})),
            )
            .await
            .unwrap();
        let detail = problem(&reply, 422);
        assert!(detail.contains("missing field `totp`"), "{detail}");

        // Login with a code of the wrong JSON type.
        let reply = anonymous
            .fetch(
                Method::POST,
                "/v1/auth/login",
                Some(&json!({"username": creds.username, "password": creds.password, "totp": 123456})),
            )
            .await
            .unwrap();
        problem_at(&reply, 422, "/totp");

        // Login with an unknown member.
        let reply = anonymous
            .fetch(
                Method::POST,
                "/v1/auth/login",
                Some(&json!({
                    "username": creds.username,
                    "password": creds.password,
                    "totp": broker.totp(&creds.totp_secret),
                    "role": "broker_admin",
                })),
            )
            .await
            .unwrap();
        problem_at(&reply, 422, "/role");

        // Login with a body that is not JSON, or not declared as JSON.
        let form = format!("username={}&password={}", creds.username, creds.password).into_bytes();
        let reply = raw_request(
            &broker,
            Method::POST,
            "/v1/auth/login",
            &[("content-type", "application/json")],
            Some(form.clone()),
        )
        .await;
        let detail = problem(&reply, 400);
        assert!(detail.contains("not valid JSON"), "{detail}");
        let reply = raw_request(
            &broker,
            Method::POST,
            "/v1/auth/login",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(form),
        )
        .await;
        problem(&reply, 415);

        // None of these reached the credential check, so none counted as a
        // failed attempt: the right credentials still work.
        let intaker = broker.login(&creds).await;
        assert_eq!(intaker.whoami().await.unwrap()["role"], "intaker");

        // Tokens: garbage, a flipped character, an empty one, Basic.
        let reply = anonymous
            .with_token("garbage")
            .fetch(Method::GET, "/v1/whoami", None)
            .await
            .unwrap();
        let detail = problem(&reply, 401);
        assert!(detail.contains("access token is invalid"), "{detail}");

        let token = token_of(&broker, "intaker.flip", Role::Intaker, Some(MBO)).await;
        assert_eq!(anonymous.with_token(&token).whoami().await.unwrap()["role"], "intaker");
        let signature_at = token.rfind('.').expect("a JWT") + 1;
        let middle = signature_at + (token.len() - signature_at) / 2;
        let mut flipped = token.clone().into_bytes();
        flipped[middle] = if flipped[middle] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_ne!(flipped, token);
        let reply = anonymous
            .with_token(&flipped)
            .fetch(Method::GET, "/v1/whoami", None)
            .await
            .unwrap();
        let detail = problem(&reply, 401);
        assert!(detail.contains("access token is invalid"), "{detail}");

        // A flipped character in the claims (the role), too.
        let first_dot = token.find('.').expect("a JWT");
        let mut in_claims = token.clone().into_bytes();
        let at = first_dot + 5;
        in_claims[at] = if in_claims[at] == b'A' { b'B' } else { b'A' };
        let reply = anonymous
            .with_token(&String::from_utf8(in_claims).unwrap())
            .fetch(Method::GET, "/v1/whoami", None)
            .await
            .unwrap();
        problem(&reply, 401);

        for authorization in [
            "Basic YWRtaW46YWRtaW4=".to_owned(),
            "Bearer".to_owned(),
            "Bearer ".to_owned(),
            format!("Token {token}"),
            "Bearer a.b.c".to_owned(),
        ] {
            let reply = raw_request(
                &broker,
                Method::GET,
                "/v1/whoami",
                &[("authorization", &authorization)],
                None,
            )
            .await;
            let detail = problem(&reply, 401);
            assert!(detail.contains("token"), "{authorization:?}: {detail}");
        }
        let reply = raw_request(
            &broker,
            Method::GET,
            "/v1/whoami",
            &[("authorization", "Basic YWRtaW46YWRtaW4=")],
            None,
        )
        .await;
        let detail = problem(&reply, 401);
        assert!(detail.contains("bearer access token is required"), "{detail}");
    })
    .await;
}

#[tokio::test]
async fn malformed_path_and_query_parameters_are_400() {
    TestBroker::on_every_backend(|broker| async move {
        let admin = admin(&broker).await;
        for path in ["/v1/staff/not-a-uuid/deactivate", "/v1/staff/123/second-factor"] {
            let reply = admin.fetch(Method::POST, path, None).await.unwrap();
            let detail = problem(&reply, 400);
            assert!(detail.contains("must be a UUID"), "{path}: {detail}");
        }
        // A well-formed id of nobody: 404.
        let reply = admin
            .fetch(
                Method::POST,
                &format!("/v1/staff/{}/deactivate", uuid::Uuid::new_v4()),
                None,
            )
            .await
            .unwrap();
        problem(&reply, 404);

        let officer = broker.staff("fg.broker", Role::PrivacyOfficer, None).await;
        let reply = officer
            .fetch(Method::GET, "/v1/audit/events?limit=5", None)
            .await
            .unwrap();
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        for query in ["limit=0", "limit=1001", "limit=-1"] {
            let reply = officer
                .fetch(Method::GET, &format!("/v1/audit/events?{query}"), None)
                .await
                .unwrap();
            let detail = problem(&reply, 400);
            assert!(
                detail.contains("limit: must be between 1 and 1000"),
                "{query}: {detail}"
            );
        }
        for (query, named) in [
            ("limit=abc", "invalid digit"),
            ("limit=99999999999999999999", "too large"),
            ("after=x", "invalid digit"),
            ("outcome=maybe", "unknown variant `maybe`"),
            ("colour=red", "unknown field `colour`"),
        ] {
            let reply = officer
                .fetch(Method::GET, &format!("/v1/audit/events?{query}"), None)
                .await
                .unwrap();
            let detail = problem(&reply, 400);
            assert!(detail.starts_with("query"), "{query}: {detail}");
            assert!(detail.contains(named), "{query}: {detail}");
        }
        let reply = officer
            .fetch(Method::GET, "/v1/audit/events?institution=25lx", None)
            .await
            .unwrap();
        let detail = problem(&reply, 400);
        assert!(
            detail.contains("two digits followed by two capital letters"),
            "{detail}"
        );

        let reply = admin.fetch(Method::GET, "/v1/staff?institution=x", None).await.unwrap();
        problem(&reply, 400);
    })
    .await;
}

#[tokio::test]
async fn unknown_routes_are_404_and_duplicates_409() {
    TestBroker::on_every_backend(|broker| async move {
        for (method, path) in [
            (Method::GET, "/v1/nothing-here"),
            (Method::GET, "/"),
            (Method::POST, "/v2/institutions"),
        ] {
            let reply = broker.anonymous().fetch(method.clone(), path, None).await.unwrap();
            problem(&reply, 404);
        }
        // A known path with a method it does not take is 405 (see
        // `methods.rs`).
        for (method, path) in [(Method::DELETE, "/v1/institutions"), (Method::PUT, "/healthz")] {
            let reply = broker.anonymous().fetch(method.clone(), path, None).await.unwrap();
            problem(&reply, 405);
        }

        let admin = admin(&broker).await;
        let reply = admin
            .fetch(Method::GET, "/v1/institutions/25LX/nothing", None)
            .await
            .unwrap();
        problem(&reply, 404);

        let register = json!({"brin": "88XX", "oin": "00000001000000880000", "name": "Nieuw", "sector": "mbo"});
        let reply = admin
            .fetch(Method::POST, "/v1/institutions", Some(&register))
            .await
            .unwrap();
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        let stored = stored_institution(&broker, "88XX").expect("registered");

        let again = json!({"brin": "88XX", "name": "Ander", "sector": "vo"});
        let reply = admin
            .fetch(Method::POST, "/v1/institutions", Some(&again))
            .await
            .unwrap();
        let detail = problem(&reply, 409);
        assert!(detail.contains("already exists"), "{detail}");

        // The same OIN under another BRIN.
        let same_oin = json!({"brin": "89XX", "oin": "00000001000000880000", "name": "Ander", "sector": "mbo"});
        let reply = admin
            .fetch(Method::POST, "/v1/institutions", Some(&same_oin))
            .await
            .unwrap();
        problem(&reply, 409);
        assert!(stored_institution(&broker, "89XX").is_none());

        // A demo institution: its record is unchanged.
        let original = stored_institution(&broker, MBO).expect("25LX");
        let reply = admin
            .fetch(
                Method::POST,
                "/v1/institutions",
                Some(&json!({"brin": MBO, "name": "Kaping", "sector": "vo"})),
            )
            .await
            .unwrap();
        problem(&reply, 409);
        let after = stored_institution(&broker, MBO).expect("25LX");
        assert_eq!((after.name, after.sector), (original.name, original.sector));

        let now = stored_institution(&broker, "88XX").expect("still there");
        assert_eq!((now.name, now.sector), (stored.name, stored.sector));

        // A duplicate key id.
        let ca = Ca::load(&broker.pki.dir).unwrap();
        let key = ca.issue_jose_key(demo(MBO), KeyUse::Enc, broker.clock.now()).unwrap();
        let path = format!("/v1/institutions/{MBO}/keys");
        let body = json!({"jwk": key.public_jwk.to_json()});
        let reply = admin.fetch(Method::POST, &path, Some(&body)).await.unwrap();
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
        let kids = stored_kids(&broker, MBO);
        let reply = admin.fetch(Method::POST, &path, Some(&body)).await.unwrap();
        problem(&reply, 409);
        assert_eq!(stored_kids(&broker, MBO), kids);
    })
    .await;
}

#[tokio::test]
async fn deeply_nested_json_is_refused_and_the_broker_lives_on() {
    TestBroker::on_every_backend(|broker| async move {
        let token = token_of(&broker, "admin.nested", Role::BrokerAdmin, None).await;
        let bearer = format!("Bearer {token}");
        let depth = 10_000;
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let before = stored_kids(&broker, MBO);
        let institutions_before = institution_count(&broker);

        // Unbalanced or JSON-value members are refused by the syntax check
        // (400); a typed member refuses the first `[` (422, pointing at it).
        let too_deep = "the body is not valid JSON";
        let keys = format!("/v1/institutions/{MBO}/keys");
        let cases = [
            (keys.clone(), format!("{{\"jwk\":{nested}}}"), 400, None, too_deep),
            (
                keys.clone(),
                format!("{{\"jwk\":{}{}}}", "{\"a\":".repeat(depth), "}".repeat(depth)),
                400,
                None,
                too_deep,
            ),
            // Unclosed: the parser must not recurse to the end either.
            (
                keys.clone(),
                format!("{{\"jwk\":{}", "[".repeat(60_000)),
                400,
                None,
                too_deep,
            ),
            (
                "/v1/auth/login".to_owned(),
                format!("{{\"username\":{nested}}}"),
                422,
                Some("/username"),
                "invalid type: sequence, expected a string",
            ),
            (
                "/v1/institutions".to_owned(),
                format!("{{\"brin\":\"88XX\",\"name\":{nested},\"sector\":\"mbo\"}}"),
                422,
                Some("/name"),
                "invalid type: sequence, expected a string",
            ),
        ];
        for (path, body, status, pointer, expected) in cases {
            let reply = raw_request(
                &broker,
                Method::POST,
                &path,
                &[("content-type", "application/json"), ("authorization", &bearer)],
                Some(body.into_bytes()),
            )
            .await;
            let detail = match pointer {
                Some(pointer) => problem_at(&reply, status, pointer),
                None => problem(&reply, status),
            };
            assert!(detail.starts_with(expected), "{path}: {detail}");
        }

        let health = broker.anonymous().fetch(Method::GET, "/healthz", None).await.unwrap();
        assert_eq!(health.status.as_u16(), 200);
        assert_eq!(health.body["status"], "ok");
        assert_eq!(stored_kids(&broker, MBO), before);
        assert_eq!(institution_count(&broker), institutions_before);
    })
    .await;
}

#[tokio::test]
async fn not_found_and_not_allowed_look_the_same() {
    TestBroker::on_every_backend(|broker| async move {
        let admin = broker.staff("admin.25lx", Role::InstitutionAdmin, Some(MBO)).await;
        let own = admin
            .fetch(Method::GET, &format!("/v1/institutions/{MBO}/keys"), None)
            .await
            .unwrap();
        assert_eq!(own.status.as_u16(), 200, "{}", own.body);

        for suffix in ["/keys", "/certificates"] {
            let other = admin
                .fetch(Method::GET, &format!("/v1/institutions/{OTHER_MBO}{suffix}"), None)
                .await
                .unwrap();
            let missing = admin
                .fetch(Method::GET, &format!("/v1/institutions/99ZZ{suffix}"), None)
                .await
                .unwrap();
            problem(&other, 404);
            problem(&missing, 404);
            assert_eq!(
                without_instance(&other.raw),
                without_instance(&missing.raw),
                "{suffix}: bodies must be byte-identical"
            );
            assert_eq!(other.content_type, missing.content_type);
        }

        // Also for writes: a key for someone else's institution or for none.
        let key = Ca::load(&broker.pki.dir)
            .unwrap()
            .issue_jose_key(demo(OTHER_MBO), KeyUse::Sig, broker.clock.now())
            .unwrap();
        let body = json!({"jwk": key.public_jwk.to_json()});
        let before = stored_kids(&broker, OTHER_MBO);
        let other = admin
            .fetch(Method::POST, &format!("/v1/institutions/{OTHER_MBO}/keys"), Some(&body))
            .await
            .unwrap();
        let missing = admin
            .fetch(Method::POST, "/v1/institutions/99ZZ/keys", Some(&body))
            .await
            .unwrap();
        problem(&other, 404);
        assert_eq!(without_instance(&other.raw), without_instance(&missing.raw));
        assert_eq!(stored_kids(&broker, OTHER_MBO), before);
    })
    .await;
}

#[tokio::test]
async fn a_malformed_query_value_names_its_parameter() {
    TestBroker::on_every_backend(|broker| async move {
        let fg = broker.staff("fg.query", Role::PrivacyOfficer, None).await;
        for (query, name) in [
            ("limit=abc", "limit"),
            ("limit=99999999999999999999", "limit"),
            ("after=x", "after"),
            ("outcome=maybe", "outcome"),
            ("institution=25lx", "institution"),
        ] {
            let reply = fg
                .fetch(Method::GET, &format!("/v1/audit/events?{query}"), None)
                .await
                .unwrap();
            let detail = problem(&reply, 400);
            assert!(detail.contains(&format!("query parameter {name}")), "{query}: {detail}");
        }
    })
    .await;
}

#[tokio::test]
async fn an_array_is_not_an_object() {
    TestBroker::on_every_backend(|broker| async move {
        let admin = admin(&broker).await;
        let positional = json!(["88XX", null, "Positional school", "mbo"]);
        let reply = admin
            .fetch(Method::POST, "/v1/institutions", Some(&positional))
            .await
            .unwrap();
        let detail = problem_at(&reply, 422, "");
        assert!(detail.contains("JSON object"), "{detail}");
        assert!(stored_institution(&broker, "88XX").is_none());

        let login = json!(["someone", "some password", "123456"]);
        let reply = broker
            .anonymous()
            .fetch(Method::POST, "/v1/auth/login", Some(&login))
            .await
            .unwrap();
        problem_at(&reply, 422, "");
    })
    .await;
}
