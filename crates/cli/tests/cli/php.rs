//! Real PHP clients, written as the original documentation writes them, against a server run by
//! the command line.

use crate::support::{call, php_with_curl, run_command, Scratch, Server};

const PHP_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/php");

/// A PHP integration creates an order (and its duplicate) and reads it back, checking every
/// answer's hash.
#[test]
fn php_client_creates_and_reads_an_order() {
    if !php_with_curl("php_client_creates_and_reads_an_order") {
        return;
    }
    let s = Scratch::new();
    let key = s.ok(&["tenant", "add", "demo"]).trim().to_owned();
    s.ok(&[
        "product",
        "add",
        "demo",
        "code1",
        "--title",
        "Онлайн-курс",
        "--price",
        "1000",
    ]);
    s.ok(&[
        "product",
        "add",
        "demo",
        "code2",
        "--title",
        "Video pack",
        "--price",
        "2500",
    ]);
    let server = Server::start(&s, &[]);

    let out = run_command(
        "php",
        &[
            format!("{PHP_DIR}/create_and_read_order.php"),
            server.base("demo"),
            "demo".to_owned(),
            key,
        ],
        &[],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "ok 1\n", "{out:?}");
}

/// The getOrderDetails example of the original documentation, unchanged but for its URL, login
/// and key, reads order 102937 of a tenant whose numbering starts there.
#[test]
fn documentation_example_reads_order_102937() {
    if !php_with_curl("documentation_example_reads_order_102937") {
        return;
    }
    let s = Scratch::new();
    let key = s
        .ok(&["tenant", "add", "demo", "first_bill_id=102937"])
        .trim()
        .to_owned();
    s.ok(&[
        "product",
        "add",
        "demo",
        "code1",
        "--title",
        "Онлайн-курс",
        "--price",
        "1000",
    ]);
    let server = Server::start(&s, &[]);
    let created = call(
        &server.base("demo"),
        "demo",
        &key,
        "CreateOrder",
        &[
            "bill_email=client@example.com",
            "bill_first_name=Maria",
            "goods[0][good_name]=code1",
        ],
    );
    assert_eq!(created.code, 0, "{created:?}");
    assert_eq!(created.json()["result"]["bill_id"], "102937");

    let original = std::fs::read_to_string(format!("{PHP_DIR}/seed_get_order_details.php"))
        .expect("the documentation example");
    let replacements = [
        (
            "http://username.justclick.io/api/getOrderDetails",
            format!("{}/api/getOrderDetails", server.base("demo")),
        ),
        ("'username'", "'demo'".to_owned()),
        (
            "'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX'",
            format!("'{key}'"),
        ),
    ];
    let mut script = original.clone();
    for (from, to) in &replacements {
        assert_eq!(script.matches(from).count(), 1, "{from} appears once");
        script = script.replace(from, to);
    }
    let path = s.path().join("get_order_details.php");
    std::fs::write(&path, &script).unwrap();

    let out = run_command("php", &[path.display().to_string()], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .starts_with("The order information:stdClass Object"),
        "{out:?}"
    );
    for field in [
        "[id] => 102937",
        "[first_name] => Maria",
        "[email] => client@example.com",
        "[pay_status] => waiting",
        "[good_count] => 1",
        "[title] => Онлайн-курс",
    ] {
        assert!(out.stdout.contains(field), "{field} missing: {out:?}");
    }
}
