//! `coupon`, `partner` and `manager`: round trips through the database, input errors, days in
//! the tenant's time zone, and a running server applying what they store.

use serde_json::{json, Value as Json};

use crate::support::{call, Outcome, Scratch, Server};

/// A tenant `demo` (secret `secret`) with the products code1 (1000.00, partner fees 10% and 5%)
/// and code2 (2500.00).
fn shop() -> Scratch {
    let s = Scratch::new();
    s.ok(&["tenant", "add", "demo", "--secret", "secret"]);
    s.ok(&[
        "product", "add", "demo", "code1", "--title", "Course", "--price", "1000", "--fee",
        "1=10%", "--fee", "2=5%",
    ]);
    s.ok(&[
        "product", "add", "demo", "code2", "--title", "Video", "--price", "2500",
    ]);
    s
}

fn assert_input_error(s: &Scratch, args: &[&str], message: &str) {
    let out = s.run(args);
    assert_eq!(out.code, 2, "{args:?}: {out:?}");
    assert!(
        out.stderr.contains(message),
        "{args:?}: expected {message:?} in {out:?}"
    );
    assert_eq!(out.stdout, "", "{args:?}: {out:?}");
}

#[test]
fn coupon_commands_round_trip() {
    let s = Scratch::new();
    let missing = s.run(&["coupon", "list", "demo"]);
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(missing.stderr.contains("no database at"), "{missing:?}");
    assert!(!s.db_path().exists(), "a reading command creates nothing");
    let s = shop();
    s.ok(&["tenant", "set", "demo", "time_zone=Asia/Tokyo"]);

    let added = s.run(&["coupon", "add", "demo", "SALE", "--percent", "12.5"]);
    assert_eq!(added.code, 0, "{added:?}");
    assert_eq!(added.stdout, "1\n", "stdout is the id alone");
    assert!(added.stderr.contains("added coupon SALE"), "{added:?}");
    assert_eq!(
        s.ok(&[
            "coupon",
            "add",
            "demo",
            "minus100",
            "--amount",
            "100",
            "--goods",
            "code2, CODE1",
            "--expires",
            "2030-01-31",
            "--id",
            "586",
        ]),
        "586\n"
    );
    assert_eq!(
        s.ok(&["coupon", "add", "demo", "next", "--percent", "5%"]),
        "587\n",
        "numbers handed out later stay above the ones given"
    );
    let expired = s.run(&[
        "coupon",
        "add",
        "demo",
        "old",
        "--amount",
        "1",
        "--expires",
        "2001-01-01",
    ]);
    assert_eq!(expired.code, 0, "{expired:?}");
    assert!(
        expired
            .stderr
            .contains("it expired at 2001-01-01 23:59:59 (Asia/Tokyo)"),
        "{expired:?}"
    );

    // The last day ends at 23:59:59 in the tenant's zone: 14:59:59 UTC from Tokyo.
    assert_eq!(
        s.ok(&["coupon", "list", "demo"]),
        "1\tSALE\t12.5%\tall\tnever\tenabled\n\
         586\tminus100\t100.00\tcode1,code2\t2030-01-31 23:59:59\tenabled\n\
         587\tnext\t5%\tall\tnever\tenabled\n\
         588\told\t1.00\tall\t2001-01-01 23:59:59\texpired\n"
    );
    s.ok(&["tenant", "set", "demo", "time_zone=UTC"]);
    assert!(
        s.ok(&["coupon", "list", "demo"])
            .contains("586\tminus100\t100.00\tcode1,code2\t2030-01-31 14:59:59\tenabled\n"),
        "the stored time is absolute; only its display follows the zone"
    );

    for (args, message) in [
        (
            &["coupon", "add", "demo", "sale", "--percent", "5"][..],
            "already exists",
        ),
        (
            &[
                "coupon",
                "add",
                "demo",
                "fresh",
                "--percent",
                "5",
                "--id",
                "586",
            ],
            "coupon id 586 already exists",
        ),
        (
            &[
                "coupon",
                "add",
                "demo",
                "fresh",
                "--percent",
                "5",
                "--goods",
                "nosuch,code1",
            ],
            "--goods: tenant demo has no product nosuch",
        ),
        (
            &[
                "coupon",
                "add",
                "demo",
                "fresh",
                "--percent",
                "5",
                "--goods",
                ",",
            ],
            "--goods",
        ),
        (
            &["coupon", "add", "demo", "fresh", "--percent", "0"],
            "--percent",
        ),
        (
            &["coupon", "add", "demo", "fresh", "--percent", "100.5"],
            "--percent",
        ),
        (
            &["coupon", "add", "demo", "fresh", "--percent", "7.555"],
            "--percent",
        ),
        (
            &["coupon", "add", "demo", "fresh", "--percent", "-5"],
            "--percent",
        ),
        (
            &["coupon", "add", "demo", "fresh", "--amount", "0"],
            "--amount",
        ),
        (
            &["coupon", "add", "demo", "fresh", "--amount", "1e3"],
            "--amount",
        ),
        (
            &[
                "coupon",
                "add",
                "demo",
                "fresh",
                "--percent",
                "5",
                "--amount",
                "5",
            ],
            "cannot be used with",
        ),
        (&["coupon", "add", "demo", "fresh"], "required"),
        (
            &[
                "coupon",
                "add",
                "demo",
                "fresh",
                "--percent",
                "5",
                "--expires",
                "2030-02-30",
            ],
            "--expires: expected a date YYYY-MM-DD",
        ),
        (
            &[
                "coupon",
                "add",
                "demo",
                "fresh",
                "--percent",
                "5",
                "--expires",
                "31.01.2030",
            ],
            "--expires",
        ),
        (
            &[
                "coupon",
                "add",
                "demo",
                "fresh",
                "--percent",
                "5",
                "--id",
                "0",
            ],
            "--id",
        ),
        (
            &["coupon", "add", "demo", "two words", "--percent", "5"],
            "invalid coupon code",
        ),
        (
            &["coupon", "add", "demo", "", "--percent", "5"],
            "invalid coupon code",
        ),
        (
            &["coupon", "add", "nosuch", "fresh", "--percent", "5"],
            "no tenant nosuch",
        ),
        (&["coupon", "list", "nosuch"], "no tenant nosuch"),
        (&["coupon", "disable", "nosuch", "SALE"], "no tenant nosuch"),
        (
            &["coupon", "disable", "demo", "nosuch"],
            "tenant demo has no coupon nosuch",
        ),
        (
            &["coupon", "enable", "demo", "nosuch"],
            "tenant demo has no coupon nosuch",
        ),
    ] {
        assert_input_error(&s, args, message);
    }
    assert_eq!(
        s.ok(&["coupon", "list", "demo"]).lines().count(),
        4,
        "refused commands store nothing"
    );

    s.ok(&["coupon", "disable", "demo", "SALE"]);
    assert!(s
        .ok(&["coupon", "list", "demo"])
        .starts_with("1\tSALE\t12.5%\tall\tnever\tdisabled\n"));
    let taken = s.run(&["coupon", "add", "demo", "SALE", "--percent", "1"]);
    assert_eq!(taken.code, 2, "a disabled coupon keeps its code: {taken:?}");
    s.ok(&["coupon", "enable", "demo", "sale"]);
    assert!(s
        .ok(&["coupon", "list", "demo"])
        .starts_with("1\tSALE\t12.5%\tall\tnever\tenabled\n"));

    // A product deleted since still shows, by its number.
    s.ok(&["product", "delete", "demo", "code2"]);
    assert!(s
        .ok(&["coupon", "list", "demo"])
        .contains("586\tminus100\t100.00\tcode1,#2\t"));
}

#[test]
fn partner_and_manager_commands_round_trip() {
    let s = shop();
    assert_eq!(
        s.ok(&["partner", "add", "demo", "boris", "--id", "5"]),
        "5\n"
    );
    let added = s.run(&["partner", "add", "demo", "anna", "--parent", "BORIS"]);
    assert_eq!(added.code, 0, "{added:?}");
    assert_eq!(added.stdout, "6\n");
    assert!(
        added.stderr.contains("added partner anna (id 6)"),
        "{added:?}"
    );
    assert_eq!(s.ok(&["partner", "add", "demo", "carl"]), "7\n");

    for (args, message) in [
        (&["partner", "add", "demo", "ANNA"][..], "already exists"),
        (
            &["partner", "add", "demo", "dora", "--id", "5"],
            "partner id 5 already exists",
        ),
        (
            &["partner", "add", "demo", "dora", "--parent", "nobody"],
            "tenant demo has no partner nobody",
        ),
        (
            &["partner", "add", "demo", "two words"],
            "invalid partner login",
        ),
        (&["partner", "add", "demo", "dora", "--id", "x"], "--id"),
        (&["partner", "add", "nosuch", "dora"], "no tenant nosuch"),
        (&["partner", "list", "nosuch"], "no tenant nosuch"),
        (&["partner", "show", "nosuch", "anna"], "no tenant nosuch"),
        (
            &["partner", "show", "demo", "nobody"],
            "tenant demo has no partner nobody",
        ),
        (
            &["partner", "show", "demo", "anna", "--from", "2024-13-01"],
            "--from: expected a date",
        ),
        (
            &["partner", "show", "demo", "anna", "--to", "yesterday"],
            "--to: expected a date",
        ),
        (
            &[
                "partner",
                "show",
                "demo",
                "anna",
                "--from",
                "2024-02-02",
                "--to",
                "2024-02-01",
            ],
            "--from 2024-02-02 is after --to 2024-02-01",
        ),
    ] {
        assert_input_error(&s, args, message);
    }

    let list = s.ok(&["partner", "list", "demo"]);
    let rows: Vec<Vec<&str>> = list.lines().map(|l| l.split('\t').collect()).collect();
    let columns: Vec<[&str; 3]> = rows.iter().map(|r| [r[0], r[1], r[2]]).collect();
    assert_eq!(
        columns,
        [
            ["5", "boris", "-"],
            ["6", "anna", "boris"],
            ["7", "carl", "-"]
        ],
        "{list}"
    );
    for row in &rows {
        assert_eq!(row.len(), 4, "{list}");
        assert!(is_local_time(row[3]), "{list}");
    }

    let anna = s.run(&["partner", "show", "demo", "Anna"]).json();
    assert!(
        is_local_time(anna["registered"].as_str().unwrap()),
        "{anna}"
    );
    assert_eq!(anna["registered"], json!(rows[1][3]));
    assert_eq!(
        without_registered(anna),
        json!({
            "id": 6,
            "login": "anna",
            "parent": "boris",
            "time_zone": "Europe/Moscow",
            "from": null,
            "to": null,
            "earned": "0.00",
            "bills": 0,
            "sub_partners": 0,
        })
    );
    let boris = s.run(&["partner", "show", "demo", "boris"]).json();
    assert_eq!(boris["parent"], Json::Null);
    assert_eq!(boris["sub_partners"], 1, "{boris}");
    let before_anna = s
        .run(&["partner", "show", "demo", "boris", "--to", "2020-01-01"])
        .json();
    assert_eq!(before_anna["sub_partners"], 0, "{before_anna}");
    assert_eq!(before_anna["to"], "2020-01-01");

    assert_eq!(s.ok(&["manager", "list", "demo"]), "");
    let greg = s.run(&["manager", "add", "demo", "Greg", "--id", "71257"]);
    assert_eq!(greg.code, 0, "{greg:?}");
    assert_eq!(greg.stdout, "71257\n");
    assert!(
        greg.stderr.contains("added manager Greg (id 71257)"),
        "{greg:?}"
    );
    assert_eq!(s.ok(&["manager", "add", "demo", "Anna Smith"]), "71258\n");
    assert_eq!(
        s.ok(&["manager", "add", "demo", "Greg"]),
        "71259\n",
        "names may repeat"
    );
    for (args, message) in [
        (
            &["manager", "add", "demo", "Dora", "--id", "71257"][..],
            "already exists",
        ),
        (&["manager", "add", "demo", " "], "invalid manager name"),
        (
            &["manager", "add", "demo", "tab\there"],
            "invalid manager name",
        ),
        (&["manager", "add", "nosuch", "Dora"], "no tenant nosuch"),
        (&["manager", "list", "nosuch"], "no tenant nosuch"),
    ] {
        assert_input_error(&s, args, message);
    }
    assert_eq!(
        s.ok(&["manager", "list", "demo"]),
        "71257\tGreg\n71258\tAnna Smith\n71259\tGreg\n"
    );
}

/// `YYYY-MM-DD HH:MM:SS`
fn is_local_time(text: &str) -> bool {
    text.len() == 19
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b' ',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        })
}

fn without_registered(mut shown: Json) -> Json {
    shown
        .as_object_mut()
        .expect("an object")
        .remove("registered");
    shown
}

/// Creates an order of `goods` for `email` through the server and returns its details.
fn order(base: &str, email: &str, goods: &[&str], extra: &[&str]) -> Json {
    let email = format!("bill_email={email}");
    let goods: Vec<String> = goods
        .iter()
        .enumerate()
        .map(|(i, code)| format!("goods[{i}][good_name]={code}"))
        .collect();
    let mut params = vec![email.as_str()];
    params.extend(goods.iter().map(String::as_str));
    params.extend_from_slice(extra);
    let created = call(base, "demo", "secret", "CreateOrder", &params);
    assert_eq!(created.code, 0, "{params:?}: {created:?}");
    let bill_id = created.json()["result"]["bill_id"]
        .as_str()
        .expect("a bill_id")
        .to_owned();
    let details = ok(call(
        base,
        "demo",
        "secret",
        "getOrderDetails",
        &[&format!("bill_id={bill_id}")],
    ));
    details["result"].clone()
}

fn ok(out: Outcome) -> Json {
    assert_eq!(out.code, 0, "{out:?}");
    out.json()
}

fn item_sums(order: &Json) -> Vec<&str> {
    order["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["sum"].as_str().expect("a sum"))
        .collect()
}

/// The server reads coupons from the database on every order: what the command line adds,
/// disables or enables applies to the next order, without a restart.
#[test]
fn a_running_server_applies_the_coupons_the_command_line_manages() {
    let s = shop();
    s.ok(&["coupon", "add", "demo", "SALE", "--percent", "10"]);
    s.ok(&[
        "coupon", "add", "demo", "V100", "--amount", "100", "--goods", "code2",
    ]);
    s.ok(&[
        "coupon",
        "add",
        "demo",
        "gone",
        "--percent",
        "50",
        "--expires",
        "2001-01-01",
    ]);
    let server = Server::start(&s, &[]);
    let base = server.base("demo");
    let both = ["code1", "code2"];

    let sale = order(&base, "a@example.com", &both, &["bill_kupon=SALE"]);
    assert_eq!(sale["kupon"], "SALE", "{sale}");
    assert_eq!(item_sums(&sale), ["900.00", "2250.00"]);
    assert_eq!(sale["price"], "3150.00");

    let only_code2 = order(&base, "b@example.com", &both, &["bill_kupon=v100"]);
    assert_eq!(only_code2["kupon"], "V100", "{only_code2}");
    assert_eq!(item_sums(&only_code2), ["1000.00", "2400.00"]);

    let expired = order(&base, "c@example.com", &both, &["bill_kupon=gone"]);
    assert_eq!(expired["kupon"], "", "{expired}");
    assert_eq!(item_sums(&expired), ["1000.00", "2500.00"]);

    s.ok(&["coupon", "disable", "demo", "SALE"]);
    let disabled = order(&base, "d@example.com", &both, &["bill_kupon=SALE"]);
    assert_eq!(disabled["kupon"], "", "{disabled}");
    assert_eq!(disabled["price"], "3500.00");

    s.ok(&["coupon", "enable", "demo", "SALE"]);
    let again = order(&base, "e@example.com", &both, &["bill_kupon=SALE"]);
    assert_eq!(again["kupon"], "SALE", "{again}");
    assert_eq!(again["price"], "3150.00");

    let id = s.ok(&["coupon", "add", "demo", "LATE", "--amount", "1000"]);
    let late = order(&base, "f@example.com", &["code1"], &["bill_kupon=LATE"]);
    assert_eq!(late["kupon"], "LATE", "{late}");
    assert_eq!(item_sums(&late), ["0.00"]);
    let by_id = order(
        &base,
        "g@example.com",
        &["code1"],
        &[&format!("bill_kupon={}", id.trim())],
    );
    assert_eq!(
        by_id["kupon"], "LATE",
        "the printed id names the coupon: {by_id}"
    );
}

/// `partner show` counts what the server recorded: fees of orders paid in full, by the day of
/// payment in the tenant's time zone.
#[test]
fn partner_totals_count_orders_paid_through_the_server() {
    let s = shop();
    s.ok(&["partner", "add", "demo", "boris"]);
    s.ok(&["partner", "add", "demo", "anna", "--parent", "boris"]);
    let server = Server::start(&s, &[]);
    let base = server.base("demo");

    let paid = order(&base, "a@example.com", &["code1"], &["bill_aff_name=anna"]);
    let partners = &paid["items"][0]["partners"];
    assert_eq!(partners[0]["partner_name"], "anna", "{paid}");
    assert_eq!(partners[0]["partner_fee"], "100.00", "{paid}");
    assert_eq!(partners[1]["partner_name"], "boris", "{paid}");
    assert_eq!(partners[1]["partner_fee"], "50.00", "{paid}");
    // 2023-11-14 23:13:20 UTC is already 2023-11-15 in Moscow.
    ok(call(
        &base,
        "demo",
        "secret",
        "UpdateOrderStatus",
        &[
            &format!("bill_id={}", paid["id"].as_str().unwrap()),
            "status=paid",
            "date=1700003600",
        ],
    ));
    let waiting = order(&base, "b@example.com", &["code1"], &["bill_aff_name=anna"]);
    assert_eq!(waiting["pay_status"], "waiting", "{waiting}");

    let show = |partner: &str, window: &[&str]| {
        let mut args = vec!["partner", "show", "demo", partner];
        args.extend_from_slice(window);
        s.run(&args).json()
    };
    let totals = |shown: Json| {
        (
            shown["earned"].as_str().unwrap().to_owned(),
            shown["bills"].as_u64().unwrap(),
            shown["sub_partners"].as_u64().unwrap(),
        )
    };
    assert_eq!(totals(show("anna", &[])), ("100.00".to_owned(), 1, 0));
    assert_eq!(totals(show("boris", &[])), ("50.00".to_owned(), 1, 1));

    let on_the_15th = ["--from", "2023-11-15", "--to", "2023-11-15"];
    let to_the_14th = ["--to", "2023-11-14"];
    assert_eq!(totals(show("anna", &on_the_15th)).1, 1);
    assert_eq!(
        totals(show("anna", &to_the_14th)),
        ("0.00".to_owned(), 0, 0)
    );
    let window = show("anna", &on_the_15th);
    assert_eq!(
        (&window["from"], &window["to"]),
        (&json!("2023-11-15"), &json!("2023-11-15"))
    );

    s.ok(&["tenant", "set", "demo", "time_zone=UTC"]);
    assert_eq!(totals(show("anna", &on_the_15th)).1, 0);
    assert_eq!(totals(show("anna", &to_the_14th)).1, 1);
    assert_eq!(show("anna", &[])["time_zone"], "UTC");
}
