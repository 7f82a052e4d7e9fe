//! JSON written the way PHP's `json_encode` writes it with default flags (§6.3).
//!
//! Clients compare response bodies with what the original PHP service sent, so the encoding is
//! part of the wire: no whitespace, `/` escaped as `\/`, every non-ASCII character as a lower-case
//! `\uXXXX` escape (surrogate pairs above U+FFFF), the short escapes `\b \f \n \r \t \" \\`, other
//! control characters as `\u00XX`, and U+007F, `<`, `>`, `&`, `'` as they are.

#![warn(missing_docs)]

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, Serializer};
use std::io;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A `serde_json` formatter producing PHP `json_encode` output, so any `Serialize` value (including
/// a `serde_json::Value`, whose objects keep their insertion order) can be written PHP-style.
#[derive(Clone, Copy, Debug, Default)]
pub struct PhpFormatter;

impl Formatter for PhpFormatter {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        write_php_fragment(writer, fragment)
    }

    fn write_char_escape<W>(&mut self, writer: &mut W, char_escape: CharEscape) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        let short: &[u8] = match char_escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"\\/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => {
                return writer.write_all(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(byte >> 4)],
                    HEX[usize::from(byte & 15)],
                ]);
            }
        };
        writer.write_all(short)
    }

    fn write_f64<W>(&mut self, writer: &mut W, value: f64) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        writer.write_all(php_double(value).as_bytes())
    }

    fn write_f32<W>(&mut self, writer: &mut W, value: f32) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.write_f64(writer, f64::from(value))
    }
}

/// Writes a run of characters that `serde_json` itself would not escape, escaping what PHP does:
/// `/`, control characters and every non-ASCII character.
fn write_php_fragment<W: ?Sized + io::Write>(writer: &mut W, fragment: &str) -> io::Result<()> {
    let bytes = fragment.as_bytes();
    let mut start = 0;
    for (index, ch) in fragment.char_indices() {
        let plain = ch.is_ascii() && ch != '/' && !ch.is_ascii_control() || ch == '\u{7f}';
        if plain {
            continue;
        }
        writer.write_all(&bytes[start..index])?;
        start = index + ch.len_utf8();
        write_escaped_char(writer, ch)?;
    }
    writer.write_all(&bytes[start..])
}

fn write_escaped_char<W: ?Sized + io::Write>(writer: &mut W, ch: char) -> io::Result<()> {
    let short: &[u8] = match ch {
        '/' => b"\\/",
        '"' => b"\\\"",
        '\\' => b"\\\\",
        '\u{8}' => b"\\b",
        '\u{c}' => b"\\f",
        '\n' => b"\\n",
        '\r' => b"\\r",
        '\t' => b"\\t",
        _ => {
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                write_u_escape(writer, *unit)?;
            }
            return Ok(());
        }
    };
    writer.write_all(short)
}

fn write_u_escape<W: ?Sized + io::Write>(writer: &mut W, unit: u16) -> io::Result<()> {
    let nibble = |shift: u16| HEX[usize::from((unit >> shift) & 15)];
    writer.write_all(&[b'\\', b'u', nibble(12), nibble(8), nibble(4), nibble(0)])
}

/// A float as `json_encode` writes it with `serialize_precision = -1`: the shortest digits that
/// read back to the same value, without a fraction when integral (`1`), in exponent form `1.0e+25`
/// when the decimal exponent is 17 or more, or below -4. (`serde_json` writes non-finite values
/// as `null` before they get here; should one arrive, it becomes PHP's partial output `0`.)
fn php_double(value: f64) -> String {
    if !value.is_finite() {
        return "0".to_owned();
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    // `{:e}` gives the shortest round-trip digits, e.g. `1.2345e3`.
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("LowerExp always writes an exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exponent: i32 = exponent
        .parse()
        .expect("LowerExp writes a decimal exponent");
    let decimal_point = exponent + 1;
    let mut out = String::new();
    if value < 0.0 {
        out.push('-');
    }
    let exponential = if decimal_point < 0 {
        decimal_point < -3
    } else {
        decimal_point > 17
    };
    if exponential {
        out.push_str(&digits[..1]);
        out.push('.');
        out.push_str(if digits.len() > 1 { &digits[1..] } else { "0" });
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        out.push_str(&exponent.unsigned_abs().to_string());
    } else if decimal_point <= 0 {
        out.push_str("0.");
        for _ in 0..decimal_point.unsigned_abs() {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let point = decimal_point.unsigned_abs() as usize;
        if digits.len() <= point {
            out.push_str(&digits);
            for _ in digits.len()..point {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

/// Serialises `value` exactly as PHP's `json_encode($value)` would, into a new buffer.
///
/// # Panics
///
/// When `value` has no JSON form (a map whose keys are neither strings, integers, booleans nor
/// chars, or a `Serialize` impl that fails); see [`try_write_php_json`] for arbitrary values.
pub fn to_php_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    write_php_json(&mut out, value);
    out
}

/// Appends the PHP `json_encode` form of `value` to `out` (a reused buffer on the hot path).
///
/// # Panics
///
/// As [`to_php_json`].
pub fn write_php_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    try_write_php_json(out, value).expect("protocol values always serialise to JSON");
}

/// Appends the PHP `json_encode` form of `value` to `out`, or reports why `value` has no JSON
/// form (then `out` may hold a partial value).
pub fn try_write_php_json<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
) -> Result<(), serde_json::Error> {
    let mut serializer = Serializer::with_formatter(&mut *out, PhpFormatter);
    value.serialize(&mut serializer)
}

/// Appends `text` as a PHP-encoded JSON string literal (quotes included) to `out`.
pub fn write_php_string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let mut start = 0;
    let bytes = text.as_bytes();
    for (index, ch) in text.char_indices() {
        let plain = ch.is_ascii() && !matches!(ch, '/' | '"' | '\\') && !ch.is_ascii_control()
            || ch == '\u{7f}';
        if plain {
            continue;
        }
        out.extend_from_slice(&bytes[start..index]);
        start = index + ch.len_utf8();
        write_escaped_char(out, ch).expect("writing into a Vec cannot fail");
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn php(text: &str) -> String {
        String::from_utf8(to_php_json(text)).unwrap()
    }

    /// What PHP writes for one character, from its documented rules.
    fn expected_for(ch: char) -> String {
        match ch {
            '"' => "\\\"".into(),
            '\\' => "\\\\".into(),
            '/' => "\\/".into(),
            '\u{8}' => "\\b".into(),
            '\u{c}' => "\\f".into(),
            '\n' => "\\n".into(),
            '\r' => "\\r".into(),
            '\t' => "\\t".into(),
            c if (c as u32) < 0x20 => format!("\\u{:04x}", c as u32),
            c if (c as u32) <= 0x7f => c.to_string(),
            c => {
                let mut units = [0u16; 2];
                c.encode_utf16(&mut units)
                    .iter()
                    .map(|u| format!("\\u{u:04x}"))
                    .collect()
            }
        }
    }

    #[test]
    fn every_character_up_to_u00ff() {
        for code in 0u32..=0xff {
            let ch = char::from_u32(code).unwrap();
            let text = ch.to_string();
            assert_eq!(
                php(&text),
                format!("\"{}\"", expected_for(ch)),
                "U+{code:04X}"
            );
            let mut direct = Vec::new();
            write_php_string(&mut direct, &text);
            assert_eq!(direct, to_php_json(&text), "U+{code:04X}");
        }
    }

    #[test]
    fn specific_escapes() {
        assert_eq!(php("\u{1f}"), r#""\u001f""#);
        assert_eq!(php("\u{0}"), r#""\u0000""#);
        assert_eq!(php("\u{7f}<>&'"), "\"\u{7f}<>&'\"");
        assert_eq!(php("a/b"), r#""a\/b""#);
        assert_eq!(php("Иван"), r#""\u0418\u0432\u0430\u043d""#);
        assert_eq!(php("é"), r#""\u00e9""#);
        assert_eq!(php("\u{a0}"), r#""\u00a0""#);
        assert_eq!(php("\u{ffff}"), r#""\uffff""#);
        assert_eq!(php("\u{fffd}"), r#""\ufffd""#);
    }

    #[test]
    fn astral_characters_become_surrogate_pairs() {
        assert_eq!(php("😀"), r#""\ud83d\ude00""#);
        assert_eq!(php("\u{10000}"), r#""\ud800\udc00""#);
        assert_eq!(php("\u{10ffff}"), r#""\udbff\udfff""#);
        assert_eq!(php("a😀b"), r#""a\ud83d\ude00b""#);
    }

    #[test]
    fn mixed_text_keeps_order() {
        let text = "x\"y\\z/\n\tМосква 😀 <a href='/'>&</a>";
        let expected: String = text.chars().map(expected_for).collect();
        assert_eq!(php(text), format!("\"{expected}\""));
    }

    #[test]
    fn objects_keys_and_arrays() {
        let value = json!({"z/": [1, -2, "a"], "é": {}, "list": [], "t": true, "n": null});
        assert_eq!(
            String::from_utf8(to_php_json(&value)).unwrap(),
            r#"{"z\/":[1,-2,"a"],"\u00e9":{},"list":[],"t":true,"n":null}"#
        );
        let mut map = std::collections::BTreeMap::new();
        map.insert(12344i64, "a");
        assert_eq!(to_php_json(&map), br#"{"12344":"a"}"#);
    }

    proptest::proptest! {
        /// Any string is written as pure ASCII that a JSON parser reads back unchanged, and the
        /// direct string writer agrees with the formatter.
        #[test]
        fn strings_round_trip(text in "\\PC*|[\\x00-\\x7f\\u{80}-\\u{10ffff}]{0,20}") {
            let encoded = to_php_json(&text);
            proptest::prop_assert!(encoded.is_ascii());
            proptest::prop_assert!(!encoded.contains(&b' ') || text.contains(' '));
            let decoded: String = serde_json::from_slice(&encoded).unwrap();
            proptest::prop_assert_eq!(&decoded, &text);
            let mut direct = Vec::new();
            write_php_string(&mut direct, &text);
            proptest::prop_assert_eq!(direct, encoded);
        }
    }

    #[test]
    fn floats_follow_serialize_precision_minus_one() {
        for (value, expected) in [
            (1.0, "1"),
            (0.1, "0.1"),
            (1999.5, "1999.5"),
            (-2.5, "-2.5"),
            (10.0 / 3.0, "3.3333333333333335"),
            (0.0001, "0.0001"),
            (0.00001, "1.0e-5"),
            (1.5e-7, "1.5e-7"),
            (1e16, "10000000000000000"),
            (1e17, "1.0e+17"),
            (1e25, "1.0e+25"),
            (-0.0, "-0"),
        ] {
            assert_eq!(php_double(value), expected, "{value}");
        }
    }

    #[test]
    fn the_order_details_example_of_13_2() {
        let mut result = serde_json::Map::new();
        for (key, value) in [
            ("id", "12345"),
            ("first_name", "Иван"),
            ("last_name", "Petrov"),
            ("middle_name", ""),
            ("email", "client@example.com"),
            ("phone", "+77777777777"),
            ("city", "Москва"),
            ("country", ""),
            ("address", "Lenina 1, kv. 2"),
            ("region", ""),
            ("postalcode", ""),
            ("created", "1700000000"),
            ("pay_status", "waiting"),
            ("paid", "0"),
            ("type", "0"),
            ("payway", ""),
            ("comment", "Comment ~!*()'"),
            ("domain", ""),
            ("link", "/bill/?id=12345&crc=f88c7ebe4740db59"),
        ] {
            result.insert(key.into(), json!(value));
        }
        result.insert("good_ids".into(), json!(["1", "2"]));
        for (key, value) in [
            ("good_count", "2"),
            ("price", "2999.50"),
            ("bill_sum_topay", "2999.50"),
            ("prepayment_enabled", "1"),
            ("prepayment_minsum", "1000.00"),
            ("is_recurrent", "0"),
            ("last_payment_sum", "0.00"),
            ("prepayment_sum", "0.00"),
            ("tag", "Tag"),
            ("kupon", ""),
            ("delivery_status", ""),
            ("delivery_date", "0"),
            ("rpo", ""),
        ] {
            result.insert(key.into(), json!(value));
        }
        result.insert(
            "utm".into(),
            json!({"medium": "medium", "source": "source", "campaign": "campaign",
                   "content": "", "term": "term"}),
        );
        result.insert(
            "items".into(),
            json!([
                {"id": "code1", "title": "Онлайн-курс", "sum": "1000.00", "price": "1000.00",
                 "pincode": "", "partners": []},
                {"id": "code2", "title": "Video pack", "sum": "1999.50", "price": "2500.00",
                 "pincode": "", "partners": []}
            ]),
        );
        let expected = r#"{"id":"12345","first_name":"\u0418\u0432\u0430\u043d","last_name":"Petrov","middle_name":"","email":"client@example.com","phone":"+77777777777","city":"\u041c\u043e\u0441\u043a\u0432\u0430","country":"","address":"Lenina 1, kv. 2","region":"","postalcode":"","created":"1700000000","pay_status":"waiting","paid":"0","type":"0","payway":"","comment":"Comment ~!*()'","domain":"","link":"\/bill\/?id=12345&crc=f88c7ebe4740db59","good_ids":["1","2"],"good_count":"2","price":"2999.50","bill_sum_topay":"2999.50","prepayment_enabled":"1","prepayment_minsum":"1000.00","is_recurrent":"0","last_payment_sum":"0.00","prepayment_sum":"0.00","tag":"Tag","kupon":"","delivery_status":"","delivery_date":"0","rpo":"","utm":{"medium":"medium","source":"source","campaign":"campaign","content":"","term":"term"},"items":[{"id":"code1","title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","sum":"1000.00","price":"1000.00","pincode":"","partners":[]},{"id":"code2","title":"Video pack","sum":"1999.50","price":"2500.00","pincode":"","partners":[]}]}"#;
        assert_eq!(String::from_utf8(to_php_json(&result)).unwrap(), expected);
    }
}
