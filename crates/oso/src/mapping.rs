//! From a parsed dossier to our sections: the category rules of the
//! agreement (`VERBODEN` with data refused, `OPT-UIT` must be empty), then
//! each section's JSON carrying its verbatim fragments and a summary.

use std::collections::{BTreeMap, BTreeSet};

use doorstroom_domain::Section;
use serde_json::{Value, json};

use crate::names::local_of;
use crate::summary::{student_name, summarize};
use crate::{Category, Delivery, Dossier, Fragment, OSO_FORMAT, OsoError};

/// A dossier mapped to our sections.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// Each section that has data, as the package carries it.
    pub sections: BTreeMap<Section, Value>,
    /// What the sender should know (categories opted out, or required but
    /// empty); no values of the dossier.
    pub notes: Vec<String>,
}

/// Maps `dossier` to our sections (see the crate's documentation).
pub fn to_sections(dossier: &Dossier) -> Result<Mapped, OsoError> {
    check_categories(dossier)?;
    let mut notes = Vec::new();
    for category in Category::ALL {
        let has_data = dossier.fragments.iter().any(|f| f.category == category);
        match dossier.delivery.get(&category) {
            Some(Delivery::OptUit) => notes.push(format!(
                "{} ({}) is OPT-UIT: it is empty and stays out",
                category.tag(),
                category.title()
            )),
            Some(Delivery::Verplicht) if !has_data => notes.push(format!(
                "{} ({}) is VERPLICHT but the dossier has no data for it",
                category.tag(),
                category.title()
            )),
            _ => {}
        }
    }
    let mut by_section: BTreeMap<Section, Vec<Fragment>> = BTreeMap::new();
    for fragment in &dossier.fragments {
        by_section
            .entry(fragment.category.section())
            .or_default()
            .push(fragment.clone());
    }
    let imported: Vec<Section> = by_section.keys().copied().collect();
    let mut sections = BTreeMap::new();
    for (section, fragments) in &by_section {
        sections.insert(*section, section_content(dossier, &imported, *section, fragments)?);
    }
    Ok(Mapped { sections, notes })
}

/// `VERBODEN` with data is refused; `OPT-UIT` must be empty.
fn check_categories(dossier: &Dossier) -> Result<(), OsoError> {
    for fragment in &dossier.fragments {
        let category = fragment.category;
        let path = fragment_path(fragment);
        match dossier.delivery.get(&category) {
            Some(Delivery::Verboden) => {
                return Err(OsoError::Forbidden {
                    category: category.tag(),
                    line: fragment.line,
                    path,
                });
            }
            Some(Delivery::OptUit) => {
                return Err(OsoError::OptedOutWithData {
                    category: category.tag(),
                    line: fragment.line,
                    path,
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// `dossier/…/name` of a fragment, from its containers' start tags.
fn fragment_path(fragment: &Fragment) -> String {
    let mut path = vec!["dossier".to_owned()];
    path.extend(fragment.within.iter().map(|t| local_of(t).to_owned()));
    path.push(local_of(&fragment.xml).to_owned());
    path.join("/")
}

/// One section's content. `imported` (every section the dossier filled)
/// travels along so that an export can tell a section withheld from one
/// the dossier never had.
fn section_content(
    dossier: &Dossier,
    imported: &[Section],
    section: Section,
    fragments: &[Fragment],
) -> Result<Value, OsoError> {
    let delivery: BTreeMap<&str, &str> = dossier.delivery.iter().map(|(c, d)| (c.tag(), d.as_str())).collect();
    let summary = summarize(fragments)?;
    let mut content = json!({
        "format": OSO_FORMAT,
        "oso": {
            "root": dossier.root,
            "delivery": delivery,
            "sections": imported,
            "fragments": fragments,
        },
        "summary": summary,
    });
    if section == Section::PersonalData
        && let Some(name) = student_name(fragments)
    {
        content["name"] = name.into();
    }
    if section == Section::Attachments {
        content["files"] = Value::Array(files(dossier));
    }
    Ok(content)
}

/// The attached documents (`cat_bijlagedocs`) as the attachments section's
/// files: each the ZIP the agreement sends, under its own name plus `.zip`
/// (the desk and `pull` hand it out as it came).
fn files(dossier: &Dossier) -> Vec<Value> {
    let mut names = BTreeSet::new();
    // The next number to try per name, so that many documents of one name
    // do not each try every number before theirs.
    let mut next: BTreeMap<String, usize> = BTreeMap::new();
    dossier
        .documents
        .iter()
        .filter(|d| d.category == Category::Bijlagedocs)
        .map(|d| {
            let base: String = d
                .filename
                .chars()
                .filter(|c| !c.is_control() && !matches!(c, '/' | '\\'))
                .collect();
            let base = base.trim_start_matches('.');
            let mut name = format!("{base}.zip");
            let n = next.entry(base.to_owned()).or_insert(2);
            while !names.insert(name.clone()) {
                name = format!("{base} ({n}).zip");
                *n += 1;
            }
            json!({
                "filename": name,
                "media_type": "application/zip",
                "description": d.description,
                "data": d.data,
            })
        })
        .collect()
}
