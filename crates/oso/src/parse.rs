//! Reading an OSO dossier: one streaming pass over the bytes that checks
//! the bounds, keeps each category's elements as verbatim fragments, and
//! picks out the few values the mapping needs.
//!
//! The dossier's tree is cut at four levels: the root (`dossier`),
//! `huidigeschool`, `leerling` and `onderwijsondersteuning` hold elements
//! of more than one category, so their children are the fragments (with
//! the start tags of the containers they sit in); every other element is
//! kept whole, exactly as the source wrote it.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::NaiveDate;
use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};
use serde::{Deserialize, Serialize};

use crate::names::{allowed_file_type, resolve};
use crate::{Category, Delivery, Limits, NAMESPACE, OsoError, VERSION};

/// A category's element, verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fragment {
    pub category: Category,
    /// The start tags of the containers below the root it sits in (e.g.
    /// `<huidigeschool>`, `<leerling>`), as the source wrote them.
    pub within: Vec<String>,
    /// Its position among the dossier's fragments, in document order.
    pub order: usize,
    /// The element, from `<` to its end tag, as the source wrote it.
    pub xml: String,
    /// The line it starts on in the source (for messages; not kept).
    #[serde(skip)]
    pub line: usize,
}

/// The parents' inspection (`<inzage>`), as the school recorded it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inzage {
    /// `voorlopigdossier`: the dossier is provisional.
    pub provisional: Option<bool>,
    /// `inzage`: the parents (or student) saw the dossier.
    pub inspected: Option<bool>,
    /// `inzagedatum`.
    pub date: Option<NaiveDate>,
    /// `akkoord` (code list 37: Ja, Nee, Onbekend).
    pub agreed: Option<String>,
    /// `redennietakkoord`: why they did not agree.
    pub reason: Option<String>,
    /// `toestemming` (code list 37). Not taken as consent for our
    /// optional sections: the school records that per mbo and section.
    pub consent: Option<String>,
}

/// The student's national number as the dossier gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StudentId {
    Bsn(String),
    Onderwijsnummer(String),
}

/// An attached document (`<document>`: `bestandsnaam`, `omschrijving`,
/// `bestandsinhoud`, a base64 ZIP), wherever it sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub category: Category,
    pub filename: String,
    pub description: String,
    /// The base64 text, whitespace removed.
    pub data: String,
    /// Decoded size in bytes.
    pub size: usize,
    pub line: usize,
    pub path: String,
}

/// A parsed OSO 2019.1 dossier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dossier {
    /// The root's start tag, verbatim (its namespace declarations).
    pub root: String,
    pub version: String,
    /// `categorie_uitlevering`; every category `OPTIONEEL` when the
    /// dossier has none (the element is optional in the schema).
    pub delivery: BTreeMap<Category, Delivery>,
    pub inzage: Option<Inzage>,
    pub student: Option<StudentId>,
    pub fragments: Vec<Fragment>,
    pub documents: Vec<Document>,
}

/// Reads `bytes` as an OSO 2019.1 dossier within `limits`.
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Dossier, OsoError> {
    if bytes.len() > limits.max_bytes {
        return Err(OsoError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let input = std::str::from_utf8(bytes).map_err(|e| OsoError::Malformed {
        line: line_of(&bytes[..e.valid_up_to()]),
        path: String::new(),
        message: "not UTF-8 (OSO dossiers are UTF-8)".into(),
    })?;
    let input = input.strip_prefix('\u{feff}').unwrap_or(input);
    let mut parser = Parser::new(input, *limits);
    parser.run()?;
    parser.finish()
}

fn line_of(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| **b == b'\n').count() + 1
}

/// What an open element is to the cut.
#[derive(Debug, Clone)]
enum Role {
    Root,
    /// A container whose children are fragments; kept whole as a fragment
    /// of `empty_as` when it has none.
    Split {
        empty_as: Category,
        produced: usize,
    },
    Fragment(Category),
    Inner,
}

struct Open {
    local: String,
    raw: String,
    role: Role,
    start: usize,
    /// The line it starts on, counted when it opens (in document order, so
    /// the count goes on from the last); only for what can become a
    /// fragment.
    line: usize,
}

#[derive(Default)]
struct DocumentParts {
    line: usize,
    path: String,
    filename: String,
    description: String,
    data: String,
}

struct Parser<'a> {
    input: &'a str,
    limits: Limits,
    reader: Reader<&'a [u8]>,
    stack: Vec<Open>,
    text: String,
    root: Option<String>,
    root_done: bool,
    foreign_namespace: Option<String>,
    version: Option<String>,
    delivery: BTreeMap<Category, Delivery>,
    saw_delivery: bool,
    inzage: Option<Inzage>,
    student: Option<StudentId>,
    fragments: Vec<Fragment>,
    documents: Vec<Document>,
    document: Option<DocumentParts>,
    seen: Vec<&'static str>,
    /// The last offset whose line was counted, and its line.
    last_line: std::cell::Cell<(usize, usize)>,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str, limits: Limits) -> Self {
        let mut reader = Reader::from_str(input);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        config.expand_empty_elements = false;
        Parser {
            input,
            limits,
            reader,
            stack: Vec::new(),
            text: String::new(),
            root: None,
            root_done: false,
            foreign_namespace: None,
            version: None,
            delivery: BTreeMap::new(),
            saw_delivery: false,
            inzage: None,
            student: None,
            fragments: Vec::new(),
            documents: Vec::new(),
            document: None,
            seen: Vec::new(),
            last_line: std::cell::Cell::new((0, 1)),
        }
    }

    fn path(&self) -> String {
        self.stack
            .iter()
            .map(|o| o.local.as_str())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The line of `offset`, counted on from the last offset asked when it
    /// lies further on (elements are asked as they open, in document
    /// order): a file of many elements costs one pass, not one per element.
    fn line_at(&self, offset: usize) -> usize {
        let offset = offset.min(self.input.len());
        let (from, line) = match self.last_line.get() {
            (at, line) if at <= offset => (at, line),
            _ => (0, 1),
        };
        let line = line + line_of(&self.input.as_bytes()[from..offset]) - 1;
        self.last_line.set((offset, line));
        line
    }

    fn error_at(&self, offset: usize, message: impl Into<String>) -> OsoError {
        OsoError::Malformed {
            line: self.line_at(offset),
            path: self.path(),
            message: message.into(),
        }
    }

    fn position(&self) -> usize {
        usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX)
    }

    fn run(&mut self) -> Result<(), OsoError> {
        loop {
            let before = self.position();
            let event = self.reader.read_event().map_err(|e| {
                let at = usize::try_from(self.reader.error_position()).unwrap_or(before);
                self.error_at(at, format!("not well-formed XML: {e}"))
            })?;
            match event {
                Event::Start(e) => self.open(&e, before)?,
                Event::Empty(e) => {
                    self.open(&e, before)?;
                    self.close(before)?;
                }
                Event::End(_) => self.close(before)?,
                Event::Text(t) => {
                    let text = t.decode().map_err(|e| self.error_at(before, format!("text: {e}")))?;
                    self.add_text(&text, before)?;
                }
                Event::CData(t) => {
                    let text = t.decode().map_err(|e| self.error_at(before, format!("CDATA: {e}")))?;
                    self.add_text(&text, before)?;
                }
                Event::GeneralRef(r) => {
                    let resolved = self.reference(&r, before)?;
                    self.add_text(&resolved, before)?;
                }
                Event::DocType(_) => {
                    return Err(self.error_at(
                        before,
                        "a DOCTYPE is refused: OSO dossiers need no DTD, and no entity is ever expanded",
                    ));
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                Event::Eof => {
                    if !self.stack.is_empty() {
                        return Err(self.error_at(before, "the file ends inside an element"));
                    }
                    return Ok(());
                }
            }
        }
    }

    /// The five predefined entities and character references; anything
    /// else would need a DTD, which is refused.
    fn reference(&self, r: &BytesRef<'_>, at: usize) -> Result<String, OsoError> {
        resolve(r).ok_or_else(|| {
            self.error_at(
                at,
                "an entity reference other than the five predefined ones or a valid character reference is \
                 refused (no DTD, no entities)",
            )
        })
    }

    fn add_text(&mut self, text: &str, at: usize) -> Result<(), OsoError> {
        match self.stack.last().map(|o| &o.role) {
            Some(Role::Fragment(_) | Role::Inner) => {
                self.text.push_str(text);
                Ok(())
            }
            _ if text.trim().is_empty() => Ok(()),
            _ => Err(self.error_at(at, "text where the agreement has only elements")),
        }
    }

    fn open(&mut self, e: &BytesStart<'_>, start: usize) -> Result<(), OsoError> {
        let raw = self.input[start..self.position()].to_owned();
        let qname = String::from_utf8_lossy(e.name().as_ref()).into_owned();
        let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
        if self.stack.len() >= self.limits.max_depth {
            return Err(self.error_at(
                start,
                format!(
                    "elements nested deeper than {} levels are refused",
                    self.limits.max_depth
                ),
            ));
        }
        let mut namespace = None;
        for attribute in e.attributes() {
            let attribute = attribute.map_err(|err| self.error_at(start, format!("attribute: {err}")))?;
            let value = attribute
                .unescape_value()
                .map_err(|err| self.error_at(start, format!("attribute value: {err}")))?;
            let key = attribute.key.as_ref();
            let prefix = qname.split_once(':').map(|(p, _)| p);
            let declares = match prefix {
                Some(p) => key.strip_prefix(b"xmlns:") == Some(p.as_bytes()),
                None => key == b"xmlns",
            };
            if declares {
                namespace = Some(value.into_owned());
            }
        }
        let role = self.role_of(&local, start)?;
        if matches!(role, Role::Root) {
            self.open_root(&local, namespace, &raw, start)?;
        }
        if local == "document" && matches!(role, Role::Inner) {
            self.document = Some(DocumentParts {
                line: self.line_at(start),
                path: format!("{}/document", self.path()),
                ..DocumentParts::default()
            });
        }
        let line = match role {
            Role::Fragment(_) | Role::Split { .. } => self.line_at(start),
            Role::Root | Role::Inner => 0,
        };
        self.stack.push(Open {
            local,
            raw,
            role,
            start,
            line,
        });
        self.text.clear();
        Ok(())
    }

    fn open_root(&mut self, local: &str, namespace: Option<String>, raw: &str, start: usize) -> Result<(), OsoError> {
        if self.root_done {
            return Err(self.error_at(start, "a second root element"));
        }
        if local != "dossier" {
            return Err(self.error_at(start, "the root element must be an OSO <dossier>"));
        }
        if namespace.as_deref() != Some(NAMESPACE) {
            self.foreign_namespace = Some(namespace.unwrap_or_else(|| "(none)".into()));
        }
        self.root = Some(raw.to_owned());
        Ok(())
    }

    /// Where an element that opens under the current one sits in the cut.
    fn role_of(&mut self, local: &str, at: usize) -> Result<Role, OsoError> {
        let Some(parent) = self.stack.last() else {
            return Ok(Role::Root);
        };
        let (parent_role, parent_local) = (parent.role.clone(), parent.local.clone());
        let produced = self.fragments.len();
        let split = |empty_as| Role::Split { empty_as, produced };
        Ok(match (&parent_role, parent_local.as_str()) {
            (Role::Root, _) => {
                let (role, name) = match local {
                    "metadata" => (Role::Fragment(Category::Metadata), "metadata"),
                    "overdrachtsoort" => (Role::Fragment(Category::Metadata), "overdrachtsoort"),
                    "inzage" => (Role::Fragment(Category::Ouderinzage), "inzage"),
                    "huidigeschool" => (split(Category::School), "huidigeschool"),
                    _ => return Err(self.error_at(at, format!("<{local}> is not an element of an OSO dossier"))),
                };
                self.note_once(name, at)?;
                role
            }
            (Role::Split { .. }, "huidigeschool") if local == "leerling" => {
                self.note_once("leerling", at)?;
                split(Category::Leerling)
            }
            (Role::Split { .. }, "huidigeschool") => Role::Fragment(Category::School),
            (Role::Split { .. }, "leerling") => match Category::of_leerling_child(local) {
                Some(category) => Role::Fragment(category),
                None => split(Category::Onderwijsondersteuning),
            },
            (Role::Split { .. }, _) => Role::Fragment(Category::of_support_child(local)),
            (Role::Fragment(_) | Role::Inner, _) => Role::Inner,
        })
    }

    /// The dossier's blocks that occur once.
    fn note_once(&mut self, name: &'static str, at: usize) -> Result<(), OsoError> {
        if self.seen.contains(&name) {
            return Err(self.error_at(at, format!("<{name}> occurs more than once")));
        }
        self.seen.push(name);
        Ok(())
    }

    fn close(&mut self, before: usize) -> Result<(), OsoError> {
        let end = self.position();
        let path = self.path();
        let value = std::mem::take(&mut self.text).trim().to_owned();
        self.pick(&path, &value, before)?;
        let Some(open) = self.stack.pop() else {
            return Err(self.error_at(before, "an end tag without a start tag"));
        };
        let input = self.input;
        let whole = |category| Fragment {
            category,
            within: Vec::new(),
            order: 0,
            xml: input[open.start..end].to_owned(),
            line: open.line,
        };
        let fragment = match open.role {
            Role::Root => {
                self.root_done = true;
                None
            }
            Role::Split { empty_as, produced } if produced == self.fragments.len() => Some(whole(empty_as)),
            Role::Split { .. } | Role::Inner => None,
            Role::Fragment(category) => Some(whole(category)),
        };
        if let Some(mut fragment) = fragment {
            fragment.within = self.stack.iter().skip(1).map(|o| o.raw.clone()).collect();
            fragment.order = self.fragments.len();
            self.fragments.push(fragment);
        }
        Ok(())
    }

    /// The values the mapping needs, as their elements close.
    fn pick(&mut self, path: &str, value: &str, at: usize) -> Result<(), OsoError> {
        let (parent, local) = path.rsplit_once('/').unwrap_or(("", path));
        match parent {
            "dossier/metadata" if local == "standaardversie" => self.check_version(value),
            "dossier/metadata/categorie_uitlevering" => self.delivery_of(local, value, at),
            "dossier/inzage" => self.inzage_field(local, value, at),
            "dossier/huidigeschool/leerling" if local == "bsn" => {
                self.student = Some(StudentId::Bsn(value.to_owned()));
                Ok(())
            }
            "dossier/huidigeschool/leerling" if local == "onderwijsnummer" => {
                if self.student.is_none() {
                    self.student = Some(StudentId::Onderwijsnummer(value.to_owned()));
                }
                Ok(())
            }
            _ if parent.ends_with("/document") => {
                if let Some(parts) = self.document.as_mut() {
                    match local {
                        "bestandsnaam" => parts.filename = value.to_owned(),
                        "omschrijving" => parts.description = value.to_owned(),
                        "bestandsinhoud" => parts.data = value.split_whitespace().collect(),
                        _ => {}
                    }
                }
                Ok(())
            }
            _ if local == "document" && self.document.is_some() => self.finish_document(),
            _ => Ok(()),
        }
    }

    /// The version: refused at once when it is not 2019.1, naming it.
    fn check_version(&mut self, value: &str) -> Result<(), OsoError> {
        if value != VERSION {
            return Err(OsoError::Version {
                found: value.chars().filter(|c| !c.is_control()).take(40).collect(),
            });
        }
        self.version = Some(value.to_owned());
        Ok(())
    }

    fn delivery_of(&mut self, local: &str, value: &str, at: usize) -> Result<(), OsoError> {
        self.saw_delivery = true;
        let category = Category::from_tag(local)
            .ok_or_else(|| self.error_at(at, format!("<{local}> is not a category of OSO 2019.1")))?;
        let delivery = Delivery::parse(value).ok_or_else(|| {
            self.error_at(
                at,
                "not a value of code list 48 (VERPLICHT, OPTIONEEL, OPT-UIT, VERBODEN)",
            )
        })?;
        if self.delivery.insert(category, delivery).is_some() {
            return Err(self.error_at(at, format!("<{local}> occurs more than once")));
        }
        Ok(())
    }

    fn inzage_field(&mut self, local: &str, value: &str, at: usize) -> Result<(), OsoError> {
        let boolean = |this: &Self| match value {
            "true" | "1" => Ok(Some(true)),
            "false" | "0" => Ok(Some(false)),
            _ => Err(this.error_at(at, "not a boolean (true or false)")),
        };
        let code_37 = |this: &Self| match value {
            "Ja" | "Nee" | "Onbekend" => Ok(Some(value.to_owned())),
            _ => Err(this.error_at(at, "not a value of code list 37 (Ja, Nee, Onbekend)")),
        };
        let mut inzage = self.inzage.take().unwrap_or_default();
        match local {
            "voorlopigdossier" => inzage.provisional = boolean(self)?,
            "inzage" => inzage.inspected = boolean(self)?,
            "inzagedatum" => {
                let date = NaiveDate::parse_from_str(value, "%Y-%m-%d")
                    .map_err(|_| self.error_at(at, "not a date (YYYY-MM-DD)"))?;
                inzage.date = Some(date);
            }
            "akkoord" => inzage.agreed = code_37(self)?,
            "redennietakkoord" => inzage.reason = Some(value.to_owned()),
            "toestemming" => inzage.consent = code_37(self)?,
            _ => {}
        }
        self.inzage = Some(inzage);
        Ok(())
    }

    /// A document: a file type the agreement allows, base64 of a ZIP, and
    /// within the size bound.
    fn finish_document(&mut self) -> Result<(), OsoError> {
        let Some(parts) = self.document.take() else {
            return Ok(());
        };
        let category = self
            .stack
            .iter()
            .find_map(|o| match o.role {
                Role::Fragment(c) => Some(c),
                _ => None,
            })
            .unwrap_or(Category::Leerling);
        let extension = parts
            .filename
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        if !allowed_file_type(&parts.filename) {
            return Err(OsoError::FileType {
                line: parts.line,
                path: parts.path,
                extension: extension
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .take(10)
                    .collect(),
            });
        }
        let estimate = parts.data.len() / 4 * 3;
        let too_large = |size| OsoError::DocumentTooLarge {
            line: parts.line,
            path: parts.path.clone(),
            size,
            limit: self.limits.max_document_bytes,
        };
        if estimate > self.limits.max_document_bytes + 2 {
            return Err(too_large(estimate));
        }
        let bytes = STANDARD.decode(&parts.data).map_err(|_| OsoError::Malformed {
            line: parts.line,
            path: parts.path.clone(),
            message: "bestandsinhoud is not base64".into(),
        })?;
        if bytes.len() > self.limits.max_document_bytes {
            return Err(too_large(bytes.len()));
        }
        if !(bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")) {
            return Err(OsoError::Malformed {
                line: parts.line,
                path: parts.path,
                message: "bestandsinhoud is not a ZIP archive (the agreement sends each document as a base64 ZIP)"
                    .into(),
            });
        }
        self.documents.push(Document {
            category,
            filename: parts.filename,
            description: parts.description,
            data: parts.data,
            size: bytes.len(),
            line: parts.line,
            path: parts.path,
        });
        Ok(())
    }

    fn finish(self) -> Result<Dossier, OsoError> {
        let missing = |what: &str| OsoError::Malformed {
            line: line_of(self.input.as_bytes()),
            path: "dossier".into(),
            message: format!("the dossier has no {what}"),
        };
        let version = self.version.clone().ok_or_else(|| match &self.foreign_namespace {
            Some(ns) => OsoError::Version {
                found: format!("of namespace {}", ns.chars().take(100).collect::<String>()),
            },
            None => missing("<metadata><standaardversie>"),
        })?;
        if let Some(ns) = &self.foreign_namespace {
            return Err(OsoError::Malformed {
                line: 1,
                path: "dossier".into(),
                message: format!(
                    "version 2019.1 in namespace {}, not {NAMESPACE}",
                    ns.chars().take(100).collect::<String>()
                ),
            });
        }
        for block in ["metadata", "overdrachtsoort", "huidigeschool", "leerling"] {
            if !self.seen.contains(&block) {
                return Err(missing(&format!("<{block}>")));
            }
        }
        let mut delivery = self.delivery.clone();
        if self.saw_delivery {
            if let Some(absent) = Category::ALL.into_iter().find(|c| !delivery.contains_key(c)) {
                return Err(missing(&format!("<{}> in <categorie_uitlevering>", absent.tag())));
            }
        } else {
            delivery = Category::ALL.into_iter().map(|c| (c, Delivery::Optioneel)).collect();
        }
        let root = self.root.clone().ok_or_else(|| missing("root element"))?;
        Ok(Dossier {
            root,
            version,
            delivery,
            inzage: self.inzage,
            student: self.student,
            fragments: self.fragments,
            documents: self.documents,
        })
    }
}
