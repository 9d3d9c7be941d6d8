//! Writing released sections back as an OSO 2019.1 dossier: their
//! fragments in the source's document order, inside the containers they
//! came from, under the source's root. A category whose section the
//! source filled but that was not released is marked `OPT-UIT` in the
//! metadata (it was left out and the document says so, which keeps it
//! valid), unless it was `VERBODEN` or `OPT-UIT` already.

use std::collections::{BTreeMap, BTreeSet};

use doorstroom_domain::Section;
use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::Value;

use crate::names::qname_of;
use crate::summary::fragments_of;
use crate::{Category, Fragment, Limits, OsoError, parse};

/// An exported dossier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The document (UTF-8), checked by reading it back.
    pub xml: String,
    /// The sections whose fragments it holds.
    pub included: Vec<Section>,
    /// Released sections that did not come from an OSO dossier (a JSON
    /// section, e.g. remarks): not in the document.
    pub left_out: Vec<Section>,
}

fn section_error(section: Section, message: impl Into<String>) -> OsoError {
    OsoError::Section {
        section: section.to_string(),
        message: message.into(),
    }
}

/// Writes the OSO-sourced sections among `sections` back as one dossier.
/// `personal_data` must be among them: it holds the metadata a dossier
/// cannot be without.
pub fn export(sections: &BTreeMap<Section, Value>, limits: &Limits) -> Result<Exported, OsoError> {
    let mut root: Option<String> = None;
    let mut imported: BTreeSet<Section> = BTreeSet::new();
    let mut fragments: Vec<Fragment> = Vec::new();
    let (mut included, mut left_out) = (Vec::new(), Vec::new());
    for (section, content) in sections {
        let Some(list) = fragments_of(content) else {
            left_out.push(*section);
            continue;
        };
        let list = list.map_err(|e| section_error(*section, e.to_string()))?;
        if let Some(wrong) = list.iter().find(|f| f.category.section() != *section) {
            return Err(section_error(
                *section,
                format!(
                    "holds a fragment of {}, which belongs in another section",
                    wrong.category.tag()
                ),
            ));
        }
        let this_root = content
            .pointer("/oso/root")
            .and_then(Value::as_str)
            .ok_or_else(|| section_error(*section, "has no oso.root"))?;
        match &root {
            Some(r) if r != this_root => {
                return Err(section_error(
                    *section,
                    "came from another dossier than the other sections",
                ));
            }
            _ => root = Some(this_root.to_owned()),
        }
        let filled = content.pointer("/oso/sections").cloned().unwrap_or_default();
        let filled: Vec<Section> = serde_json::from_value(filled)
            .map_err(|_| section_error(*section, "its oso.sections is not a list of sections"))?;
        imported.extend(filled);
        included.push(*section);
        fragments.extend(list);
    }
    if !included.contains(&Section::PersonalData) {
        return Err(section_error(
            Section::PersonalData,
            "is not among the OSO sections, and an OSO dossier cannot be without its metadata",
        ));
    }
    let root = root.unwrap_or_default();
    check_shapes(&root, &fragments)?;
    fragments.sort_by_key(|f| f.order);
    if fragments.windows(2).any(|w| w[0].order == w[1].order) {
        return Err(section_error(
            Section::PersonalData,
            "two fragments claim the same place",
        ));
    }
    let left_out_categories: BTreeSet<Category> = Category::ALL
        .into_iter()
        .filter(|c| imported.contains(&c.section()) && !included.contains(&c.section()))
        .collect();
    let xml = write(&root, &fragments, &left_out_categories)?;
    // What is handed on must read back as a dossier under the same rules.
    let check = Limits {
        max_bytes: usize::MAX,
        ..*limits
    };
    parse(xml.as_bytes(), &check)?;
    Ok(Exported {
        xml,
        included,
        left_out,
    })
}

/// What the sender signed is still checked before it is handed on: the
/// root is one `dossier` start tag, each container one start tag of the
/// cut, each fragment exactly one element, of the category it claims.
fn check_shapes(root: &str, fragments: &[Fragment]) -> Result<(), OsoError> {
    let bad = |message: String| section_error(Section::PersonalData, message);
    if start_tag_local(root).as_deref() != Some("dossier") {
        return Err(bad("its oso.root is not a <dossier> start tag".into()));
    }
    for fragment in fragments {
        let mut within = Vec::new();
        for tag in &fragment.within {
            within.push(start_tag_local(tag).ok_or_else(|| bad("a fragment's container is not a start tag".into()))?);
        }
        let local = single_element(&fragment.xml)
            .ok_or_else(|| bad(format!("a fragment of {} is not one element", fragment.category.tag())))?;
        let within: Vec<&str> = within.iter().map(String::as_str).collect();
        if Category::at(&within, &local) != Some(fragment.category) {
            return Err(section_error(
                fragment.category.section(),
                format!("a fragment does not hold an element of {}", fragment.category.tag()),
            ));
        }
    }
    Ok(())
}

/// The local name of `tag` when it is exactly one start tag.
fn start_tag_local(tag: &str) -> Option<String> {
    let mut reader = Reader::from_str(tag);
    let local = match reader.read_event().ok()? {
        Event::Start(e) => String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
        _ => return None,
    };
    matches!(reader.read_event().ok()?, Event::Eof).then_some(local)
}

/// The local name of the one element `xml` is (nothing before or after
/// it, no DOCTYPE, every element closed).
fn single_element(xml: &str) -> Option<String> {
    let mut reader = Reader::from_str(xml);
    let mut depth = 0usize;
    let mut local = None;
    loop {
        let event = reader.read_event().ok()?;
        let at_top = depth == 0;
        match event {
            Event::Start(_) | Event::Empty(_) if at_top && local.is_some() => return None,
            Event::Start(e) => {
                if at_top {
                    local = Some(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                }
                depth += 1;
            }
            Event::Empty(e) if at_top => local = Some(String::from_utf8_lossy(e.local_name().as_ref()).into_owned()),
            Event::End(_) => depth = depth.checked_sub(1)?,
            Event::Text(t) if at_top && !t.decode().ok()?.trim().is_empty() => return None,
            Event::DocType(_) | Event::Decl(_) => return None,
            Event::GeneralRef(_) | Event::CData(_) if at_top => return None,
            Event::Eof => return (depth == 0).then_some(local).flatten(),
            _ => {}
        }
    }
}

/// The document: each line that opens or closes a container or starts a
/// fragment indented two spaces a level (a fragment's own inner lines are
/// as the source wrote them, which for the usual two-space layout lines up).
fn write(root: &str, fragments: &[Fragment], left_out: &BTreeSet<Category>) -> Result<String, OsoError> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(root);
    let line = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    let mut open: Vec<&str> = Vec::new();
    for fragment in fragments {
        let common = open
            .iter()
            .zip(&fragment.within)
            .take_while(|(a, b)| **a == b.as_str())
            .count();
        while open.len() > common {
            if let Some(tag) = open.pop() {
                line(&mut out, open.len() + 1);
                out.push_str(&format!("</{}>", qname_of(tag)));
            }
        }
        for tag in &fragment.within[common..] {
            line(&mut out, open.len() + 1);
            out.push_str(tag);
            open.push(tag);
        }
        line(&mut out, open.len() + 1);
        if fragment.category == Category::Metadata && !left_out.is_empty() {
            out.push_str(&mark_left_out(&fragment.xml, left_out)?);
        } else {
            out.push_str(&fragment.xml);
        }
    }
    while let Some(tag) = open.pop() {
        line(&mut out, open.len() + 1);
        out.push_str(&format!("</{}>", qname_of(tag)));
    }
    out.push_str(&format!("\n</{}>\n", qname_of(root)));
    Ok(out)
}

/// The metadata fragment with `OPT-UIT` for each category in `left_out`
/// that was `VERPLICHT` or `OPTIONEEL`; everything else as it was.
fn mark_left_out(xml: &str, left_out: &BTreeSet<Category>) -> Result<String, OsoError> {
    let mut reader = Reader::from_str(xml);
    let mut replace: Vec<(usize, usize)> = Vec::new();
    let mut current: Option<(Category, usize)> = None;
    let bad = |e: String| section_error(Section::PersonalData, format!("its metadata fragment: {e}"));
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        match reader.read_event().map_err(|e| bad(e.to_string()))? {
            Event::Start(e) => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let after = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
                current = Category::from_tag(&local)
                    .filter(|c| left_out.contains(c))
                    .map(|c| (c, after));
            }
            Event::End(_) => {
                if let Some((_, from)) = current.take() {
                    let value = xml.get(from..before).unwrap_or_default().trim();
                    if matches!(value, "VERPLICHT" | "OPTIONEEL") {
                        replace.push((from, before));
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut out = xml.to_owned();
    for (from, to) in replace.into_iter().rev() {
        out.replace_range(from..to, "OPT-UIT");
    }
    Ok(out)
}
