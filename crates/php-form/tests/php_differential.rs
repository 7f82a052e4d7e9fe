//! Differential tests: php-form against PHP 8.2 itself.
//!
//! Form bodies and typed values are generated from a seed (fixed by default, so every run is the
//! same; `CLICKBILL_DIFF_SEED` picks another one) and handed to both php-form and PHP:
//!
//! * `parse_matches_php_parse_str`: the bulk of the bodies go through one PHP process that runs
//!   `parse_str()` on each (raw NUL bytes written as `%00`, see `php/parse_str.php`);
//! * `parse_matches_php_post`: the limit cases, which `parse_str()` counts differently, and a
//!   sample of the others are POSTed to PHP's built-in web server, whose `$_POST` is the oracle;
//! * `build_query_data_matches_php`: typed PHP values (floats by their exact bits) are rebuilt by
//!   `http_build_query()`.
//!
//! For each body the parsed tree (key types, order, value bytes), the rebuilt query and the md5
//! of the rebuilt query with the signature suffix must be identical.
//!
//! Without PHP 8.2 on the PATH the tests print a loud notice and pass, unless
//! `CLICKBILL_REQUIRE_PHP=1`, which makes them fail.

use md5::{Digest, Md5};
use php_form::{build_query, build_query_data, parse, Data, Key, Map, Value};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const DEFAULT_SEED: u64 = 0xC11C_B111_0000_0082;

/// Random bodies in the bulk run, on top of the enumerated ones.
const RANDOM_BODIES: usize = 24_000;

/// Random typed structures, on top of the enumerated floats.
const RANDOM_TYPED: usize = 6_000;

/// PHP runs without any ini file, with its documented defaults spelled out, so that a local
/// configuration cannot change the outcome.
const PHP_SETTINGS: &[&str] = &[
    "-n",
    "-d",
    "max_input_vars=1000",
    "-d",
    "max_input_nesting_level=64",
    "-d",
    "precision=14",
    "-d",
    "arg_separator.input=&",
    "-d",
    "arg_separator.output=&",
    "-d",
    "variables_order=EGPCS",
    "-d",
    "post_max_size=8M",
    "-d",
    "memory_limit=1G",
    "-d",
    "error_reporting=-1",
    "-d",
    "display_errors=stderr",
    "-d",
    "log_errors=0",
];

/// The suffix the API 1.0 signature appends for login `demo` with secret `secret`.
const SIGNATURE_SUFFIX: &[u8] = b"::demo::secret";

// ---------------------------------------------------------------------------------------------
// Finding PHP, seeds, reporting.
// ---------------------------------------------------------------------------------------------

/// Returns the PHP binary, or `None` (after a loud notice) when the test has to be skipped.
fn php_or_skip(test: &str) -> Option<PathBuf> {
    let php = PathBuf::from("php");
    let why = match Command::new(&php)
        .args(["-n", "-r", "echo PHP_VERSION;"])
        .output()
    {
        Ok(out) if out.status.success() => {
            let version = String::from_utf8_lossy(&out.stdout).into_owned();
            if version.starts_with("8.2.") {
                return Some(php);
            }
            format!("`php` on the PATH is PHP {version}, the oracle must be PHP 8.2")
        }
        Ok(out) => format!("`php -r` failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(err) => format!("`php` could not be started ({err})"),
    };
    if std::env::var("CLICKBILL_REQUIRE_PHP").as_deref() == Ok("1") {
        panic!("{test}: CLICKBILL_REQUIRE_PHP=1 but {why}");
    }
    // Written to the stderr handle itself: the test harness captures `eprintln!`, and this
    // notice must be seen even when the test passes.
    let rule = "#".repeat(90);
    let notice = format!(
        "\n{rule}\n## {test}: SKIPPED, NOTHING WAS COMPARED WITH PHP\n## {why}\n\
         ## Install PHP 8.2 CLI, or set CLICKBILL_REQUIRE_PHP=1 to make this a failure.\n{rule}\n\n"
    );
    let _ = std::io::stderr().write_all(notice.as_bytes());
    None
}

fn seed(test: &str) -> u64 {
    let seed = match std::env::var("CLICKBILL_DIFF_SEED") {
        Ok(text) => {
            let text = text.trim();
            let parsed = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("CLICKBILL_DIFF_SEED={text:?} is not a u64"))
        }
        Err(_) => DEFAULT_SEED,
    };
    eprintln!("{test}: seed {seed:#x} (set CLICKBILL_DIFF_SEED to change it)");
    seed
}

fn php_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("php")
}

fn show(bytes: &[u8]) -> String {
    format!("\"{}\"", bytes.escape_ascii())
}

/// Collects disagreements and fails the test with the first few once the run is over.
struct Mismatches {
    test: &'static str,
    seed: u64,
    total: usize,
    report: String,
}

impl Mismatches {
    const SHOWN: usize = 8;

    fn new(test: &'static str, seed: u64) -> Self {
        Mismatches {
            test,
            seed,
            total: 0,
            report: String::new(),
        }
    }

    fn add(&mut self, what: impl FnOnce() -> String) {
        self.total += 1;
        if self.total <= Self::SHOWN {
            let _ = writeln!(self.report, "--- mismatch {}:\n{}", self.total, what());
        }
    }

    fn finish(self, compared: usize, started: Instant) {
        eprintln!(
            "{}: {compared} cases compared with PHP in {:.1?}, {} mismatches",
            self.test,
            started.elapsed(),
            self.total
        );
        if self.total > 0 {
            panic!(
                "{}: {} of {compared} cases differ from PHP (seed {:#x}; rerun with \
                 CLICKBILL_DIFF_SEED={:#x})\n{}",
                self.test, self.total, self.seed, self.seed, self.report
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Talking to PHP.
// ---------------------------------------------------------------------------------------------

/// Frames inputs for the PHP scripts: "<length>\n<bytes>" per case.
fn frame_cases<'a>(cases: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for case in cases {
        out.extend_from_slice(format!("{}\n", case.len()).as_bytes());
        out.extend_from_slice(case);
    }
    out
}

/// Splits PHP's answer into its length-prefixed fields ("<length>:<bytes>").
fn split_fields(mut answer: &[u8]) -> Vec<&[u8]> {
    let mut fields = Vec::new();
    while !answer.is_empty() {
        let colon = answer
            .iter()
            .position(|&b| b == b':')
            .unwrap_or_else(|| panic!("PHP answer without a length: {}", show(answer)));
        let length: usize = std::str::from_utf8(&answer[..colon])
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or_else(|| panic!("bad field length in PHP answer: {}", show(answer)));
        let end = colon + 1 + length;
        assert!(end <= answer.len(), "truncated PHP answer");
        fields.push(&answer[colon + 1..end]);
        answer = &answer[end..];
    }
    fields
}

/// Runs one PHP script over all cases in a single process; returns its stdout.
fn run_php_script(php: &Path, script: &str, input: Vec<u8>) -> Vec<u8> {
    let mut child = Command::new(php)
        .args(PHP_SETTINGS)
        .arg(php_dir().join(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start php for {script}: {err}"));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // The script reads all of its input before it writes anything, but a separate writer keeps
    // this safe even if that changes.
    let writer = thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("php ran");
    writer
        .join()
        .expect("writer thread")
        .expect("input written to php");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "php {script} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// PHP's built-in web server on a free loopback port, stopped when dropped (also on panic).
struct PhpServer {
    child: Child,
    addr: SocketAddr,
}

impl PhpServer {
    fn start(php: &Path) -> PhpServer {
        let router = php_dir().join("post.php");
        for _attempt in 0..5 {
            // Ask the OS for a free port, then hand it to PHP; if another process takes it in
            // between, PHP exits and the next attempt picks a new one.
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .and_then(|listener| listener.local_addr())
                .expect("a free loopback port")
                .port();
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let child = Command::new(php)
                .args(PHP_SETTINGS)
                // The web server would print warnings (such as "Input variables exceeded 1000")
                // into the response; they are of no interest here.
                .args(["-d", "display_errors=0"])
                .arg("-S")
                .arg(addr.to_string())
                .arg(&router)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("php -S starts");
            let mut server = PhpServer { child, addr };
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if server.child.try_wait().ok().flatten().is_some() {
                    break; // exited: most likely the port was taken
                }
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    // Make sure it is our PHP that answers.
                    if server.post(b"probe=1").ok().as_deref() == Some(&report_of(b"probe=1")[..]) {
                        return server;
                    }
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("PHP's built-in web server did not come up on 127.0.0.1");
    }

    /// POSTs a raw form body and returns the response body.
    fn post(&self, body: &[u8]) -> Result<Vec<u8>, String> {
        let mut stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))
            .map_err(|err| format!("connect: {err}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .and_then(|()| stream.set_write_timeout(Some(Duration::from_secs(30))))
            .map_err(|err| format!("timeouts: {err}"))?;
        let head = format!(
            "POST / HTTP/1.0\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        stream
            .write_all(&request)
            .map_err(|err| format!("write: {err}"))?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .map_err(|err| format!("read: {err}"))?;
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or("no end of headers in the response")?;
        let status_line = response.split(|&b| b == b'\n').next().unwrap_or_default();
        if !status_line.windows(5).any(|w| w == b" 200 ") {
            return Err(format!("status {}", show(status_line)));
        }
        Ok(response[split + 4..].to_vec())
    }
}

impl Drop for PhpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// php-form's side of the comparison, in the notation of `php/common.php`.
// ---------------------------------------------------------------------------------------------

fn encode_key(key: &Key, out: &mut Vec<u8>) {
    match key {
        Key::Int(n) => out.extend_from_slice(format!("i{n};").as_bytes()),
        Key::Bytes(bytes) => encode_string(bytes, out),
    }
}

fn encode_string(bytes: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("s{}:", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
}

fn encode_form(map: &Map, out: &mut Vec<u8>) {
    out.extend_from_slice(format!("a{}{{", map.len()).as_bytes());
    for (key, value) in map {
        encode_key(key, out);
        match value {
            Value::Bytes(bytes) => encode_string(bytes, out),
            Value::Array(child) => encode_form(child, out),
        }
    }
    out.push(b'}');
}

fn push_field(bytes: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("{}:", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
}

/// php-form's report for a body: tree, rebuilt query, md5 of the signed string.
fn report_of(body: &[u8]) -> Vec<u8> {
    let form = parse(body);
    let rebuilt = build_query(&form);
    let mut tree = Vec::new();
    encode_form(&form, &mut tree);
    let mut signed = rebuilt.clone();
    signed.extend_from_slice(SIGNATURE_SUFFIX);
    let md5: String = Md5::digest(&signed)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut out = Vec::new();
    push_field(&tree, &mut out);
    push_field(&rebuilt, &mut out);
    push_field(md5.as_bytes(), &mut out);
    out
}

fn describe_report_mismatch(case: &Case, oracle: &str, php: &[u8], rust: &[u8]) -> String {
    let php = split_fields(php);
    let rust = split_fields(rust);
    let mut text = format!(
        "case [{}] body ({} bytes): {}\n",
        case.label,
        case.body.len(),
        show(&case.body)
    );
    for (i, what) in ["tree", "rebuilt", "md5"].iter().enumerate() {
        let (p, r) = (php.get(i).copied(), rust.get(i).copied());
        if p != r {
            let _ = writeln!(
                text,
                "  {what} from {oracle}: {}\n  {what} from php-form: {}",
                show(p.unwrap_or_default()),
                show(r.unwrap_or_default())
            );
        }
    }
    text
}

// ---------------------------------------------------------------------------------------------
// A small deterministic generator.
// ---------------------------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// splitmix64
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn range(&mut self, low: usize, high_inclusive: usize) -> usize {
        low + self.below(high_inclusive - low + 1)
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }

    fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }
}

// ---------------------------------------------------------------------------------------------
// Form bodies.
// ---------------------------------------------------------------------------------------------

struct Case {
    label: String,
    body: Vec<u8>,
}

impl Case {
    fn new(label: impl Into<String>, body: impl Into<Vec<u8>>) -> Case {
        Case {
            label: label.into(),
            body: body.into(),
        }
    }
}

const WHITESPACE: &[u8] = b" \t\n\x0b\x0c\r";

/// Bytes that mean something to the parser, drawn more often than the rest.
const INTERESTING: &[u8] = b"[] .&=%+\0\t\n\x0b\x0c\r-0123456789ax_";

const BASES: &[&[u8]] = &[
    b"a",
    b"b",
    b"x",
    b"arr",
    b"5",
    b"-3",
    b"0",
    b"07",
    b"a.b",
    b"a b",
    b".",
    b"_",
    b" a",
    b"a]",
    b"\xc3\xa4",
    b"this",
    b"GLOBALS",
    b"-",
    b"9223372036854775807",
];

/// Key spellings: canonical integers, near-integers that stay strings, the i64 bounds.
const KEYS: &[&[u8]] = &[
    b"0",
    b"1",
    b"2",
    b"5",
    b"-1",
    b"-3",
    b"07",
    b"-0",
    b"+1",
    b"1.5",
    b" 1",
    b"1 ",
    b"x",
    b"y",
    b"k",
    b"00",
    b"-01",
    b"9223372036854775807",
    b"9223372036854775806",
    b"-9223372036854775808",
    b"-9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775809",
    b"99999999999999999999",
    b"[",
    b"a.b",
    b"a b",
    b"1e3",
    b"0x1A",
    b" ",
    b"\t1",
    b"",
];

const VALUES: &[&[u8]] = &[
    b"1", b"a", b"x y", b"%", b"+", b"&", b"=", b"\0", b"[]", b"0", b"",
];

const BAD_ESCAPES: &[&[u8]] = &[
    b"%", b"%z", b"%4", b"%g1", b"%%", b"%0", b"%%41", b"%4%41", b"%+1", b"%-1", b"% 1", b"%\xff",
];

fn random_bytes(rng: &mut Rng, max_len: usize) -> Vec<u8> {
    let len = rng.below(max_len + 1);
    (0..len)
        .map(|_| {
            if rng.chance(2) {
                INTERESTING[rng.below(INTERESTING.len())]
            } else {
                rng.byte()
            }
        })
        .collect()
}

fn random_key(rng: &mut Rng) -> Vec<u8> {
    if rng.chance(4) {
        random_bytes(rng, 4)
    } else {
        rng.pick(KEYS).to_vec()
    }
}

/// A variable name as it reads after URL decoding.
fn random_name(rng: &mut Rng) -> Vec<u8> {
    let mut name = Vec::new();
    if rng.chance(10) {
        name.resize(rng.range(1, 2), b' ');
    }
    match rng.below(12) {
        0 => name.extend(random_bytes(rng, 4)),
        1 => {}
        _ => name.extend_from_slice(rng.pick(BASES)),
    }
    let groups = match rng.below(40) {
        0..=11 => 0,
        12..=31 => rng.range(1, 3),
        32..=38 => rng.range(4, 8),
        _ => rng.range(60, 70),
    };
    for _ in 0..groups {
        name.push(b'[');
        match rng.below(100) {
            0..=24 => {}
            25..=32 => name.push(WHITESPACE[rng.below(WHITESPACE.len())]),
            33..=37 => {
                name.push(WHITESPACE[rng.below(WHITESPACE.len())]);
                name.extend(random_key(rng));
            }
            38..=40 => {
                // unterminated (unless a later group supplies a ']')
                name.extend(random_key(rng));
                continue;
            }
            41..=44 => {
                name.extend(random_key(rng));
                name.push(b']');
                name.extend_from_slice(rng.pick(&[&b"x"[..], b" ", b".", b"]", b"x["]));
                continue;
            }
            _ => name.extend(random_key(rng)),
        }
        name.push(b']');
    }
    if rng.chance(12) {
        let junk: &[&[u8]] = &[b"]", b"[", b"x", b".", b" ", b"]]", b"[x", b"]["];
        name.extend_from_slice(rng.pick(junk));
    }
    name
}

fn random_value(rng: &mut Rng) -> Vec<u8> {
    match rng.below(10) {
        0..=2 => Vec::new(),
        3..=6 => rng.pick(VALUES).to_vec(),
        _ => random_bytes(rng, 8),
    }
}

fn percent(byte: u8, upper: bool) -> [u8; 3] {
    let hex = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    [
        b'%',
        hex[usize::from(byte >> 4)],
        hex[usize::from(byte & 15)],
    ]
}

/// Writes decoded bytes into a body in one of several styles, from "as a browser would" to
/// "not at all" (where '&', '=', '%' and '+' act on the body directly).
fn encode_random(rng: &mut Rng, bytes: &[u8], in_name: bool, out: &mut Vec<u8>) {
    let style = rng.below(8);
    for &b in bytes {
        let special = b == b'&' || b == b'%' || b == b'+' || (in_name && b == b'=');
        let encode = match style {
            0..=3 => special || (b >= 0x80 && rng.chance(2)),
            4 => true,
            5 | 6 => special || rng.chance(3),
            _ => false,
        };
        if b == b' ' && style != 7 && rng.chance(2) {
            out.push(b'+');
        } else if encode {
            out.extend_from_slice(&percent(b, rng.chance(2)));
        } else {
            out.push(b);
        }
    }
    if rng.chance(12) {
        let bad = rng.pick(BAD_ESCAPES);
        let at = out.len() - rng.below(out.len().min(4) + 1);
        out.splice(at..at, bad.iter().copied());
    }
}

fn random_segment(rng: &mut Rng, out: &mut Vec<u8>) {
    match rng.below(25) {
        0 => {}
        1 => {
            let name = random_name(rng);
            encode_random(rng, &name, true, out);
        }
        2 => {
            out.push(b'=');
            let value = random_value(rng);
            encode_random(rng, &value, false, out);
        }
        _ => {
            let name = random_name(rng);
            encode_random(rng, &name, true, out);
            out.push(b'=');
            let value = random_value(rng);
            encode_random(rng, &value, false, out);
        }
    }
}

fn random_body(rng: &mut Rng, segments: usize) -> Vec<u8> {
    let mut body = Vec::new();
    if rng.chance(10) {
        body.resize(rng.range(1, 2), b'&');
    }
    for i in 0..segments {
        if i > 0 {
            body.push(b'&');
        }
        random_segment(rng, &mut body);
    }
    if rng.chance(10) {
        body.extend(std::iter::repeat_n(b'&', rng.range(1, 2)));
    }
    body
}

/// The examples the wire contract lists as verified (except the two about the limits, which
/// the limit cases cover).
fn spec_examples() -> Vec<Case> {
    include_str!("../../../testdata/php-form/verified-examples.tsv")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let (body, _) = line.split_once('\t').expect("body, tab, rebuilt");
            Case::new("spec", body.as_bytes())
        })
        .collect()
}

/// Every byte value, raw and percent-encoded (both cases), in every part of a name and in values.
fn byte_cases() -> Vec<Case> {
    let shapes: &[(&str, &[u8], &[u8])] = &[
        ("inside base", b"a", b"b=1"),
        ("base start", b"", b"=1"),
        ("after leading space", b" ", b"x=1"),
        ("whole key", b"a[", b"]=1"),
        ("key end", b"a[x", b"]=1"),
        ("key start", b"a[", b"x]=1"),
        ("after group", b"a[]", b"=1"),
        ("between groups", b"a[x]", b"[y]=1"),
        ("unterminated", b"a[", b"=1"),
        ("value", b"v=a", b"b"),
        ("twice", b"a[", b"][]=1&a[\x01][]=2"),
    ];
    let mut cases = Vec::new();
    for byte in 0..=255u8 {
        for (what, before, after) in shapes {
            let spellings: [(&str, Vec<u8>); 3] = [
                ("raw", vec![byte]),
                ("upper", percent(byte, true).to_vec()),
                ("lower", percent(byte, false).to_vec()),
            ];
            for (spelling, middle) in spellings {
                let mut body = before.to_vec();
                body.extend_from_slice(&middle);
                let mut rest = after.to_vec();
                // "twice" repeats the byte in its second name.
                if let Some(at) = rest.iter().position(|&b| b == 1) {
                    rest.splice(at..=at, middle.iter().copied());
                }
                body.extend_from_slice(&rest);
                cases.push(Case::new(
                    format!("byte {byte:#04x} {spelling} {what}"),
                    body,
                ));
            }
        }
    }
    cases
}

/// Key spellings against the append rule, and the i64 bounds.
fn append_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for key in KEYS {
        let key = String::from_utf8_lossy(key);
        for shape in [
            "s[K]=a&s[]=b&s[]=c",
            "s[]=a&s[K]=b&s[]=c",
            "s[K][]=a&s[K][]=b",
            "s[x][K]=a&s[x][]=b&s[x][K]=c",
            "s[K]=a&s[K][y]=b&s[K]=c",
            "s[K][]=a&s[K]=b&s[]=c",
        ] {
            cases.push(Case::new(
                format!("append with key {key:?}"),
                shape.replace('K', &key),
            ));
        }
    }
    for body in [
        "m[9223372036854775807]=1&m[]=2&m[]=3&m[x]=4",
        "m[9223372036854775806]=1&m[]=2&m[]=3",
        "m[9223372036854775807]=1&m[][x]=2&m[y]=3",
        "m[9223372036854775807]=1&m[][]=2",
        "m[9223372036854775807][]=1&m[9223372036854775807][]=2",
        "m[-9223372036854775808]=1&m[]=2",
        "m[-9223372036854775809]=1&m[]=2",
        "m[9223372036854775808]=1&m[]=2",
        "m[]=1&m[-5]=2&m[]=3",
        "m[-5]=1&m[-7]=2&m[]=3",
        "m[-1]=1&m[]=2&m[]=3",
        "m[5]=1&m[3]=2&m[]=3",
        "m[x]=1&m[]=2",
        "m=1&m[]=2&m[]=3",
        "m[]=1&m=2&m[]=3",
        "m[a][b]=1&m[a]=2&m[a][]=3",
        "9223372036854775807[]=1&9223372036854775807[]=2",
        "-9223372036854775808=1&9223372036854775808=2",
    ] {
        cases.push(Case::new("append bounds", body));
    }
    cases
}

/// Names around the nesting limit of 64 bracket groups.
fn depth_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for n in 60..=70 {
        let keys = "[k]".repeat(n);
        let keys_less = "[k]".repeat(n - 1);
        let appends = "[]".repeat(n);
        let bodies = [
            format!("x{keys}=1"),
            format!("x=0&a=0&x{keys}=1&x=5&b=2"),
            format!("x[a]=0&y=1&x{keys}=1"),
            format!("x{appends}=1"),
            format!("x{keys_less}[=1"),
            format!("x{keys_less}[k=1"),
            format!("x{keys}junk=1"),
            format!("x{keys}[=1"),
            format!("a[9223372036854775807]=1&a[]{keys_less}=2&b=3"),
            format!("a[9223372036854775807]=1&a{keys_less}[]=2&b=3"),
            format!("a[9223372036854775807][k]=1&a[9223372036854775807][k]{keys_less}=2"),
            format!(" x{}=1", "[ ]".repeat(n)),
            format!("x{}=1", "[\t]".repeat(n)),
            format!("x.y{keys}=1&x_y=2"),
        ];
        for body in bodies {
            cases.push(Case::new(format!("depth {n}"), body));
        }
    }
    cases
}

/// Percent escapes, empty names and mangling, written out by hand.
fn escape_and_name_cases() -> Vec<Case> {
    let tricky: &[&str] = &[
        "%",
        "%%",
        "%%%",
        "%4",
        "%41",
        "%4g",
        "%g4",
        "%ZZ",
        "a%",
        "a%2",
        "%2%41",
        "%%41",
        "%2541",
        "+%2B+",
        "%+",
        "%00",
        "%0",
        "%e2%82%ac",
        "%C3%A4",
        "%5B",
        "%5D",
        "%5b%5d",
        "%3D",
        "%26",
    ];
    let mut cases = Vec::new();
    for t in tricky {
        for shape in [
            "N=v", "v=N", "aN=v", "a[N]=v", "a[xN]=v", "a[]N=v", "N[a]=v",
        ] {
            cases.push(Case::new("escape", shape.replace('N', t)));
        }
    }
    let names: &[&str] = &[
        "=1",
        "=",
        "",
        " =1",
        "  [x]=1",
        "[]=1",
        "[=1",
        "]=1",
        ".=1",
        " .=1",
        "+=1",
        "++a=1",
        "+.+=1",
        "a%5Bb%5D=1",
        "a%5bb%5d=1",
        "a[%5D]=1",
        "a[b%5D=1",
        "a%00[b]=1",
        "a[b%00c]=1",
        "a[%00]=1",
        "%00a=1",
        "a[b][c=1",
        "a[b][c][=1",
        "a[][=1",
        "a[b]]=1",
        "a[[b]]=1",
        "a[b[c]d]=1",
        "a[ b]=1&a[  b]=2",
        "a[\t]=1&a[\tb]=2&a[b\t]=3",
        "a[\x0b]=1&a[\x0c]=2&a[\r]=3&a[\n]=4",
        "a[%85]=1&a[%A0]=2",
        "a[ ]]=1",
        "a [b]=1",
        "a.[b]=1",
        "a.b[c.d][e f]=1",
        "a b.c[=1",
        "a[b c.d[e=1",
        "a[=1&a[b=2&a=3",
        "x=1&x[]=2&x=3&x[a]=4",
        "x[a]=1&x[a][b]=2&x[a]=3",
        "x[]=1&x[][]=2&x[][a]=3",
        "a==1&b=2=3",
        "&=&=&",
        "a&b&c",
        "this=1&GLOBALS=2&_POST=3",
    ];
    for name in names {
        cases.push(Case::new("name", *name));
    }
    cases
}

/// Everything the bulk run compares, in a fixed order.
fn bulk_cases(seed: u64) -> Vec<Case> {
    let mut cases = spec_examples();
    cases.extend(byte_cases());
    cases.extend(append_cases());
    cases.extend(depth_cases());
    cases.extend(escape_and_name_cases());
    let mut rng = Rng::new(seed, 1);
    for i in 0..RANDOM_BODIES {
        let segments = if rng.chance(20) {
            rng.range(10, 60)
        } else {
            rng.range(1, 8)
        };
        let body = random_body(&mut rng, segments);
        cases.push(Case::new(format!("random #{i}"), body));
    }
    cases
}

/// Bodies around `max_input_vars` (and a few large ones): these only go through `$_POST`, since
/// `parse_str()` skips empty segments and registers one variable less.
fn limit_cases(seed: u64) -> Vec<Case> {
    let mut cases = Vec::new();
    let join = |parts: Vec<String>| parts.join("&").into_bytes();
    for n in [998, 999, 1000, 1001, 1002, 1005] {
        let numbered = |f: &dyn Fn(usize) -> String| (1..=n).map(f).collect::<Vec<_>>();
        cases.push(Case::new(
            format!("limit {n} plain"),
            join(numbered(&|i| format!("v{i}={i}"))),
        ));
        let mut trailing = join(numbered(&|i| format!("v{i}={i}")));
        trailing.push(b'&');
        cases.push(Case::new(format!("limit {n} trailing &"), trailing));
        cases.push(Case::new(
            format!("limit {n} every 10th empty"),
            join(numbered(&|i| {
                if i % 10 == 0 {
                    String::new()
                } else {
                    format!("v{i}={i}")
                }
            })),
        ));
        let mut empties = "&".repeat(n - 1).into_bytes();
        empties.extend_from_slice(b"a=1&b=2");
        cases.push(Case::new(format!("limit {n} empty then a"), empties));
        cases.push(Case::new(
            format!("limit {n} ignored names"),
            join(numbered(&|i| match i % 3 {
                0 => "=x".to_owned(),
                1 => format!("[{i}]=1"),
                _ => format!("v{i}=1"),
            })),
        ));
        cases.push(Case::new(
            format!("limit {n} appends"),
            join(numbered(&|i| format!("r[]={i}"))),
        ));
        cases.push(Case::new(
            format!("limit {n} duplicates"),
            join(numbered(&|i| format!("d={i}"))),
        ));
        cases.push(Case::new(
            format!("limit {n} too deep at the end"),
            join(numbered(&|i| {
                if i + 2 >= n {
                    format!("x{}=1", "[k]".repeat(65))
                } else {
                    format!("x[{i}]={i}")
                }
            })),
        ));
        cases.push(Case::new(
            format!("limit {n} nested"),
            join(numbered(&|i| format!("a[{}][]={i}", i % 7))),
        ));
    }
    // PHP reads a POST body in chunks of 8 KiB; segments straddling a chunk border.
    for at in [8190, 8191, 8192, 8193, 16383, 16384] {
        let mut body = b"a=".to_vec();
        body.resize(at, b'x');
        body.extend_from_slice(b"&b[]=1&c=%41%");
        cases.push(Case::new(format!("big, '&' at {at}"), body));
        let mut name = b"n".to_vec();
        name.resize(at - 1, b'.');
        name.extend_from_slice(b"[k]=v&b=2");
        cases.push(Case::new(format!("big name up to {at}"), name));
    }
    cases.push(Case::new("big value", vec![b'v'; 40_000]));
    let mut rng = Rng::new(seed, 2);
    for i in 0..40 {
        let segments = rng.range(990, 1010);
        let mut body = Vec::new();
        for s in 0..segments {
            if s > 0 {
                body.push(b'&');
            }
            if !rng.chance(5) {
                random_segment(&mut rng, &mut body);
            }
        }
        cases.push(Case::new(format!("limit random #{i}"), body));
    }
    cases
}

// ---------------------------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------------------------

#[test]
fn parse_matches_php_parse_str() {
    const TEST: &str = "parse_matches_php_parse_str";
    let Some(php) = php_or_skip(TEST) else {
        return;
    };
    let started = Instant::now();
    let seed = seed(TEST);
    let cases = bulk_cases(seed);
    let answer = run_php_script(
        &php,
        "parse_str.php",
        frame_cases(cases.iter().map(|c| &c.body[..])),
    );
    let fields = split_fields(&answer);
    assert_eq!(fields.len(), cases.len() * 3, "one report per case");
    let mut mismatches = Mismatches::new(TEST, seed);
    for (case, php_fields) in cases.iter().zip(fields.chunks(3)) {
        let mut php_report = Vec::new();
        for field in php_fields {
            push_field(field, &mut php_report);
        }
        let rust_report = report_of(&case.body);
        if php_report != rust_report {
            mismatches
                .add(|| describe_report_mismatch(case, "parse_str", &php_report, &rust_report));
        }
    }
    mismatches.finish(cases.len(), started);
}

#[test]
fn parse_matches_php_post() {
    const TEST: &str = "parse_matches_php_post";
    let Some(php) = php_or_skip(TEST) else {
        return;
    };
    let started = Instant::now();
    let seed = seed(TEST);
    let bulk = bulk_cases(seed);
    // The sample of ordinary bodies: all the hand-written ones, every case with a raw NUL among
    // the first ones met, and an even spread of the random ones.
    let mut nul_cases = 0;
    let sample: Vec<&Case> = bulk
        .iter()
        .enumerate()
        .filter(|(i, case)| {
            let raw_nul = case.body.contains(&0) && nul_cases < 150;
            nul_cases += usize::from(raw_nul);
            let hand_written = !case.label.starts_with("random") && !case.label.starts_with("byte");
            raw_nul || hand_written || i % 97 == 0
        })
        .map(|(_, case)| case)
        .collect();
    let limits = limit_cases(seed);

    // The claim that `%00` in place of a raw NUL makes parse_str() agree with $_POST is checked
    // on the sample directly, PHP against PHP.
    let parse_str_answer = run_php_script(
        &php,
        "parse_str.php",
        frame_cases(sample.iter().map(|c| &c.body[..])),
    );
    let parse_str_fields = split_fields(&parse_str_answer);
    assert_eq!(parse_str_fields.len(), sample.len() * 3);

    let server = PhpServer::start(&php);
    let mut mismatches = Mismatches::new(TEST, seed);
    let mut nul_checked = 0;
    let all = sample
        .iter()
        .copied()
        .zip(parse_str_fields.chunks(3).map(Some));
    let all = all.chain(limits.iter().zip(std::iter::repeat(None)));
    let mut compared = 0;
    for (case, parse_str_fields) in all {
        compared += 1;
        let post_report = server
            .post(&case.body)
            .unwrap_or_else(|err| panic!("POST of case [{}] failed: {err}", case.label));
        let rust_report = report_of(&case.body);
        if post_report != rust_report {
            mismatches.add(|| describe_report_mismatch(case, "$_POST", &post_report, &rust_report));
        }
        if let Some(fields) = parse_str_fields {
            let mut parse_str_report = Vec::new();
            for field in fields {
                push_field(field, &mut parse_str_report);
            }
            nul_checked += usize::from(case.body.contains(&0));
            if parse_str_report != post_report {
                mismatches.add(|| {
                    format!(
                        "parse_str (raw NUL as %00) differs from $_POST itself:\n{}",
                        describe_report_mismatch(case, "$_POST", &post_report, &parse_str_report)
                    )
                });
            }
        }
    }
    drop(server);
    eprintln!(
        "{TEST}: {} limit bodies; parse_str with %00 agreed with $_POST on {} sampled bodies, \
         {nul_checked} of them with raw NUL bytes",
        limits.len(),
        sample.len()
    );
    mismatches.finish(compared, started);
}

// ---------------------------------------------------------------------------------------------
// Typed values for `build_query_data`.
// ---------------------------------------------------------------------------------------------

/// The notation of `php/build_query.php`.
fn encode_typed(data: &Data, out: &mut Vec<u8>) {
    match data {
        Data::Null => out.push(b'N'),
        Data::Bool(true) => out.push(b'T'),
        Data::Bool(false) => out.push(b'F'),
        Data::Int(n) => out.extend_from_slice(format!("i{n};").as_bytes()),
        Data::Float(f) => out.extend_from_slice(format!("d{:016x};", f.to_bits()).as_bytes()),
        Data::Bytes(bytes) => encode_string(bytes, out),
        Data::Array(entries) => {
            out.extend_from_slice(format!("a{}:", entries.len()).as_bytes());
            for (key, value) in entries {
                encode_key(key, out);
                encode_typed(value, out);
            }
        }
    }
}

const SPECIAL_FLOATS: &[f64] = &[
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.1,
    0.5,
    1.5,
    2.5,
    1999.5,
    100.0,
    123.456,
    1e14,
    1e15,
    1e21,
    1e-7,
    99_999_999_999_999.5,
    999_999_999_999_995.0,
    12_345_678_901_234.5,
    123_456_789_012_345.0,
    4.768_371_582_031_25e-7,
    0.0001,
    0.00001,
    0.000_099_999_999_999_999_99,
    9.999_999_999_999_95e-5,
    0.000_123_456_789_012_345,
    f64::MAX,
    f64::MIN,
    f64::MIN_POSITIVE,
    f64::EPSILON,
    5e-324,
    -5e-324,
    2.225_073_858_507_201e-308,
    1e308,
    1e-308,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    0.3,
    0.1 + 0.2,
    1.0 / 3.0,
    2.0 / 3.0,
    9_007_199_254_740_993.0,
    -9_223_372_036_854_775_808.0,
];

/// Floats whose exact decimal expansion has 15 significant digits ending in 5, so that rounding
/// to PHP's 14 digits is an exact tie: n / 2^j with n odd (and, for j = 0, ending in 5).
fn tie_float(rng: &mut Rng) -> f64 {
    loop {
        let j = rng.range(0, 21) as u32;
        let five = 5u128.pow(j);
        // n * 5^j must have exactly 15 digits.
        let low = 100_000_000_000_000u128.div_ceil(five);
        let high = 999_999_999_999_999u128 / five;
        if low > high {
            continue;
        }
        let mut n = low + u128::from(rng.next_u64()) % (high - low + 1);
        if j == 0 {
            n = n / 10 * 10 + 5;
        } else {
            n |= 1;
        }
        if n > high || n >= 1 << 53 {
            continue;
        }
        let value = n as f64 / f64::from(2u32).powi(j as i32);
        return if rng.chance(4) { -value } else { value };
    }
}

fn random_float(rng: &mut Rng) -> f64 {
    match rng.below(8) {
        0 | 1 => SPECIAL_FLOATS[rng.below(SPECIAL_FLOATS.len())],
        2 => f64::from_bits(rng.next_u64()),
        3 => tie_float(rng),
        4 => {
            let tie = tie_float(rng);
            f64::from_bits(tie.to_bits() ^ 1)
        }
        5 => {
            let digits = rng.next_u64() % 10u64.pow(rng.range(1, 17) as u32);
            digits as f64 / 10f64.powi(rng.range(0, 20) as i32)
        }
        6 => {
            let exponent = rng.range(0, 640) as i32 - 330;
            format!("{}e{exponent}", rng.range(1, 9)).parse().unwrap()
        }
        _ => (rng.next_u64() as i64 as f64) * 2f64.powi(rng.range(0, 200) as i32 - 100),
    }
}

fn random_int(rng: &mut Rng) -> i64 {
    match rng.below(6) {
        0 => *rng.pick(&[
            &i64::MIN,
            &i64::MAX,
            &0,
            &-1,
            &1,
            &(i64::MIN + 1),
            &(i64::MAX - 1),
        ]),
        1 => rng.next_u64() as i64,
        _ => rng.range(0, 2000) as i64 - 1000,
    }
}

fn random_typed_key(rng: &mut Rng) -> Key {
    if rng.chance(2) {
        Key::Int(random_int(rng))
    } else if rng.chance(2) {
        Key::from_bytes(rng.pick(KEYS))
    } else {
        Key::from_bytes(&random_bytes(rng, 5))
    }
}

fn random_entries(rng: &mut Rng, depth: usize) -> Vec<(Key, Data)> {
    let count = rng.below(if depth == 0 { 7 } else { 5 });
    let mut seen = HashSet::new();
    let mut entries = Vec::new();
    for _ in 0..count {
        // PHP arrays cannot hold the same key twice.
        let key = random_typed_key(rng);
        if seen.insert(key.clone()) {
            entries.push((key, random_typed(rng, depth + 1)));
        }
    }
    entries
}

fn random_typed(rng: &mut Rng, depth: usize) -> Data {
    match rng.below(16) {
        0 => Data::Null,
        1 => Data::Bool(rng.chance(2)),
        2 | 3 => Data::Int(random_int(rng)),
        4..=6 => Data::Float(random_float(rng)),
        7..=10 => Data::Bytes(random_bytes(rng, 8)),
        _ if depth < 4 => Data::Array(random_entries(rng, depth)),
        _ => Data::Bytes(b"leaf".to_vec()),
    }
}

fn typed_cases(seed: u64) -> Vec<Vec<(Key, Data)>> {
    let single = |f: f64| vec![(Key::from("f"), Data::Float(f))];
    let mut cases: Vec<Vec<(Key, Data)>> = Vec::new();
    for f in SPECIAL_FLOATS {
        cases.push(single(*f));
        cases.push(single(-*f));
    }
    // Every power of two, and the neighbours of every power of ten.
    for exponent in -1074..=1023 {
        cases.push(single(2f64.powi(exponent)));
    }
    for exponent in -323..=308 {
        let ten: f64 = format!("1e{exponent}").parse().unwrap();
        for bits in [ten.to_bits() - 1, ten.to_bits(), ten.to_bits() + 1] {
            cases.push(single(f64::from_bits(bits)));
        }
    }
    let mut rng = Rng::new(seed, 3);
    for _ in 0..2000 {
        let tie = tie_float(&mut rng);
        cases.push(single(tie));
        cases.push(single(f64::from_bits(tie.to_bits() + 1)));
        cases.push(single(f64::from_bits(tie.to_bits() - 1)));
    }
    for _ in 0..RANDOM_TYPED {
        cases.push(random_entries(&mut rng, 0));
    }
    cases
}

#[test]
fn build_query_data_matches_php() {
    const TEST: &str = "build_query_data_matches_php";
    let Some(php) = php_or_skip(TEST) else {
        return;
    };
    let started = Instant::now();
    let seed = seed(TEST);
    let cases = typed_cases(seed);
    let encoded: Vec<Vec<u8>> = cases
        .iter()
        .map(|entries| {
            let mut out = Vec::new();
            encode_typed(&Data::Array(entries.clone()), &mut out);
            out
        })
        .collect();
    let answer = run_php_script(
        &php,
        "build_query.php",
        frame_cases(encoded.iter().map(Vec::as_slice)),
    );
    let fields = split_fields(&answer);
    assert_eq!(fields.len(), cases.len(), "one answer per case");
    let mut mismatches = Mismatches::new(TEST, seed);
    for ((entries, encoded), php_query) in cases.iter().zip(&encoded).zip(fields) {
        let rust_query = build_query_data(entries);
        if rust_query != php_query {
            mismatches.add(|| {
                format!(
                    "data {entries:?}\n  as handed to PHP: {}\n  http_build_query:  {}\n  \
                     build_query_data:  {}",
                    show(encoded),
                    show(php_query),
                    show(&rust_query)
                )
            });
        }
    }
    mismatches.finish(cases.len(), started);
}
