//! Every schema name in the published document belongs to one type.
//! utoipa files the schemas it collects under their names, so two types
//! with the same name (say a `Section` in two modules) would leave one of
//! them silently described as the other. The names are read from this
//! crate's source: each `#[derive(… ToSchema …)]` type, each
//! `hand_written_schema!` and each wire enum marker. So that the reading
//! cannot miss a form of declaration, every schema of the committed
//! document must be among the names found.
#![allow(clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use doorstroom_api::schema;

/// The name of the type a derive attribute stands on: the next `struct`
/// or `enum` line (other attributes, possibly over several lines, may
/// come between).
fn derived_type<'a>(lines: &mut impl Iterator<Item = &'a str>) -> Option<String> {
    lines.map(str::trim).find_map(|line| {
        let line = line.strip_prefix("pub ").unwrap_or(line);
        let rest = line.strip_prefix("struct ").or_else(|| line.strip_prefix("enum "))?;
        Some(leading_identifier(rest))
    })
}

/// The name a `hand_written_schema!` gives: the first line after its doc
/// comments, `Name => …`.
fn hand_written<'a>(lines: &mut impl Iterator<Item = &'a str>) -> Option<String> {
    let line = lines.map(str::trim).find(|l| !l.starts_with("///") && !l.is_empty())?;
    Some(leading_identifier(line))
}

fn leading_identifier(text: &str) -> String {
    text.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

/// Every schema name this crate declares, with where (file) each was seen.
fn declared_schema_names() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut found = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("the crate's source")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    paths.sort();
    for path in paths {
        let file = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).expect("a source file");
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let line = line.trim();
            let name = if line.starts_with("#[derive(") && line.contains("ToSchema") {
                derived_type(&mut lines)
            } else if line.starts_with("hand_written_schema!(") {
                hand_written(&mut lines)
            } else {
                None
            };
            found.extend(name.filter(|n| !n.is_empty()).map(|n| (n, file.clone())));
        }
    }
    found.extend(
        schema::WIRE_ENUMS
            .iter()
            .map(|n| ((*n).to_owned(), "schema.rs (wire enums)".to_owned())),
    );
    found
}

#[test]
fn no_two_types_share_a_schema_name() {
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, file) in declared_schema_names() {
        by_name.entry(name).or_default().push(file);
    }
    let shared: Vec<_> = by_name.iter().filter(|(_, files)| files.len() > 1).collect();
    assert!(
        shared.is_empty(),
        "schema names declared more than once (rename one, or give it #[schema(as = …)]): {shared:?}"
    );

    let document: serde_json::Value =
        serde_json::from_str(include_str!("../../../openapi/openapi.json")).expect("openapi/openapi.json");
    let published: BTreeSet<&str> = document["components"]["schemas"]
        .as_object()
        .expect("the document's schemas")
        .keys()
        .map(String::as_str)
        .collect();
    assert!(published.len() > 50, "{} schemas published", published.len());
    let unread: Vec<_> = published.iter().filter(|name| !by_name.contains_key(**name)).collect();
    assert!(
        unread.is_empty(),
        "published schemas this test did not find declared (teach it the new form): {unread:?}"
    );
}
