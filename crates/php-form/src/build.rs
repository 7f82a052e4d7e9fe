//! Building a query string exactly as PHP's `http_build_query($data)` does with its defaults.

use crate::float::format_g;
use crate::tree::{Key, Map, Value};

/// A PHP value handed to `http_build_query`: what a PHP client puts in its array.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Bytes(Vec<u8>),
    Array(Vec<(Key, Data)>),
}

impl From<&str> for Data {
    fn from(s: &str) -> Data {
        Data::Bytes(s.as_bytes().to_vec())
    }
}

impl From<String> for Data {
    fn from(s: String) -> Data {
        Data::Bytes(s.into_bytes())
    }
}

impl From<&Map> for Data {
    fn from(map: &Map) -> Data {
        Data::Array(
            map.iter()
                .map(|(k, v)| {
                    let value = match v {
                        Value::Bytes(b) => Data::Bytes(b.clone()),
                        Value::Array(m) => Data::from(m),
                    };
                    (k.clone(), value)
                })
                .collect(),
        )
    }
}

/// PHP's `urlencode` (RFC 1738): letters, digits, `-`, `_` and `.` stay, a space becomes `+`,
/// every other byte becomes `%XX` with upper-case hex digits.
pub fn url_encode_into(bytes: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(b),
            b' ' => out.push(b'+'),
            _ => out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]),
        }
    }
}

/// `urlencode` into a new buffer.
pub fn url_encode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    url_encode_into(bytes, &mut out);
    out
}

/// Rebuilds the query string of a parsed form, as `http_build_query($_POST)` does.
pub fn build_query(map: &Map) -> Vec<u8> {
    let mut out = Vec::new();
    build_query_into(map, &mut out);
    out
}

/// Appends the query string of a parsed form to `out` (which may be a reused buffer).
pub fn build_query_into(map: &Map, out: &mut Vec<u8>) {
    let mut prefix = Vec::new();
    let mut first = true;
    for (key, value) in map {
        prefix.clear();
        write_key(key, &mut prefix);
        write_map_value(value, &mut prefix, out, &mut first);
    }
}

fn write_map_value(value: &Value, prefix: &mut Vec<u8>, out: &mut Vec<u8>, first: &mut bool) {
    match value {
        Value::Bytes(bytes) => write_pair(prefix, out, first, |out| url_encode_into(bytes, out)),
        Value::Array(map) => {
            for (key, child) in map {
                let mark = prefix.len();
                push_subkey(key, prefix);
                write_map_value(child, prefix, out, first);
                prefix.truncate(mark);
            }
        }
    }
}

/// Builds a query string from typed PHP data, as `http_build_query($data)` does.
pub fn build_query_data(data: &[(Key, Data)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut prefix = Vec::new();
    let mut first = true;
    for (key, value) in data {
        prefix.clear();
        write_key(key, &mut prefix);
        write_data_value(value, &mut prefix, &mut out, &mut first);
    }
    out
}

fn write_data_value(value: &Data, prefix: &mut Vec<u8>, out: &mut Vec<u8>, first: &mut bool) {
    let scalar = |text: &[u8], out: &mut Vec<u8>| out.extend_from_slice(text);
    match value {
        Data::Null => {}
        Data::Bool(b) => write_pair(prefix, out, first, |out| {
            scalar(if *b { b"1" } else { b"0" }, out)
        }),
        Data::Int(n) => write_pair(prefix, out, first, |out| {
            scalar(n.to_string().as_bytes(), out)
        }),
        Data::Float(f) => write_pair(prefix, out, first, |out| {
            url_encode_into(format_g(*f, 14).as_bytes(), out)
        }),
        Data::Bytes(bytes) => write_pair(prefix, out, first, |out| url_encode_into(bytes, out)),
        Data::Array(entries) => {
            for (key, child) in entries {
                let mark = prefix.len();
                push_subkey(key, prefix);
                write_data_value(child, prefix, out, first);
                prefix.truncate(mark);
            }
        }
    }
}

/// A key path (top-level key first) as `http_build_query` names it:
/// `enc(base)%5Benc(k1)%5D...`.
pub fn encode_path(path: &[Key]) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some((base, rest)) = path.split_first() {
        write_key(base, &mut out);
        for key in rest {
            push_subkey(key, &mut out);
        }
    }
    out
}

fn write_key(key: &Key, out: &mut Vec<u8>) {
    match key {
        Key::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Key::Bytes(bytes) => url_encode_into(bytes, out),
    }
}

fn push_subkey(key: &Key, prefix: &mut Vec<u8>) {
    prefix.extend_from_slice(b"%5B");
    write_key(key, prefix);
    prefix.extend_from_slice(b"%5D");
}

fn write_pair(
    name: &[u8],
    out: &mut Vec<u8>,
    first: &mut bool,
    write_value: impl FnOnce(&mut Vec<u8>),
) {
    if !std::mem::take(first) {
        out.push(b'&');
    }
    out.extend_from_slice(name);
    out.push(b'=');
    write_value(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_rfc_1738() {
        assert_eq!(url_encode(b"a b~*!'()@"), b"a+b%7E%2A%21%27%28%29%40");
        assert_eq!(url_encode(b"Az09-_."), b"Az09-_.");
        assert_eq!(url_encode(&[0, 0xff]), b"%00%FF");
    }

    #[test]
    fn typed_values_follow_php() {
        let data = vec![
            (Key::from("bill_id"), Data::from("102937")),
            (Key::from("good_info"), Data::Bool(true)),
            (Key::from("off"), Data::Bool(false)),
            (Key::from("none"), Data::Null),
            (Key::from("empty"), Data::Array(vec![])),
            (Key::from("n"), Data::Int(-5)),
            (Key::from("f"), Data::Float(1999.5)),
            (
                Key::from("goods"),
                Data::Array(vec![(
                    Key::Int(0),
                    Data::Array(vec![(Key::from("good_name"), Data::from("code 1"))]),
                )]),
            ),
        ];
        assert_eq!(
            String::from_utf8(build_query_data(&data)).unwrap(),
            "bill_id=102937&good_info=1&off=0&n=-5&f=1999.5&goods%5B0%5D%5Bgood_name%5D=code+1"
        );
    }
}
