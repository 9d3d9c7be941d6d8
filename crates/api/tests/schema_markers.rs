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

/// The reference side: the domain's own `ToSchema` implementations. This
/// module goes when the domain drops utoipa (then `openapi_drift`, the
/// published document, guards the markers).
mod reference {
    use std::collections::BTreeSet;

    use doorstroom_api::schema;
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
            schema::ActorKind => doorstroom_domain::ActorKind,
            schema::ApplicationStatus => doorstroom_domain::ApplicationStatus,
            schema::ConsentEventKind => doorstroom_domain::ConsentEventKind,
            schema::ConsentMethod => doorstroom_domain::ConsentMethod,
            schema::CrudKind => doorstroom_domain::CrudKind,
            schema::GivenBy => doorstroom_domain::GivenBy,
            schema::InspectedBy => doorstroom_domain::InspectedBy,
            schema::InstitutionStatus => doorstroom_domain::InstitutionStatus,
            schema::KeyStatus => doorstroom_domain::KeyStatus,
            schema::KeyUse => doorstroom_domain::KeyUse,
            schema::LawfulBasis => doorstroom_domain::LawfulBasis,
            schema::Outcome => doorstroom_domain::Outcome,
            schema::PurgeReason => doorstroom_domain::PurgeReason,
            schema::Purpose => doorstroom_domain::Purpose,
            schema::ResourceKind => doorstroom_domain::ResourceKind,
            schema::Role => doorstroom_domain::Role,
            schema::Section => doorstroom_domain::Section,
            schema::Sector => doorstroom_domain::Sector,
            schema::StaffStatus => doorstroom_domain::StaffStatus,
            schema::StudentNumberKind => doorstroom_domain::StudentNumberKind,
            schema::StaffId => doorstroom_domain::StaffId,
            schema::UnderSixteen => doorstroom_domain::UnderSixteen,
            schema::SchoolYear => doorstroom_domain::SchoolYear,
            schema::StudentNumber => doorstroom_domain::StudentNumber,
            schema::Programme => doorstroom_domain::Programme,
            schema::InspectionRecord => doorstroom_domain::InspectionRecord,
            schema::ConsentStatus => doorstroom_domain::ConsentStatus,
            schema::Jwks => doorstroom_jose::Jwks,
            schema::Submission => doorstroom_jose::Submission,
        );
        assert!(differences.is_empty(), "{}", differences.join("\n"));
    }

    /// A wire body as it is written today: the fields' own domain types.
    #[derive(ToSchema)]
    #[allow(dead_code)]
    struct Today {
        /// The sending school's sector.
        sector: doorstroom_domain::Sector,
        status: Option<doorstroom_domain::ApplicationStatus>,
        sections: Vec<doorstroom_domain::Section>,
        year: doorstroom_domain::SchoolYear,
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
        sector: doorstroom_domain::Sector,
        #[schema(value_type = Option<schema::ApplicationStatus>)]
        status: Option<doorstroom_domain::ApplicationStatus>,
        #[schema(value_type = Vec<schema::Section>)]
        sections: Vec<doorstroom_domain::Section>,
        #[schema(value_type = schema::SchoolYear)]
        year: doorstroom_domain::SchoolYear,
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
}
