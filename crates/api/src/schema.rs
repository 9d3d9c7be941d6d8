//! The OpenAPI schema of every domain (and package-format) type that
//! appears on the wire, so that the domain crate needs no OpenAPI library:
//! one marker type here per domain type, with the same component name and
//! the same schema. A wire body keeps its field's domain type and names the
//! marker for the schema:
//!
//! ```text
//! /// The sending school.
//! #[schema(value_type = doorstroom_api::schema::Sector)]
//! pub sector: Sector,
//! #[schema(value_type = Option<doorstroom_api::schema::Sector>)]
//! pub filter: Option<Sector>,
//! ```
//!
//! The closed enumerations are built from the domain's own data (their
//! variants' wire spelling `ALL`/`as_str` and their doc comment `DOC`), so a
//! new variant or a changed description reaches the document without an
//! edit here. The tests of this crate prove that each marker's schema is the
//! one the domain type had.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use doorstroom_domain as domain;
use serde::Serialize;
use utoipa::openapi::schema::{AdditionalProperties, KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// A doc comment as utoipa makes a description of it: each line without
/// its trailing white space, the indentation all non-empty lines share
/// removed (the space after `///`), the lines joined by newlines.
pub fn description(doc: &[&str]) -> String {
    let lines: Vec<&str> = doc.iter().map(|line| line.trim_end()).collect();
    let indent = lines
        .iter()
        .filter(|line| !line.is_empty())
        .map(|line| line.len() - line.trim_start_matches(' ').len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|line| line.get(indent..).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A string schema with a description.
fn described_string(text: impl Into<String>) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).description(Some(text))
}

/// One marker per closed enumeration of the domain (`wire_enum!`): a string
/// with the variants' wire spelling as its `enum` and the type's doc
/// comment as its description.
macro_rules! wire_enum_schemas {
    ($($name:ident),+ $(,)?) => {
        /// The closed enumerations with a marker, for the test that every
        /// `wire_enum!` of the domain has one.
        pub const WIRE_ENUMS: &[&str] = &[$(stringify!($name)),+];
        $(
        #[doc = concat!("The wire schema of [`doorstroom_domain::", stringify!($name), "`].")]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                described_string(description(domain::$name::DOC))
                    .enum_values(Some(domain::$name::ALL.iter().map(|v| v.as_str())))
                    .into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    )+};
}

wire_enum_schemas!(
    ActorKind,
    ApplicationStatus,
    ConsentEventKind,
    ConsentMethod,
    CrudKind,
    GivenBy,
    InspectedBy,
    InstitutionStatus,
    KeyStatus,
    KeyUse,
    LawfulBasis,
    Outcome,
    PurgeReason,
    Purpose,
    ResourceKind,
    Role,
    Section,
    Sector,
    StaffStatus,
    StudentNumberKind,
);

/// A marker whose schema is written out by hand (`schema` builds it).
macro_rules! hand_written_schema {
    ($(#[$meta:meta])* $name:ident => $schema:expr) => {
        $(#[$meta])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

hand_written_schema!(
    /// The wire schema of [`doorstroom_domain::StaffId`]: a UUID.
    StaffId => described_string("The id of a staff account.")
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
        .into()
);

hand_written_schema!(
    /// The wire schema of [`doorstroom_domain::UnderSixteen`]: a boolean.
    UnderSixteen => ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .description(Some(
            "Whether the student was under 16 on the day of the event: the only thing\n\
             the broker keeps of the date of birth.",
        ))
        .into()
);

hand_written_schema!(
    /// The wire schema of [`doorstroom_domain::SchoolYear`]: `YYYY-YYYY`.
    SchoolYear => described_string(
        "School year from 1 August to 31 July, e.g. 2027-2028; the second year follows the first, \
         which is 1000 to 9998.",
    )
    .pattern(Some("^[1-9][0-9]{3}-[1-9][0-9]{3}$"))
    .examples([serde_json::json!("2027-2028")])
    .into()
);

hand_written_schema!(
    /// The wire schema of [`doorstroom_domain::StudentNumber`]: one shape
    /// per kind, told apart by `type`, each with the form its digits must
    /// have. The 11-proef itself is a checksum that a schema cannot state;
    /// the description gives it.
    StudentNumber => OneOfBuilder::new()
        .description(Some(
            "A national student number: a BSN, or an onderwijsnummer, each passing its own 11-proef.",
        ))
        .item(student_number_kind(
            domain::StudentNumberKind::Bsn,
            "^[0-9]{9}$",
            "9 digits, not all zeros, with 9·d1+8·d2+…+2·d8−d9 ≡ 0 (mod 11).",
        ))
        .item(student_number_kind(
            domain::StudentNumberKind::Onderwijsnummer,
            "^10[0-9]{7}$",
            "9 digits starting with 10, with 9·d1+8·d2+…+2·d8−d9 ≡ 5 (mod 11).",
        ))
        .examples([serde_json::json!({"type": "bsn", "number": "123456782"})])
        .into()
);

/// One kind of student number: `{"type": <kind>, "number": <digits>}`.
fn student_number_kind(kind: domain::StudentNumberKind, pattern: &str, rule: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .property(
            "type",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([kind.as_str()])),
        )
        .required("type")
        .property("number", described_string(rule).pattern(Some(pattern)))
        .required("number")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
}

/// The mbo programme applied for: its name as the mbo calls it and, when
/// the mbo knows it, the CREBO code of the qualification.
///
/// The name is 1 to 200 characters after trimming surrounding white space,
/// with no control characters (no line breaks or tabs). The CREBO code is
/// optional because a programme can be applied for before its qualification
/// is fixed (e.g. a broad first year, or an entrance course).
///
/// Wire form: `{"name": "Verzorgende IG", "crebo": "25491"}`; `crebo` may be
/// `null` or left out; other fields are refused.
// The wire schema of `doorstroom_domain::Programme`, whose fields are
// private; never built (`Serialize` only for the serde attribute).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Programme {
    /// Name of the programme, 1 to 200 characters, no control characters.
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        example = "Verzorgende IG"
    )]
    pub name: String,
    /// CREBO code of the qualification: exactly 5 digits.
    #[schema(pattern = "^[0-9]{5}$", example = "25491")]
    pub crebo: Option<String>,
}

/// One recorded inspection of a student's dossier.
// The wire schema of `doorstroom_domain::InspectionRecord`.
#[derive(ToSchema)]
pub struct InspectionRecord {
    /// When the dossier was inspected.
    pub at: DateTime<Utc>,
    pub by: InspectedBy,
    /// Whether remarks were added (they travel in the `remarks` section).
    pub remarks_added: bool,
}

/// The state of consent for one student, recipient and section at one
/// moment, derived from the events (see the [module table](self)).
// The wire schema of `doorstroom_domain::ConsentStatus` (the doc link above
// is the domain's and part of the published description).
#[derive(Serialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConsentStatus {
    /// No event yet.
    NeverGiven,
    /// Given at `since`, valid until `until` (exclusive) if set.
    InForce {
        since: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    },
    /// Withdrawn at `at`.
    Withdrawn { at: DateTime<Utc> },
    /// Ended at `at`: by an `expired` event, or because the validity of the
    /// last `given` ran out then.
    Expired { at: DateTime<Utc> },
}

/// An RFC 7517 JWK Set, as an institution's published keys are served.
// The wire schema of `doorstroom_jose::Jwks`.
#[derive(ToSchema)]
pub struct Jwks {
    /// The public JWKs, each with `kid`, `use`, `alg` and `x5c`.
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<serde_json::Value>,
}

/// What a vo system posts: the envelope and one token per section.
///
/// On the wire: `{"envelope": "<compact JWS>", "sections": {"<name>":
/// "<compact JWE>", ...}}`. Deserializing refuses unknown members, unknown
/// section names and a section name given twice (JSON parsers otherwise
/// silently keep the last one).
// The wire schema of `doorstroom_jose::Submission`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// The envelope, a JWS in compact serialization.
    pub envelope: String,
    /// Section name to section token (a JWE in compact serialization).
    #[schema(schema_with = section_tokens)]
    pub sections: serde_json::Map<String, serde_json::Value>,
}

/// The schema of [`Submission::sections`]: an object whose member names
/// are section names (anything else is refused), each a token.
fn section_tokens() -> utoipa::openapi::schema::Object {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("Section name to section token (a JWE in compact serialization)."))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(domain::Section::ALL.iter().map(|s| s.as_str()))),
        ))
        .additional_properties(Some(AdditionalProperties::RefOr(
            ObjectBuilder::new().schema_type(Type::String).into(),
        )))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_is_the_doc_comment_as_utoipa_reads_it() {
        assert_eq!(description(&[" One line. "]), "One line.");
        assert_eq!(
            description(&[" First,", " second:", "", "   - indented"]),
            "First,\nsecond:\n\n  - indented"
        );
        assert_eq!(description(&[]), "");
    }

    #[test]
    fn a_student_number_has_one_shape_per_kind() {
        let schema = serde_json::to_value(StudentNumber::schema()).unwrap_or_default();
        let kinds = schema["oneOf"].as_array().cloned().unwrap_or_default();
        assert_eq!(kinds.len(), 2, "{schema}");
        for (kind, (name, pattern)) in kinds
            .iter()
            .zip([("bsn", "^[0-9]{9}$"), ("onderwijsnummer", "^10[0-9]{7}$")])
        {
            assert_eq!(kind["properties"]["type"]["enum"], serde_json::json!([name]));
            assert_eq!(kind["properties"]["number"]["pattern"], pattern);
            assert_eq!(kind["required"], serde_json::json!(["type", "number"]));
            assert_eq!(kind["additionalProperties"], false);
        }
        assert_eq!(StudentNumber::name(), "StudentNumber");
    }

    #[test]
    fn a_closed_enumeration_lists_the_domains_spelling() {
        let schema = serde_json::to_value(Sector::schema()).unwrap_or_default();
        assert_eq!(schema["enum"], serde_json::json!(["vo", "vso", "pro", "mbo"]));
        assert_eq!(
            schema["description"],
            "The education sector of an institution. vo, vso and pro send; mbo receives."
        );
    }
}
