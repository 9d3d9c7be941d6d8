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
