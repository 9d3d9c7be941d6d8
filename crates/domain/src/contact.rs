//! The contact for the warm handover (*warme overdracht*): the person at a
//! vo school an mbo intaker calls about a student's dossier before the
//! intake conversation — typically the zorgcoördinator or the decaan. One
//! per institution, set by its own admin, read by every school in the
//! exchange. It names a member of staff in their professional role, never
//! a student.

use serde::{Deserialize, Serialize};

use crate::ids::{ParseError, short_text};

/// A handover contact as given (the wire form, and as stored);
/// [`HandoverContact::parse`] checks it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawContact {
    pub name: String,
    pub role: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A checked handover contact: a name, and at least one way to reach them.
/// Stored as JSON and read back through [`HandoverContact::parse`], so
/// there is no way to one but the checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandoverContact {
    name: String,
    role: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

/// What is wrong with a contact, and with which field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactError {
    /// The field, as a JSON pointer below the contact (`/name`, `/email`…).
    pub field: &'static str,
    pub error: ParseError,
}

impl std::fmt::Display for ContactError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)
    }
}

fn optional(
    field: &'static str,
    raw: Option<&str>,
    check: fn(&str) -> Result<String, ParseError>,
) -> Result<Option<String>, ContactError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(text) => check(text).map(Some).map_err(|error| ContactError { field, error }),
    }
}

/// An e-mail address as people type it: one `@` with something on both
/// sides, a dot in the domain, no spaces, at most 254 characters (RFC
/// 5321's limit). Deliverability is the school's to check, not ours.
fn email(raw: &str) -> Result<String, ParseError> {
    let bad = || ParseError::new("email", "must be an e-mail address such as naam@school.nl");
    let (local, domain) = raw.split_once('@').ok_or_else(bad)?;
    let fine = raw.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !raw.chars().any(|c| c.is_whitespace() || c.is_control());
    if fine { Ok(raw.to_owned()) } else { Err(bad()) }
}

/// A phone number as people write it: digits, spaces, `+ - ( )`, with 6 to
/// 20 digits.
fn phone(raw: &str) -> Result<String, ParseError> {
    let digits = raw.chars().filter(char::is_ascii_digit).count();
    let allowed = raw.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
    if allowed && (6..=20).contains(&digits) {
        Ok(raw.to_owned())
    } else {
        Err(ParseError::new(
            "phone",
            "must be a phone number: digits, spaces and + - ( ), 6 to 20 digits",
        ))
    }
}

impl HandoverContact {
    pub fn parse(raw: &RawContact) -> Result<HandoverContact, ContactError> {
        let name = short_text("name", &raw.name).map_err(|error| ContactError { field: "/name", error })?;
        let role = optional("/role", raw.role.as_deref(), |t| short_text("role", t))?;
        let email = optional("/email", raw.email.as_deref(), email)?;
        let phone = optional("/phone", raw.phone.as_deref(), phone)?;
        if email.is_none() && phone.is_none() {
            return Err(ContactError {
                field: "/email",
                error: ParseError::new("contact", "needs an e-mail address or a phone number"),
            });
        }
        Ok(HandoverContact {
            name,
            role,
            email,
            phone,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn role(&self) -> Option<&str> {
        self.role.as_deref()
    }

    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    pub fn phone(&self) -> Option<&str> {
        self.phone.as_deref()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn raw(name: &str, email: Option<&str>, phone: Option<&str>) -> RawContact {
        RawContact {
            name: name.into(),
            role: Some(" zorgcoördinator ".into()),
            email: email.map(Into::into),
            phone: phone.map(Into::into),
        }
    }

    #[test]
    fn a_contact_has_a_name_and_a_way_to_reach_them() {
        let ok = HandoverContact::parse(&raw(" J. de Boer ", Some("j.deboer@school.nl"), None)).unwrap();
        assert_eq!(
            (ok.name(), ok.role(), ok.email(), ok.phone()),
            ("J. de Boer", Some("zorgcoördinator"), Some("j.deboer@school.nl"), None)
        );
        assert!(HandoverContact::parse(&raw("J", None, Some("+31 (0)30-123 45 67"))).is_ok());
        let unreachable = HandoverContact::parse(&raw("J", None, Some("  "))).unwrap_err();
        assert_eq!(unreachable.field, "/email");
    }

    #[test]
    fn each_field_is_checked() {
        for (contact, field) in [
            (raw("", Some("a@b.nl"), None), "/name"),
            (raw("a\u{7}b", Some("a@b.nl"), None), "/name"),
            (raw(&"x".repeat(201), Some("a@b.nl"), None), "/name"),
            (raw("J", Some("no-at-sign"), None), "/email"),
            (raw("J", Some("a@b@c.nl"), None), "/email"),
            (raw("J", Some("a b@c.nl"), None), "/email"),
            (raw("J", Some("a@localhost"), None), "/email"),
            (raw("J", Some("@c.nl"), None), "/email"),
            (raw("J", None, Some("12345")), "/phone"),
            (raw("J", None, Some("030 1234567 ext")), "/phone"),
        ] {
            assert_eq!(
                HandoverContact::parse(&contact).unwrap_err().field,
                field,
                "{contact:?}"
            );
        }
    }
}
