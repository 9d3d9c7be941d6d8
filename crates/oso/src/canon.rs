//! What "equivalent document" means: the same elements with the same
//! attributes and values, in the same document order. Whitespace between
//! elements, comments, processing instructions, the XML declaration and
//! how a value was escaped (`&amp;`, a character reference, CDATA) are not
//! part of it; the order of attributes within a tag is not either.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::names::resolve;
use crate::{Limits, OsoError};

/// One line per element, in document order: its path of qualified names,
/// its attributes sorted, and its text (trimmed) when it holds no
/// elements. Two documents are equivalent when their lines are equal.
pub fn canonical(xml: &str) -> Result<Vec<String>, OsoError> {
    let limits = Limits::default();
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    // Per open element: the index of its line, and whether it has children.
    let mut open: Vec<(usize, bool)> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    let mut text = String::new();
    let bad = |message: String| OsoError::Malformed {
        line: 0,
        path: String::new(),
        message,
    };
    loop {
        match reader.read_event().map_err(|e| bad(e.to_string()))? {
            Event::Start(_) | Event::Empty(_) if open.len() >= limits.max_depth => {
                return Err(bad("nested too deep".into()));
            }
            Event::Start(e) => {
                if let Some(parent) = open.last_mut() {
                    parent.1 = true;
                }
                path.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                lines.push(format!("{}{}", path.join("/"), attributes(&e).map_err(bad)?));
                open.push((lines.len() - 1, false));
                text.clear();
            }
            Event::Empty(e) => {
                if let Some(parent) = open.last_mut() {
                    parent.1 = true;
                }
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                lines.push(format!("{}/{name}{}", path.join("/"), attributes(&e).map_err(bad)?));
            }
            Event::Text(t) => text.push_str(&t.decode().map_err(|e| bad(e.to_string()))?),
            Event::CData(t) => text.push_str(&t.decode().map_err(|e| bad(e.to_string()))?),
            Event::GeneralRef(r) => text.push_str(&resolve(&r).ok_or_else(|| bad("an entity reference".into()))?),
            Event::End(_) => {
                if let Some((index, has_children)) = open.pop() {
                    let value = text.trim();
                    if !has_children && !value.is_empty() {
                        lines[index].push_str(&format!(" = {value}"));
                    }
                }
                text.clear();
                path.pop();
            }
            Event::DocType(_) => return Err(bad("a DOCTYPE".into())),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof if !open.is_empty() => return Err(bad("the document ends inside an element".into())),
            Event::Eof => return Ok(lines),
        }
    }
}

fn attributes(e: &BytesStart<'_>) -> Result<String, String> {
    let mut list = Vec::new();
    for attribute in e.attributes() {
        let attribute = attribute.map_err(|e| e.to_string())?;
        let value = attribute.unescape_value().map_err(|e| e.to_string())?;
        list.push(format!("{}={value:?}", String::from_utf8_lossy(attribute.key.as_ref())));
    }
    list.sort();
    Ok(if list.is_empty() {
        String::new()
    } else {
        format!(" [{}]", list.join(" "))
    })
}
