//! A readable summary of fragments: per category, every value with the
//! path of element names that leads to it. Computed from the fragments
//! themselves, so a reader that recomputes it (the intake desk) shows what
//! an export would hand on, whatever summary a package carried.

use quick_xml::Reader;
use quick_xml::events::Event;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::names::{local_of, resolve};
use crate::{Category, Fragment, Limits, OsoError};

/// One value: the element path (`adreslijst › adres › plaats`) and its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub label: String,
    pub value: String,
}

/// A category's values, in document order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub category: Category,
    pub title: String,
    pub rows: Vec<Row>,
}

/// The groups of `fragments`, in the order their categories first occur.
pub fn summarize(fragments: &[Fragment]) -> Result<Vec<Group>, OsoError> {
    let mut groups: Vec<Group> = Vec::new();
    for fragment in fragments {
        let rows = rows_of(&fragment.xml)?;
        match groups.iter_mut().find(|g| g.category == fragment.category) {
            Some(group) => group.rows.extend(rows),
            None => groups.push(Group {
                category: fragment.category,
                title: fragment.category.title().to_owned(),
                rows,
            }),
        }
    }
    Ok(groups)
}

/// The fragments an OSO-sourced section carries; `None` for a section
/// that did not come from an OSO dossier.
pub fn fragments_of(content: &Value) -> Option<Result<Vec<Fragment>, OsoError>> {
    if content.get("format").and_then(Value::as_str) != Some(crate::OSO_FORMAT) {
        return None;
    }
    let fragments = content
        .pointer("/oso/fragments")
        .cloned()
        .map(serde_json::from_value::<Vec<Fragment>>);
    Some(match fragments {
        Some(Ok(list)) => Ok(list),
        _ => Err(OsoError::Section {
            section: String::new(),
            message: "its oso.fragments are missing or not fragments".into(),
        }),
    })
}

/// The student's name from `cat_leerling` fragments: the name used
/// (`roepnaam`, else the first `voornaam`), the prefix and the surname.
pub fn student_name(fragments: &[Fragment]) -> Option<String> {
    let value = |name: &str| {
        fragments
            .iter()
            .filter(|f| f.category == Category::Leerling && local_of(&f.xml) == name)
            .find_map(|f| rows_of(&f.xml).ok()?.into_iter().next().map(|r| r.value))
    };
    let given = value("roepnaam").or_else(|| value("voornaam"));
    let parts: Vec<String> = [given, value("voorvoegsel"), value("achternaam")]
        .into_iter()
        .flatten()
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// A `document` inside fragments, as it came: its `bestandsnaam`,
/// `omschrijving` and `bestandsinhoud` (base64 of a ZIP, whitespace
/// removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedDocument {
    pub category: Category,
    pub filename: String,
    pub description: String,
    pub data: String,
}

/// The documents inside `fragments`, in document order (a diagnosis's
/// report, a plan, an OPP: the reader checked each one's type and size
/// when the dossier was imported).
pub fn documents_in(fragments: &[Fragment]) -> Result<Vec<EmbeddedDocument>, OsoError> {
    let mut found: Vec<EmbeddedDocument> = Vec::new();
    for fragment in fragments {
        walk(&fragment.xml, &mut |met| match met {
            Met::Open(path) if path.last().is_some_and(|l| l == "document") => found.push(EmbeddedDocument {
                category: fragment.category,
                filename: String::new(),
                description: String::new(),
                data: String::new(),
            }),
            Met::Value(path, value) if path.len() >= 2 && path[path.len() - 2] == "document" => {
                if let Some(document) = found.last_mut() {
                    match path[path.len() - 1].as_str() {
                        "bestandsnaam" => document.filename = value.to_owned(),
                        "omschrijving" => document.description = value.to_owned(),
                        "bestandsinhoud" => document.data = value.split_whitespace().collect(),
                        _ => {}
                    }
                }
            }
            _ => {}
        })?;
    }
    Ok(found)
}

/// Every value in one fragment: elements' text with their path, and
/// attributes (but namespace declarations) as `path (name)`.
fn rows_of(xml: &str) -> Result<Vec<Row>, OsoError> {
    let mut rows = Vec::new();
    walk(xml, &mut |met| match met {
        Met::Open(_) => {}
        Met::Attribute(path, key, value) => rows.push(Row {
            label: format!("{} ({key})", path.join(" › ")),
            value: value.to_owned(),
        }),
        Met::Value(path, value) => rows.push(Row {
            label: path.join(" › "),
            value: if path.last().is_some_and(|l| l == "bestandsinhoud") {
                format!("(ZIP, base64, {} tekens)", value.len())
            } else {
                value.to_owned()
            },
        }),
    })?;
    Ok(rows)
}

/// What [`walk`] meets in a fragment, with the path of local names to it.
enum Met<'a> {
    Open(&'a [String]),
    Attribute(&'a [String], &'a str, &'a str),
    /// An element's text, trimmed, when it has any.
    Value(&'a [String], &'a str),
}

/// Reads one fragment under the same rules as the dossier (no DTD, no
/// entities, bounded depth, every element closed), telling `visit` what
/// it meets.
fn walk(xml: &str, visit: &mut dyn FnMut(Met<'_>)) -> Result<(), OsoError> {
    let limits = Limits::default();
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let bad = |message: String| OsoError::Section {
        section: String::new(),
        message: format!("a fragment is not well-formed: {message}"),
    };
    loop {
        match reader.read_event().map_err(|e| bad(e.to_string()))? {
            Event::Start(_) | Event::Empty(_) if path.len() >= limits.max_depth => {
                return Err(bad("nested too deep".into()));
            }
            Event::Start(e) => {
                path.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                visit(Met::Open(&path));
                attributes(&e, &path, visit).map_err(bad)?;
                text.clear();
            }
            Event::Empty(e) => {
                path.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                visit(Met::Open(&path));
                attributes(&e, &path, visit).map_err(bad)?;
                path.pop();
            }
            Event::Text(t) => text.push_str(&t.decode().map_err(|e| bad(e.to_string()))?),
            Event::CData(t) => text.push_str(&t.decode().map_err(|e| bad(e.to_string()))?),
            Event::GeneralRef(r) => text.push_str(&resolve(&r).ok_or_else(|| bad("an entity reference".into()))?),
            Event::End(_) => {
                let value = text.trim();
                if !value.is_empty() {
                    visit(Met::Value(&path, value));
                }
                text.clear();
                path.pop();
            }
            Event::DocType(_) => return Err(bad("a DOCTYPE".into())),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof if !path.is_empty() => return Err(bad("it ends inside an element".into())),
            Event::Eof => return Ok(()),
        }
    }
}

fn attributes(
    e: &quick_xml::events::BytesStart<'_>,
    path: &[String],
    visit: &mut dyn FnMut(Met<'_>),
) -> Result<(), String> {
    for attribute in e.attributes() {
        let attribute = attribute.map_err(|e| e.to_string())?;
        if attribute.key.as_ref().starts_with(b"xmlns") {
            continue;
        }
        let key = String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned();
        let value = attribute.unescape_value().map_err(|e| e.to_string())?;
        visit(Met::Attribute(path, &key, &value));
    }
    Ok(())
}
