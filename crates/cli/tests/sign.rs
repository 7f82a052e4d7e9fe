//! `clickbill sign`, run as the real binary.

use std::io::Write;
use std::process::{Command, Stdio};

use clickbill_protocol::sign::md5_hex;
use serde_json::Value as Json;

/// Requests recorded from real JustClick clients (login `demo`, secret `secret`).
const VECTORS: &str = include_str!("../../../testdata/vectors/real-client-requests.jsonl");

struct Outcome {
    code: i32,
    json: Json,
    stderr: String,
}

/// Runs `clickbill ARGS...`, feeding `stdin` (or nothing) to it.
fn clickbill(args: &[&str], stdin: Option<&[u8]>) -> Outcome {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clickbill"))
        .args(args)
        .env_remove("CLICKBILL_SECRET")
        .env_remove("CLICKBILL_DATABASE_URL")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the clickbill binary starts");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(input)
            .expect("writing stdin");
    }
    let output = child.wait_with_output().expect("clickbill finishes");
    let stdout = String::from_utf8(output.stdout).expect("stdout is UTF-8");
    let json = if stdout.trim().is_empty() {
        Json::Null
    } else {
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout}"))
    };
    Outcome {
        code: output.status.code().expect("exited normally"),
        json,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn sign(body: &str, extra: &[&str]) -> Outcome {
    let mut args = vec!["sign", "--login", "demo", "--secret", "secret"];
    args.extend_from_slice(extra);
    args.push("--");
    args.push(body);
    clickbill(&args, None)
}

fn strings(value: &Json) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

#[test]
fn every_recorded_client_request_verifies() {
    let mut checked = 0;
    for line in VECTORS.lines().filter(|l| !l.trim().is_empty()) {
        let vector: Json = serde_json::from_str(line).expect("a JSON line");
        let field = |name: &str| vector[name].as_str().expect(name).to_owned();
        let (login, secret, body) = (field("login"), field("secret"), field("raw_body"));
        let out = clickbill(
            &["sign", "--login", &login, "--secret", &secret, "--", &body],
            None,
        );
        let what = format!("{} {}", field("client"), field("method"));
        assert_eq!(out.code, 0, "{what}: {}", out.json);
        assert_eq!(out.json["signed_string"], vector["signed_string"], "{what}");
        assert_eq!(out.json["hash"], vector["hash"], "{what}");
        assert_eq!(out.json["sent_hash"], vector["hash"], "{what}");
        assert_eq!(out.json["valid"], true, "{what}");

        let explained = clickbill(
            &[
                "sign",
                "--explain",
                "--login",
                &login,
                "--secret",
                &secret,
                "--",
                &body,
            ],
            None,
        );
        assert_eq!(explained.code, 0, "{what}");
        let explain = &explained.json["explain"];
        assert!(
            explain["verdict"].as_str().unwrap().starts_with("valid"),
            "{what}: {explain}"
        );
        assert!(
            strings(&explain["differences"]).is_empty(),
            "{what}: {explain}"
        );
        assert_eq!(
            explain["client_encoding"]["matches_sent_hash"], true,
            "{what}"
        );
        checked += 1;
    }
    assert_eq!(checked, 13, "every recorded request was checked");
}

#[test]
fn the_worked_example_of_the_spec_verifies() {
    let out = sign(
        "bill_id=102937&good_info=1&hash=4eac6352ed52a48d534d5ec421b4c5a4",
        &[],
    );
    assert_eq!(out.code, 0);
    assert_eq!(
        out.json,
        serde_json::json!({
            "signed_string": "bill_id=102937&good_info=1::demo::secret",
            "hash": "4eac6352ed52a48d534d5ec421b4c5a4",
            "sent_hash": "4eac6352ed52a48d534d5ec421b4c5a4",
            "valid": true,
        })
    );
}

#[test]
fn a_wrong_hash_exits_1() {
    let out = sign(
        "bill_id=102937&good_info=1&hash=00000000000000000000000000000000",
        &[],
    );
    assert_eq!(out.code, 1);
    assert_eq!(out.json["valid"], false);
    assert_eq!(out.json["hash"], "4eac6352ed52a48d534d5ec421b4c5a4");
    assert_eq!(out.json["sent_hash"], "00000000000000000000000000000000");
}

#[test]
fn a_body_without_hash_just_signs() {
    let out = sign("bill_id=102937&good_info=1", &[]);
    assert_eq!(out.code, 0);
    assert_eq!(out.json["hash"], "4eac6352ed52a48d534d5ec421b4c5a4");
    assert!(out.json.get("sent_hash").is_none());
    assert!(out.json.get("valid").is_none());
}

#[test]
fn a_client_that_leaves_tilde_unescaped_is_explained() {
    // SPEC §5.5: the client hashed its own encoding, where '~' stays unescaped.
    let body = "lead_email=a%40example.com&lead_name=Anna+~&hash=eb6061dc7b7f820d488f6169cd41f822";
    let out = sign(body, &[]);
    assert_eq!(out.code, 1);
    assert_eq!(out.json["valid"], false);
    assert_eq!(
        out.json["signed_string"],
        "lead_email=a%40example.com&lead_name=Anna+%7E::demo::secret"
    );
    assert_eq!(out.json["hash"], "1cd88c78aa75e68bd732a24a81526b0e");

    let out = sign(body, &["--explain"]);
    assert_eq!(out.code, 1);
    let explain = &out.json["explain"];
    assert_eq!(
        strings(&explain["differences"]),
        ["segment 2: '~' left unescaped where PHP writes '%7E'"]
    );
    assert_eq!(
        explain["client_encoding"]["signed_string"],
        "lead_email=a%40example.com&lead_name=Anna+~::demo::secret"
    );
    assert_eq!(
        explain["client_encoding"]["hash"],
        "eb6061dc7b7f820d488f6169cd41f822"
    );
    assert_eq!(explain["client_encoding"]["matches_sent_hash"], true);
    assert!(explain["verdict"]
        .as_str()
        .unwrap()
        .contains("hashed its own encoding"));
    let segment = &explain["segments"][1];
    assert_eq!(segment["name"], "lead_name");
    assert_eq!(segment["value"], "Anna ~");
    assert_eq!(segment["php"], "lead_name=Anna+%7E");
    assert_eq!(segment["status"], "signed");
}

#[test]
fn percent_20_and_raw_tilde_are_both_named() {
    let query = "lead_name=Anna%20Maria~&lead_email=a%40example.com";
    let client_hash = md5_hex(format!("{query}::demo::secret").as_bytes());
    let body = format!("{query}&hash={client_hash}");
    let out = sign(&body, &["--explain"]);
    assert_eq!(out.code, 1);
    let explain = &out.json["explain"];
    let differences = strings(&explain["differences"]);
    assert!(
        differences.contains(&"segment 1: '%20' where PHP writes '+'".to_owned()),
        "{differences:?}"
    );
    assert!(
        differences.contains(&"segment 1: '~' left unescaped where PHP writes '%7E'".to_owned()),
        "{differences:?}"
    );
    assert_eq!(differences.len(), 2, "{differences:?}");
    assert_eq!(explain["client_encoding"]["matches_sent_hash"], true);
    assert_eq!(
        explain["php_query"],
        "lead_name=Anna+Maria%7E&lead_email=a%40example.com"
    );
}

#[test]
fn a_different_body_encoding_signed_the_php_way_is_valid() {
    // SPEC §5.5: only the parsed values matter.
    let out = sign(
        "bill%5Fid=102937&good_info=%31&hash=4eac6352ed52a48d534d5ec421b4c5a4",
        &["--explain"],
    );
    assert_eq!(out.code, 0);
    assert_eq!(out.json["valid"], true);
    let explain = &out.json["explain"];
    assert_eq!(explain["client_encoding"]["matches_sent_hash"], false);
    let differences = strings(&explain["differences"]);
    assert!(differences.contains(&"segment 1: '%5F' where PHP writes '_' unescaped".to_owned()));
    assert!(differences.contains(&"segment 2: '%31' where PHP writes '1' unescaped".to_owned()));
}

#[test]
fn the_body_can_come_from_stdin() {
    let body = b"bill_id=102937&good_info=1&hash=4eac6352ed52a48d534d5ec421b4c5a4";
    let args = ["sign", "--login", "demo", "--secret", "secret"];
    let out = clickbill(&args, Some(body));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json["valid"], true);
    assert_eq!(
        out.json["signed_string"],
        "bill_id=102937&good_info=1::demo::secret"
    );

    // Nothing is trimmed: the newline `echo` adds is part of the last value.
    let mut echoed = body.to_vec();
    echoed.push(b'\n');
    let out = clickbill(&args, Some(&echoed));
    assert_eq!(out.code, 1);
    assert_eq!(out.json["sent_hash"], "4eac6352ed52a48d534d5ec421b4c5a4\n");
    let out = clickbill(&[&args[..], &["--explain"]].concat(), Some(&echoed));
    assert!(out.json["explain"]["verdict"]
        .as_str()
        .unwrap()
        .contains("white space"));
}

#[test]
fn an_empty_stdin_signs_the_empty_query() {
    let out = clickbill(&["sign", "--login", "demo", "--secret", "secret"], None);
    assert_eq!(out.code, 0);
    assert_eq!(out.json["signed_string"], "::demo::secret");
    assert_eq!(out.json["hash"], "07d7c258e970b0e2fd9c7694ed0046c8");
}

#[test]
fn usage_errors_exit_2() {
    let out = clickbill(&["sign", "--secret", "secret", "a=1"], None);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--login"), "{}", out.stderr);
    let out = clickbill(&["sign", "--login", "demo", "a=1"], None);
    assert_eq!(out.code, 2);
    let out = clickbill(
        &["sign", "--login", "demo", "--secret", "s", "--bogus"],
        None,
    );
    assert_eq!(out.code, 2);
    let out = clickbill(&[], None);
    assert_eq!(out.code, 2);
}

#[test]
fn the_database_option_is_global() {
    let out = clickbill(
        &[
            "--database",
            "sqlite://elsewhere.db",
            "sign",
            "--login",
            "demo",
            "--secret",
            "secret",
            "good_info=1",
            "--database",
            "postgres://localhost/x",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn help_documents_the_exit_codes() {
    for args in [&["--help"][..], &["sign", "--help"]] {
        let output = Command::new(env!("CARGO_BIN_EXE_clickbill"))
            .args(args)
            .output()
            .expect("clickbill runs");
        assert_eq!(output.status.code(), Some(0));
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("Exit status"), "{text}");
        assert!(text.contains("2  usage or input error"), "{text}");
    }
}
