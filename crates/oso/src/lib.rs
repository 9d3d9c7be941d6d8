//! OSO gegevensset dossiers (Edustandaard, agreement 2019.1): the national
//! XML format in which Dutch school administration systems export a
//! transfer dossier, read at the vo side and written back at the mbo side.
//!
//! - [`parse`] reads a dossier under [`Limits`]: no DTD (a `<!DOCTYPE` is
//!   refused, so no entity can ever be defined or expanded), only the five
//!   predefined entities and character references, bounded size and depth;
//!   errors give the line and the element path. Only version 2019.1 is
//!   read; another is refused naming the version found.
//! - [`to_sections`] maps its categories to our sections (the table in
//!   `openapi/PACKAGE-FORMAT.md`): a category marked `VERBODEN` that
//!   carries data is refused, an `OPT-UIT` one must be empty; each section
//!   carries the verbatim OSO fragments it came from (so nothing of the
//!   source is lost) and a readable summary.
//! - [`export`] writes the released sections back as an OSO 2019.1
//!   document, its fragments in the source's document order; [`canonical`]
//!   is what "equivalent document" means in the round-trip tests.
//!
//! No I/O, no network: bytes in, values out. Messages name lines, element
//! paths and rules, never a value of the dossier.

mod canon;
mod category;
mod export;
mod mapping;
mod names;
mod parse;
mod summary;

pub use canon::canonical;
pub use category::{Category, Delivery};
pub use export::{Exported, export};
pub use mapping::{Mapped, to_sections};
pub use names::allowed_file_type;
pub use parse::{Document, Dossier, Fragment, Inzage, StudentId, parse};
pub use summary::{EmbeddedDocument, Group, Row, documents_in, fragments_of, student_name, summarize};

/// The namespace of a 2019 OSO dossier.
pub const NAMESPACE: &str = "http://www.edustandaard.nl/oso_gegevensset/2019/dossier";
/// The `format` member of a section that came from an OSO dossier.
pub const OSO_FORMAT: &str = "oso-gegevensset/2019.1";
/// The only agreement version read and written.
pub const VERSION: &str = "2019.1";

/// Bounds on what is read: a file larger, nested deeper, or holding a
/// larger document is refused before any of it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The whole file, in bytes.
    pub max_bytes: usize,
    /// Element nesting (the root is depth 1).
    pub max_depth: usize,
    /// One attached document (`bestandsinhoud`), decoded, in bytes.
    pub max_document_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 20 * 1024 * 1024,
            max_depth: 64,
            max_document_bytes: 10 * 1024 * 1024,
        }
    }
}

/// Why a dossier (or a section holding OSO fragments) was refused. No
/// variant carries a value of the dossier: only lines, element paths,
/// category names and rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OsoError {
    #[error("the file is {size} bytes; an OSO dossier is read up to {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("line {line}, at /{path}: {message}")]
    Malformed { line: usize, path: String, message: String },
    #[error("this is OSO gegevensset version {found}; only version 2019.1 is read")]
    Version { found: String },
    #[error("category {category} is VERBODEN, but the dossier carries data for it (line {line}, at /{path})")]
    Forbidden {
        category: &'static str,
        line: usize,
        path: String,
    },
    #[error(
        "category {category} is OPT-UIT and must be empty, but the dossier carries data for it (line {line}, at /{path})"
    )]
    OptedOutWithData {
        category: &'static str,
        line: usize,
        path: String,
    },
    #[error(
        "line {line}, at /{path}: a document of type {extension:?} is not allowed; the OSO agreement allows \
         PDF, JPG, PNG, DOC, DOCX, ODF, XLS, XLSX, TXT, PPT and PPTX"
    )]
    FileType {
        line: usize,
        path: String,
        extension: String,
    },
    #[error("line {line}, at /{path}: the document is {size} bytes; at most {limit} are taken")]
    DocumentTooLarge {
        line: usize,
        path: String,
        size: usize,
        limit: usize,
    },
    #[error("section {section}: {message}")]
    Section { section: String, message: String },
}
