//! Every digest of the protocol: the API 1.0 request signature (§5.2), the response signature
//! (§6.2), the notification hash (§16.3) and the payment-link checksum (§10.5).

#![warn(missing_docs)]

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use php_form::{url_encode_into, Key, Map, Value};
use sha2::Sha256;
use std::io::Write;
use subtle::ConstantTimeEq;

/// The top-level parameter that carries the request signature; it is never part of what is signed.
const HASH_KEY: &[u8] = b"hash";

/// Appends the exact string an API 1.0 request signature covers to `out`:
/// `http_build_query(params without the top-level "hash")` + `::login::secret`.
///
/// `params` is walked in place (the map is not copied), so the server can verify a request with
/// one reused buffer; the SDK signs with the same function before adding `hash` itself.
pub fn signed_string_into(params: &Map, login: &str, secret: &str, out: &mut Vec<u8>) {
    let mut prefix = Vec::new();
    let mut first = true;
    for (key, value) in params {
        if matches!(key, Key::Bytes(b) if b == HASH_KEY) {
            continue;
        }
        prefix.clear();
        push_key(key, &mut prefix);
        push_value(value, &mut prefix, out, &mut first);
    }
    out.extend_from_slice(b"::");
    out.extend_from_slice(login.as_bytes());
    out.extend_from_slice(b"::");
    out.extend_from_slice(secret.as_bytes());
}

/// Writes the pairs of one value under `prefix` exactly as PHP's `http_build_query` does (§4.7).
fn push_value(value: &Value, prefix: &mut Vec<u8>, out: &mut Vec<u8>, first: &mut bool) {
    match value {
        Value::Bytes(bytes) => {
            if !std::mem::take(first) {
                out.push(b'&');
            }
            out.extend_from_slice(prefix);
            out.push(b'=');
            url_encode_into(bytes, out);
        }
        Value::Array(map) => {
            for (key, child) in map {
                let mark = prefix.len();
                prefix.extend_from_slice(b"%5B");
                push_key(key, prefix);
                prefix.extend_from_slice(b"%5D");
                push_value(child, prefix, out, first);
                prefix.truncate(mark);
            }
        }
    }
}

fn push_key(key: &Key, out: &mut Vec<u8>) {
    match key {
        Key::Int(n) => {
            // Writing into a Vec cannot fail.
            let _ = write!(out, "{n}");
        }
        Key::Bytes(bytes) => url_encode_into(bytes, out),
    }
}

/// The string an API 1.0 request signature covers, in a new buffer (see [`signed_string_into`]).
pub fn signed_string(params: &Map, login: &str, secret: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    signed_string_into(params, login, secret, &mut out);
    out
}

/// The `hash` a client sends with `params` (§5.2): md5 of the signed string, lower-case hex.
pub fn request_hash(params: &Map, login: &str, secret: &str) -> String {
    md5_hex(&signed_string(params, login, secret))
}

/// Compares a digest we computed with the bytes a peer sent, in constant time and byte for byte:
/// an upper-case digest or one with surrounding spaces never matches (§5.2 step 4).
pub fn hash_matches(expected_hex: &str, sent: &[u8]) -> bool {
    bool::from(expected_hex.as_bytes().ct_eq(sent))
}

/// Signs a request for the SDK: sets the top-level `hash` to [`request_hash`] of the other
/// parameters (replacing any `hash` already there, in place).
pub fn add_request_hash(params: &mut Map, login: &str, secret: &str) {
    let hash = request_hash(params, login, secret);
    params.insert(
        Key::Bytes(HASH_KEY.to_vec()),
        Value::Bytes(hash.into_bytes()),
    );
}

/// The `hash` of a response envelope (§6.2): md5 of `code::text::secret`, where `text` is the
/// error text before JSON escaping and `secret` is empty when no tenant was resolved.
pub fn response_hash(code: i64, text: &str, secret: &str) -> String {
    let digits = response_hash_bytes(code, text, secret);
    String::from_utf8(digits.to_vec()).expect("hex digits are ASCII")
}

/// [`response_hash`] without an allocation: the 32 lower-case hex digits as ASCII bytes.
pub fn response_hash_bytes(code: i64, text: &str, secret: &str) -> [u8; 32] {
    let mut hasher = Md5::new();
    let mut number = [0u8; 20];
    let mut cursor = std::io::Cursor::new(&mut number[..]);
    write!(cursor, "{code}").expect("an i64 has at most 20 characters");
    let used = usize::try_from(cursor.position()).expect("at most 20");
    hasher.update(&number[..used]);
    hasher.update(b"::");
    hasher.update(text.as_bytes());
    hasher.update(b"::");
    hasher.update(secret.as_bytes());
    hex_array(&hasher.finalize().into())
}

/// The `hash` field of an outgoing notification (§16.3): md5 of the plain concatenation of the
/// given payload values followed by the secret, without separators.
pub fn notification_hash(parts: &[&[u8]], secret: &str) -> String {
    let mut hasher = Md5::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.update(secret.as_bytes());
    hex(&hasher.finalize())
}

/// The `crc` of an order's payment link (§10.5): the first 16 lower-case hex digits of
/// HMAC-SHA256 keyed with the tenant secret over the decimal bill id.
pub fn bill_crc(secret: &str, bill_id: i64) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(bill_id.to_string().as_bytes());
    let digest = mac.finalize().into_bytes();
    hex(&digest[..8])
}

/// md5 of `bytes` as 32 lower-case hex digits, the digest format every protocol hash uses.
pub fn md5_hex(bytes: &[u8]) -> String {
    hex(&Md5::digest(bytes))
}

/// [`md5_hex`] without an allocation: the 32 lower-case hex digits as ASCII bytes.
pub fn md5_hex_bytes(bytes: &[u8]) -> [u8; 32] {
    hex_array(&Md5::digest(bytes).into())
}

fn hex_array(digest: &[u8; 16]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (pair, b) in out.chunks_exact_mut(2).zip(digest.iter()) {
        pair[0] = HEX_DIGITS[usize::from(b >> 4)];
        pair[1] = HEX_DIGITS[usize::from(b & 15)];
    }
    out
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        text.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
        text.push(char::from(HEX_DIGITS[usize::from(b & 15)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example_of_5_3() {
        let params =
            php_form::parse(b"bill_id=102937&good_info=1&hash=4eac6352ed52a48d534d5ec421b4c5a4");
        assert_eq!(
            signed_string(&params, "demo", "secret"),
            b"bill_id=102937&good_info=1::demo::secret"
        );
        assert_eq!(
            request_hash(&params, "demo", "secret"),
            "4eac6352ed52a48d534d5ec421b4c5a4"
        );
    }

    #[test]
    fn only_the_top_level_hash_is_skipped() {
        let params = php_form::parse(b"a[hash]=1&hash=x&b=&e[]=&z=~");
        assert_eq!(
            signed_string(&params, "demo", "secret"),
            b"a%5Bhash%5D=1&b=&e%5B0%5D=&z=%7E::demo::secret"
        );
        // A top-level `hash` whose value is an array is skipped as well.
        let params = php_form::parse(b"hash[]=1&x=2");
        assert_eq!(
            signed_string(&params, "demo", "secret"),
            b"x=2::demo::secret"
        );
    }

    #[test]
    fn the_walk_matches_build_query() {
        for body in [
            &b"a.b=1&a+b=2& c=3"[..],
            b"r[]=a&r[]=b&r[5]=c&r[]=d",
            b"n[-3]=a&n[]=b",
            b"z[ ]=a&z[ x]=b&z[]=c",
            b"a[][x]=1&a[][x]=2&e[x][]=",
            b"p=%zz&q=%4&r=%41%4a%4A&e=%e2%82%ac&f=%FF",
        ] {
            let params = php_form::parse(body);
            let mut expected = php_form::build_query(&params);
            expected.extend_from_slice(b"::l::s");
            assert_eq!(signed_string(&params, "l", "s"), expected);
        }
    }

    #[test]
    fn signing_for_the_sdk() {
        let mut params = php_form::parse(b"hash=old&bill_id=102937&good_info=1");
        add_request_hash(&mut params, "demo", "secret");
        assert_eq!(
            php_form::build_query(&params),
            b"hash=4eac6352ed52a48d534d5ec421b4c5a4&bill_id=102937&good_info=1"
        );
        let mut params = php_form::parse(b"bill_id=102937&good_info=1");
        add_request_hash(&mut params, "demo", "secret");
        assert_eq!(
            php_form::build_query(&params),
            b"bill_id=102937&good_info=1&hash=4eac6352ed52a48d534d5ec421b4c5a4"
        );
    }

    #[test]
    fn empty_query_signs_only_the_suffix() {
        let params = php_form::parse(b"hash=07d7c258e970b0e2fd9c7694ed0046c8");
        assert_eq!(signed_string(&params, "demo", "secret"), b"::demo::secret");
        assert_eq!(
            request_hash(&params, "demo", "secret"),
            "07d7c258e970b0e2fd9c7694ed0046c8"
        );
    }

    #[test]
    fn hashes_compare_byte_for_byte() {
        let h = "4eac6352ed52a48d534d5ec421b4c5a4";
        assert!(hash_matches(h, h.as_bytes()));
        assert!(!hash_matches(h, h.to_uppercase().as_bytes()));
        assert!(!hash_matches(h, format!(" {h}").as_bytes()));
        assert!(!hash_matches(h, &h.as_bytes()[..31]));
        assert!(!hash_matches(h, b""));
    }

    #[test]
    fn response_reference_values() {
        assert_eq!(
            response_hash(0, "OK", "secret"),
            "b60bb23ab72ead13463d1205065965a5"
        );
        assert_eq!(
            response_hash(4, "Incorrect hash", "secret"),
            "d7a07bb6e3a3ec39557fcc2849115a25"
        );
        assert_eq!(
            response_hash(5, "Invalid user name", ""),
            "ca1d0e11a47db2f77cca68545d853090"
        );
        assert_eq!(
            response_hash(-9223372036854775808, "x", ""),
            md5_hex(b"-9223372036854775808::x::")
        );
        assert_eq!(
            &response_hash_bytes(1000, "Partner not found", "secret"),
            b"2cff1b6bcde8506d75927b0e1d2a8828"
        );
    }

    #[test]
    fn notification_hash_is_plain_concatenation() {
        assert_eq!(
            notification_hash(&[b"12345", b"a@b.ru", b"1700000000"], "secret"),
            md5_hex(b"12345a@b.ru1700000000secret")
        );
        assert_eq!(notification_hash(&[], "secret"), md5_hex(b"secret"));
    }

    #[test]
    fn bill_crc_reference_values() {
        assert_eq!(bill_crc("secret", 12344), "5a1c9153a4aafba3");
        assert_eq!(bill_crc("secret", 12345), "f88c7ebe4740db59");
        assert_eq!(bill_crc("secret", 12346), "8d6cd58084c85b49");
        assert_eq!(bill_crc("secret", 102937), "2920427e8b3ea73f");
    }

    proptest::proptest! {
        /// The in-place walk equals `http_build_query` of the map with `hash` removed.
        #[test]
        fn walk_equals_build_query_without_hash(body in "([a-h\\[\\]=&.+ %~0-9]|hash){0,60}") {
            let params = php_form::parse(body.as_bytes());
            let mut without = params.clone();
            without.remove(&Key::from("hash"));
            let mut expected = php_form::build_query(&without);
            expected.extend_from_slice(b"::demo::secret");
            proptest::prop_assert_eq!(signed_string(&params, "demo", "secret"), expected);
        }
    }

    #[test]
    fn md5_of_nothing() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(&md5_hex_bytes(b""), b"d41d8cd98f00b204e9800998ecf8427e");
    }
}
