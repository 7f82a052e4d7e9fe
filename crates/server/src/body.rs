//! From request bytes to the parameter set PHP would have built (SPEC §2.6, §4).
//!
//! Only form bodies carry parameters: `application/x-www-form-urlencoded` through
//! [`php_form::parse`], and `multipart/form-data` part by part through
//! [`php_form::register_variable`]. Everything else, an encoded body and a body over PHP's
//! `post_max_size` give the empty set, which the common checks answer with code 2.

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http::HeaderMap;
use http_body_util::BodyExt;
use php_form::{Limits, Map};
use std::time::Duration;

/// PHP's default `post_max_size`: a longer body yields no parameters. The default of
/// [`crate::ServerConfig::max_body_bytes`].
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// How much of an oversized body is still read (and thrown away) so that the client, which is
/// usually still sending, receives the answer instead of a reset connection. Beyond this the
/// connection is simply closed after the answer.
const DRAIN_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// How a body is to be read, from its headers.
#[derive(Debug, PartialEq, Eq)]
enum Format {
    UrlEncoded,
    Multipart {
        boundary: String,
    },
    /// Any other or missing type, or a `Content-Encoding` other than `identity`.
    Ignored,
}

fn format(headers: &HeaderMap) -> Format {
    let encoded = headers.get_all(CONTENT_ENCODING).iter().any(|value| {
        value
            .as_bytes()
            .split(|&b| b == b',')
            .map(trim)
            .any(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case(b"identity"))
    });
    if encoded {
        return Format::Ignored;
    }
    let Some(content_type) = headers.get(CONTENT_TYPE) else {
        return Format::Ignored;
    };
    let raw = content_type.as_bytes();
    let media_type = trim(raw.split(|&b| b == b';').next().unwrap_or(b""));
    if media_type.eq_ignore_ascii_case(b"application/x-www-form-urlencoded") {
        Format::UrlEncoded
    } else if media_type.eq_ignore_ascii_case(b"multipart/form-data") {
        content_type
            .to_str()
            .ok()
            .and_then(|text| multer::parse_boundary(text).ok())
            .map_or(Format::Ignored, |boundary| Format::Multipart { boundary })
    } else {
        Format::Ignored
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// A body read up to the body size limit.
struct Collected {
    bytes: Bytes,
    /// Longer than the limit, or not received completely.
    unusable: bool,
}

/// Reads the body, keeping at most `max_bytes` and draining up to [`DRAIN_LIMIT_BYTES`] (or
/// `max_bytes` when that is larger). A client that stalls for longer than `timeout` gets its body
/// treated as unusable.
async fn collect(
    headers: &HeaderMap,
    body: Body,
    timeout: Duration,
    max_bytes: usize,
) -> Collected {
    let drain_limit = DRAIN_LIMIT_BYTES.max(max_bytes as u64);
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let unusable = Collected {
        bytes: Bytes::new(),
        unusable: true,
    };
    if declared.is_some_and(|n| n > drain_limit) {
        return unusable;
    }
    let capacity = declared.map_or(0, |n| usize::try_from(n).unwrap_or(0).min(max_bytes));
    let read = async move {
        let mut body = body;
        let mut kept = BytesMut::with_capacity(capacity);
        let mut seen: u64 = 0;
        let mut oversize = false;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return None;
            };
            let Ok(data) = frame.into_data() else {
                continue; // trailers carry no parameters
            };
            seen += data.len() as u64;
            if seen > drain_limit {
                return None;
            }
            if oversize || kept.len() + data.len() > max_bytes {
                oversize = true;
                kept = BytesMut::new();
            } else {
                kept.extend_from_slice(&data);
            }
        }
        (!oversize).then(|| kept.freeze())
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(Some(bytes)) => Collected {
            bytes,
            unusable: false,
        },
        _ => unusable,
    }
}

/// A request body and the parameter set PHP would have built from it.
pub struct RequestBody {
    /// The bytes as received; empty when the body was unusable.
    pub raw: Bytes,
    pub params: Map,
}

/// The parameter set of a request (SPEC §2.6, §4).
pub async fn read_params(
    headers: &HeaderMap,
    body: Body,
    timeout: Duration,
    max_bytes: usize,
) -> RequestBody {
    let format = format(headers);
    let collected = collect(headers, body, timeout, max_bytes).await;
    if collected.unusable {
        return RequestBody {
            raw: Bytes::new(),
            params: Map::new(),
        };
    }
    let params = match format {
        Format::UrlEncoded => php_form::parse(&collected.bytes),
        Format::Multipart { boundary } => parse_multipart(collected.bytes.clone(), boundary).await,
        Format::Ignored => Map::new(),
    };
    RequestBody {
        raw: collected.bytes,
        params,
    }
}

/// Reads and discards a body whose content does not matter (404 answers), so that a
/// keep-alive connection stays usable.
pub async fn discard(headers: &HeaderMap, body: Body, timeout: Duration, max_bytes: usize) {
    let _ = collect(headers, body, timeout, max_bytes).await;
}

/// Registers every part with a `name` and without a `filename` as PHP's multipart reader does:
/// the name goes through PHP's name rules unchanged (no percent-decoding), the value is the raw
/// part body. Like PHP's reader, at most `max_input_vars` variables are registered; a malformed
/// body keeps what was read before the fault.
async fn parse_multipart(bytes: Bytes, boundary: String) -> Map {
    let limits = Limits::default();
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(bytes) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut map = Map::new();
    let mut registered = 0usize;
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().map(|n| n.as_bytes().to_vec());
        let is_file = field.file_name().is_some();
        let Ok(value) = field.bytes().await else {
            break;
        };
        let Some(name) = name.filter(|_| !is_file) else {
            continue;
        };
        // PHP's multipart reader stops at max_input_vars parts, one fewer than its urlencoded
        // reader, which processes one segment past the limit (checked against PHP 8.2).
        registered += 1;
        if registered > limits.max_vars {
            break;
        }
        php_form::register_variable(&mut map, &name, value.to_vec(), limits.max_depth);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn content_types() {
        let urlencoded = Format::UrlEncoded;
        assert_eq!(
            format(&headers(&[(
                "content-type",
                "application/x-www-form-urlencoded"
            )])),
            urlencoded
        );
        assert_eq!(
            format(&headers(&[(
                "content-type",
                " Application/X-WWW-Form-URLEncoded ; charset=UTF-8"
            )])),
            urlencoded
        );
        assert_eq!(
            format(&headers(&[(
                "content-type",
                "multipart/form-data; boundary=abc"
            )])),
            Format::Multipart {
                boundary: "abc".into()
            }
        );
        assert_eq!(
            format(&headers(&[("content-type", "multipart/form-data")])),
            Format::Ignored
        );
        assert_eq!(format(&headers(&[])), Format::Ignored);
        assert_eq!(
            format(&headers(&[("content-type", "application/json")])),
            Format::Ignored
        );
        assert_eq!(
            format(&headers(&[("content-type", "text/plain")])),
            Format::Ignored
        );
    }

    #[test]
    fn encodings() {
        let form = ("content-type", "application/x-www-form-urlencoded");
        assert_eq!(
            format(&headers(&[form, ("content-encoding", "identity")])),
            Format::UrlEncoded
        );
        assert_eq!(
            format(&headers(&[form, ("content-encoding", "IDENTITY")])),
            Format::UrlEncoded
        );
        assert_eq!(
            format(&headers(&[form, ("content-encoding", "gzip")])),
            Format::Ignored
        );
        assert_eq!(
            format(&headers(&[form, ("content-encoding", "identity, br")])),
            Format::Ignored
        );
    }

    async fn read(content_type: &str, body: &'static [u8]) -> Map {
        let h = headers(&[("content-type", content_type)]);
        read_params(&h, Body::from(body), Duration::from_secs(5), MAX_BODY_BYTES)
            .await
            .params
    }

    #[tokio::test]
    async fn multipart_parts_become_variables() {
        let body = b"--XyZ\r\n\
Content-Disposition: form-data; name=\"goods[0][good_name]\"\r\n\r\n\
code1\r\n\
--XyZ\r\n\
Content-Disposition: form-data; name=\"a%5Bb%5D\"\r\n\r\n\
raw\r\n\
--XyZ\r\n\
Content-Disposition: form-data; name=\"upload\"; filename=\"x.txt\"\r\n\
Content-Type: text/plain\r\n\r\n\
file body\r\n\
--XyZ\r\n\
Content-Disposition: form-data; name=\"hash\"\r\n\r\n\
abc\r\n\
--XyZ--\r\n";
        let map = read("multipart/form-data; boundary=XyZ", body).await;
        assert_eq!(
            php_form::build_query(&map),
            b"goods%5B0%5D%5Bgood_name%5D=code1&a%255Bb%255D=raw&hash=abc"
        );
    }

    #[tokio::test]
    async fn multipart_registers_at_most_1000_variables() {
        let mut body = String::new();
        for i in 0..1005 {
            body.push_str(&format!(
                "--B\r\nContent-Disposition: form-data; name=\"v{i}\"\r\n\r\n{i}\r\n"
            ));
        }
        body.push_str("--B--\r\n");
        let h = headers(&[("content-type", "multipart/form-data; boundary=B")]);
        let body = read_params(&h, Body::from(body), Duration::from_secs(5), MAX_BODY_BYTES).await;
        assert_eq!(body.params.len(), 1000);
    }

    #[tokio::test]
    async fn broken_multipart_keeps_what_was_read() {
        let body =
            b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--B\r\nContent-Disp";
        let map = read("multipart/form-data; boundary=B", body).await;
        assert_eq!(php_form::build_query(&map), b"a=1");
    }

    #[tokio::test]
    async fn oversized_bodies_give_nothing() {
        let big = vec![b'a'; MAX_BODY_BYTES + 1];
        let h = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        let body = read_params(&h, Body::from(big), Duration::from_secs(5), MAX_BODY_BYTES).await;
        assert!(body.params.is_empty());
        assert!(body.raw.is_empty(), "an unusable body is not kept either");
        let mut exact = b"x=".to_vec();
        exact.resize(MAX_BODY_BYTES, b'a');
        let body = read_params(
            &h,
            Body::from(exact.clone()),
            Duration::from_secs(5),
            MAX_BODY_BYTES,
        )
        .await;
        assert_eq!(body.params.len(), 1);
        assert_eq!(body.raw, exact);
    }

    #[tokio::test]
    async fn other_types_give_nothing() {
        assert!(read("text/plain", b"a=1").await.is_empty());
        assert_eq!(
            php_form::build_query(&read("application/x-www-form-urlencoded", b"a=1").await),
            b"a=1"
        );
    }
}
