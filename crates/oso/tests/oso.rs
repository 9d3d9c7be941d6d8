//! The OSO reader, mapping and export against the fixtures in
//! `tests/fixtures/` (written for this project; no published example is
//! copied): every category, opt-out, `VERBODEN` with data, another
//! version, malformed XML, an XML bomb, deep nesting, an oversized and a
//! disallowed attachment; and the round trip.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use doorstroom_domain::Section;
use doorstroom_oso::{Category, Delivery, Limits, OsoError, StudentId, canonical, export, parse, to_sections};
use proptest::prelude::*;
use serde_json::Value;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn text(name: &str) -> String {
    String::from_utf8(fixture(name)).unwrap()
}

fn refused(bytes: &[u8]) -> OsoError {
    let limits = Limits::default();
    match parse(bytes, &limits) {
        Ok(dossier) => to_sections(&dossier).expect_err("refused"),
        Err(e) => e,
    }
}

/// Values of the fixtures that no message may repeat.
const PERSONAL: &[&str] = &["123456782", "Samira", "Testhuis", "Dyslexie", "verslag.pdf", "app.exe"];

fn assert_no_values(message: &str) {
    for value in PERSONAL {
        assert!(!message.contains(value), "{message:?} repeats {value:?}");
    }
}

fn round_trip(xml: &str) -> String {
    let dossier = parse(xml.as_bytes(), &Limits::default()).unwrap();
    let mapped = to_sections(&dossier).unwrap();
    // Through JSON text, as the package carries the sections.
    let sections: BTreeMap<Section, Value> = mapped
        .sections
        .iter()
        .map(|(s, v)| (*s, serde_json::from_str(&serde_json::to_string(v).unwrap()).unwrap()))
        .collect();
    export(&sections, &Limits::default()).unwrap().xml
}

#[test]
fn a_full_dossier_is_read_with_every_category() {
    let dossier = parse(&fixture("full.xml"), &Limits::default()).unwrap();
    assert_eq!(dossier.version, "2019.1");
    assert_eq!(dossier.delivery.len(), 16);
    assert_eq!(dossier.delivery[&Category::Leerling], Delivery::Verplicht);
    assert_eq!(dossier.delivery[&Category::Verzuim], Delivery::Optioneel);
    let inzage = dossier.inzage.clone().unwrap();
    assert_eq!(inzage.inspected, Some(true));
    assert_eq!(inzage.date.unwrap().to_string(), "2027-02-10");
    assert_eq!(inzage.agreed.as_deref(), Some("Nee"));
    assert_eq!(
        inzage.reason.as_deref(),
        Some("Het verzuim van vorig jaar is niet juist & moet eruit")
    );
    assert_eq!(inzage.consent.as_deref(), Some("Ja"));
    assert_eq!(dossier.student, Some(StudentId::Bsn("123456782".into())));
    for category in Category::ALL {
        assert!(
            dossier.fragments.iter().any(|f| f.category == category),
            "no fragment of {}",
            category.tag()
        );
    }
    let documents: Vec<(&str, Category)> = dossier
        .documents
        .iter()
        .map(|d| (d.filename.as_str(), d.category))
        .collect();
    assert_eq!(
        documents,
        [
            ("plan.pdf", Category::Handelingsplannen),
            ("verslag.pdf", Category::Bijlagedocs),
            ("rooster.png", Category::Bijlagedocs)
        ]
    );
    // Fragments are verbatim and in document order.
    let orders: Vec<usize> = dossier.fragments.iter().map(|f| f.order).collect();
    assert_eq!(orders, (0..dossier.fragments.len()).collect::<Vec<_>>());
    let voornamen: Vec<&str> = dossier
        .fragments
        .iter()
        .filter(|f| f.xml.starts_with("<voornaam>"))
        .map(|f| f.xml.as_str())
        .collect();
    assert_eq!(
        voornamen,
        ["<voornaam>Samira</voornaam>", "<voornaam>Johanna</voornaam>"]
    );
    let leerling = dossier.fragments.iter().find(|f| f.xml.starts_with("<bsn>")).unwrap();
    assert_eq!(leerling.within, ["<huidigeschool>", "<leerling>"]);
}

#[test]
fn categories_map_to_our_sections_with_their_fragments_and_a_summary() {
    let dossier = parse(&fixture("full.xml"), &Limits::default()).unwrap();
    let mapped = to_sections(&dossier).unwrap();
    let sections: Vec<Section> = mapped.sections.keys().copied().collect();
    assert_eq!(
        sections,
        [
            Section::PersonalData,
            Section::SupportNeeds,
            Section::CareerPortfolio,
            Section::Attachments
        ]
    );
    let categories_in = |section: Section| {
        let mut found: Vec<String> = mapped.sections[&section]["oso"]["fragments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["category"].as_str().unwrap().to_owned())
            .collect();
        found.dedup();
        found.sort();
        found.dedup();
        found
    };
    assert_eq!(
        categories_in(Section::PersonalData),
        [
            "cat_leerling",
            "cat_metadata",
            "cat_ouderinzage",
            "cat_oudersverzorgers",
            "cat_overstapadvies",
            "cat_school",
            "cat_schoolloopbaan",
            "cat_vve"
        ]
    );
    assert_eq!(
        categories_in(Section::SupportNeeds),
        ["cat_handelingsplannen", "cat_onderwijsondersteuning", "cat_verzuim"]
    );
    assert_eq!(
        categories_in(Section::CareerPortfolio),
        [
            "cat_cijferlijsten",
            "cat_eindtoetsbo",
            "cat_toetsresultaten",
            "cat_vombo"
        ]
    );
    assert_eq!(categories_in(Section::Attachments), ["cat_bijlagedocs"]);

    let personal = &mapped.sections[&Section::PersonalData];
    assert_eq!(personal["format"], "oso-gegevensset/2019.1");
    assert_eq!(personal["name"], "Sam van der Testhuis");
    let summary = serde_json::to_string(&personal["summary"]).unwrap();
    for shown in [
        "Ouderinzage",
        "redennietakkoord",
        "Het Verzonnen College",
        "mbo niveau 4",
        "<sterk> in taal",
    ] {
        assert!(
            summary.contains(&serde_json::to_string(shown).unwrap()[1..shown.len()]),
            "{shown}"
        );
    }
    let files = mapped.sections[&Section::Attachments]["files"].as_array().unwrap();
    let names: Vec<&str> = files.iter().map(|f| f["filename"].as_str().unwrap()).collect();
    assert_eq!(names, ["verslag.pdf.zip", "rooster.png.zip"]);
    // Documents of one name get their own file names.
    let rooster = text("full.xml").replace("<bestandsnaam>verslag.pdf", "<bestandsnaam>rooster.png");
    let same = to_sections(&parse(rooster.as_bytes(), &Limits::default()).unwrap()).unwrap();
    let names: Vec<&str> = same.sections[&Section::Attachments]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["rooster.png.zip", "rooster.png (2).zip"]);
    assert!(files.iter().all(|f| f["media_type"] == "application/zip"));
    // The base64 lost its line breaks, and decodes to a ZIP.
    use base64::Engine as _;
    let zip = base64::engine::general_purpose::STANDARD
        .decode(files[1]["data"].as_str().unwrap())
        .unwrap();
    assert!(zip.starts_with(b"PK\x03\x04"));
    // Metadata and every category's delivery travel along.
    assert_eq!(personal["oso"]["delivery"]["cat_verzuim"], "OPTIONEEL");
    assert!(mapped.notes.is_empty(), "{:?}", mapped.notes);
}

#[test]
fn documents_inside_other_categories_are_found_in_their_fragments() {
    let dossier = parse(&fixture("full.xml"), &Limits::default()).unwrap();
    let mapped = to_sections(&dossier).unwrap();
    let fragments = |section: Section| {
        doorstroom_oso::fragments_of(&mapped.sections[&section])
            .unwrap()
            .unwrap()
    };
    let support = doorstroom_oso::documents_in(&fragments(Section::SupportNeeds)).unwrap();
    assert_eq!(support.len(), 1);
    assert_eq!(
        (
            support[0].category,
            support[0].filename.as_str(),
            support[0].description.as_str()
        ),
        (Category::Handelingsplannen, "plan.pdf", "Handelingsplan lezen")
    );
    let imported = dossier.documents.iter().find(|d| d.filename == "plan.pdf").unwrap();
    assert_eq!(support[0].data, imported.data);
    assert!(
        doorstroom_oso::documents_in(&fragments(Section::PersonalData))
            .unwrap()
            .is_empty()
    );
    let attached = doorstroom_oso::documents_in(&fragments(Section::Attachments)).unwrap();
    let names: Vec<&str> = attached.iter().map(|d| d.filename.as_str()).collect();
    assert_eq!(names, ["verslag.pdf", "rooster.png"]);
    // The line breaks inside a document's base64 are gone, as at import.
    assert!(!attached[1].data.contains(char::is_whitespace));
}

#[test]
fn a_full_dossier_comes_back_as_an_equivalent_document() {
    let original = text("full.xml");
    let exported = round_trip(&original);
    assert_eq!(canonical(&exported).unwrap(), canonical(&original).unwrap());
    // And again: the export is itself a dossier that round-trips.
    assert_eq!(round_trip(&exported), exported);
}

#[test]
fn canonical_form_sees_a_changed_value_and_a_changed_order() {
    let original = text("full.xml");
    let base = canonical(&original).unwrap();
    let changed = original.replace("<cijfer>7,4</cijfer>", "<cijfer>7,5</cijfer>");
    assert_ne!(canonical(&changed).unwrap(), base);
    let swapped = original.replace(
        "<voornaam>Samira</voornaam>\n      <voornaam>Johanna</voornaam>",
        "<voornaam>Johanna</voornaam>\n      <voornaam>Samira</voornaam>",
    );
    assert_ne!(canonical(&swapped).unwrap(), base);
    let reindented = original.replace("\n        <naam>Dyslexie</naam>", "<naam>Dyslexie</naam>");
    assert_eq!(canonical(&reindented).unwrap(), base);
    assert!(canonical("<dossier><open>").is_err());
}

#[test]
fn a_prefixed_namespace_round_trips_too() {
    let original = text("full.xml")
        .replace("</", "\u{0}")
        .replace("<![CDATA[Werkt zelfstandig; <sterk> in taal]]>", "Werkt zelfstandig")
        .replace('<', "<od:")
        .replace("<od:?xml", "<?xml")
        .replace("<od:!--", "<!--")
        .replace('\u{0}', "</od:")
        .replace("xmlns=", "xmlns:od=");
    let exported = round_trip(&original);
    assert!(exported.contains("<od:leerling>"));
    assert_eq!(canonical(&exported).unwrap(), canonical(&original).unwrap());
}

#[test]
fn sections_left_out_are_marked_opt_uit_in_the_export() {
    let dossier = parse(&fixture("full.xml"), &Limits::default()).unwrap();
    let mut sections = to_sections(&dossier).unwrap().sections;
    sections.remove(&Section::SupportNeeds);
    sections.insert(Section::Remarks, serde_json::json!({"text": "een opmerking"}));
    let exported = export(&sections, &Limits::default()).unwrap();
    assert_eq!(
        exported.included,
        [Section::PersonalData, Section::CareerPortfolio, Section::Attachments]
    );
    assert_eq!(exported.left_out, [Section::Remarks]);
    for gone in ["<onderwijsondersteuning>", "<verzuim>", "Dyslexie"] {
        assert!(!exported.xml.contains(gone), "{gone}");
    }
    let again = parse(exported.xml.as_bytes(), &Limits::default()).unwrap();
    for category in [
        Category::Onderwijsondersteuning,
        Category::Handelingsplannen,
        Category::Verzuim,
    ] {
        assert_eq!(again.delivery[&category], Delivery::OptUit, "{}", category.tag());
    }
    assert_eq!(again.delivery[&Category::Cijferlijsten], Delivery::Optioneel);
    assert_eq!(again.delivery[&Category::Vve], Delivery::Optioneel);
    // What was handed on is itself acceptable to the rules.
    to_sections(&again).unwrap();

    sections.remove(&Section::PersonalData);
    let err = export(&sections, &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("metadata"), "{err}");
}

#[test]
fn a_fragment_in_the_wrong_section_is_refused_at_export() {
    let dossier = parse(&fixture("full.xml"), &Limits::default()).unwrap();
    let mut sections = to_sections(&dossier).unwrap().sections;
    let support = sections.remove(&Section::SupportNeeds).unwrap();
    sections.insert(Section::CareerPortfolio, support);
    let err = export(&sections, &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("belongs in another section"), "{err}");
}

#[test]
fn what_a_section_claims_is_checked_before_it_is_exported() {
    let dossier = parse(&fixture("full.xml"), &Limits::default()).unwrap();
    let sections = to_sections(&dossier).unwrap().sections;
    let refused = |section: Section, pointer: &str, value: Value| {
        let mut changed = sections.clone();
        *changed.get_mut(&section).unwrap().pointer_mut(pointer).unwrap() = value;
        export(&changed, &Limits::default()).unwrap_err().to_string()
    };
    let first_leerling = sections[&Section::PersonalData]["oso"]["fragments"]
        .as_array()
        .unwrap()
        .iter()
        .position(|f| f["category"] == "cat_leerling")
        .unwrap();
    let at = |member: &str| format!("/oso/fragments/{first_leerling}/{member}");
    for (pointer, value, expected) in [
        (
            at("xml"),
            "<verzuim>1</verzuim>".into(),
            "does not hold an element of cat_leerling",
        ),
        (
            at("xml"),
            "<voornaam>a</voornaam><voornaam>b</voornaam>".into(),
            "is not one element",
        ),
        (at("xml"), "<voornaam>open".into(), "is not one element"),
        (at("xml"), "tekst<voornaam/>".into(), "is not one element"),
        (
            at("within"),
            serde_json::json!(["<huidigeschool>", "<leerling/>"]),
            "not a start tag",
        ),
        (
            at("within"),
            serde_json::json!(["<huidigeschool>"]),
            "does not hold an element of cat_leerling",
        ),
    ] {
        let err = refused(Section::PersonalData, &pointer, value);
        assert!(err.contains(expected), "{pointer}: {err}");
    }
    for root in ["<!DOCTYPE x><dossier>", "<dossier/>", "<schooldossier>"] {
        let mut changed = sections.clone();
        for content in changed.values_mut() {
            content["oso"]["root"] = root.into();
        }
        let err = export(&changed, &Limits::default()).unwrap_err().to_string();
        assert!(err.contains("not a <dossier> start tag"), "{root}: {err}");
    }
}

#[test]
fn an_opt_out_dossier_holds_personal_data_only() {
    let dossier = parse(&fixture("opt_out.xml"), &Limits::default()).unwrap();
    let mapped = to_sections(&dossier).unwrap();
    assert_eq!(
        mapped.sections.keys().copied().collect::<Vec<_>>(),
        [Section::PersonalData]
    );
    assert_eq!(mapped.notes.len(), 9, "{:?}", mapped.notes);
    assert!(mapped.notes.iter().all(|n| n.contains("OPT-UIT")));
    let original = text("opt_out.xml");
    assert_eq!(
        canonical(&round_trip(&original)).unwrap(),
        canonical(&original).unwrap()
    );
}

#[test]
fn an_opt_uit_category_with_data_is_refused() {
    let xml = text("full.xml").replace("<cat_verzuim>OPTIONEEL", "<cat_verzuim>OPT-UIT");
    let err = refused(xml.as_bytes());
    let OsoError::OptedOutWithData { category, line, path } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(*category, "cat_verzuim");
    assert_eq!(path, "dossier/huidigeschool/leerling/verzuim");
    assert_eq!(xml.lines().nth(line - 1).unwrap().trim(), "<verzuim>");
    assert_no_values(&err.to_string());
}

#[test]
fn a_verboden_category_with_data_is_refused() {
    let err = refused(&fixture("verboden_with_data.xml"));
    assert!(
        matches!(
            err,
            OsoError::Forbidden {
                category: "cat_verzuim",
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("VERBODEN") && message.contains("/dossier/huidigeschool/leerling/verzuim"),
        "{message}"
    );
    assert_no_values(&message);
    // VERBODEN and empty is fine.
    let empty = text("opt_out.xml").replace("<cat_verzuim>OPT-UIT", "<cat_verzuim>VERBODEN");
    to_sections(&parse(empty.as_bytes(), &Limits::default()).unwrap()).unwrap();
}

#[test]
fn another_version_is_refused_naming_it() {
    let err = refused(&fixture("version_2017.xml"));
    assert_eq!(err, OsoError::Version { found: "2017.1".into() });
    assert_eq!(
        err.to_string(),
        "this is OSO gegevensset version 2017.1; only version 2019.1 is read"
    );
    // A 2019.1 label in another namespace is not a 2019.1 dossier.
    let mixed = text("full.xml").replace("/2019/dossier", "/2017/dossier");
    assert!(refused(mixed.as_bytes()).to_string().contains("namespace"));
}

#[test]
fn malformed_xml_is_refused_with_line_and_path() {
    let err = refused(&fixture("malformed.xml"));
    let OsoError::Malformed { line, path, message } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(*line, 60, "{err}");
    assert_eq!(path, "dossier/huidigeschool/leerling/roepnaam");
    assert!(message.contains("not well-formed"), "{message}");
    assert_no_values(&err.to_string());
    for (broken, expected) in [
        ("<dossier xmlns=\"x\"><metadata>", "ends inside an element"),
        ("<root/>", "must be an OSO <dossier>"),
        ("\u{0}", "text where the agreement has only elements"),
        ("<dossier", "not well-formed"),
    ] {
        let err = refused(broken.as_bytes()).to_string();
        assert!(err.contains(expected), "{broken:?}: {err}");
    }
    let not_utf8 = refused(b"<dossier>\xff</dossier>").to_string();
    assert!(not_utf8.contains("UTF-8"), "{not_utf8}");
    let unknown = text("full.xml").replace("<overdrachtsoort>", "<geheim>x</geheim><overdrachtsoort>");
    assert!(
        refused(unknown.as_bytes())
            .to_string()
            .contains("<geheim> is not an element of an OSO dossier")
    );
    let bad_code = text("full.xml").replace("<akkoord>Nee", "<akkoord>Misschien");
    assert!(refused(bad_code.as_bytes()).to_string().contains("code list 37"));
    let bad_category = text("full.xml").replace("<cat_vombo>OPTIONEEL", "<cat_vombo>SOMS");
    assert!(refused(bad_category.as_bytes()).to_string().contains("code list 48"));
    let missing = text("full.xml").replace("      <cat_vombo>OPTIONEEL</cat_vombo>\n", "");
    assert!(refused(missing.as_bytes()).to_string().contains("<cat_vombo>"));
}

#[test]
fn an_xml_bomb_and_entities_are_refused_without_expansion() {
    let err = refused(&fixture("xml_bomb.xml")).to_string();
    assert!(err.contains("DOCTYPE is refused"), "{err}");
    assert!(err.starts_with("line 2,"), "{err}");
    let undeclared = text("full.xml").replace("<nummer>7</nummer>", "<nummer>&xxe;</nummer>");
    let err = refused(undeclared.as_bytes()).to_string();
    assert!(err.contains("entity reference"), "{err}");
    let in_attribute = text("full.xml").replace("omschrijving=\"Nederland\"", "omschrijving=\"&xxe;\"");
    assert!(refused(in_attribute.as_bytes()).to_string().contains("attribute"));
}

#[test]
fn deep_nesting_and_size_are_bounded() {
    let err = refused(&fixture("deep_nesting.xml")).to_string();
    assert!(err.contains("nested deeper than 64 levels"), "{err}");
    let small = Limits {
        max_bytes: 1000,
        ..Limits::default()
    };
    let err = parse(&fixture("full.xml"), &small).unwrap_err();
    assert!(matches!(err, OsoError::TooLarge { limit: 1000, .. }), "{err:?}");
}

#[test]
fn many_small_elements_are_read_in_one_pass() {
    // Small fragments, and a fragment of many nested elements.
    let many: String = (0..100_000).map(|i| format!("<voornaam>n{i}</voornaam>\n")).collect();
    let nested: String = (0..50_000)
        .map(|i| format!("<adres><straat>s{i}</straat></adres>\n"))
        .collect();
    let xml = text("opt_out.xml")
        .replace("<voornaam>Samira</voornaam>", &many)
        .replace(
            "<voornaam>Johanna</voornaam>",
            &format!("<voornaam>Johanna</voornaam>\n<adreslijst>{nested}</adreslijst>"),
        );
    let started = std::time::Instant::now();
    let dossier = parse(xml.as_bytes(), &Limits::default()).unwrap();
    assert!(dossier.fragments.len() > 100_000);
    // Lines are still right, counted on from the last one.
    for (start, line) in [
        ("<voornaam>n0<", "      <voornaam>n0</voornaam>"),
        ("<voornaam>n99999<", "<voornaam>n99999</voornaam>"),
        ("<voornaam>Johanna<", "      <voornaam>Johanna</voornaam>"),
        (
            "<adreslijst><adres><straat>s0<",
            "<adreslijst><adres><straat>s0</straat></adres>",
        ),
        ("<voorvoegsel>", "      <voorvoegsel>van der</voorvoegsel>"),
    ] {
        let found = dossier.fragments.iter().find(|f| f.xml.starts_with(start)).unwrap();
        assert_eq!(xml.lines().nth(found.line - 1).unwrap(), line);
    }
    // Counting lines from the start for each element took minutes here.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn an_oversized_attachment_is_refused() {
    let bytes = fixture("oversized_attachment.xml");
    // Within the default bound it is taken …
    parse(&bytes, &Limits::default()).unwrap();
    // … and over a smaller one it is not.
    let limits = Limits {
        max_document_bytes: 2048,
        ..Limits::default()
    };
    let err = parse(&bytes, &limits).unwrap_err();
    let OsoError::DocumentTooLarge { size, limit, path, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(*size > 2048 && *limit == 2048, "{err}");
    assert_eq!(path, "dossier/huidigeschool/leerling/overigdocumentlijst/document");
}

#[test]
fn an_attachment_of_a_disallowed_type_is_refused() {
    let err = refused(&fixture("disallowed_type.xml"));
    assert!(
        matches!(&err, OsoError::FileType { extension, .. } if extension == "exe"),
        "{err:?}"
    );
    assert_no_values(&err.to_string());
    let not_zip = text("full.xml").replace("<bestandsinhoud>UEsDB", "<bestandsinhoud>QUFBQ");
    let err = refused(not_zip.as_bytes()).to_string();
    assert!(err.contains("not a ZIP") || err.contains("not base64"), "{err}");
    for (name, ok) in [
        ("a.PDF", true),
        ("a.docx", true),
        ("a.odt", true),
        ("a.exe", false),
        ("pdf", false),
        (".pdf", false),
    ] {
        assert_eq!(doorstroom_oso::allowed_file_type(name), ok, "{name}");
    }
}

/// Text as an OSO value: escaped where XML needs it.
fn escaped(value: &str) -> String {
    value.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the values and however many repeated elements, the round
    /// trip gives back an equivalent document, repeated elements in order.
    #[test]
    fn round_trip_keeps_values_and_order(
        surname in "[a-zA-Z &<>'\"éö-]{1,20}",
        grades in proptest::collection::vec(("[A-Za-z ]{1,12}", "[0-9],[0-9]"), 0..6),
        with_support in any::<bool>(),
    ) {
        let mut xml = text("full.xml").replace(
            "<achternaam>Testhuis</achternaam>",
            &format!("<achternaam>{}</achternaam>", escaped(&surname)),
        );
        let list: String = grades
            .iter()
            .map(|(vak, cijfer)| format!("<cijferlijst><vak>{}</vak><cijfer>{cijfer}</cijfer></cijferlijst>", escaped(vak)))
            .collect();
        let start = xml.find("<cijferlijstlijst>").unwrap();
        let end = xml.find("</cijferlijstlijst>").unwrap();
        xml.replace_range(start..end, &format!("<cijferlijstlijst>{list}"));
        if !with_support {
            let start = xml.find("<onderwijsondersteuning>").unwrap();
            let end = xml.find("</verzuim>").unwrap() + "</verzuim>".len();
            xml.replace_range(start..end, "");
        }
        let exported = round_trip(&xml);
        prop_assert_eq!(canonical(&exported).unwrap(), canonical(&xml).unwrap());
    }
}
