//! The national student number, checked once when it is parsed and kept out
//! of every log line afterwards.
//!
//! A student in Dutch education has exactly one national number: the BSN
//! (burgerservicenummer), or, for a student without one, the onderwijsnummer
//! that DUO issues instead. Each has its own weighted check (the 11-proef):
//!
//! | kind              | form                      | check: `s = 9·d1 + 8·d2 + … + 2·d8 − 1·d9` |
//! |-------------------|---------------------------|---------------------------------------------|
//! | `bsn`             | 9 digits, not all zeros   | `s mod 11 == 0`                             |
//! | `onderwijsnummer` | 9 digits starting with 10 | `s mod 11 == 5`                             |
//!
//! (`mod` is the mathematical remainder, 0 ≤ r < 11, also when `s` is
//! negative.) The two sets are disjoint, so a number is never accepted as
//! both. Input is taken exactly as given: no spaces, dots or missing leading
//! zeros are repaired — the sending system must send the 9 digits.
//!
//! The broker must never store or log the number in plain text (design
//! brief: it keeps a keyed pseudonym). Therefore [`StudentNumber`]'s `Debug`
//! and `Display` print only the kind (`StudentNumber(bsn, ***)`), parse
//! errors name the rule but never echo the input, and the digits are reached
//! only through [`StudentNumber::pseudonym_input`] (for the HMAC) and the
//! wire form written by `Serialize` (for a client sending it over TLS).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{ParseError, wire_enum};

wire_enum!(
    /// Which kind of national student number.
    StudentNumberKind, "student_number" {
        /// Burgerservicenummer.
        Bsn => "bsn",
        /// Onderwijsnummer, issued by DUO to a student without a BSN.
        Onderwijsnummer => "onderwijsnummer",
    }
);

const WHAT: &str = "student_number";

/// A national student number (BSN or onderwijsnummer) that passed its own
/// 11-proef. See the [module documentation](self) for the rules.
///
/// Its wire form is `{"type": "bsn" | "onderwijsnummer", "number": "123456782"}`;
/// unknown fields are refused, and a number failing its rule fails
/// deserialization with a message such as
/// `student_number: bsn fails the 11-proef` (never with the number).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct StudentNumber {
    kind: StudentNumberKind,
    /// Exactly 9 ASCII digits.
    digits: String,
}

impl StudentNumber {
    /// A BSN: 9 digits, not all zeros, passing the 11-proef
    /// (`9·d1 + … + 2·d8 − d9 ≡ 0 (mod 11)`).
    pub fn bsn(raw: &str) -> Result<Self, ParseError> {
        let digits = nine_digits(raw).ok_or(ParseError::new(WHAT, "bsn must be exactly 9 digits"))?;
        if digits.iter().all(|d| *d == 0) {
            return Err(ParseError::new(WHAT, "bsn must not be all zeros"));
        }
        if eleven_remainder(&digits) != 0 {
            return Err(ParseError::new(WHAT, "bsn fails the 11-proef"));
        }
        Ok(Self {
            kind: StudentNumberKind::Bsn,
            digits: raw.to_owned(),
        })
    }

    /// An onderwijsnummer: 9 digits starting with `10`, whose 11-proef sum
    /// leaves remainder 5 (`9·d1 + … + 2·d8 − d9 ≡ 5 (mod 11)`).
    pub fn onderwijsnummer(raw: &str) -> Result<Self, ParseError> {
        let digits = nine_digits(raw).ok_or(ParseError::new(WHAT, "onderwijsnummer must be exactly 9 digits"))?;
        if !raw.starts_with("10") {
            return Err(ParseError::new(WHAT, "onderwijsnummer must start with 10"));
        }
        if eleven_remainder(&digits) != 5 {
            return Err(ParseError::new(
                WHAT,
                "onderwijsnummer fails its 11-proef (remainder must be 5)",
            ));
        }
        Ok(Self {
            kind: StudentNumberKind::Onderwijsnummer,
            digits: raw.to_owned(),
        })
    }

    /// A number of the given kind, checked by that kind's rule.
    pub fn parse(kind: StudentNumberKind, raw: &str) -> Result<Self, ParseError> {
        match kind {
            StudentNumberKind::Bsn => Self::bsn(raw),
            StudentNumberKind::Onderwijsnummer => Self::onderwijsnummer(raw),
        }
    }

    /// Which kind of number this is (safe to log).
    pub const fn kind(&self) -> StudentNumberKind {
        self.kind
    }

    /// The input for the broker's keyed pseudonym (HMAC under the broker's
    /// secret): the kind and the digits, e.g. `bsn:123456782`. The kind is
    /// part of it so that a BSN and an onderwijsnummer can never collide.
    ///
    /// **Only for the keyed pseudonym.** This is the one way to the digits in
    /// the broker: never log, store or return its result.
    pub fn pseudonym_input(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.digits)
    }
}

/// The 9 digits of `raw` as numbers, if it is exactly 9 ASCII digits.
fn nine_digits(raw: &str) -> Option<[u8; 9]> {
    let bytes: [u8; 9] = raw.as_bytes().try_into().ok()?;
    if bytes.iter().all(u8::is_ascii_digit) {
        Some(bytes.map(|b| b - b'0'))
    } else {
        None
    }
}

/// `(9·d1 + 8·d2 + … + 2·d8 − 1·d9) mod 11`, in `0..11`.
fn eleven_remainder(digits: &[u8; 9]) -> i32 {
    let sum: i32 = digits
        .iter()
        .zip([9, 8, 7, 6, 5, 4, 3, 2, -1])
        .map(|(d, w)| i32::from(*d) * w)
        .sum();
    sum.rem_euclid(11)
}

impl fmt::Debug for StudentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StudentNumber({}, ***)", self.kind)
    }
}

impl fmt::Display for StudentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:***", self.kind)
    }
}

/// The wire form. Writing it exposes the digits: it exists for a school
/// system's client sending the number to the broker over TLS.
impl Serialize for StudentNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = s.serialize_struct("StudentNumber", 2)?;
        st.serialize_field("type", self.kind.as_str())?;
        st.serialize_field("number", &self.digits)?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for StudentNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StudentNumberVisitor)
    }
}

/// Reads the wire form by hand, so that no error message — not even
/// serde's own for a wrong type or an unknown field — can quote the input.
struct StudentNumberVisitor;

fn refuse<T, E: serde::de::Error>(rule: &'static str) -> Result<T, E> {
    Err(E::custom(ParseError::new(WHAT, rule)))
}

const NOT_AN_OBJECT: &str = "must be an object with the fields type and number";

impl<'de> serde::de::Visitor<'de> for StudentNumberVisitor {
    type Value = StudentNumber;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with the fields type and number")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<StudentNumber, A::Error> {
        let mut kind: Option<Opaque> = None;
        let mut number: Option<Opaque> = None;
        while let Some(Opaque(key)) = map.next_key::<Opaque>()? {
            let slot = match key.as_str() {
                "type" => &mut kind,
                "number" => &mut number,
                _ => return refuse("unknown field; only type and number are allowed"),
            };
            if slot.is_some() {
                return refuse("type and number may each appear only once");
            }
            *slot = Some(map.next_value::<Opaque>()?);
        }
        let (Some(Opaque(kind)), Some(Opaque(number))) = (kind, number) else {
            return refuse("type and number are both required");
        };
        let Ok(kind) = StudentNumberKind::parse(&kind) else {
            return refuse("type must be bsn or onderwijsnummer");
        };
        StudentNumber::parse(kind, &number).map_err(serde::de::Error::custom)
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<StudentNumber, E> {
        refuse(NOT_AN_OBJECT)
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<StudentNumber, E> {
        refuse(NOT_AN_OBJECT)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<StudentNumber, E> {
        refuse(NOT_AN_OBJECT)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<StudentNumber, E> {
        refuse(NOT_AN_OBJECT)
    }
    fn visit_i128<E: serde::de::Error>(self, _: i128) -> Result<StudentNumber, E> {
        refuse(NOT_AN_OBJECT)
    }
    fn visit_u128<E: serde::de::Error>(self, _: u128) -> Result<StudentNumber, E> {
        refuse(NOT_AN_OBJECT)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<StudentNumber, E> {
        refuse(NOT_AN_OBJECT)
    }
    fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<StudentNumber, E> {
        refuse(NOT_AN_OBJECT)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<StudentNumber, E> {
        refuse(NOT_AN_OBJECT)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<StudentNumber, A::Error> {
        refuse(NOT_AN_OBJECT)
    }
}

/// A string whose deserialization errors never echo what was sent (serde's
/// default message for, say, a JSON number would quote the number). It asks
/// for any value, not for a string, because serde_json reports a number
/// where a string was asked for by itself, quoting it, without asking the
/// visitor.
struct Opaque(String);

impl<'de> Deserialize<'de> for Opaque {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OpaqueVisitor)
    }
}

struct OpaqueVisitor;

const NOT_A_STRING: &str = "type and number must be JSON strings";

impl<'de> serde::de::Visitor<'de> for OpaqueVisitor {
    type Value = Opaque;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Opaque, E> {
        Ok(Opaque(v.to_owned()))
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Opaque, E> {
        refuse(NOT_A_STRING)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Opaque, E> {
        refuse(NOT_A_STRING)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Opaque, E> {
        refuse(NOT_A_STRING)
    }
    fn visit_i128<E: serde::de::Error>(self, _: i128) -> Result<Opaque, E> {
        refuse(NOT_A_STRING)
    }
    fn visit_u128<E: serde::de::Error>(self, _: u128) -> Result<Opaque, E> {
        refuse(NOT_A_STRING)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Opaque, E> {
        refuse(NOT_A_STRING)
    }
    fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<Opaque, E> {
        refuse(NOT_A_STRING)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Opaque, E> {
        refuse(NOT_A_STRING)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<Opaque, A::Error> {
        refuse(NOT_A_STRING)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<Opaque, A::Error> {
        refuse(NOT_A_STRING)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reference implementation of the sum, written out term by term.
    fn sum(n: &str) -> i32 {
        let d: Vec<i32> = n.bytes().map(|b| i32::from(b - b'0')).collect();
        9 * d[0] + 8 * d[1] + 7 * d[2] + 6 * d[3] + 5 * d[4] + 4 * d[5] + 3 * d[6] + 2 * d[7] - d[8]
    }

    #[test]
    fn known_bsns() {
        // 9·1+8·2+7·3+6·4+5·5+4·6+3·7+2·8 − 2 = 154 = 14·11.
        assert!(StudentNumber::bsn("123456782").is_ok());
        assert!(StudentNumber::bsn("111222333").is_ok());
        assert!(StudentNumber::bsn("999999990").is_ok());
        assert_eq!(
            StudentNumber::bsn("123456789").map(|_| ()),
            Err(ParseError::new(WHAT, "bsn fails the 11-proef"))
        );
        assert_eq!(
            StudentNumber::bsn("000000000").map(|_| ()),
            Err(ParseError::new(WHAT, "bsn must not be all zeros"))
        );
        for bad in ["12345678", "1234567820", " 123456782", "12345678a", "１23456782", ""] {
            assert_eq!(
                StudentNumber::bsn(bad).map(|_| ()),
                Err(ParseError::new(WHAT, "bsn must be exactly 9 digits")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn known_onderwijsnummers() {
        // 9·1+8·0+7·0+6·0+5·0+4·0+3·0+2·0 − 4 = 5.
        assert!(StudentNumber::onderwijsnummer("100000004").is_ok());
        // 9+0+0+0+0+0+0+2·1 − 6 = 5.
        assert!(StudentNumber::onderwijsnummer("100000016").is_ok());
        assert_eq!(
            StudentNumber::onderwijsnummer("100000005").map(|_| ()),
            Err(ParseError::new(
                WHAT,
                "onderwijsnummer fails its 11-proef (remainder must be 5)"
            ))
        );
        // Passes the remainder-5 rule but does not start with 10: 9·2 − 2 = 16 ≡ 5.
        assert_eq!(sum("200000002").rem_euclid(11), 5);
        assert_eq!(
            StudentNumber::onderwijsnummer("200000002").map(|_| ()),
            Err(ParseError::new(WHAT, "onderwijsnummer must start with 10"))
        );
        // A valid BSN is never a valid onderwijsnummer, and the other way round.
        assert!(StudentNumber::onderwijsnummer("123456782").is_err());
        assert!(StudentNumber::bsn("100000004").is_err());
    }

    #[test]
    fn negative_sums_use_the_mathematical_remainder() {
        // 2·1 − 2 = 0: passes; −9 ≡ 2 (not −9 % 11 == −9): fails.
        assert_eq!(sum("000000012"), 0);
        assert!(StudentNumber::bsn("000000012").is_ok());
        assert_eq!(sum("000000009"), -9);
        assert!(StudentNumber::bsn("000000009").is_err());
        // −6 ≡ 5, but it does not start with 10.
        assert!(StudentNumber::onderwijsnummer("000000006").is_err());
    }

    #[test]
    fn debug_and_display_hide_the_number() {
        let bsn = StudentNumber::bsn("123456782").ok();
        assert_eq!(format!("{bsn:?}"), "Some(StudentNumber(bsn, ***))");
        let onr = StudentNumber::onderwijsnummer("100000004").ok();
        assert_eq!(onr.map(|n| n.to_string()), Some("onderwijsnummer:***".to_owned()));
    }

    #[test]
    fn pseudonym_input_carries_the_kind() {
        assert_eq!(
            StudentNumber::bsn("123456782").map(|n| n.pseudonym_input()),
            Ok("bsn:123456782".to_owned())
        );
        assert_eq!(
            StudentNumber::onderwijsnummer("100000004").map(|n| n.pseudonym_input()),
            Ok("onderwijsnummer:100000004".to_owned())
        );
    }

    #[test]
    fn serde_round_trip() {
        let json = r#"{"type":"bsn","number":"123456782"}"#;
        let n: Result<StudentNumber, _> = serde_json::from_str(json);
        let n = n.ok();
        assert_eq!(n.as_ref().map(StudentNumber::kind), Some(StudentNumberKind::Bsn));
        assert_eq!(n.and_then(|n| serde_json::to_string(&n).ok()).as_deref(), Some(json));
        let onr: Result<StudentNumber, _> = serde_json::from_str(r#"{"number":"100000004","type":"onderwijsnummer"}"#);
        assert_eq!(
            onr.map(|n| n.pseudonym_input()).ok().as_deref(),
            Some("onderwijsnummer:100000004")
        );
    }

    #[test]
    fn deserialization_errors_name_the_rule_and_never_the_number() {
        let cases = [
            (
                r#"{"type":"bsn","number":"123456789"}"#,
                "student_number: bsn fails the 11-proef",
            ),
            (
                r#"{"type":"onderwijsnummer","number":"123456782"}"#,
                "student_number: onderwijsnummer must start with 10",
            ),
            (r#"{"type":"bsn","number":123456789}"#, "must be JSON strings"),
            (r#"{"type":"bsn","number":123456789.0}"#, "must be JSON strings"),
            (r#"{"type":"bsn","number":-123456789}"#, "must be JSON strings"),
            (r#"{"type":"bsn","number":["123456789"]}"#, "must be JSON strings"),
            (r#"{"type":"bsn","number":{"n":"123456789"}}"#, "must be JSON strings"),
            (r#"{"type":123456789,"number":"123456782"}"#, "must be JSON strings"),
            (
                r#"{"type":"123456789","number":"123456789"}"#,
                "type must be bsn or onderwijsnummer",
            ),
            (r#"{"type":"bsn","number":"123456782","name":"x"}"#, "unknown field"),
            (r#"{"type":"bsn","123456789":"x"}"#, "unknown field"),
            (
                r#"{"type":"bsn","number":"123456782","number":"123456789"}"#,
                "only once",
            ),
            (r#"{"type":"bsn"}"#, "type and number are both required"),
            (r#""123456789""#, "must be an object"),
            (r#"123456789"#, "must be an object"),
            (r#"["bsn","123456789"]"#, "must be an object"),
        ];
        for (json, want) in cases {
            let err = serde_json::from_str::<StudentNumber>(json).map(|_| ()).err();
            let msg = err.map(|e| e.to_string()).unwrap_or_default();
            assert!(msg.contains(want), "{json}: {msg}");
            assert!(!msg.contains("12345678"), "{json} echoes the number: {msg}");
        }
    }

    proptest! {
        #[test]
        fn every_nine_digit_string_is_judged_by_its_rule(n in "[0-9]{9}") {
            let r = sum(&n).rem_euclid(11);
            let bsn_ok = r == 0 && n != "000000000";
            prop_assert_eq!(StudentNumber::bsn(&n).is_ok(), bsn_ok);
            let onr_ok = r == 5 && n.starts_with("10");
            prop_assert_eq!(StudentNumber::onderwijsnummer(&n).is_ok(), onr_ok);
        }

        #[test]
        fn passing_onderwijsnummers_are_accepted(rest in "[0-9]{6}") {
            // Pick the check digit that gives remainder 5, if one exists.
            for d9 in 0..=9u8 {
                let n = format!("10{rest}{d9}");
                if sum(&n).rem_euclid(11) == 5 {
                    prop_assert!(StudentNumber::onderwijsnummer(&n).is_ok());
                    prop_assert_eq!(StudentNumber::onderwijsnummer(&n).map(|x| x.pseudonym_input()), Ok(format!("onderwijsnummer:{n}")));
                }
            }
        }

        #[test]
        fn changing_one_digit_of_a_valid_bsn_breaks_it(
            first in "[0-9]{8}",
            pos in 0usize..9,
            delta in 1u8..10,
        ) {
            // Complete the first 8 digits to a valid BSN, if a check digit exists.
            let Some(valid) = (0..=9u8)
                .map(|d9| format!("{first}{d9}"))
                .find(|n| StudentNumber::bsn(n).is_ok())
            else {
                return Ok(());
            };
            let mut bytes = valid.into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).unwrap_or_default();
            prop_assert!(StudentNumber::bsn(&changed).is_err(), "{} still passes", changed);
        }
    }
}
