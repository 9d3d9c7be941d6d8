//! Each marker of `doorstroom_api::schema` answers exactly the schema its
//! domain type answers today (component name, schema JSON, the components
//! it refers to), and a wire field that names the marker through
//! `#[schema(value_type = ..)]` gets the schema the domain type gave it.
//! Once the domain types no longer implement `ToSchema`, the reference side
//! of this test goes and `openapi_drift` (the published document) guards
//! the markers.

use std::collections::BTreeSet;

use doorstroom_api::schema;
use doorstroom_domain as domain;
use serde_json::Value;
use utoipa::ToSchema;

/// What a schema is on the wire: its name, its JSON, and the names of the
/// components it brings along.
fn shape<T: ToSchema>() -> (String, Value, BTreeSet<String>) {
    let mut referred = Vec::new();
    T::schemas(&mut referred);
    (
        T::name().into_owned(),
        serde_json::to_value(T::schema()).unwrap_or(Value::Null),
        referred.into_iter().map(|(name, _)| name).collect(),
    )
}

/// A difference between a marker `M` and the type `D` it stands for, or
/// nothing.
fn differs<M: ToSchema, D: ToSchema>() -> Option<String> {
    let (marker, reference) = (shape::<M>(), shape::<D>());
    (marker != reference).then(|| format!("marker {marker:?}\n  differs from {reference:?}"))
}

macro_rules! all_differences {
    ($($marker:ty => $domain:ty),+ $(,)?) => {
        [$(differs::<$marker, $domain>()),+].into_iter().flatten().collect::<Vec<String>>()
    };
}

#[test]
fn every_marker_answers_the_schema_of_its_type() {
    let differences = all_differences!(
        schema::ActorKind => domain::ActorKind,
        schema::ApplicationStatus => domain::ApplicationStatus,
        schema::ConsentEventKind => domain::ConsentEventKind,
        schema::ConsentMethod => domain::ConsentMethod,
        schema::CrudKind => domain::CrudKind,
        schema::GivenBy => domain::GivenBy,
        schema::InspectedBy => domain::InspectedBy,
        schema::InstitutionStatus => domain::InstitutionStatus,
        schema::KeyStatus => domain::KeyStatus,
        schema::KeyUse => domain::KeyUse,
        schema::LawfulBasis => domain::LawfulBasis,
        schema::Outcome => domain::Outcome,
        schema::PurgeReason => domain::PurgeReason,
        schema::Purpose => domain::Purpose,
        schema::ResourceKind => domain::ResourceKind,
        schema::Role => domain::Role,
        schema::Section => domain::Section,
        schema::Sector => domain::Sector,
        schema::StaffStatus => domain::StaffStatus,
        schema::StudentNumberKind => domain::StudentNumberKind,
        schema::StaffId => domain::StaffId,
        schema::UnderSixteen => domain::UnderSixteen,
        schema::SchoolYear => domain::SchoolYear,
        schema::StudentNumber => domain::StudentNumber,
        schema::Programme => domain::Programme,
        schema::InspectionRecord => domain::InspectionRecord,
        schema::ConsentStatus => domain::ConsentStatus,
        schema::Jwks => doorstroom_jose::Jwks,
        schema::Submission => doorstroom_jose::Submission,
    );
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

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

/// A wire body as it is written today: the fields' own domain types.
#[derive(ToSchema)]
#[allow(dead_code)]
struct Today {
    /// The sending school's sector.
    sector: domain::Sector,
    status: Option<domain::ApplicationStatus>,
    sections: Vec<domain::Section>,
    year: domain::SchoolYear,
}

// The same body with the markers named, as it is written once the domain
// no longer implements `ToSchema` (the doc comment is the description, so
// it is Today's).
/// A wire body as it is written today: the fields' own domain types.
#[derive(ToSchema)]
#[schema(as = Today)]
#[allow(dead_code)]
struct WithMarkers {
    /// The sending school's sector.
    #[schema(value_type = schema::Sector)]
    sector: domain::Sector,
    #[schema(value_type = Option<schema::ApplicationStatus>)]
    status: Option<domain::ApplicationStatus>,
    #[schema(value_type = Vec<schema::Section>)]
    sections: Vec<domain::Section>,
    #[schema(value_type = schema::SchoolYear)]
    year: domain::SchoolYear,
}

#[test]
fn a_field_that_names_the_marker_gets_the_schema_of_its_domain_type() {
    assert_eq!(differs::<WithMarkers, Today>(), None);
    let referred = shape::<WithMarkers>().2;
    assert_eq!(
        referred.into_iter().collect::<Vec<_>>(),
        ["ApplicationStatus", "SchoolYear", "Section", "Sector"]
    );
}
