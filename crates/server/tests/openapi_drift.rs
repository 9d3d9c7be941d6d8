//! The committed OpenAPI document must be what the code generates. After a
//! deliberate API change, regenerate it with
//! `UPDATE_OPENAPI=1 cargo test -p doorstroom-server --test openapi_drift`.

use std::path::PathBuf;

#[test]
fn committed_openapi_document_matches_the_code() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi/openapi.json");
    let generated = doorstroom_server::openapi::document_json();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap_or_else(|e| unreachable!("writing {}: {e}", path.display()));
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json differs from the generated document; if the change is intended, run \
         UPDATE_OPENAPI=1 cargo test -p doorstroom-server --test openapi_drift and commit the result"
    );
    let document: serde_json::Value = serde_json::from_str(&committed).unwrap_or_default();
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["paths"]["/v1/institutions/{brin}/jwks"].is_object());
}

/// Every `$ref` resolves, every path parameter says which values it takes,
/// and every operation documents the problem answers of the shared layers
/// (see `CommonProblems` in `crates/server/src/openapi.rs`) as
/// `application/problem+json`.
#[test]
fn the_document_is_complete_enough_for_a_generator() {
    let document: serde_json::Value =
        serde_json::from_str(&doorstroom_server::openapi::document_json()).unwrap_or_default();
    let mut refs = Vec::new();
    collect_refs(&document, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let pointer = reference.trim_start_matches('#');
        assert!(document.pointer(pointer).is_some(), "dangling $ref {reference}");
    }
    let resolve = |value: &serde_json::Value| -> serde_json::Value {
        match value["$ref"].as_str() {
            Some(reference) => document
                .pointer(reference.trim_start_matches('#'))
                .cloned()
                .unwrap_or_default(),
            None => value.clone(),
        }
    };
    let paths = document["paths"].as_object().cloned().unwrap_or_default();
    assert!(paths.len() > 30);
    for (path, item) in &paths {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let responses = &operation["responses"];
            let secured = operation["security"].as_array().is_some_and(|s| !s.is_empty());
            let takes_body = operation.get("requestBody").is_some();
            let mut expected = vec!["400"];
            if secured {
                expected.extend(["401", "403", "404", "503"]);
            }
            if takes_body {
                expected.extend(["408", "413", "415", "422", "503"]);
            }
            for status in expected {
                let response = resolve(&responses[status]);
                assert!(
                    response["content"]["application/problem+json"]["schema"]["$ref"] == "#/components/schemas/Problem",
                    "{method} {path}: {status} is not documented as a problem"
                );
            }
            for (status, response) in responses.as_object().into_iter().flatten() {
                let response = resolve(response);
                if status.starts_with('4') || status.starts_with('5') {
                    let content = response["content"].as_object().cloned().unwrap_or_default();
                    assert_eq!(
                        content.keys().collect::<Vec<_>>(),
                        ["application/problem+json"],
                        "{method} {path}: {status}"
                    );
                }
            }
            let statuses_200 = responses
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(s, _)| *s == "200")
                .count();
            assert!(statuses_200 <= 1);
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] != "path" {
                    continue;
                }
                let schema = &parameter["schema"];
                assert!(
                    schema.get("pattern").is_some() || schema.get("format").is_some(),
                    "{method} {path}: path parameter {} takes any string",
                    parameter["name"]
                );
            }
        }
    }
    // The three operations with more than one representation document each.
    for (path, method, types) in [
        (
            "/v1/audit/search",
            "post",
            ["application/json", "text/csv; charset=utf-8"],
        ),
        (
            "/v1/register",
            "get",
            ["application/json", "text/markdown; charset=utf-8"],
        ),
        (
            "/v1/audit/subject-report",
            "post",
            ["application/json", "text/markdown; charset=utf-8"],
        ),
    ] {
        let content = &document["paths"][path][method]["responses"]["200"]["content"];
        for media_type in types {
            assert!(
                content[media_type]["schema"].is_object(),
                "{method} {path}: {media_type}"
            );
        }
    }
}

fn collect_refs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value.as_str()) {
                    ("$ref", Some(reference)) => out.push(reference.to_owned()),
                    _ => collect_refs(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
