//! `clickbill sign`: compute, check and explain the API 1.0 signature of a request body.
//!
//! The body is parsed exactly as the server parses it (PHP's `$_POST` rules), the top-level
//! `hash` is removed, the rest is rebuilt with `http_build_query`'s rules and `::login::secret` is
//! appended. That string and its md5 are what the server compares with the `hash` a client sent.

mod explain;

use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};

use anyhow::Context;
use clickbill_protocol::sign as wire;
use php_form::Value;
use serde_json::{json, Map as JsonMap, Value as Json};

use crate::exit;

const ABOUT: &str = "Compute, check and explain the signature (hash) of an API 1.0 request body";

const LONG_ABOUT: &str = "\
Compute, check and explain the signature (hash) of an API 1.0 request body.

The body is parsed as the server parses it (PHP's $_POST rules), its top-level `hash` is removed,
the rest is rebuilt with PHP's http_build_query rules and `::LOGIN::SECRET` is appended. The md5 of
that string is the signature the server expects.

Prints one JSON object:
  signed_string  the whole string that is hashed, including `::LOGIN::SECRET`
                 (bytes that are not UTF-8 are shown as U+FFFD)
  hash           its md5, the `hash` the server expects
  sent_hash      the `hash` the body carries (only when it carries one; null if it is an array)
  valid          whether sent_hash matches (only when the body carries a hash)
  explain        with --explain, an object:
    verdict          one sentence: valid, or why not
    php_query        PHP's rebuild of the parameters (signed_string without `::LOGIN::SECRET`)
    client_encoding  what a client that hashed its own encoding of the body would have signed:
                     signed_string (the body without its hash segment, plus `::LOGIN::SECRET`),
                     hash (its md5), matches_sent_hash (null when no hash was sent)
    differences      every place where the body's encoding differs from PHP's, as
                     \"segment N: ...\" (e.g. '%20' where PHP writes '+')
    notes            remarks on the body as a whole
    segments         one object per `&`-separated segment: segment (its number), raw, name (as
                     PHP stores it, e.g. goods[0][good_name]), value (decoded), php (how PHP
                     writes the pair back), status (signed | signature | replaced | removed |
                     ignored), differences, notes

The body is taken byte for byte: nothing is trimmed. A trailing newline (as `echo` adds one when
piping) is part of the last value and changes the signature; use `printf '%s'` or `echo -n`.
A body that starts with '-' goes after `--`.";

const AFTER_HELP: &str = "\
Exit status:
  0  the sent hash is valid, or the body carries no hash
  1  the sent hash does not match
  2  usage or input error (missing --login/--secret, unreadable standard input)

Example:
  clickbill sign --login demo --secret secret --explain \\
      'lead_email=a%40example.com&lead_name=Anna+~&hash=eb6061dc7b7f820d488f6169cd41f822'";

#[derive(clap::Args, Debug)]
#[command(about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Args {
    /// Tenant login (the `::LOGIN` part of the signed string).
    #[arg(long, value_name = "L")]
    login: String,

    /// Tenant secret (the `::SECRET` part of the signed string).
    #[arg(
        long,
        value_name = "S",
        env = "CLICKBILL_SECRET",
        hide_env_values = true
    )]
    secret: String,

    /// Explain, segment by segment, how the body was decoded and re-encoded and where its
    /// encoding differs from PHP's.
    #[arg(long)]
    explain: bool,

    /// The raw request body (application/x-www-form-urlencoded); read from standard input when
    /// absent.
    #[arg(value_name = "BODY")]
    body: Option<OsString>,
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    let body = match &args.body {
        Some(body) => os_bytes(body)?,
        None => read_stdin()?,
    };
    let (report, code) = report(&body, &args.login, &args.secret, args.explain);
    let mut text = serde_json::to_string_pretty(&report).context("rendering the report")?;
    text.push('\n');
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("writing to standard output")?;
    Ok(code)
}

/// Builds the JSON report for `body` and the exit code it calls for.
pub fn report(body: &[u8], login: &str, secret: &str, explain: bool) -> (Json, u8) {
    let params = php_form::parse(body);
    let signed = wire::signed_string(&params, login, secret);
    let hash = wire::md5_hex(&signed);

    let mut out = JsonMap::new();
    out.insert("signed_string".into(), lossy(&signed));
    out.insert("hash".into(), json!(hash));

    let sent = params.get_str("hash");
    let valid = sent.map(|sent| match sent {
        Value::Bytes(bytes) => wire::hash_matches(&hash, bytes),
        Value::Array(_) => false,
    });
    if let (Some(sent), Some(valid)) = (sent, valid) {
        let sent_json = match sent {
            Value::Bytes(bytes) => lossy(bytes),
            Value::Array(_) => Json::Null,
        };
        out.insert("sent_hash".into(), sent_json);
        out.insert("valid".into(), json!(valid));
    }
    if explain {
        let query = &signed[..signed.len() - suffix_len(login, secret)];
        let explained = explain::explain(&explain::Input {
            body,
            login,
            secret,
            php_query: query,
            expected_hash: &hash,
            sent_hash: sent,
        });
        out.insert("explain".into(), explained);
    }

    let code = match valid {
        Some(false) => exit::CHECK_FAILED,
        _ => exit::OK,
    };
    (Json::Object(out), code)
}

/// The length of `::login::secret`.
fn suffix_len(login: &str, secret: &str) -> usize {
    4 + login.len() + secret.len()
}

/// Bytes as a JSON string, with invalid UTF-8 replaced by U+FFFD.
pub(crate) fn lossy(bytes: &[u8]) -> Json {
    Json::String(String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(unix)]
fn os_bytes(arg: &OsString) -> anyhow::Result<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    Ok(arg.as_os_str().as_bytes().to_vec())
}

#[cfg(not(unix))]
fn os_bytes(arg: &OsString) -> anyhow::Result<Vec<u8>> {
    arg.to_str()
        .map(|s| s.as_bytes().to_vec())
        .context("BODY is not valid Unicode; pass it on standard input instead")
}

fn read_stdin() -> anyhow::Result<Vec<u8>> {
    let mut stdin = std::io::stdin().lock();
    if stdin.is_terminal() {
        eprintln!("clickbill sign: reading the body from standard input (end it with Ctrl-D)");
    }
    let mut body = Vec::new();
    stdin
        .read_to_end(&mut body)
        .context("reading the body from standard input")?;
    Ok(body)
}
