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

/// Every value in one fragment. A fragment is re-read under the same
/// rules as the dossier (no DTD, no entities, bounded depth).
fn rows_of(xml: &str) -> Result<Vec<Row>, OsoError> {
    let limits = Limits::default();
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut rows = Vec::new();
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
                attribute_rows(&e, &path, &mut rows).map_err(bad)?;
                text.clear();
            }
            Event::Empty(e) => {
                path.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                attribute_rows(&e, &path, &mut rows).map_err(bad)?;
                path.pop();
            }
            Event::Text(t) => text.push_str(&t.decode().map_err(|e| bad(e.to_string()))?),
            Event::CData(t) => text.push_str(&t.decode().map_err(|e| bad(e.to_string()))?),
            Event::GeneralRef(r) => text.push_str(&resolve(&r).ok_or_else(|| bad("an entity reference".into()))?),
            Event::End(_) => {
                let value = text.trim();
                if !value.is_empty() {
                    let shown = if path.last().is_some_and(|l| l == "bestandsinhoud") {
                        format!("(ZIP, base64, {} tekens)", value.len())
                    } else {
                        value.to_owned()
                    };
                    rows.push(Row {
                        label: path.join(" › "),
                        value: shown,
                    });
                }
                text.clear();
                path.pop();
            }
            Event::DocType(_) => return Err(bad("a DOCTYPE".into())),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof if !path.is_empty() => return Err(bad("it ends inside an element".into())),
            Event::Eof => return Ok(rows),
        }
    }
}

fn attribute_rows(e: &quick_xml::events::BytesStart<'_>, path: &[String], rows: &mut Vec<Row>) -> Result<(), String> {
    for attribute in e.attributes() {
        let attribute = attribute.map_err(|e| e.to_string())?;
        let key = String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned();
        if attribute.key.as_ref().starts_with(b"xmlns") {
            continue;
        }
        let value = attribute.unescape_value().map_err(|e| e.to_string())?;
        rows.push(Row {
            label: format!("{} ({key})", path.join(" › ")),
            value: value.into_owned(),
        });
    }
    Ok(())
}
