//! `tenant` and `product`: round trips through the database, input errors, and a running server
//! picking up what they change.

use std::time::Duration;

use serde_json::json;

use crate::support::{call, eventually, Scratch, Server};

fn is_secret(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[test]
fn tenant_commands_round_trip() {
    let s = Scratch::new();

    // Reading commands refuse a database that does not exist rather than create one.
    let missing = s.run(&["tenant", "list"]);
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(missing.stderr.contains("no database at"), "{missing:?}");
    assert!(!s.db_path().exists());

    let added = s.run(&["tenant", "add", "Shop", "--domain", "Shop.Example."]);
    assert_eq!(added.code, 0, "{added:?}");
    let secret = added.stdout.trim().to_owned();
    assert!(
        is_secret(&secret),
        "stdout is the generated secret alone: {added:?}"
    );
    assert_eq!(added.stdout.lines().count(), 1);
    assert!(added.stderr.contains("added tenant shop"), "{added:?}");

    let given = s.run(&[
        "tenant",
        "add",
        "demo",
        "--secret",
        "secret",
        "first_bill_id=12344",
    ]);
    assert_eq!(given.code, 0, "{given:?}");
    assert_eq!(given.stdout, "", "a given secret is not echoed");

    for (args, message) in [
        (&["tenant", "add", "shop"][..], "already exists"),
        (
            &["tenant", "add", "other", "--domain", "shop.example"],
            "already belongs",
        ),
        (&["tenant", "add", "_bad"], "invalid login"),
        (&["tenant", "add", "bad!login"], "invalid login"),
        (&["tenant", "add", "x", "--secret", ""], "must not be empty"),
        (&["tenant", "add", "x", "colour=blue"], "unknown setting"),
        (&["tenant", "show", "nosuch"], "no tenant nosuch"),
        (&["tenant", "set", "shop", "time_zone=Nowhere/Land"], "IANA"),
        (
            &["tenant", "set", "shop", "first_bill_id=0"],
            "positive integer",
        ),
        (
            &["tenant", "set", "shop", "prepayment_enabled=perhaps"],
            "true or false",
        ),
        (
            &["tenant", "set", "shop", "unsubscribe_url=ftp://x.example/"],
            "http",
        ),
        (&["tenant", "set", "shop", "nonsense"], "KEY=VALUE"),
        (
            &["tenant", "domain", "remove", "shop", "nowhere.example"],
            "has no domain",
        ),
        (
            &["tenant", "domain", "add", "shop", "http://x.example/"],
            "invalid domain",
        ),
    ] {
        let out = s.run(args);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(
            out.stderr.starts_with("clickbill: error: ") && out.stderr.contains(message),
            "{args:?}: {out:?}"
        );
    }

    let list = s.ok(&["tenant", "list"]);
    assert_eq!(list, "demo\tenabled\t-\nshop\tenabled\tshop.example\n");

    let show = s.run(&["tenant", "show", "SHOP"]).json();
    assert_eq!(
        show,
        json!({
            "login": "shop",
            "enabled": true,
            "custom_domains": ["shop.example"],
            "time_zone": "Europe/Moscow",
            "first_bill_id": 1,
            "api_orders_enabled": true,
            "prepayment_enabled": false,
            "prepayment_minsum": "1000.00",
            "require_activation": false,
            "subscribe_limit_per_ip": 0,
            "unsubscribe_url": "",
            "test_payments": false,
        })
    );
    assert_eq!(
        s.run(&["tenant", "show", "demo"]).json()["first_bill_id"],
        12344
    );

    s.ok(&["tenant", "disable", "shop"]);
    assert_eq!(s.run(&["tenant", "show", "shop"]).json()["enabled"], false);
    assert!(s.ok(&["tenant", "list"]).contains("shop\tdisabled\t"));
    s.ok(&["tenant", "enable", "shop"]);
    assert_eq!(s.run(&["tenant", "show", "shop"]).json()["enabled"], true);

    let rotated = s.ok(&["tenant", "rotate-secret", "shop"]);
    let new_secret = rotated.trim();
    assert!(is_secret(new_secret), "{rotated:?}");
    assert_ne!(new_secret, secret);

    s.ok(&[
        "tenant",
        "set",
        "shop",
        "time_zone=Asia/Tokyo",
        "first_bill_id=102937",
        "api_orders_enabled=false",
        "prepayment_enabled=yes",
        "prepayment_minsum=500.5",
        "require_activation=1",
        "subscribe_limit_per_ip=3",
        "unsubscribe_url=https://crm.example/unsub.php",
        "test_payments=on",
    ]);
    s.ok(&["tenant", "domain", "add", "shop", "127.0.0.1"]);
    let show = s.run(&["tenant", "show", "shop"]).json();
    assert_eq!(show["time_zone"], "Asia/Tokyo");
    assert_eq!(show["first_bill_id"], 102937);
    assert_eq!(show["api_orders_enabled"], false);
    assert_eq!(show["prepayment_enabled"], true);
    assert_eq!(show["prepayment_minsum"], "500.50");
    assert_eq!(show["require_activation"], true);
    assert_eq!(show["subscribe_limit_per_ip"], 3);
    assert_eq!(show["unsubscribe_url"], "https://crm.example/unsub.php");
    assert_eq!(show["test_payments"], true);
    assert_eq!(show["custom_domains"], json!(["shop.example", "127.0.0.1"]));

    // A failed `set` changes nothing, not even the valid pairs before the bad one.
    let bad = s.run(&[
        "tenant",
        "set",
        "shop",
        "first_bill_id=5",
        "time_zone=Bad/Zone",
    ]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert_eq!(
        s.run(&["tenant", "show", "shop"]).json()["first_bill_id"],
        102937
    );

    s.ok(&["tenant", "domain", "remove", "shop", "SHOP.example"]);
    assert_eq!(
        s.run(&["tenant", "show", "shop"]).json()["custom_domains"],
        json!(["127.0.0.1"])
    );
    let taken = s.run(&["tenant", "domain", "add", "demo", "127.0.0.1"]);
    assert_eq!(taken.code, 2, "{taken:?}");

    // Secrets never appear in what list and show print.
    let everything = [
        s.ok(&["tenant", "list"]),
        s.ok(&["tenant", "list", "--json"]),
        s.ok(&["tenant", "show", "shop"]),
        s.ok(&["tenant", "show", "demo"]),
    ]
    .concat();
    assert!(!everything.contains(new_secret), "{everything}");
    assert!(!everything.contains(&secret), "{everything}");
    assert!(!everything.contains("\"secret\""), "{everything}");
    let listed: serde_json::Value =
        serde_json::from_str(&s.ok(&["tenant", "list", "--json"])).expect("list --json is JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
}

#[test]
fn product_commands_round_trip() {
    let s = Scratch::new();
    s.ok(&["tenant", "add", "demo", "--secret", "secret"]);

    let added = s.run(&[
        "product",
        "add",
        "demo",
        "code1",
        "--title",
        "Онлайн-курс",
        "--price",
        "1000",
        "--fee",
        "1=10%",
        "--fee",
        "2=5%",
        "--timer-kill",
        "259200",
        "--url-new-order",
        "https://crm.example/jc.php?a=make",
    ]);
    assert_eq!(added.code, 0, "{added:?}");
    assert_eq!(added.stdout, "");
    assert!(added.stderr.contains("good_id 1"), "{added:?}");
    s.ok(&[
        "product",
        "add",
        "demo",
        "book1",
        "--title",
        "Printed book",
        "--price",
        "1500.00",
        "--physical",
    ]);

    for (args, message) in [
        (
            &[
                "product", "add", "demo", "CODE1", "--title", "t", "--price", "1",
            ][..],
            "already has a product",
        ),
        (
            &[
                "product", "add", "demo", "bad code", "--title", "t", "--price", "1",
            ],
            "invalid product code",
        ),
        (&["product", "add", "demo", "x", "--price", "1"], "--title"),
        (&["product", "add", "demo", "x", "--title", "t"], "--price"),
        (
            &[
                "product", "add", "demo", "x", "--title", "t", "--price", "-1",
            ],
            "--price",
        ),
        (
            &[
                "product", "add", "demo", "x", "--title", "t", "--price", "1", "--fee", "0=10%",
            ],
            "--fee",
        ),
        (
            &[
                "product", "add", "demo", "x", "--title", "t", "--price", "1", "--fee", "1=101%",
            ],
            "--fee",
        ),
        (
            &[
                "product", "add", "demo", "x", "--title", " ", "--price", "1",
            ],
            "--title",
        ),
        (
            &[
                "product", "add", "nosuch", "x", "--title", "t", "--price", "1",
            ],
            "no tenant nosuch",
        ),
        (
            &["product", "show", "demo", "nosuch"],
            "has no product nosuch",
        ),
        (
            &["product", "update", "demo", "nosuch", "--price", "5"],
            "has no product",
        ),
        (&["product", "update", "demo", "code1"], "nothing to change"),
        (&["product", "delete", "demo", "nosuch"], "has no product"),
    ] {
        let out = s.run(args);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(out.stderr.contains(message), "{args:?}: {out:?}");
    }

    assert_eq!(
        s.ok(&["product", "list", "demo"]),
        "1\tcode1\tdigital\t1000.00\tОнлайн-курс\n2\tbook1\tphysical\t1500.00\tPrinted book\n"
    );
    let shown = s.run(&["product", "show", "demo", "CODE1"]).json();
    assert_eq!(shown["good_id"], "1");
    assert_eq!(shown["good_name"], "code1");
    assert_eq!(shown["good_title"], "Онлайн-курс");
    assert_eq!(shown["good_type"], "0");
    assert_eq!(shown["good_sum"], "1000.00");
    assert_eq!(shown["good_timer_kill"], "259200");
    assert_eq!(shown["good_partner_fee"], json!({"1": "10%", "2": "5%"}));
    assert_eq!(
        shown["good_api_url_new_order"],
        "https://crm.example/jc.php?a=make"
    );
    assert_eq!(
        s.run(&["product", "show", "demo", "book1"]).json()["good_type"],
        "1"
    );

    s.ok(&[
        "product",
        "update",
        "demo",
        "code1",
        "--price",
        "1200",
        "--fee",
        "2=7.5%",
        "--title",
        "Course",
        "--physical",
    ]);
    let shown = s.run(&["product", "show", "demo", "code1"]).json();
    assert_eq!(shown["good_sum"], "1200.00");
    assert_eq!(shown["good_title"], "Course");
    assert_eq!(shown["good_type"], "1");
    assert_eq!(shown["good_partner_fee"], json!({"1": "10%", "2": "7.5%"}));
    assert_eq!(
        shown["good_timer_kill"], "259200",
        "options not given are kept"
    );

    s.ok(&["product", "delete", "demo", "book1"]);
    let listed: serde_json::Value =
        serde_json::from_str(&s.ok(&["product", "list", "demo", "--json"])).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["good_name"], "code1");
}

/// Admin commands write to the database a running server reads; it notices within about a
/// second (its tenant cache polls the store's tenant version).
#[test]
fn a_running_server_picks_up_admin_changes() {
    let s = Scratch::new();
    s.ok(&["migrate"]);
    let server = Server::start(&s, &[]);
    let base = server.base("late");

    let unknown = call(&base, "late", "s3cret", "GetAllGoods", &[]);
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert_eq!(unknown.json()["error_code"], 5, "{unknown:?}");

    s.ok(&["tenant", "add", "late", "--secret", "s3cret"]);
    let picked_up = eventually(Duration::from_secs(5), || {
        call(&base, "late", "s3cret", "GetAllGoods", &[])
            .stdout
            .contains("\"error_code\":700")
    })
    .expect("the server never saw the new tenant");
    assert!(
        picked_up < Duration::from_millis(1500),
        "the new tenant took {picked_up:?} to appear"
    );

    s.ok(&[
        "product", "add", "late", "code1", "--title", "Course", "--price", "10",
    ]);
    let goods = call(&base, "late", "s3cret", "GetAllGoods", &[]);
    assert_eq!(goods.code, 0, "{goods:?}");
    assert_eq!(goods.json()["result"][0]["good_name"], "code1");

    s.ok(&["tenant", "disable", "late"]);
    eventually(Duration::from_secs(5), || {
        call(&base, "late", "s3cret", "GetAllGoods", &[])
            .stdout
            .contains("\"error_code\":7,")
    })
    .expect("the server never saw the tenant disabled");
    s.ok(&["tenant", "enable", "late"]);

    let new_secret = s.ok(&["tenant", "rotate-secret", "late"]).trim().to_owned();
    eventually(Duration::from_secs(5), || {
        call(&base, "late", &new_secret, "GetAllGoods", &[]).code == 0
    })
    .expect("the server never took the new secret");
    let old = call(&base, "late", "s3cret", "GetAllGoods", &[]);
    assert_eq!(old.code, 1, "the old secret no longer works: {old:?}");
}
