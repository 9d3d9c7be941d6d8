//! Small pieces of XML and of the agreement that the other modules share:
//! names in a start tag, the predefined entities, the allowed file types.

/// The extensions of the file types the agreement allows for a document
/// (PDF, JPG, PNG, DOC, DOCX, ODF, XLS, XLSX, TXT, PPT, PPTX; "ODF" taken
/// as the OpenDocument family).
const ALLOWED_EXTENSIONS: &[&str] = &[
    "pdf", "jpg", "jpeg", "png", "doc", "docx", "odf", "odt", "ods", "odp", "xls", "xlsx", "txt", "ppt", "pptx",
];

/// Whether a document's file name has a type the agreement allows.
pub fn allowed_file_type(filename: &str) -> bool {
    filename.rsplit_once('.').is_some_and(|(stem, extension)| {
        !stem.is_empty() && ALLOWED_EXTENSIONS.contains(&extension.to_ascii_lowercase().as_str())
    })
}

/// The qualified name in a start tag (`<od:leerling a="b">` → `od:leerling`).
pub(crate) fn qname_of(tag: &str) -> &str {
    let rest = tag.trim_start().trim_start_matches('<');
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The local name in a start tag.
pub(crate) fn local_of(tag: &str) -> &str {
    let qname = qname_of(tag);
    qname.rsplit_once(':').map_or(qname, |(_, local)| local)
}

/// The five predefined entities and character references.
pub(crate) fn resolve(r: &quick_xml::events::BytesRef<'_>) -> Option<String> {
    if r.is_char_ref() {
        return r.resolve_char_ref().ok().flatten().map(String::from);
    }
    let name = r.decode().ok()?;
    Some(
        match name.as_ref() {
            "lt" => "<",
            "gt" => ">",
            "amp" => "&",
            "apos" => "'",
            "quot" => "\"",
            _ => return None,
        }
        .to_owned(),
    )
}
