//! The institution registry, staff administration, the audit spine and the
//! operations endpoints, through the API as their users call them.

use chrono::Utc;
use doorstroom_devkit::pki::{Ca, DEMO_INSTITUTIONS};
use doorstroom_domain::{KeyUse, Outcome, Role};
use doorstroom_store::institutions;
use doorstroom_tests::{MBO, OTHER_MBO, TestBroker, VO, assert_problem, break_audit_writes, without_instance};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn broker_admin_registers_an_institution_and_others_may_not() {
    TestBroker::on_every_backend(|broker| async move {
        let admin = broker.staff("admin.reg", Role::BrokerAdmin, None).await;
        let body = json!({"brin": "31AB", "oin": "00000001000000310000", "name": "Nieuw College", "sector": "mbo"});
        let (status, created) = admin.send(Method::POST, "/v1/institutions", Some(&body)).await.unwrap();
        assert_eq!(status.as_u16(), 201, "{created}");
        assert_eq!(created["brin"], "31AB");
        assert_eq!(created["status"], "active");

        let listed: Vec<serde_json::Value> = admin.get("/v1/institutions").await.unwrap();
        let brins: Vec<&str> = listed.iter().filter_map(|i| i["brin"].as_str()).collect();
        assert_eq!(brins, vec![VO, MBO, OTHER_MBO, "31AB"]);

        // An intaker and a school system may not register institutions.
        let intaker = broker.staff("intaker.reg", Role::Intaker, Some(MBO)).await;
        let other = json!({"brin": "32AB", "name": "X", "sector": "vo"});
        let (status, problem) = intaker
            .send(Method::POST, "/v1/institutions", Some(&other))
            .await
            .unwrap();
        assert_problem(status.as_u16(), &problem, 403);
        let (status, problem) = broker
            .system(VO)
            .send(Method::POST, "/v1/institutions", Some(&other))
            .await
            .unwrap();
        assert_problem(status.as_u16(), &problem, 403);
        let stored = broker
            .store
            .read(|c| institutions::get(c, &"32AB".parse().unwrap()))
            .unwrap();
        assert!(stored.is_none());

        // Both refusals are on the record, with who asked.
        let denied: Vec<_> = broker
            .audit_events()
            .into_iter()
            .filter(|e| e.action.name == "register_institution" && e.outcome == Outcome::Denied)
            .collect();
        assert_eq!(denied.len(), 2);
        assert!(denied.iter().all(|e| e.reason.as_deref() == Some("role_not_permitted")));
    })
    .await;
}

#[tokio::test]
async fn audit_write_failure_refuses_the_access_and_changes_nothing() {
    TestBroker::on_every_backend(|broker| async move {
        let admin = broker.staff("admin.failclosed", Role::BrokerAdmin, None).await;
        let before = broker.audit_events().len();
        break_audit_writes(&broker.store);

        let body = json!({"brin": "40XY", "name": "Mag Niet", "sector": "vo"});
        let reply = admin
            .fetch(Method::POST, "/v1/institutions", Some(&body))
            .await
            .unwrap();
        let detail = assert_problem(reply.status.as_u16(), &reply.body, 503);
        assert!(detail.contains("audit"), "{detail}");
        let stored = broker
            .store
            .read(|c| institutions::get(c, &"40XY".parse().unwrap()))
            .unwrap();
        assert!(
            stored.is_none(),
            "the institution must not exist without its audit event"
        );

        // Reads are refused too, and so is an unauthenticated attempt.
        let (status, body) = admin.send(Method::GET, "/v1/institutions", None).await.unwrap();
        assert_problem(status.as_u16(), &body, 503);
        let (status, body) = broker.anonymous().send(Method::GET, "/v1/whoami", None).await.unwrap();
        assert_problem(status.as_u16(), &body, 503);
        assert_eq!(broker.audit_events().len(), before);
    })
    .await;
}

#[tokio::test]
async fn not_allowed_looks_exactly_like_not_found() {
    TestBroker::on_every_backend(|broker| async move {
        let admin = broker.staff("beheer.25lx", Role::InstitutionAdmin, Some(MBO)).await;
        let own = admin
            .fetch(Method::GET, &format!("/v1/institutions/{MBO}/keys"), None)
            .await
            .unwrap();
        assert_eq!(own.status.as_u16(), 200);
        let other = admin
            .fetch(Method::GET, &format!("/v1/institutions/{OTHER_MBO}/keys"), None)
            .await
            .unwrap();
        let missing = admin
            .fetch(Method::GET, "/v1/institutions/99ZZ/keys", None)
            .await
            .unwrap();
        assert_problem(other.status.as_u16(), &other.body, 404);
        assert_eq!(other.status, missing.status);
        assert_eq!(without_instance(&other.raw), without_instance(&missing.raw));
        let events = broker.audit_events();
        assert!(events.iter().any(|e| e.outcome == Outcome::Denied
            && e.reason.as_deref() == Some("other_institution")
            && e.resource.id.as_deref() == Some(OTHER_MBO)));
    })
    .await;
}

#[tokio::test]
async fn keys_rotate_and_revoked_keys_leave_the_jwks() {
    TestBroker::on_every_backend(|broker| async move {
        let ca = Ca::load(&broker.pki.dir).unwrap();
        let mbo = DEMO_INSTITUTIONS.iter().find(|d| d.brin == MBO).unwrap();
        let fresh = ca.issue_jose_key(mbo, KeyUse::Enc, Utc::now()).unwrap();
        let kid = fresh.public_jwk.kid().to_owned();

        // The mbo's own system publishes its next encryption key.
        let system = broker.system(MBO);
        let (status, body) = system
            .send(
                Method::POST,
                &format!("/v1/institutions/{MBO}/keys"),
                Some(&json!({"jwk": fresh.public_jwk.to_json()})),
            )
            .await
            .unwrap();
        assert_eq!(status.as_u16(), 201, "{body}");
        assert_eq!(body["status"], "active");

        let jwks = broker.anonymous().jwks(MBO).await.unwrap();
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|k| k["kid"].as_str())
            .collect();
        assert_eq!(kids.len(), 3, "demo sign + demo enc + new enc: {jwks}");
        assert!(kids.contains(&kid.as_str()));
        assert!(
            jwks["keys"].as_array().unwrap().iter().all(|k| k.get("d").is_none()),
            "no private parts"
        );

        // Another institution's system cannot touch it.
        let (status, body) = broker
            .system(VO)
            .send(Method::POST, &format!("/v1/institutions/{MBO}/keys/{kid}/revoke"), None)
            .await
            .unwrap();
        assert_problem(status.as_u16(), &body, 404);

        let (status, body) = system
            .send(Method::POST, &format!("/v1/institutions/{MBO}/keys/{kid}/retire"), None)
            .await
            .unwrap();
        assert_eq!(status.as_u16(), 200, "{body}");
        assert_eq!(body["status"], "retired");
        let jwks = broker.anonymous().jwks(MBO).await.unwrap();
        let retired = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .cloned()
            .unwrap();
        assert_eq!(retired["status"], "retired");

        let (status, body) = system
            .send(Method::POST, &format!("/v1/institutions/{MBO}/keys/{kid}/revoke"), None)
            .await
            .unwrap();
        assert_eq!(status.as_u16(), 200, "{body}");
        assert_eq!(body["status"], "revoked");
        let jwks = broker.anonymous().jwks(MBO).await.unwrap();
        assert!(
            jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .all(|k| k["kid"] != kid.as_str())
        );
    })
    .await;
}

#[tokio::test]
async fn institution_admin_binds_a_certificate_that_then_authenticates() {
    TestBroker::on_every_backend(|broker| async move {
        let ca = Ca::load(&broker.pki.dir).unwrap();
        let mbo = DEMO_INSTITUTIONS.iter().find(|d| d.brin == MBO).unwrap();
        let now = Utc::now();
        let renewed = ca
            .issue_client(mbo, now - chrono::Duration::hours(1), now + chrono::Duration::days(365))
            .unwrap();
        let client = broker.with_identity(&renewed.cert_pem, &renewed.key_pem);
        let (status, _) = client.send(Method::GET, "/v1/whoami", None).await.unwrap();
        assert_eq!(status.as_u16(), 401);

        let admin = broker.staff("beheer.cert", Role::InstitutionAdmin, Some(MBO)).await;
        let (status, body) = admin
            .send(
                Method::POST,
                &format!("/v1/institutions/{MBO}/certificates"),
                Some(&json!({"certificate": renewed.cert_pem})),
            )
            .await
            .unwrap();
        assert_eq!(status.as_u16(), 201, "{body}");
        assert_eq!(body["fingerprint"], renewed.fingerprint.as_str());
        assert_eq!(client.whoami().await.unwrap()["institution"], MBO);

        // The same admin cannot bind a certificate to another institution.
        let (status, body) = admin
            .send(
                Method::POST,
                &format!("/v1/institutions/{OTHER_MBO}/certificates"),
                Some(&json!({"certificate": renewed.cert_pem})),
            )
            .await
            .unwrap();
        assert_problem(status.as_u16(), &body, 404);
    })
    .await;
}

#[tokio::test]
async fn staff_administration_respects_institution_and_broker_scope() {
    TestBroker::on_every_backend(|broker| async move {
        let inst_admin = broker.staff("beheer.staff", Role::InstitutionAdmin, Some(MBO)).await;
        let new = |username: &str, role: &str, institution: Option<&str>| {
            json!({"username": username, "display_name": "Nieuwe Collega", "role": role,
                   "institution": institution, "password": "een lang wachtwoord"})
        };
        let (status, body) = inst_admin
            .send(
                Method::POST,
                "/v1/staff",
                Some(&new("intaker.nieuw", "intaker", Some(MBO))),
            )
            .await
            .unwrap();
        assert_eq!(status.as_u16(), 201, "{body}");
        assert!(body["totp_uri"].as_str().unwrap().starts_with("otpauth://totp/"));
        assert!(body["account"].get("password_hash").is_none());

        // Not for another institution, not a privacy officer, not a broker admin.
        for (username, role, institution) in [
            ("intaker.ander", "intaker", Some(OTHER_MBO)),
            ("fg.eigen", "privacy_officer", Some(MBO)),
            ("admin.nieuw", "broker_admin", None),
        ] {
            let (status, body) = inst_admin
                .send(Method::POST, "/v1/staff", Some(&new(username, role, institution)))
                .await
                .unwrap();
            assert!(matches!(status.as_u16(), 403 | 404), "{username}: {status} {body}");
        }
        // A broker admin bound to an institution is not a valid account.
        let broker_admin = broker.staff("admin.staff", Role::BrokerAdmin, None).await;
        let (status, body) = broker_admin
            .send(
                Method::POST,
                "/v1/staff",
                Some(&new("admin.fout", "broker_admin", Some(MBO))),
            )
            .await
            .unwrap();
        assert_problem(status.as_u16(), &body, 422);

        let listed: Vec<serde_json::Value> = inst_admin.get(&format!("/v1/staff?institution={MBO}")).await.unwrap();
        let names: Vec<&str> = listed.iter().filter_map(|a| a["username"].as_str()).collect();
        assert!(
            names.contains(&"intaker.nieuw") && names.contains(&"beheer.staff"),
            "{names:?}"
        );
        let (status, body) = inst_admin
            .send(Method::GET, &format!("/v1/staff?institution={OTHER_MBO}"), None)
            .await
            .unwrap();
        assert_problem(status.as_u16(), &body, 404);
    })
    .await;
}

#[tokio::test]
async fn privacy_officers_read_the_audit_log_of_their_own_scope() {
    TestBroker::on_every_backend(|broker| async move {
        broker.system(MBO).whoami().await.unwrap();
        broker.system(OTHER_MBO).whoami().await.unwrap();
        let _ = broker.anonymous().send(Method::GET, "/v1/whoami", None).await.unwrap();

        let fg = broker.staff("fg.audit", Role::PrivacyOfficer, Some(MBO)).await;
        let page: serde_json::Value = fg.get(&format!("/v1/audit/events?institution={MBO}")).await.unwrap();
        let events = page["events"].as_array().unwrap();
        assert!(!events.is_empty());
        assert!(
            events.iter().all(|e| e["event"]["actor"]["institution"] == MBO),
            "{page}"
        );
        let (status, body) = fg
            .send(Method::GET, &format!("/v1/audit/events?institution={OTHER_MBO}"), None)
            .await
            .unwrap();
        assert_problem(status.as_u16(), &body, 404);
        let (status, body) = fg.send(Method::GET, "/v1/audit/events", None).await.unwrap();
        assert_problem(status.as_u16(), &body, 403);

        // The broker's privacy officer sees everything, page by page.
        let broker_fg = broker.staff("fg.broker.audit", Role::PrivacyOfficer, None).await;
        let first: serde_json::Value = broker_fg.get("/v1/audit/events?limit=2").await.unwrap();
        assert_eq!(first["events"].as_array().unwrap().len(), 2);
        let after = first["next_after"].as_i64().unwrap();
        let second: serde_json::Value = broker_fg
            .get(&format!("/v1/audit/events?limit=1000&after={after}"))
            .await
            .unwrap();
        let seqs: Vec<i64> = second["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["seq"].as_i64())
            .collect();
        assert_eq!(seqs.first().copied(), Some(after + 1));
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "gapless: {seqs:?}");
        let outcomes: Vec<&str> = second["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["event"]["outcome"].as_str())
            .collect();
        assert!(outcomes.contains(&"unauthenticated"));
        assert!(
            outcomes.contains(&"denied"),
            "the institution FG's refused read is logged"
        );

        // A broker admin may not read the log (separation of duties).
        let admin = broker.staff("admin.audit", Role::BrokerAdmin, None).await;
        let (status, body) = admin.send(Method::GET, "/v1/audit/events", None).await.unwrap();
        assert_problem(status.as_u16(), &body, 403);
    })
    .await;
}

#[tokio::test]
async fn operations_endpoints_answer_and_metrics_carry_routes_not_identifiers() {
    TestBroker::on_every_backend(|broker| async move {
        let anonymous = broker.anonymous();
        let health: serde_json::Value = anonymous.get("/healthz").await.unwrap();
        assert_eq!(health["status"], "ok");
        let ready: serde_json::Value = anonymous.get("/readyz").await.unwrap();
        assert_eq!(ready["status"], "ok");
        broker.system(VO).whoami().await.unwrap();
        anonymous.jwks(MBO).await.unwrap();

        let reply = anonymous.fetch(Method::GET, "/metrics", None).await.unwrap();
        let text = String::from_utf8(reply.raw).unwrap();
        assert!(
            text.contains(r#"doorstroom_http_requests_total{method="GET",route="/v1/whoami",status="200"}"#),
            "{text}"
        );
        assert!(text.contains(r#"route="/v1/institutions/{brin}/jwks""#), "{text}");
        assert!(!text.contains(MBO), "no identifiers in metrics");
        assert!(text.contains("doorstroom_http_request_duration_seconds_bucket"));
        // The store's counters (what the load generator divides per
        // request): the set-up and /readyz wrote, whoami read.
        let total = |name: &str| -> u64 {
            let prefix = format!("doorstroom_store_{name}_total ");
            text.lines()
                .find_map(|l| l.strip_prefix(prefix.as_str())?.trim().parse().ok())
                .unwrap_or(0)
        };
        assert!(total("statements") > 0, "{text}");
        assert!(total("transactions") >= total("commits"), "{text}");
        assert!(total("commits") > 0, "{text}");
        // Writes share batches on SQLite; on PostgreSQL each has its own
        // transaction and no batch is counted.
        match broker.store.backend() {
            doorstroom_store::Backend::Sqlite => assert!(total("batches") > 0, "{text}"),
            doorstroom_store::Backend::Postgres => assert_eq!(total("batches"), 0, "{text}"),
        }
        assert!(total("batch_members") >= total("batches"), "{text}");
    })
    .await;
}

/// The vo school's contact for the warm handover: its own admin sets it,
/// the mbo (system and intaker) reads it, another institution's admin
/// cannot change it (the 404 of an unknown institution), each bad field is
/// a 422 naming it, and `null` removes it.
#[tokio::test]
async fn a_school_sets_its_handover_contact_and_the_mbo_reads_it() {
    TestBroker::on_every_backend(|broker| async move {
        let path = format!("/v1/institutions/{VO}/contact");
        let admin = broker.staff("admin.contact", Role::InstitutionAdmin, Some(VO)).await;
        let empty = admin.fetch(Method::GET, &path, None).await.unwrap();
        assert_eq!(empty.status.as_u16(), 200, "{}", empty.body);
        assert_eq!(empty.body["handover"], json!(null));

        let contact = json!({"name": "J. de Boer", "role": "zorgcoördinator", "email": "j.deboer@school.example", "phone": "030 123 45 67"});
        let set = admin
            .fetch(Method::PUT, &path, Some(&json!({"handover": contact})))
            .await
            .unwrap();
        assert_eq!(set.status.as_u16(), 200, "{}", set.body);
        for reader in [
            broker.system(MBO),
            broker.staff("intaker.contact", Role::Intaker, Some(MBO)).await,
        ] {
            let read = reader.fetch(Method::GET, &path, None).await.unwrap();
            assert_eq!(read.body["handover"], contact, "{}", read.body);
        }

        let stranger = broker.staff("admin.contact.mbo", Role::InstitutionAdmin, Some(MBO)).await;
        let body = json!({"handover": {"name": "Nep", "email": "nep@example.nl"}});
        let theirs = stranger.fetch(Method::PUT, &path, Some(&body)).await.unwrap();
        let unknown = stranger
            .fetch(Method::PUT, "/v1/institutions/99ZZ/contact", Some(&body))
            .await
            .unwrap();
        assert_problem(theirs.status.as_u16(), &theirs.body, 404);
        let strip = |v: &serde_json::Value| without_instance(v.to_string().as_bytes());
        assert_eq!(strip(&theirs.body), strip(&unknown.body));

        for (handover, pointer) in [
            (json!({"name": "", "email": "a@b.nl"}), "/handover/name"),
            (json!({"name": "J", "email": "geen-adres"}), "/handover/email"),
            (json!({"name": "J", "phone": "12"}), "/handover/phone"),
            (json!({"name": "J"}), "/handover/email"),
            (json!({"name": "J", "role": "x".repeat(201), "phone": "0301234567"}), "/handover/role"),
        ] {
            let refused = admin
                .fetch(Method::PUT, &path, Some(&json!({"handover": handover})))
                .await
                .unwrap();
            assert_problem(refused.status.as_u16(), &refused.body, 422);
            assert_eq!(refused.body["pointer"], json!(pointer), "{handover}");
        }
        let unknown_field = admin
            .fetch(Method::PUT, &path, Some(&json!({"handover": {"name": "J", "phone": "0301234567", "fax": "1"}})))
            .await
            .unwrap();
        assert_problem(unknown_field.status.as_u16(), &unknown_field.body, 422);
        assert_eq!(unknown_field.body["pointer"], json!("/handover/fax"));
        let still = admin.fetch(Method::GET, &path, None).await.unwrap();
        assert_eq!(still.body["handover"], contact, "nothing refused changed it");

        // The privacy officer's contact goes in the same PUT; a PUT
        // without it removes it, as with the handover contact.
        let both = admin
            .fetch(
                Method::PUT,
                &path,
                Some(&json!({"handover": contact, "privacy": "https://school.example/privacy"})),
            )
            .await
            .unwrap();
        assert_eq!(both.status.as_u16(), 200, "{}", both.body);
        let read = broker.system(MBO).fetch(Method::GET, &path, None).await.unwrap();
        assert_eq!(read.body["privacy"], "https://school.example/privacy", "{}", read.body);
        for (privacy, why) in [(json!(""), "empty"), (json!("x".repeat(201)), "too long"), (json!(7), "not text")] {
            let refused = admin
                .fetch(Method::PUT, &path, Some(&json!({"handover": contact, "privacy": privacy})))
                .await
                .unwrap();
            assert_problem(refused.status.as_u16(), &refused.body, 422);
            assert_eq!(refused.body["pointer"], json!("/privacy"), "{why}");
        }
        let removed = admin
            .fetch(Method::PUT, &path, Some(&json!({"handover": null})))
            .await
            .unwrap();
        assert_eq!(removed.status.as_u16(), 200);
        assert_eq!(removed.body["handover"], json!(null));
        assert_eq!(removed.body["privacy"], json!(null));
    })
    .await;
}
