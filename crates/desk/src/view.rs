//! A decrypted dossier made readable: each section as labelled fields, the
//! remarks with who wrote them and when, the attachments as downloads. The
//! sections' content is the sending school's JSON (PACKAGE-FORMAT.md leaves
//! its inner shape to the schools), so the rendering takes any JSON and
//! recognises a few common members by name. A section that came from an
//! OSO gegevensset dossier is shown per OSO category, every value with its
//! element path, read from the OSO fragments themselves (what an export
//! hands on), not from the summary the package carries.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use doorstroom_client::ReceivedDossier;
use doorstroom_domain::Section;
use serde_json::Value;

use crate::i18n::Lang;

/// One field of a section: a label (the member's path) and its text.
pub struct Field {
    pub label: String,
    pub value: String,
}

/// One remark.
pub struct Remark {
    pub by: String,
    pub at: String,
    pub text: String,
}

/// One attachment, by its position in the section.
pub struct FileLink {
    pub index: usize,
    pub filename: String,
    pub media_type: String,
    pub size: usize,
}

/// The values of one OSO category.
pub struct FieldGroup {
    pub title: String,
    pub fields: Vec<Field>,
    /// Shown unfolded; the metadata (the exporting package, the delivery
    /// of each category) is folded away, being of little use at an intake.
    pub open: bool,
}

/// The order an intaker reads an OSO dossier in: the student and who to
/// call first, the school and its advice, then support, results and
/// documents; the dossier's metadata last.
const READING_ORDER: [doorstroom_oso::Category; 16] = {
    use doorstroom_oso::Category::*;
    [
        Leerling,
        Oudersverzorgers,
        School,
        Schoolloopbaan,
        Overstapadvies,
        Ouderinzage,
        Vve,
        Onderwijsondersteuning,
        Handelingsplannen,
        Verzuim,
        Eindtoetsbo,
        Toetsresultaten,
        Cijferlijsten,
        Vombo,
        Bijlagedocs,
        Metadata,
    ]
};

/// A section as the dossier page shows it.
pub struct SectionView {
    pub code: &'static str,
    pub title: &'static str,
    /// `Some("OSO gegevensset 2019.1")` for a section from an OSO dossier.
    pub source: Option<&'static str>,
    pub fields: Vec<Field>,
    /// An OSO section's categories.
    pub groups: Vec<FieldGroup>,
    pub remarks: Vec<Remark>,
    pub files: Vec<FileLink>,
}

/// The released sections of `dossier`, in the format's order.
pub fn sections(dossier: &ReceivedDossier, lang: Lang) -> Vec<SectionView> {
    let downloads = downloads(dossier);
    dossier
        .sections
        .iter()
        .map(|(section, content)| {
            let mut view = SectionView {
                code: section.as_str(),
                title: lang.section(*section),
                source: None,
                fields: Vec::new(),
                groups: Vec::new(),
                remarks: Vec::new(),
                files: Vec::new(),
            };
            view.files = links(&downloads, *section);
            if let Some(fragments) = doorstroom_oso::fragments_of(content) {
                view.source = Some("OSO gegevensset 2019.1");
                oso_groups(fragments, &mut view);
                return view;
            }
            match section {
                Section::Remarks => view.remarks = remarks(content),
                Section::Attachments => {}
                _ => flatten(content, "", &mut view.fields),
            }
            view
        })
        .collect()
}

/// An OSO section's categories, each value labelled with its element
/// path; fragments that cannot be read are said to be so, not shown raw.
fn oso_groups(fragments: Result<Vec<doorstroom_oso::Fragment>, doorstroom_oso::OsoError>, view: &mut SectionView) {
    match fragments.and_then(|list| doorstroom_oso::summarize(&list)) {
        Ok(mut groups) => {
            groups.sort_by_key(|g| READING_ORDER.iter().position(|c| *c == g.category));
            view.groups = groups
                .into_iter()
                .map(|g| FieldGroup {
                    open: g.category != doorstroom_oso::Category::Metadata,
                    title: g.title,
                    fields: g
                        .rows
                        .into_iter()
                        .map(|r| Field {
                            label: r.label,
                            value: r.value,
                        })
                        .collect(),
                })
                .collect();
        }
        Err(e) => view.fields.push(Field {
            label: "OSO".into(),
            value: format!("not readable: {e}"),
        }),
    }
}

/// Every scalar in `value`, labelled by its path (`a › b`, `list 1`).
pub fn flatten(value: &Value, path: &str, out: &mut Vec<Field>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.replace('_', " ")
        } else {
            format!("{path} › {}", key.replace('_', " "))
        }
    };
    match value {
        Value::Object(members) => members.iter().for_each(|(k, v)| flatten(v, &join(k), out)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| flatten(v, &join(&(i + 1).to_string()), out)),
        Value::String(s) => out.push(Field {
            label: path.to_owned(),
            value: s.clone(),
        }),
        Value::Null => {}
        other => out.push(Field {
            label: path.to_owned(),
            value: other.to_string(),
        }),
    }
}

fn text_of(value: &Value, names: &[&str]) -> String {
    names
        .iter()
        .find_map(|n| value.get(*n).and_then(Value::as_str))
        .unwrap_or_default()
        .to_owned()
}

/// The remarks: one object (`{"by", "text", "written_at"}`), a list of
/// them, or `{"remarks": [...]}`; a bare string is a remark by nobody named.
pub fn remarks(content: &Value) -> Vec<Remark> {
    let list: Vec<&Value> = match content {
        Value::Array(items) => items.iter().collect(),
        Value::Object(members) => match members.get("remarks") {
            Some(Value::Array(items)) => items.iter().collect(),
            _ => vec![content],
        },
        other => vec![other],
    };
    list.into_iter()
        .map(|r| Remark {
            by: text_of(r, &["by", "author", "written_by"]),
            at: text_of(r, &["written_at", "at", "date"]),
            text: match r {
                Value::String(s) => s.clone(),
                _ => text_of(r, &["text", "remark"]),
            },
        })
        .collect()
}

fn file_list(content: &Value) -> &[Value] {
    content
        .get("files")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A file the intaker can download.
struct Download {
    section: Section,
    filename: String,
    media_type: String,
    /// Standard base64.
    data: String,
}

/// Every file of the dossier in one numbering: the attachments section's
/// files first (`{"files": [{"filename", "media_type", "data"}]}`, so a
/// JSON dossier's numbering is as it always was), then the documents
/// inside the other sections of an OSO dossier (a diagnosis's report, a
/// plan), each the ZIP the agreement sends. A section whose OSO fragments
/// cannot be read offers none (its page says it is not readable).
fn downloads(dossier: &ReceivedDossier) -> Vec<Download> {
    let mut all: Vec<Download> = dossier
        .sections
        .get(&Section::Attachments)
        .map(file_list)
        .unwrap_or_default()
        .iter()
        .map(|f| Download {
            section: Section::Attachments,
            filename: text_of(f, &["filename"]),
            media_type: text_of(f, &["media_type"]),
            data: text_of(f, &["data"]),
        })
        .collect();
    for (section, content) in &dossier.sections {
        if *section == Section::Attachments {
            continue;
        }
        let Some(Ok(fragments)) = doorstroom_oso::fragments_of(content) else {
            continue;
        };
        for document in doorstroom_oso::documents_in(&fragments).unwrap_or_default() {
            all.push(Download {
                section: *section,
                filename: format!("{}.zip", document.filename),
                media_type: "application/zip".into(),
                data: document.data,
            });
        }
    }
    all
}

/// The links to `section`'s files, by their place in [`downloads`].
fn links(downloads: &[Download], section: Section) -> Vec<FileLink> {
    downloads
        .iter()
        .enumerate()
        .filter(|(_, d)| d.section == section)
        .map(|(index, d)| FileLink {
            index,
            filename: d.filename.clone(),
            media_type: d.media_type.clone(),
            size: d.data.len() / 4 * 3,
        })
        .collect()
}

/// Download `index` (see [`downloads`]): a safe file name and its bytes.
pub fn attachment(dossier: &ReceivedDossier, index: usize) -> Option<(String, Vec<u8>)> {
    let file = downloads(dossier).into_iter().nth(index)?;
    let data = STANDARD.decode(&file.data).ok()?;
    let name: String = file
        .filename
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' '))
        .collect();
    let name = name.trim_start_matches('.').trim().to_owned();
    Some((
        if name.is_empty() {
            format!("bijlage-{index}")
        } else {
            name
        },
        data,
    ))
}

/// The student's name from the personal data: `name`, else given and
/// family names.
pub fn student_name(dossier: &ReceivedDossier) -> Option<String> {
    let personal = dossier.sections.get(&Section::PersonalData)?;
    if let Some(fragments) = doorstroom_oso::fragments_of(personal) {
        return doorstroom_oso::student_name(&fragments.ok()?);
    }
    if let Some(name) = personal.get("name").and_then(Value::as_str) {
        return Some(name.to_owned());
    }
    let parts: Vec<&str> = ["given_name", "first_name", "prefix", "family_name", "last_name"]
        .iter()
        .filter_map(|m| personal.get(*m).and_then(Value::as_str))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    /// In the school's order (serde_json keeps it in this workspace).
    fn fields_are_flattened_with_their_path() {
        let mut out = Vec::new();
        flatten(
            &json!({"name": "Sam", "address": {"city": "Groningen"}, "needs": ["dyslexie", 2], "none": null}),
            "",
            &mut out,
        );
        let got: Vec<(String, String)> = out.into_iter().map(|f| (f.label, f.value)).collect();
        assert_eq!(
            got,
            [
                ("name".to_owned(), "Sam".to_owned()),
                ("address › city".to_owned(), "Groningen".to_owned()),
                ("needs › 1".to_owned(), "dyslexie".to_owned()),
                ("needs › 2".to_owned(), "2".to_owned()),
            ]
        );
    }

    #[test]
    fn remarks_in_each_shape() {
        let one = remarks(&json!({"by": "student", "text": "Graag", "written_at": "2027-03-02"}));
        assert_eq!(
            (one[0].by.as_str(), one[0].at.as_str(), one[0].text.as_str()),
            ("student", "2027-03-02", "Graag")
        );
        assert_eq!(
            remarks(&json!([{"author": "ouder", "text": "a"}, {"text": "b"}])).len(),
            2
        );
        assert_eq!(remarks(&json!({"remarks": [{"text": "a"}]}))[0].text, "a");
        assert_eq!(remarks(&json!("los"))[0].text, "los");
    }

    #[test]
    fn an_oso_section_is_shown_per_category_from_its_fragments() {
        let xml = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../oso/tests/fixtures/full.xml")).unwrap();
        let dossier = doorstroom_oso::parse(&xml, &doorstroom_oso::Limits::default()).unwrap();
        let mut content = doorstroom_oso::to_sections(&dossier)
            .unwrap()
            .sections
            .remove(&Section::PersonalData)
            .unwrap();
        // A summary that says something else is not what is shown.
        content["summary"] =
            json!([{"category": "cat_leerling", "title": "Leerling", "rows": [{"label": "x", "value": "anders"}]}]);
        let mut view = SectionView {
            code: "personal_data",
            title: "",
            source: None,
            fields: Vec::new(),
            groups: Vec::new(),
            remarks: Vec::new(),
            files: Vec::new(),
        };
        oso_groups(doorstroom_oso::fragments_of(&content).unwrap(), &mut view);
        let titles: Vec<&str> = view.groups.iter().map(|g| g.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Leerling",
                "Ouders/verzorgers",
                "School",
                "Schoolloopbaan",
                "Overstapadvies",
                "Ouderinzage",
                "VVE",
                "Metadata"
            ]
        );
        let leerling = &view.groups[0];
        assert!(view.groups.iter().all(|g| g.open == (g.title != "Metadata")));
        assert!(
            leerling
                .fields
                .iter()
                .any(|f| f.label == "roepnaam" && f.value == "Sam")
        );
        assert!(!view.groups.iter().flat_map(|g| &g.fields).any(|f| f.value == "anders"));

        let mut broken = content.clone();
        broken["oso"]["fragments"][0]["xml"] = "<naam>open".into();
        let mut view = SectionView {
            fields: Vec::new(),
            groups: Vec::new(),
            ..view
        };
        oso_groups(doorstroom_oso::fragments_of(&broken).unwrap(), &mut view);
        assert!(view.groups.is_empty());
        assert!(
            view.fields[0].value.starts_with("not readable"),
            "{}",
            view.fields[0].value
        );
    }

    /// An OSO dossier as the desk receives it: every section of the full
    /// fixture.
    fn oso_dossier() -> ReceivedDossier {
        let xml = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../oso/tests/fixtures/full.xml")).unwrap();
        let dossier = doorstroom_oso::parse(&xml, &doorstroom_oso::Limits::default()).unwrap();
        let brin = |raw: &str| doorstroom_domain::Brin::parse(raw).unwrap();
        ReceivedDossier {
            package_id: "p".into(),
            application_id: uuid::Uuid::new_v4(),
            sender: brin("07AB"),
            recipient: brin("25LX"),
            submitted_at: chrono::Utc::now(),
            sealed_at: 0,
            sender_kid: "k".into(),
            sender_certificate: "c".into(),
            sections: doorstroom_oso::to_sections(&dossier).unwrap().sections,
            withheld: Vec::new(),
        }
    }

    #[test]
    fn an_oso_dossiers_documents_are_downloads_of_their_sections() {
        let dossier = oso_dossier();
        let views = sections(&dossier, Lang::Nl);
        let files = |code: &str| -> Vec<(usize, String)> {
            views
                .iter()
                .find(|v| v.code == code)
                .unwrap()
                .files
                .iter()
                .map(|f| (f.index, f.filename.clone()))
                .collect()
        };
        // The attachments keep the first numbers; a plan inside the
        // support needs comes after them, in its own section.
        assert_eq!(
            files("attachments"),
            [(0, "verslag.pdf.zip".to_owned()), (1, "rooster.png.zip".to_owned())]
        );
        assert_eq!(files("support_needs"), [(2, "plan.pdf.zip".to_owned())]);
        assert!(files("personal_data").is_empty());
        let (name, bytes) = attachment(&dossier, 2).unwrap();
        assert_eq!(name, "plan.pdf.zip");
        assert!(bytes.starts_with(b"PK\x03\x04"));
        assert_eq!(attachment(&dossier, 1).unwrap().0, "rooster.png.zip");
        assert!(attachment(&dossier, 3).is_none());
        assert_eq!(student_name(&dossier).as_deref(), Some("Sam van der Testhuis"));
    }
}
