//! Identifiers and enumerations that are checked once, when they are parsed,
//! so that the rest of the code can rely on them ("parse, don't validate").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why a value could not be parsed. The message names the rule that failed
/// and is safe to show to a caller: it never echoes the value itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {rule}")]
pub struct ParseError {
    pub what: &'static str,
    pub rule: &'static str,
}

impl ParseError {
    pub const fn new(what: &'static str, rule: &'static str) -> Self {
        Self { what, rule }
    }
}

macro_rules! string_newtype_serde {
    ($ty:ident) => {
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                $ty::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::parse(s)
            }
        }
    };
}

/// A short human text (a name, a reference, a version): trimmed, 1 to 200
/// characters, no control characters.
pub fn short_text(what: &'static str, raw: &str) -> Result<String, ParseError> {
    let text = raw.trim();
    if text.is_empty() || text.chars().count() > 200 || text.chars().any(char::is_control) {
        return Err(ParseError::new(
            what,
            "must be 1 to 200 characters without control characters",
        ));
    }
    Ok(text.to_owned())
}

/// A BRIN number: the four-character code of a Dutch school, two digits then
/// two capital letters (e.g. `25LX`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Brin(String);

impl Brin {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let bytes = raw.as_bytes();
        let ok = bytes.len() == 4
            && bytes[..2].iter().all(u8::is_ascii_digit)
            && bytes[2..].iter().all(u8::is_ascii_uppercase);
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError::new(
                "brin",
                "must be two digits followed by two capital letters, e.g. 25LX",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_newtype_serde!(Brin);

/// An OIN (organisatie-identificatienummer): exactly 20 digits, as carried in
/// the subject serialNumber of a PKIoverheid certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Oin(String);

impl Oin {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.len() == 20 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError::new("oin", "must be exactly 20 digits"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_newtype_serde!(Oin);

/// SHA-256 of a certificate's SubjectPublicKeyInfo, as 64 lowercase hex digits.
/// Binding the key rather than the certificate lets an institution renew its
/// certificate for the same key without re-registering.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertFingerprint(String);

impl CertFingerprint {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let normalised: String = raw
            .chars()
            .filter(|c| *c != ':')
            .collect::<String>()
            .to_ascii_lowercase();
        if normalised.len() == 64 && normalised.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(normalised))
        } else {
            Err(ParseError::new(
                "fingerprint",
                "must be the SHA-256 of the SubjectPublicKeyInfo as 64 hex digits",
            ))
        }
    }
    /// From the 32 raw digest bytes.
    pub fn from_digest(digest: [u8; 32]) -> Self {
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_newtype_serde!(CertFingerprint);

/// The broker's keyed pseudonym of a national student number: HMAC-SHA-256
/// under the broker's secret, as 64 lowercase hex digits. The number itself
/// is never stored; the pseudonym links applications, consents and audit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pseudonym(String);

impl Pseudonym {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.len() == 64 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError::new("pseudonym", "must be 64 lowercase hex digits"))
        }
    }
    /// From the 32 bytes of an HMAC-SHA-256.
    pub fn from_digest(digest: [u8; 32]) -> Self {
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_newtype_serde!(Pseudonym);

/// The id of a staff account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StaffId(pub Uuid);

impl fmt::Display for StaffId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for StaffId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s)
            .map(StaffId)
            .map_err(|_| ParseError::new("staff_id", "must be a UUID"))
    }
}

/// Defines a closed enumeration with a stable snake_case wire and database
/// spelling, so that the same string is used in JSON, SQL and audit records.
macro_rules! wire_enum {
    ($(#[doc = $doc:literal])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The type's doc comment, one entry per line as written: the
            /// wire schema's description (`doorstroom_api::schema`) is made
            /// from it, so the two cannot drift apart.
            pub const DOC: &'static [&'static str] = &[$($doc),*];
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(raw: &str) -> Result<Self, $crate::ids::ParseError> {
                match raw {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::ids::ParseError::new($what, concat!("must be one of: " $(, $text, " ")+))),
                }
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result { f.write_str(self.as_str()) }
        }
        impl ::std::str::FromStr for $name {
            type Err = $crate::ids::ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> { $name::parse(s) }
        }
    };
}
pub(crate) use wire_enum;

wire_enum!(
    /// The education sector of an institution. vo, vso and pro send; mbo receives.
    Sector, "sector" { Vo => "vo", Vso => "vso", Pro => "pro", Mbo => "mbo" }
);

impl Sector {
    /// Sending side of the transfer (secondary education).
    pub const fn is_sending(self) -> bool {
        matches!(self, Sector::Vo | Sector::Vso | Sector::Pro)
    }
    /// Receiving side of the transfer (vocational education).
    pub const fn is_receiving(self) -> bool {
        matches!(self, Sector::Mbo)
    }
}

wire_enum!(
    /// Whether an institution may take part in exchanges. A suspended
    /// institution's certificates and tokens stop working at once.
    InstitutionStatus, "status" { Active => "active", Suspended => "suspended" }
);

wire_enum!(
    /// What a published JOSE key is for.
    KeyUse, "use" { Sig => "sig", Enc => "enc" }
);

wire_enum!(
    /// The life of a published key: active keys are used for new packages;
    /// retired keys still verify or decrypt what was made before their
    /// retirement; revoked keys are never trusted again.
    KeyStatus, "key_status" { Active => "active", Retired => "retired", Revoked => "revoked" }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brin_accepts_two_digits_two_capitals() {
        assert_eq!(Brin::parse("25LX").map(|b| b.to_string()), Ok("25LX".to_owned()));
        for bad in ["25lx", "2LXX", "25LX1", "", "25L", "AB12", "25 X"] {
            assert!(Brin::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn short_text_rules() {
        assert_eq!(short_text("name", "  ROC Noord "), Ok("ROC Noord".to_owned()));
        for bad in ["", "   ", "a\u{7}b", &"x".repeat(201)] {
            assert!(short_text("name", bad).is_err());
        }
        assert_eq!(
            short_text("name", "").map_err(|e| e.to_string()),
            Err("name: must be 1 to 200 characters without control characters".to_owned())
        );
    }

    #[test]
    fn oin_is_twenty_digits() {
        assert!(Oin::parse("00000001234567890000").is_ok());
        assert!(Oin::parse("0000000123456789000").is_err());
        assert!(Oin::parse("0000000123456789000a").is_err());
    }

    #[test]
    fn fingerprint_normalises_colons_and_case() {
        let upper = "AB:".repeat(31) + "AB";
        let fp = CertFingerprint::parse(&upper);
        assert_eq!(fp.map(|f| f.to_string()), Ok("ab".repeat(32)));
        assert!(CertFingerprint::parse("abcd").is_err());
        assert_eq!(CertFingerprint::from_digest([0xab; 32]).as_str(), "ab".repeat(32));
    }

    #[test]
    fn wire_enums_round_trip() {
        for s in Sector::ALL {
            assert_eq!(Sector::parse(s.as_str()), Ok(*s));
        }
        assert_eq!(KeyUse::parse("sig"), Ok(KeyUse::Sig));
        assert!(Sector::parse("hbo").is_err());
        let json = serde_json::to_string(&Sector::Mbo).unwrap_or_default();
        assert_eq!(json, "\"mbo\"");
    }
}
