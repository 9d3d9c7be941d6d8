//! The markers of `doorstroom_api::schema` cannot drift from the domain
//! types they describe: every closed enumeration of the domain has one
//! (built from the domain's own variant list), and a marker that mirrors a
//! domain type's shape names exactly the members the domain type writes.
//! `openapi_drift` guards the published document itself.

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

/// The member names of the object schema `S` (its `properties`).
fn schema_members<S: utoipa::PartialSchema>() -> BTreeSet<String> {
    let schema = serde_json::to_value(S::schema()).unwrap_or_default();
    schema["properties"]
        .as_object()
        .map(|members| members.keys().cloned().collect())
        .unwrap_or_default()
}

/// The member names `value` serialises with.
fn written_members(value: &impl serde::Serialize) -> BTreeSet<String> {
    let json = serde_json::to_value(value).unwrap_or_default();
    json.as_object()
        .map(|members| members.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn the_inspection_record_marker_names_what_the_domain_writes() {
    let record = doorstroom_domain::InspectionRecord {
        at: chrono::DateTime::UNIX_EPOCH,
        by: doorstroom_domain::InspectedBy::Student,
        remarks_added: false,
    };
    let written = written_members(&record);
    assert!(!written.is_empty());
    assert_eq!(schema_members::<schema::InspectionRecord>(), written);
}

#[test]
fn the_consent_status_marker_writes_what_the_domain_writes() {
    use doorstroom_domain::ConsentStatus as Domain;
    let at = chrono::DateTime::UNIX_EPOCH;
    let every_state = [
        Domain::NeverGiven,
        Domain::InForce {
            since: at,
            until: Some(at),
        },
        Domain::Withdrawn { at },
        Domain::Expired { at },
    ];
    for state in every_state {
        // Exhaustive: a new state in the domain does not compile here
        // until the marker has it too.
        let marker = match state {
            Domain::NeverGiven => schema::ConsentStatus::NeverGiven,
            Domain::InForce { since, until } => schema::ConsentStatus::InForce { since, until },
            Domain::Withdrawn { at } => schema::ConsentStatus::Withdrawn { at },
            Domain::Expired { at } => schema::ConsentStatus::Expired { at },
        };
        assert_eq!(
            serde_json::to_value(marker).unwrap_or_default(),
            serde_json::to_value(state).unwrap_or_default(),
            "{state:?}"
        );
    }
}

#[test]
fn the_programme_marker_names_what_the_domain_writes() {
    let programme: Result<doorstroom_domain::Programme, _> =
        serde_json::from_str(r#"{"name": "Verzorgende IG", "crebo": "25491"}"#);
    let written = programme.map(|p| written_members(&p)).unwrap_or_default();
    assert!(!written.is_empty());
    assert_eq!(schema_members::<schema::Programme>(), written);
}
