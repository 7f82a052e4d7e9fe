//! `clickbill sign --explain`: how each segment of a body was decoded, where PHP stored it, how
//! PHP writes it back, and every place where the body's own encoding differs from PHP's.
//!
//! The parameter tree itself always comes from `php_form` (the same code the server runs). This
//! module only traces, segment by segment, where each variable lands in that tree so it can say
//! which segment was mangled, replaced, appended or dropped, and why.

use clickbill_protocol::sign as wire;
use php_form::{
    encode_path, register_variable_traced, split_segments, url_decode, url_encode, Key, Limits,
    Map, NameRewrite, Placement, RawSegment, Value,
};
use serde_json::{json, Value as Json};

use super::lossy;

/// Everything the explanation needs from the caller.
pub struct Input<'a> {
    pub body: &'a [u8],
    pub login: &'a str,
    pub secret: &'a str,
    /// PHP's rebuild of the parameters without `hash` (the signed string without its suffix).
    pub php_query: &'a [u8],
    pub expected_hash: &'a str,
    /// The top-level `hash` as PHP parsed it, if any.
    pub sent_hash: Option<&'a Value>,
}

const HASH: &[u8] = b"hash";

/// What finally became of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    /// Part of the signed string.
    Signed,
    /// The top-level `hash`: removed before signing.
    Signature,
    /// A later segment (number given) set the same key or a key above or below it.
    Replaced(usize),
    /// A later, too deeply nested segment (number given) removed its whole top-level entry.
    Removed(usize),
    /// PHP never stored it.
    Ignored,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Signed => "signed",
            Status::Signature => "signature",
            Status::Replaced(_) => "replaced",
            Status::Removed(_) => "removed",
            Status::Ignored => "ignored",
        }
    }
}

struct Segment<'a> {
    number: usize,
    raw: &'a [u8],
    name: Option<String>,
    value: Option<Vec<u8>>,
    php: Option<Vec<u8>>,
    status: Status,
    /// The segment sets something under the top-level `hash`: not part of what a client signs.
    is_hash: bool,
    differences: Differences,
    notes: Vec<String>,
}

impl<'a> Segment<'a> {
    fn new(number: usize, raw: &'a [u8]) -> Self {
        Segment {
            number,
            raw,
            name: None,
            value: None,
            php: None,
            status: Status::Ignored,
            is_hash: false,
            differences: Differences::default(),
            notes: Vec::new(),
        }
    }

    fn to_json(&self) -> Json {
        let php = if self.is_hash {
            None
        } else {
            self.php.as_deref()
        };
        json!({
            "segment": self.number,
            "raw": lossy(self.raw),
            "name": self.name,
            "value": self.value.as_deref().map(lossy),
            "php": php.map(lossy),
            "status": self.status.word(),
            "differences": self.differences.render(),
            "notes": self.notes,
        })
    }
}

/// Descriptions of differences in order of first appearance, with how often each occurred.
#[derive(Default)]
struct Differences(Vec<(String, usize)>);

impl Differences {
    fn add(&mut self, description: String) {
        match self.0.iter_mut().find(|(d, _)| *d == description) {
            Some((_, count)) => *count += 1,
            None => self.0.push((description, 1)),
        }
    }

    fn render(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(d, n)| match n {
                1 => d.clone(),
                n => format!("{d} ({n} times)"),
            })
            .collect()
    }
}

pub fn explain(input: &Input<'_>) -> Json {
    let limits = Limits::default();
    let mut state = Map::new();
    // Every leaf currently stored, with the index of the segment that stored it.
    let mut live: Vec<(Vec<Key>, usize)> = Vec::new();
    let mut segments: Vec<Segment<'_>> = Vec::new();
    let mut beyond_limit = 0usize;

    for (index, segment) in split_segments(input.body).enumerate() {
        let raw = segment.raw;
        let mut seg = Segment::new(index + 1, raw);
        if index > limits.max_vars {
            if beyond_limit == 0 {
                seg.notes.push(format!(
                    "beyond PHP's input limit: PHP reads at most {} segments (max_input_vars = {}) \
                     and ignores this one and every later one",
                    limits.max_vars + 1,
                    limits.max_vars
                ));
            } else {
                seg.notes.push("beyond PHP's input limit: ignored".into());
            }
            beyond_limit += 1;
            segments.push(seg);
            continue;
        }
        if raw.is_empty() {
            seg.notes.push(
                "empty segment (two '&' in a row or a leading '&'): ignored, though it counts \
                 towards PHP's limit of 1000 variables"
                    .into(),
            );
            segments.push(seg);
            continue;
        }
        trace_segment(
            &mut seg,
            segment,
            &mut state,
            &mut live,
            &mut segments,
            limits,
        );
        segments.push(seg);
    }

    for (path, index) in &live {
        let seg = &mut segments[*index];
        seg.status = if path[0] == Key::Bytes(HASH.to_vec()) {
            Status::Signature
        } else {
            Status::Signed
        };
    }
    for seg in &mut segments {
        match seg.status {
            Status::Signature => seg
                .notes
                .push("the signature itself: removed before signing".into()),
            Status::Replaced(by) => seg.notes.push(format!(
                "replaced by segment {by}: this value is not part of the signed string"
            )),
            Status::Removed(by) => seg.notes.push(format!(
                "removed by segment {by} (nested too deeply): not part of the signed string"
            )),
            Status::Signed | Status::Ignored => {}
        }
        if !seg.is_hash && !matches!(seg.status, Status::Signed) {
            seg.differences
                .add("present in the body but not in the string PHP signs".into());
        }
    }

    // What a client that hashed its own encoding of the body would have signed.
    let client_query = segments
        .iter()
        .filter(|s| !s.is_hash)
        .map(|s| s.raw)
        .collect::<Vec<_>>()
        .join(&b'&');
    let mut client_signed = client_query.clone();
    client_signed.extend_from_slice(format!("::{}::{}", input.login, input.secret).as_bytes());
    let client_hash = wire::md5_hex(&client_signed);
    let sent_bytes = input.sent_hash.and_then(Value::as_bytes);
    let client_matches = input
        .sent_hash
        .map(|_| sent_bytes.is_some_and(|sent| wire::hash_matches(&client_hash, sent)));

    let notes = global_notes(input, &segments, &state, beyond_limit, &client_query);
    let verdict = verdict(input, &state, client_matches);

    let differences: Vec<String> = segments
        .iter()
        .flat_map(|seg| {
            seg.differences
                .render()
                .into_iter()
                .map(move |d| format!("segment {}: {d}", seg.number))
        })
        .collect();

    json!({
        "verdict": verdict,
        "php_query": lossy(input.php_query),
        "client_encoding": {
            "signed_string": lossy(&client_signed),
            "hash": client_hash,
            "matches_sent_hash": client_matches,
        },
        "differences": differences,
        "notes": notes,
        "segments": segments.iter().map(Segment::to_json).collect::<Vec<_>>(),
    })
}

/// Decodes one segment, stores it in `state` with `php_form` (the parser the server runs), and
/// records what PHP did to its name, where it went and what it replaced.
fn trace_segment(
    seg: &mut Segment<'_>,
    segment: RawSegment<'_>,
    state: &mut Map,
    live: &mut Vec<(Vec<Key>, usize)>,
    earlier: &mut [Segment<'_>],
    limits: Limits,
) {
    let name = url_decode(segment.raw_name);
    let value = url_decode(segment.raw_value);
    seg.value = Some(value.clone());
    let registration = register_variable_traced(state, &name, value.clone(), limits.max_depth);
    seg.notes
        .extend(registration.rewrites.iter().map(describe_rewrite));
    let number = seg.number;
    let hash_key = Key::Bytes(HASH.to_vec());
    match registration.placement {
        Placement::EmptyName => seg.notes.push(
            "empty name after decoding: PHP ignores the segment (it still counts towards the \
             limit of 1000 variables)"
                .into(),
        ),
        Placement::AppendRefused => seg.notes.push(
            "an array can take no more appends ('[]' after the largest integer key \
             9223372036854775807): PHP discards the value"
                .into(),
        ),
        Placement::TooDeep { base } => {
            seg.is_hash = base == hash_key;
            let mut setters = Vec::new();
            live.retain(|(path, t)| {
                let hit = path[0] == base;
                if hit {
                    earlier[*t].status = Status::Removed(number);
                    setters.push(t + 1);
                }
                !hit
            });
            let mut note = format!(
                "more than {} bracket groups (max_input_nesting_level): PHP ignores this \
                 variable and removes the whole top-level entry {}",
                limits.max_depth,
                quote(&String::from_utf8_lossy(&base.to_bytes())),
            );
            if !setters.is_empty() {
                note.push_str(&format!(" (set by {})", segment_list(&setters)));
            }
            seg.notes.push(note);
        }
        Placement::Stored { path, appended } => {
            seg.is_hash = path[0] == hash_key;
            for position in appended {
                if let Key::Int(n) = path[position] {
                    seg.notes
                        .push(format!("'[]' appends: the value is stored at index {n}"));
                }
            }
            record_replacements(seg, &path, live, earlier);
            live.push((path.clone(), number - 1));

            let php_name = encode_path(&path);
            let mut php = php_name.clone();
            php.push(b'=');
            php.extend(url_encode(&value));
            let shown = display_path(&path);
            if !seg.is_hash && url_encode(&name) != php_name {
                let written = String::from_utf8_lossy(&php_name);
                let how = if written == shown {
                    format!("stored and written by PHP as {}", quote(&shown))
                } else {
                    format!(
                        "stored as {}, which PHP writes {}",
                        quote(&shown),
                        quote(&written)
                    )
                };
                seg.differences.add(format!(
                    "name {} is {how}",
                    quote(&String::from_utf8_lossy(&name))
                ));
            }
            seg.name = Some(shown);
            seg.php = Some(php);
            seg.status = Status::Signed;
        }
    }

    if !seg.is_hash {
        encoding_differences(segment.raw_name, &mut seg.differences);
        if !segment.has_equals {
            seg.differences.add(format!(
                "no '=' after the name where PHP writes {}",
                quote(&format!("{}=", String::from_utf8_lossy(&url_encode(&name))))
            ));
        }
        encoding_differences(segment.raw_value, &mut seg.differences);
    }
}

/// What PHP did to a name, in words.
fn describe_rewrite(rewrite: &NameRewrite) -> String {
    let text = |bytes: &[u8]| quote(&String::from_utf8_lossy(bytes));
    match rewrite {
        NameRewrite::CutAtNul => "the name is cut at its first NUL byte (%00)".into(),
        NameRewrite::LeadingSpacesRemoved => "leading spaces are removed from the name".into(),
        NameRewrite::BaseMangled { from, to } => format!(
            "'.' and ' ' in a top-level name become '_': {} is stored as {}",
            text(from),
            text(to)
        ),
        NameRewrite::NotAnArray { plain } => format!(
            "the '[' has no ']' after it, so the name is not an array: that '[' and every later \
             ' ', '.' and '[' become '_', giving {}",
            text(plain)
        ),
        NameRewrite::UnterminatedGroupIgnored(group) => format!(
            "the unterminated group {} at the end of the name is ignored",
            text(group)
        ),
        NameRewrite::TrailingTextIgnored(rest) => {
            format!("{} after the last ']' is ignored", text(rest))
        }
    }
}

/// Marks every stored leaf that storing `path` overwrites, and says so in `seg`'s notes.
fn record_replacements(
    seg: &mut Segment<'_>,
    path: &[Key],
    live: &mut Vec<(Vec<Key>, usize)>,
    earlier: &mut [Segment<'_>],
) {
    let number = seg.number;
    let mut same = Vec::new();
    let mut below = Vec::new();
    let mut above = Vec::new();
    live.retain(|(other, t)| {
        let list = if other.as_slice() == path {
            &mut same
        } else if other.starts_with(path) {
            &mut below
        } else if path.starts_with(other) {
            &mut above
        } else {
            return true;
        };
        earlier[*t].status = Status::Replaced(number);
        list.push((other.clone(), t + 1));
        false
    });
    let shown = quote(&display_path(path));
    if !same.is_empty() {
        let setters: Vec<usize> = same.iter().map(|(_, n)| *n).collect();
        seg.notes.push(format!(
            "duplicate key: replaces the value of {shown} set by {}; the key keeps its original \
             position",
            segment_list(&setters)
        ));
    }
    if !below.is_empty() {
        let setters: Vec<usize> = below.iter().map(|(_, n)| *n).collect();
        seg.notes.push(format!(
            "replaces the array {shown} (set by {}) with a plain value, in its original position",
            segment_list(&setters)
        ));
    }
    for (other, setter) in above {
        seg.notes.push(format!(
            "turns the plain value {} set by segment {setter} into an array, in its original \
             position",
            quote(&display_path(&other))
        ));
    }
}

/// Notes about the body as a whole.
fn global_notes(
    input: &Input<'_>,
    segments: &[Segment<'_>],
    state: &Map,
    beyond_limit: usize,
    client_query: &[u8],
) -> Vec<String> {
    let mut notes = Vec::new();
    if input.body.ends_with(b"\n") {
        notes.push(
            "the body ends with a line feed (as `echo` adds one): it is part of the last value; \
             pass the body with printf '%s' or echo -n if it is not meant to be there"
                .into(),
        );
    }
    if beyond_limit > 0 {
        notes.push(format!(
            "{beyond_limit} segment(s) beyond PHP's limit of 1001 segments were ignored"
        ));
    }
    let in_body_order: Vec<u8> = segments
        .iter()
        .filter(|s| s.status == Status::Signed)
        .filter_map(|s| s.php.as_deref())
        .collect::<Vec<_>>()
        .join(&b'&');
    if in_body_order != input.php_query {
        notes.push(
            "PHP's string lists the parameters in a different order than the body: a key set \
             again keeps the position of its first appearance, and all entries of an array are \
             written together at the position of its top-level name"
                .into(),
        );
    }
    if client_query == input.php_query {
        notes.push(
            "the body (without its hash) is already exactly PHP's encoding: hashing it as sent \
             gives the same string"
                .into(),
        );
    }
    for key in ["rpsKey", "rps_key"] {
        let non_blank = state
            .get_str(key)
            .and_then(Value::as_bytes)
            .is_some_and(|v| v.iter().any(|b| !b.is_ascii_whitespace()));
        if non_blank {
            notes.push(format!(
                "the body carries {key}: the server authenticates it by key (API 2.0) and \
                 ignores hash"
            ));
            break;
        }
    }
    notes
}

fn verdict(input: &Input<'_>, state: &Map, client_matches: Option<bool>) -> String {
    let Some(sent) = input.sent_hash else {
        return if state.is_empty() {
            "the body carries no parameters: the server answers 2 / No transmitted data".into()
        } else {
            "no hash was sent: the server answers 1 / Not transferred hash (unless the body \
             carries an API key)"
                .into()
        };
    };
    let Some(sent) = sent.as_bytes() else {
        return "the hash is an array: it never matches, the server answers 4 / Incorrect hash"
            .into();
    };
    if sent.is_empty() || sent == b"0" {
        return "the hash is empty (or '0'): the server answers 1 / Not transferred hash".into();
    }
    if wire::hash_matches(input.expected_hash, sent) {
        return "valid: the sent hash is the md5 of the string PHP rebuilds from the body".into();
    }
    let expected = input.expected_hash.as_bytes();
    if sent.trim_ascii() == expected {
        return "invalid only because of the white space around the sent hash (a trailing line \
                feed is what `echo` adds): the digest itself is right, but the server compares \
                byte for byte and answers 4 / Incorrect hash"
            .into();
    }
    if sent.to_ascii_lowercase() == expected {
        return "invalid only because the sent hash is in upper case: the digest itself is \
                right, but the server compares byte for byte, expects lower-case hex and answers \
                4 / Incorrect hash"
            .into();
    }
    if client_matches == Some(true) {
        return "invalid: the client hashed its own encoding of the body (client_encoding), not \
                the string PHP rebuilds from the parsed parameters (signed_string); the server \
                answers 4 / Incorrect hash. The listed differences are where the client's \
                encoder differs from PHP's http_build_query: sign PHP's encoding instead"
            .into();
    }
    "invalid: the sent hash matches neither the string PHP rebuilds nor the body's own \
     encoding; check the login and the secret, and which parameters the client signed (the \
     server answers 4 / Incorrect hash)"
        .into()
}

/// `base[k1][k2]` as PHP would print the path.
fn display_path(path: &[Key]) -> String {
    let mut text = String::from_utf8_lossy(&path[0].to_bytes()).into_owned();
    for key in &path[1..] {
        text.push('[');
        text.push_str(&String::from_utf8_lossy(&key.to_bytes()));
        text.push(']');
    }
    text
}

/// One unit of the raw encoding; each decodes to one byte (or one UTF-8 character for a
/// literal).
enum Token<'a> {
    Plus,
    Escape(&'a [u8], u8),
    BadPercent,
    Literal(&'a [u8]),
}

fn tokens(raw: &[u8]) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let (token, width) = match raw[i] {
            b'+' => (Token::Plus, 1),
            b'%' => match raw.get(i + 1..i + 3).and_then(|p| hex_pair(p[0], p[1])) {
                Some(byte) => (Token::Escape(&raw[i..i + 3], byte), 3),
                None => (Token::BadPercent, 1),
            },
            b if b < 0x80 => (Token::Literal(&raw[i..i + 1]), 1),
            b => {
                let width = match b {
                    0xc0..=0xdf => 2,
                    0xe0..=0xef => 3,
                    0xf0..=0xf7 => 4,
                    _ => 1,
                };
                let char_width = raw
                    .get(i..i + width)
                    .filter(|c| std::str::from_utf8(c).is_ok())
                    .map_or(1, |_| width);
                (Token::Literal(&raw[i..i + char_width]), char_width)
            }
        };
        out.push(token);
        i += width;
    }
    out
}

fn hex_pair(high: u8, low: u8) -> Option<u8> {
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    Some((digit(high)? << 4) | digit(low)?)
}

/// Records every unit of `raw` that PHP's encoder would write differently.
fn encoding_differences(raw: &[u8], differences: &mut Differences) {
    for token in tokens(raw) {
        let description = match token {
            Token::Plus => None,
            Token::Escape(text, byte) => {
                let php = url_encode(&[byte]);
                let text = String::from_utf8_lossy(text);
                if php == text.as_bytes() {
                    None
                } else if byte == b' ' {
                    Some(format!("'{text}' where PHP writes '+'"))
                } else if php.len() == 1 {
                    Some(format!(
                        "'{text}' where PHP writes {} unescaped",
                        quote(&char::from(byte).to_string())
                    ))
                } else {
                    Some(format!(
                        "'{text}' (lower-case hex) where PHP writes '{}'",
                        String::from_utf8_lossy(&php)
                    ))
                }
            }
            Token::BadPercent => Some(
                "'%' not followed by two hex digits (kept as a literal '%') where PHP writes \
                 '%25'"
                    .into(),
            ),
            Token::Literal(bytes) => {
                let php = url_encode(bytes);
                (php != bytes).then(|| describe_literal(bytes, &String::from_utf8_lossy(&php)))
            }
        };
        if let Some(description) = description {
            differences.add(description);
        }
    }
}

fn describe_literal(bytes: &[u8], php: &str) -> String {
    match bytes {
        [b' '] => "a raw space where PHP writes '+'".into(),
        [b @ 0x21..=0x7e] => format!(
            "{} left unescaped where PHP writes '{php}'",
            quote(&char::from(*b).to_string())
        ),
        [b] => {
            let name = match b {
                0x00 => " (NUL)",
                0x09 => " (tab)",
                0x0a => " (line feed)",
                0x0d => " (carriage return)",
                _ => "",
            };
            format!("byte 0x{b:02X}{name} left unescaped where PHP writes '{php}'")
        }
        _ => {
            let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
            format!(
                "{} (bytes {}) left unescaped where PHP writes '{php}'",
                quote(&String::from_utf8_lossy(bytes)),
                hex.join(" ")
            )
        }
    }
}

/// `'text'`, or `"text"` when the text holds a single quote.
fn quote(text: &str) -> String {
    if text.contains('\'') {
        format!("\"{text}\"")
    } else {
        format!("'{text}'")
    }
}

fn segment_list(numbers: &[usize]) -> String {
    let list: Vec<String> = numbers.iter().map(usize::to_string).collect();
    match numbers.len() {
        1 => format!("segment {}", list[0]),
        _ => format!("segments {}", list.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(body: &[u8]) -> Json {
        let params = php_form::parse(body);
        let signed = wire::signed_string(&params, "demo", "secret");
        let query = &signed[..signed.len() - "::demo::secret".len()];
        let hash = wire::md5_hex(&signed);
        explain(&Input {
            body,
            login: "demo",
            secret: "secret",
            php_query: query,
            expected_hash: &hash,
            sent_hash: params.get_str("hash"),
        })
    }

    fn statuses(report: &Json) -> Vec<String> {
        report["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["status"].as_str().unwrap().to_owned())
            .collect()
    }

    fn all_text(report: &Json) -> String {
        report.to_string()
    }

    /// The statuses must agree with php_form on every example of the wire contract: the signed
    /// segments are exactly the pairs of PHP's rebuild.
    #[test]
    fn the_trace_agrees_with_the_parser() {
        let deep = format!("x=0&a=0&x{}=1&x=5&b=2", "[k]".repeat(65));
        let many: Vec<String> = (1..=1003).map(|i| format!("v{i}={i}")).collect();
        let many = many.join("&");
        let keys = "[k]".repeat(64);
        let refused_deep = format!("a[9223372036854775807]=1&a[]{keys}=2&b=3");
        let limit_first = format!("a[9223372036854775807]=1&a{keys}[]=2&b=3");
        let examples = include_str!("../../../../testdata/php-form/verified-examples.tsv")
            .lines()
            .filter(|line| !line.starts_with('#'))
            .map(|line| {
                line.split_once('\t')
                    .expect("body, tab, rebuilt")
                    .0
                    .as_bytes()
            });
        let bodies: Vec<&[u8]> = examples
            .chain([
                &b"m[9223372036854775807]=a&m[]=b"[..],
                refused_deep.as_bytes(),
                limit_first.as_bytes(),
                deep.as_bytes(),
                many.as_bytes(),
            ])
            .collect();
        for body in bodies {
            if let Err(message) = check_trace(body) {
                panic!("{}: {message}", String::from_utf8_lossy(body));
            }
        }
    }

    fn check_trace(body: &[u8]) -> Result<(), String> {
        let report = run(body);
        let query = report["php_query"].as_str().unwrap();
        let mut php: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
        let mut traced: Vec<&str> = report["segments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["status"] == "signed")
            .map(|s| s["php"].as_str().unwrap())
            .collect();
        php.sort_unstable();
        traced.sort_unstable();
        if php != traced {
            return Err(format!("PHP wrote {php:?}, the trace says {traced:?}"));
        }
        Ok(())
    }

    proptest::proptest! {
        /// Bodies made of the bytes that matter to PHP's parser: the statuses always agree with it.
        #[test]
        fn the_trace_agrees_with_the_parser_on_any_body(
            body in proptest::collection::vec(
                proptest::sample::select(b"ab5-0[]. =&+%2E~\t".to_vec()),
                0..40,
            )
        ) {
            if let Err(message) = check_trace(&body) {
                return Err(proptest::test_runner::TestCaseError::fail(format!(
                    "{}: {message}",
                    String::from_utf8_lossy(&body)
                )));
            }
        }
    }

    #[test]
    fn statuses_follow_php() {
        assert_eq!(
            statuses(&run(b"x=1&y=2&x=3")),
            ["replaced", "signed", "signed"]
        );
        assert_eq!(statuses(&run(b"h=1&h[]=2")), ["replaced", "signed"]);
        assert_eq!(
            statuses(&run(b"q[a]=1&q=2&q[b]=3")),
            ["replaced", "replaced", "signed"]
        );
        assert_eq!(
            statuses(&run(b"&&a=1&&hash=x")),
            ["ignored", "ignored", "signed", "ignored", "signature"]
        );
        let deep = format!("x=0&a=0&x{}=1&x=5", "[k]".repeat(65));
        assert_eq!(
            statuses(&run(deep.as_bytes())),
            ["removed", "signed", "ignored", "signed"]
        );
        assert_eq!(
            statuses(&run(b"m[9223372036854775807]=a&m[]=b")),
            ["signed", "ignored"]
        );
        let keys = "[k]".repeat(64);
        let refused = format!("a[9223372036854775807]=1&a[]{keys}=2&b=3");
        assert_eq!(
            statuses(&run(refused.as_bytes())),
            ["signed", "ignored", "signed"]
        );
        let limit_first = format!("a[9223372036854775807]=1&a{keys}[]=2&b=3");
        assert_eq!(
            statuses(&run(limit_first.as_bytes())),
            ["removed", "ignored", "signed"]
        );
    }

    #[test]
    fn names_the_differing_characters() {
        let report = run(b"a=x%20y~&b=%2f%41*!()&c=\xd0\x9c&d=%zz&e");
        let text = all_text(&report);
        for expected in [
            "'%20' where PHP writes '+'",
            "'~' left unescaped where PHP writes '%7E'",
            "'%2f' (lower-case hex) where PHP writes '%2F'",
            "'%41' where PHP writes 'A' unescaped",
            "'*' left unescaped where PHP writes '%2A'",
            "'!' left unescaped where PHP writes '%21'",
            "'(' left unescaped where PHP writes '%28'",
            "'М' (bytes D0 9C) left unescaped where PHP writes '%D0%9C'",
            "'%' not followed by two hex digits",
            "no '=' after the name where PHP writes 'e='",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
    }

    #[test]
    fn names_rewritten_names() {
        let text = all_text(&run(b"a.b=1&r[]=2&k[a]b=3&t[u=4"));
        for expected in [
            "'a.b' is stored as 'a_b'",
            "stored at index 0",
            "name 'r[]' is stored as 'r[0]', which PHP writes 'r%5B0%5D'",
            "'b' after the last ']' is ignored",
            "giving 't_u'",
            "'[' left unescaped where PHP writes '%5B'",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
    }

    #[test]
    fn client_encoding_is_the_body_without_its_hash() {
        let report = run(b"hash=zz&b=1&a=~");
        assert_eq!(
            report["client_encoding"]["signed_string"],
            "b=1&a=~::demo::secret"
        );
        let report = run(b"b=1&hash=zz&a=~");
        assert_eq!(
            report["client_encoding"]["signed_string"],
            "b=1&a=~::demo::secret"
        );
    }
}
