//! RFC 8785 JSON Canonicalization Scheme (JCS) for the JSON the envelope uses.
//!
//! The envelope payload holds only strings, integers, arrays and objects, so
//! JCS reduces to: no whitespace; object members sorted by their names as
//! arrays of UTF-16 code units; strings escaped as ECMAScript's
//! `JSON.stringify` does (`\"`, `\\`, `\b`, `\t`, `\n`, `\f`, `\r`, other
//! control characters as `\u00xx` with lowercase hex, everything else
//! literally in UTF-8); integers in plain decimal. `null`, `true` and
//! `false` are written as such. Numbers that are not integers, or integers
//! beyond ±(2^53 − 1) (where the ECMAScript number form would differ), are
//! refused rather than approximated.

use serde_json::Value;

use crate::JoseError;

/// The largest integer that an IEEE 754 double (and so JCS) represents exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The RFC 8785 canonical form of `value`, for Doorstroom's subset of JSON
/// (no fractions, integers within ±(2^53 − 1)).
pub fn canonical_json(value: &Value) -> Result<String, JoseError> {
    let mut out = String::new();
    write(value, &mut out)?;
    Ok(out)
}

fn write(value: &Value, out: &mut String) -> Result<(), JoseError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            let in_range = if let Some(i) = n.as_i64() {
                i.unsigned_abs() <= MAX_SAFE_INTEGER
            } else if let Some(u) = n.as_u64() {
                u <= MAX_SAFE_INTEGER
            } else {
                return Err(JoseError::NotCanonical("numbers must be integers"));
            };
            if !in_range {
                return Err(JoseError::NotCanonical(
                    "integers must lie between -(2^53 - 1) and 2^53 - 1",
                ));
            }
            out.push_str(&n.to_string());
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (name, member)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(name, out);
                out.push(':');
                write(member, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// ECMAScript `JSON.stringify` string quoting (RFC 8785 §3.2.2.2).
fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{0C}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    #[test]
    fn sorts_by_utf16_and_escapes_like_ecmascript() {
        // RFC 8785 §3.2.3: U+10000 (surrogates D800 DC00) sorts before U+FB33.
        let v = json!({"\u{fb33}": 1, "\u{10000}": 2, "b": [true, null, -3], "a": "\"\\\u{1}\n\u{7f}é/"});
        assert_eq!(
            canonical_json(&v).unwrap(),
            "{\"a\":\"\\\"\\\\\\u0001\\n\u{7f}é/\",\"b\":[true,null,-3],\"\u{10000}\":2,\"\u{fb33}\":1}"
        );
    }

    #[test]
    fn refuses_fractions_and_unsafe_integers() {
        assert!(canonical_json(&json!(1.5)).is_err());
        assert!(canonical_json(&json!(9_007_199_254_740_992_u64)).is_err());
        assert!(canonical_json(&json!(-9_007_199_254_740_991_i64)).is_ok());
    }
}
