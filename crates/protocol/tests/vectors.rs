//! Signature test vectors: requests recorded from real JustClick clients, and every signed body,
//! notification and reference hash quoted in the specification.

use clickbill_protocol::auth::{authenticate, check, Scheme};
use clickbill_protocol::error::ApiError;
use clickbill_protocol::sign::{
    bill_crc, md5_hex, notification_hash, request_hash, response_hash, signed_string,
};

const RECORDED: &str = include_str!("../../../testdata/vectors/real-client-requests.jsonl");
const SPEC: &str = include_str!("../../../docs/SPEC.md");

fn field<'a>(record: &'a serde_json::Value, name: &str) -> &'a str {
    record[name]
        .as_str()
        .unwrap_or_else(|| panic!("vector without {name}: {record}"))
}

#[test]
fn every_recorded_client_request_verifies() {
    let mut count = 0;
    for line in RECORDED.lines().filter(|l| !l.trim().is_empty()) {
        let record: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let (login, secret) = (field(&record, "login"), field(&record, "secret"));
        let body = field(&record, "raw_body");
        let params = php_form::parse(body.as_bytes());
        assert_eq!(
            String::from_utf8(signed_string(&params, login, secret)).unwrap(),
            field(&record, "signed_string"),
            "{body}"
        );
        assert_eq!(
            request_hash(&params, login, secret),
            field(&record, "hash"),
            "{body}"
        );
        let valid = record["hash_valid"].as_bool().unwrap_or(true);
        let outcome = authenticate(params.clone(), login, secret);
        if valid {
            let remaining = outcome.unwrap_or_else(|e| panic!("{body}: {e}"));
            let mut without_hash = params;
            without_hash.remove(&php_form::Key::from("hash"));
            assert_eq!(remaining, without_hash);
        } else {
            assert_eq!(outcome, Err(ApiError::IncorrectHash), "{body}");
        }
        count += 1;
    }
    assert_eq!(count, 13);
}

#[test]
fn worked_example_of_5_3() {
    let body = b"bill_id=102937&good_info=1&hash=4eac6352ed52a48d534d5ec421b4c5a4";
    let params = php_form::parse(body);
    assert_eq!(
        signed_string(&params, "demo", "secret"),
        b"bill_id=102937&good_info=1::demo::secret"
    );
    assert_eq!(
        md5_hex(b"bill_id=102937&good_info=1::demo::secret"),
        "4eac6352ed52a48d534d5ec421b4c5a4"
    );
    let remaining = authenticate(params, "demo", "secret").unwrap();
    assert_eq!(
        php_form::build_query(&remaining),
        b"bill_id=102937&good_info=1"
    );
}

#[test]
fn a_non_php_encoder_is_rejected_as_in_5_5() {
    // What the client hashed (with `~` left as is) and what the server rebuilds.
    assert_eq!(
        md5_hex(b"lead_email=a%40example.com&lead_name=Anna+~::demo::secret"),
        "eb6061dc7b7f820d488f6169cd41f822"
    );
    let body = b"lead_email=a%40example.com&lead_name=Anna+~&hash=eb6061dc7b7f820d488f6169cd41f822";
    let params = php_form::parse(body);
    assert_eq!(
        signed_string(&params, "demo", "secret"),
        b"lead_email=a%40example.com&lead_name=Anna+%7E::demo::secret"
    );
    assert_eq!(
        request_hash(&params, "demo", "secret"),
        "1cd88c78aa75e68bd732a24a81526b0e"
    );
    assert_eq!(
        authenticate(params, "demo", "secret"),
        Err(ApiError::IncorrectHash)
    );
    // The same values sent with another body encoding but hashed with PHP's rules are accepted.
    let body =
        b"lead_email=a@example.com&lead_name=Anna%20%7e&hash=1cd88c78aa75e68bd732a24a81526b0e";
    assert!(authenticate(php_form::parse(body), "demo", "secret").is_ok());
}

/// Every signed body quoted in the specification checks out: API requests authenticate for
/// `demo` / `secret`, and notifications (§16, recognised by their `id` and `email` fields) carry
/// the hash §16.3 defines for their event.
#[test]
fn every_signed_body_in_the_spec_verifies() {
    let (mut requests, mut notifications) = (0, 0);
    for body in quoted_bodies(SPEC) {
        let params = php_form::parse(body.as_bytes());
        let value = |name: &str| {
            params
                .get_str(name)
                .and_then(php_form::Value::as_bytes)
                .unwrap_or(b"")
        };
        if params.get_str("id").is_some() && params.get_str("email").is_some() {
            let time = match value("status") {
                b"new_order" | b"cancel_order" => value("created"),
                _ => value("paid"),
            };
            assert_eq!(
                notification_hash(&[value("id"), value("email"), time], "secret").as_bytes(),
                value("hash"),
                "{body}"
            );
            notifications += 1;
        } else {
            assert_eq!(
                check(&params, "demo", "secret"),
                Ok(Scheme::Signature),
                "{body}"
            );
            requests += 1;
        }
    }
    assert!(requests >= 30, "only {requests} request bodies found");
    assert_eq!(notifications, 5);
}

/// Form bodies ending in `&hash=<32 hex digits>`, as whole code lines or inline code spans. A bare
/// `hash=…` is skipped: in prose it quotes a digest rather than a body (the empty-query request is
/// among the recorded vectors).
fn quoted_bodies(text: &str) -> Vec<&str> {
    let is_body = |s: &&str| {
        !s.is_empty()
            && !s.contains(char::is_whitespace)
            && s.len() >= 37
            && s[s.len() - 37..].starts_with("hash=")
            && s[s.len() - 32..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && s.len() > 37
            && s.as_bytes()[s.len() - 38] == b'&'
    };
    text.lines()
        .flat_map(|line| line.split('`'))
        .filter(is_body)
        .collect()
}

#[test]
fn reference_response_hashes() {
    for (code, text, secret, hash) in [
        (0, "OK", "secret", "b60bb23ab72ead13463d1205065965a5"),
        (
            4,
            "Incorrect hash",
            "secret",
            "d7a07bb6e3a3ec39557fcc2849115a25",
        ),
        (
            5,
            "Invalid user name",
            "",
            "ca1d0e11a47db2f77cca68545d853090",
        ),
        (
            0,
            "Order created",
            "secret",
            "d72287948e429b9fe09196a0bdab2490",
        ),
        (
            3,
            "Unknown method: GetEverything",
            "secret",
            "f5541399b3a240df201c43893af12c66",
        ),
        (
            3,
            "Method not allowed: GET",
            "secret",
            "c184ad9d2eb44d696cc6e28d0943c8e5",
        ),
        (
            3,
            "Idempotency key reused with different parameters",
            "secret",
            "3a7f657dca8af830c57eeac2008d360f",
        ),
    ] {
        assert_eq!(response_hash(code, text, secret), hash, "{code} {text}");
    }
}

#[test]
fn payment_link_checksums_of_10_5() {
    for (id, crc) in [
        (12344, "5a1c9153a4aafba3"),
        (12345, "f88c7ebe4740db59"),
        (12346, "8d6cd58084c85b49"),
        (102937, "2920427e8b3ea73f"),
    ] {
        assert_eq!(bill_crc("secret", id), crc);
    }
}
