//! A method a known path does not take is 405 with `Allow` (issue 12), as
//! problem+json, for every path of the OpenAPI document and whoever calls;
//! a path the broker does not know stays 404.

use doorstroom_tests::{TestBroker, VO, assert_problem};
use reqwest::Method;
use serde_json::Value;

/// Every path of the committed document with the methods the document
/// gives it, the parameters filled in with values of the documented form.
/// A path that fits several templates (`/v1/applications/search` also fits
/// `/v1/applications/{id}`) takes the methods of the most specific (fewest
/// parameters): its other methods are 405 too, even where a less specific
/// template takes them (`GET /v1/applications/search` is no `GET` of an
/// application).
fn documented_paths() -> Vec<(String, Vec<String>)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    let doc: Value = serde_json::from_slice(&std::fs::read(path).expect("openapi.json")).expect("openapi json");
    let templates: Vec<(String, Vec<String>)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(template, item)| {
            let methods = item
                .as_object()
                .expect("path item")
                .keys()
                .map(|m| m.to_ascii_uppercase())
                .collect();
            (template.clone(), methods)
        })
        .collect();
    let fits = |template: &str, concrete: &str| {
        let (t, c): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), concrete.split('/').collect());
        t.len() == c.len() && t.iter().zip(&c).all(|(t, c)| t.starts_with('{') || t == c)
    };
    templates
        .iter()
        .map(|(template, _)| {
            let concrete = template
                .replace("{brin}", "25LX")
                .replace("{id}", "3f0e8f8c-5a1e-4f57-9a53-2f3b8e0a1c11")
                .replace("{kid}", "some-kid")
                .replace("{fingerprint}", &"ab".repeat(32))
                .replace("{school_year}", "2027-2028")
                .replace("{reference}", "LL-0042")
                .replace("{region}", "twente");
            assert!(!concrete.contains('{'), "a parameter without a test value: {template}");
            let parameters = |t: &str| t.matches('{').count();
            let fitting: Vec<&(String, Vec<String>)> =
                templates.iter().filter(|(other, _)| fits(other, &concrete)).collect();
            let fewest = fitting.iter().map(|(t, _)| parameters(t)).min().expect("fits itself");
            let mut methods: Vec<String> = fitting
                .iter()
                .filter(|(t, _)| parameters(t) == fewest)
                .flat_map(|(_, methods)| methods.clone())
                .collect();
            methods.sort();
            methods.dedup();
            (concrete, methods)
        })
        .collect()
}

async fn answer(http: &reqwest::Client, base: &str, method: Method, path: &str) -> (u16, Option<String>, Value) {
    let response = http
        .request(method, format!("{base}{path}"))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let allow = response
        .headers()
        .get("allow")
        .map(|v| v.to_str().expect("Allow is text").to_owned());
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().expect("content type").to_owned());
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(
        content_type.as_deref(),
        Some("application/problem+json"),
        "{path}: {status} {body}"
    );
    (status, allow, body)
}

#[tokio::test]
async fn unsupported_methods_on_known_paths_are_405_with_allow() {
    TestBroker::on_every_backend(|broker| async move {
        let anonymous = broker.http(None);
        let system = broker.http(Some(VO));
        let paths = documented_paths();
        assert!(paths.len() > 30);
        for (path, methods) in &paths {
            for method in [
                Method::GET,
                Method::POST,
                Method::PATCH,
                Method::TRACE,
                Method::DELETE,
                Method::PUT,
                Method::OPTIONS,
                Method::HEAD,
            ] {
                if methods.iter().any(|m| m == method.as_str()) {
                    continue;
                }
                for http in [&anonymous, &system] {
                    let (status, allow, body) = answer(http, &broker.base_url, method.clone(), path).await;
                    if method == Method::HEAD {
                        // A HEAD answer has no body to read.
                        assert_eq!(status, 405, "HEAD {path}");
                    } else {
                        assert_problem(status, &body, 405);
                        assert_eq!(body["type"], "urn:doorstroom:problem:method-not-allowed", "{body}");
                    }
                    let allow = allow.unwrap_or_else(|| panic!("{method} {path}: no Allow"));
                    let mut allowed: Vec<String> = allow.split(", ").map(str::to_owned).collect();
                    allowed.sort();
                    assert_eq!(&allowed, methods, "{method} {path}");
                }
            }
        }
        // `search` is a literal segment, not an application id: its GET is
        // 405 with `Allow: POST`, not a GET of an application called
        // "search" (400).
        for http in [&anonymous, &system] {
            let (status, allow, body) = answer(http, &broker.base_url, Method::GET, "/v1/applications/search").await;
            assert_problem(status, &body, 405);
            assert_eq!(allow.as_deref(), Some("POST"));
        }
        // The documented methods are still routed (not 405).
        let (status, _, _) = answer(&anonymous, &broker.base_url, Method::GET, "/v1/whoami").await;
        assert_eq!(status, 401);
        // A path the broker does not know is 404, whatever the method.
        for method in [Method::GET, Method::TRACE, Method::POST] {
            let (status, allow, body) = answer(&anonymous, &broker.base_url, method, "/v1/no-such-thing").await;
            assert_problem(status, &body, 404);
            assert!(allow.is_none());
        }
    })
    .await;
}
