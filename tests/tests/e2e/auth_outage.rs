//! A store error while establishing who the caller is yields 503 with
//! `Retry-After`, never 401, and no `unauthenticated` event (issue 11: "an
//! outage is mistaken for an attack"). Deterministic on both backends: the
//! tables the credential look-ups read are moved out of the way, so every
//! look-up fails while writes (the audit log) still work; that is exactly
//! when the broker used to answer 401 and record a failed authentication
//! that never happened.

use diesel::connection::SimpleConnection;
use doorstroom_domain::{Outcome, Role};
use doorstroom_store::DbConn;
use doorstroom_tests::{MBO, TestBroker};
use reqwest::StatusCode;
use serde_json::Value;

fn rename_lookup_tables(broker: &TestBroker, from: &str, to: &str) {
    broker
        .store
        .write(|conn| -> Result<(), doorstroom_store::StoreError> {
            let sql = format!(
                "ALTER TABLE client_certificates{from} RENAME TO client_certificates{to}; \
                 ALTER TABLE staff_accounts{from} RENAME TO staff_accounts{to};"
            );
            match conn {
                DbConn::Sqlite(c) => c.batch_execute(&sql)?,
                DbConn::Postgres(c) => c.batch_execute(&sql)?,
            }
            Ok(())
        })
        .expect("rename the look-up tables");
}

async fn answer(request: reqwest::RequestBuilder) -> (StatusCode, Option<String>, Value) {
    let response = request.send().await.expect("request");
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, retry_after, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_failed_credential_lookup_is_503_not_401_and_records_nothing() {
    TestBroker::on_every_backend(|broker| async move {
        let base = broker.base_url.clone();
        let admin = broker.create_staff("beheer.lookup", Role::BrokerAdmin, None);
        let login: Value = broker
            .http(None)
            .post(format!("{base}/v1/auth/login"))
            .json(&serde_json::json!({
                "username": admin.username,
                "password": admin.password,
                "totp": broker.totp(&admin.totp_secret),
            }))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("login answer");
        let token = login["access_token"].as_str().expect("access token").to_owned();
        let system = broker.http(Some(MBO));
        let staff = broker.http(None);
        let unauthenticated_before = broker
            .audit_events()
            .iter()
            .filter(|e| e.outcome == Outcome::Unauthenticated)
            .count();

        rename_lookup_tables(&broker, "", "_away");
        for (what, request) in [
            ("certificate", system.get(format!("{base}/v1/whoami"))),
            ("token", staff.get(format!("{base}/v1/whoami")).bearer_auth(&token)),
        ] {
            let (status, retry_after, body) = answer(request).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {body}");
            assert_eq!(body["status"], 503, "{what}: {body}");
            assert!(retry_after.is_some(), "{what}: 503 without Retry-After");
        }
        rename_lookup_tables(&broker, "_away", "");

        let unauthenticated_after = broker
            .audit_events()
            .iter()
            .filter(|e| e.outcome == Outcome::Unauthenticated)
            .count();
        assert_eq!(
            unauthenticated_after, unauthenticated_before,
            "a look-up that failed was recorded as a failed authentication"
        );

        // With the tables back, the same credentials are good again, and a
        // bad one is still a 401 with its event.
        let (status, _, body) = answer(system.get(format!("{base}/v1/whoami"))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _, body) = answer(staff.get(format!("{base}/v1/whoami")).bearer_auth(&token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _, body) = answer(staff.get(format!("{base}/v1/whoami")).bearer_auth("not-a-token")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        let unauthenticated_now = broker
            .audit_events()
            .iter()
            .filter(|e| e.outcome == Outcome::Unauthenticated)
            .count();
        assert_eq!(unauthenticated_now, unauthenticated_before + 1);
    })
    .await;
}
