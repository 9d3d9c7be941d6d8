//! Each marker of `doorstroom_api::schema` answers exactly the schema its
//! domain type answers today (component name, schema JSON, the components
//! it refers to), and a wire field that names the marker through
//! `#[schema(value_type = ..)]` gets the schema the domain type gave it.
//! Once the domain types no longer implement `ToSchema`, the reference side
//! of this test goes and `openapi_drift` (the published document) guards
//! the markers.

use std::collections::BTreeSet;

use doorstroom_api::schema;

/// The names the domain gives its `wire_enum!` types, read from its source:
/// the first line after `wire_enum!(` that is not a doc comment starts with
/// the name.
fn domain_wire_enums() -> BTreeSet<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../domain/src");
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if !line.trim_start().starts_with("wire_enum!(") && !line.contains("::wire_enum!(") {
                continue;
            }
            let name = lines.by_ref().map(str::trim).find(|l| !l.starts_with("///"));
            if let Some(name) = name.and_then(|l| l.split([',', ' ']).next()) {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

#[test]
fn every_closed_enumeration_of_the_domain_has_a_marker() {
    let in_domain = domain_wire_enums();
    assert!(
        in_domain.contains("Sector") && in_domain.contains("ResourceKind"),
        "{in_domain:?}"
    );
    let marked: BTreeSet<String> = schema::WIRE_ENUMS.iter().map(|n| (*n).to_owned()).collect();
    assert_eq!(
        marked, in_domain,
        "add the new wire_enum! to wire_enum_schemas! (and this test's list)"
    );
}
