//! Reading `application/x-www-form-urlencoded` bodies the way PHP 8.2 fills `$_POST`.

use crate::register::register_variable;
use crate::tree::Map;

/// PHP's input limits. The defaults are PHP's defaults (`max_input_vars`,
/// `max_input_nesting_level`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Processing stops once more than this many segments have been processed.
    pub max_vars: usize,
    /// A name with more bracket groups than this removes its whole top-level entry.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_vars: 1000,
            max_depth: 64,
        }
    }
}

/// Parses a form body with PHP's default limits.
pub fn parse(body: &[u8]) -> Map {
    parse_with(body, Limits::default())
}

/// Parses a form body with the given limits.
pub fn parse_with(body: &[u8], limits: Limits) -> Map {
    let mut map = Map::new();
    for segment in split_segments(body).take(limits.max_vars.saturating_add(1)) {
        let name = url_decode(segment.raw_name);
        register_variable(
            &mut map,
            &name,
            url_decode(segment.raw_value),
            limits.max_depth,
        );
    }
    map
}

/// One `&`-separated piece of a body, split at its first `=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawSegment<'a> {
    pub raw: &'a [u8],
    pub raw_name: &'a [u8],
    pub raw_value: &'a [u8],
    /// Whether the segment has a `=` at all (`a` and `a=` store the same).
    pub has_equals: bool,
}

/// Every segment of a body in order, empty ones included: the pieces between `&` bytes, a
/// trailing empty piece excepted. PHP reads the first `max_vars + 1` of them.
pub fn split_segments(body: &[u8]) -> impl Iterator<Item = RawSegment<'_>> {
    let trimmed = body.strip_suffix(b"&").unwrap_or(body);
    let pieces = (!body.is_empty()).then(|| trimmed.split(|&b| b == b'&'));
    pieces
        .into_iter()
        .flatten()
        .map(|raw| match raw.iter().position(|&b| b == b'=') {
            Some(eq) => RawSegment {
                raw,
                raw_name: &raw[..eq],
                raw_value: &raw[eq + 1..],
                has_equals: true,
            },
            None => RawSegment {
                raw,
                raw_name: raw,
                raw_value: b"",
                has_equals: false,
            },
        })
}

/// PHP's `urldecode`: `+` is a space, `%XX` a byte, any other `%` is kept as it is.
pub fn url_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => match input.get(i + 1..i + 3).and_then(|p| hex_pair(p[0], p[1])) {
                Some(byte) => {
                    out.push(byte);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    out
}

fn hex_pair(high: u8, low: u8) -> Option<u8> {
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    Some(digit(high)? << 4 | digit(low)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build_query;

    fn rebuilt(body: &[u8]) -> String {
        String::from_utf8(build_query(&parse(body))).unwrap()
    }

    /// The verified examples of the wire contract (SPEC §4.8), shared with the other suites.
    const VERIFIED_EXAMPLES: &str =
        include_str!("../../../testdata/php-form/verified-examples.tsv");

    #[test]
    fn verified_examples() {
        let examples: Vec<&str> = VERIFIED_EXAMPLES
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect();
        assert_eq!(
            examples.len(),
            20,
            "the table of SPEC §4.8 less its two limit rows"
        );
        for line in examples {
            let (body, expected) = line.split_once('\t').expect("body, tab, rebuilt");
            assert_eq!(rebuilt(body.as_bytes()), expected, "{body}");
        }
    }

    #[test]
    fn too_deep_a_name_removes_its_base() {
        let body = format!("x=0&a=0&x{}=1&x=5&b=2", "[k]".repeat(65));
        assert_eq!(rebuilt(body.as_bytes()), "a=0&x=5&b=2");
        let at_limit = format!("x{}=1", "[k]".repeat(64));
        assert_eq!(parse(at_limit.as_bytes()).len(), 1);
    }

    /// PHP meets the nesting limit only when it reaches the group past it; an append refused
    /// before that (the array holds the largest integer key) ends the variable and leaves the
    /// base alone.
    #[test]
    fn a_refused_append_comes_before_the_nesting_limit() {
        let keys = "[k]".repeat(64);
        let body = format!("a[9223372036854775807]=1&a[]{keys}=2&b=3");
        assert_eq!(rebuilt(body.as_bytes()), "a%5B9223372036854775807%5D=1&b=3");
        // With the refused append as the last group, the limit comes first.
        let body = format!("a[9223372036854775807]=1&a{keys}[]=2&b=3");
        assert_eq!(rebuilt(body.as_bytes()), "b=3");
    }

    #[test]
    fn at_most_1001_segments_are_read() {
        let body: Vec<String> = (1..=1002).map(|i| format!("v{i}={i}")).collect();
        let map = parse(body.join("&").as_bytes());
        assert_eq!(map.len(), 1001);
        assert!(map.get_str("v1001").is_some());
        assert!(map.get_str("v1002").is_none());
    }

    #[test]
    fn empty_segments_count_towards_the_limit() {
        let body = format!("{}a=1", "&".repeat(1001));
        assert!(parse(body.as_bytes()).is_empty());
    }

    #[test]
    fn percent_at_the_end_is_literal() {
        assert_eq!(url_decode(b"a%"), b"a%");
        assert_eq!(url_decode(b"a%4"), b"a%4");
        assert_eq!(url_decode(b"%41"), b"A");
    }
}
