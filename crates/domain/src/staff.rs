//! Staff account values.

use serde::{Deserialize, Serialize};

use crate::ids::ParseError;

/// A login name: 3 to 64 characters from `a-z 0-9 . _ @ -`, stored lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let lower = raw.trim().to_ascii_lowercase();
        let ok = (3..=64).contains(&lower.len())
            && lower
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._@-".contains(&b));
        if ok {
            Ok(Self(lower))
        } else {
            Err(ParseError::new(
                "username",
                "must be 3 to 64 characters of a-z, 0-9, '.', '_', '@' or '-'",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Username {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Username::parse(s)
    }
}

impl Serialize for Username {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}
impl<'de> Deserialize<'de> for Username {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Username::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A new password as chosen by a person: at least 12 and at most 256
/// characters (NIST SP 800-63B: length over composition rules). Its Debug
/// output is redacted so that it can never reach a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let chars = raw.chars().count();
        if (12..=256).contains(&chars) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError::new("password", "must be 12 to 256 characters long"))
        }
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Password::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

crate::ids::wire_enum!(
    /// Whether a staff account may log in.
    StaffStatus, "staff_status" { Active => "active", Deactivated => "deactivated" }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_rules() {
        assert_eq!(
            Username::parse(" Jan.De-Vries ").map(|u| u.as_str().to_owned()),
            Ok("jan.de-vries".to_owned())
        );
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("jan de vries").is_err());
    }

    #[test]
    fn password_is_redacted_and_length_checked() {
        assert!(Password::parse("short").is_err());
        let p = Password::parse("correct horse battery").map(|p| format!("{p:?}"));
        assert_eq!(p, Ok("Password(***)".to_owned()));
    }
}
