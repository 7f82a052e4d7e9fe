//! `clickbill call` against a running server: products, an order from creation to payment, and
//! the exit codes of failures.

use crate::support::{bin, call, run_command, Scratch, Server};

#[test]
fn call_runs_an_order_from_product_to_payment() {
    let s = Scratch::new();
    s.ok(&["tenant", "add", "demo", "--secret", "secret"]);
    let server = Server::start(&s, &[]);
    let base = server.base("demo");
    let demo = |method: &str, params: &[&str]| call(&base, "demo", "secret", method, params);

    let added = demo(
        "AddGood",
        &[
            "good_name=code1",
            "good_type=0",
            "good_title=Онлайн-курс",
            "good_sum=1000",
            "good_partner_fee[1]=10%",
        ],
    );
    assert_eq!(added.code, 0, "{added:?}");
    assert_eq!(
        added.stdout,
        "{\"error_code\":0,\"error_text\":\"OK\",\"hash\":\"b60bb23ab72ead13463d1205065965a5\"}\n"
    );
    let again = demo(
        "AddGood",
        &[
            "good_name=code1",
            "good_type=0",
            "good_title=x",
            "good_sum=1",
        ],
    );
    assert_eq!(again.code, 1, "{again:?}");
    assert_eq!(again.json()["error_code"], 301);
    assert!(
        again.stderr.contains("error 301: Product already exist"),
        "{again:?}"
    );

    // Nested keys are built as PHP builds them from form field names.
    let order = [
        "bill_email=Client@Example.com",
        "bill_first_name=Иван",
        "bill_comment=50% off & more=yes ~!*()'",
        "goods[0][good_name]=code1",
        "goods[0][good_sum]=900",
        "utm[utm_source]=mail",
        "utm[utm_medium]=cpc",
        "bill_created=1700000000",
    ];
    let created = demo("CreateOrder", &order);
    assert_eq!(created.code, 0, "{created:?}");
    let created = created.json();
    assert_eq!(created["error_text"], "Order created");
    let bill_id = created["result"]["bill_id"]
        .as_str()
        .expect("bill_id")
        .to_owned();
    assert_eq!(bill_id, "1");

    let duplicate = demo("CreateOrder", &order);
    assert_eq!(duplicate.code, 1, "{duplicate:?}");
    assert_eq!(duplicate.json()["error_code"], 601);
    assert_eq!(duplicate.json()["result"]["bill_id"], bill_id.as_str());

    // A retry with the same Idempotency-Key gets the first answer, not a 601.
    let keyed = [
        "--idempotency-key",
        "order-0002",
        "bill_email=second@example.com",
        "goods[0][good_name]=code1",
    ];
    let first = demo("CreateOrder", &keyed);
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(first.json()["result"]["bill_id"], "2");
    let retry = demo("CreateOrder", &keyed);
    assert_eq!((retry.code, &retry.stdout), (0, &first.stdout), "{retry:?}");

    // API 2.0 methods authenticate with the key.
    let v2 = demo(
        "createorder",
        &[
            "--key-auth",
            "customer_email=third@example.com",
            "product_names=code1",
            "product_prices=750",
        ],
    );
    assert_eq!(v2.code, 0, "{v2:?}");
    assert_eq!(v2.json()["error_text"], "OK");
    assert_eq!(v2.json()["result"]["bill_id"], "3");

    let details = demo(
        "getOrderDetails",
        &[&format!("bill_id={bill_id}"), "good_info=1"],
    );
    assert_eq!(details.code, 0, "{details:?}");
    let order = details.json()["result"].clone();
    assert_eq!(order["id"], bill_id.as_str());
    assert_eq!(order["email"], "client@example.com");
    assert_eq!(order["first_name"], "Иван");
    assert_eq!(order["comment"], "50% off & more=yes ~!*()'");
    assert_eq!(order["created"], "1700000000");
    assert_eq!(order["pay_status"], "waiting");
    assert_eq!(order["price"], "900.00");
    assert_eq!(order["good_ids"], serde_json::json!(["1"]));
    assert_eq!(order["utm"]["source"], "mail");
    assert_eq!(order["utm"]["medium"], "cpc");
    assert_eq!(order["items"][0]["sum"], "900.00");
    assert_eq!(order["items"][0]["price"], "1000.00");

    let paid = demo(
        "UpdateOrderStatus",
        &[
            &format!("bill_id={bill_id}"),
            "status=paid",
            "date=1700003600",
        ],
    );
    assert_eq!(paid.code, 0, "{paid:?}");
    let details = demo("getOrderDetails", &[&format!("bill_id={bill_id}")]).json();
    assert_eq!(details["result"]["pay_status"], "paid");
    assert_eq!(details["result"]["paid"], "1700003600");
    assert_eq!(details["result"]["bill_sum_topay"], "0.00");
    assert_eq!(details["result"]["payway"], "RussianPostService");

    // --pretty re-indents the same envelope.
    let pretty = call(
        &base,
        "demo",
        "secret",
        "getOrderDetails",
        &[&format!("bill_id={bill_id}"), "--pretty"],
    );
    assert_eq!(pretty.code, 0, "{pretty:?}");
    assert!(
        pretty.stdout.contains("\n  \"error_code\": 0,"),
        "{pretty:?}"
    );
    assert_eq!(pretty.json(), details);

    let missing = demo("getOrderDetails", &["bill_id=999999"]);
    assert_eq!(missing.code, 1, "{missing:?}");
    assert_eq!(
        missing.stdout,
        "{\"error_code\":400,\"error_text\":\"Order not found\",\"hash\":\"974fe4b56e9fba8dd2c6a45193193a0d\"}\n"
    );
}

#[test]
fn call_failures_and_their_exit_codes() {
    let s = Scratch::new();
    s.ok(&["tenant", "add", "demo", "--secret", "secret"]);
    let server = Server::start(&s, &[]);
    let base = server.base("demo");

    // A wrong secret: the server's answer (signed with the real one) does not verify.
    let forged = call(&base, "demo", "wrong", "GetAllGoods", &[]);
    assert_eq!(forged.code, 1, "{forged:?}");
    assert!(forged.stderr.contains("does not verify"), "{forged:?}");
    assert!(forged.stdout.contains("\"error_code\":4"), "{forged:?}");

    // An unknown method is a signed 404 envelope.
    let unknown = call(&base, "demo", "secret", "NoSuchMethod", &[]);
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(unknown.stderr.contains("404"), "{unknown:?}");

    // Usage errors exit 2 before anything is sent.
    let no_equals = call(&base, "demo", "secret", "getOrderDetails", &["bill_id"]);
    assert_eq!(no_equals.code, 2, "{no_equals:?}");
    assert!(no_equals.stderr.contains("KEY=VALUE"), "{no_equals:?}");
    let bad_url = call("demo.localhost:1", "demo", "secret", "GetAllGoods", &[]);
    assert_eq!(bad_url.code, 2, "{bad_url:?}");

    // The secret may come from the environment instead of the command line.
    let from_env = run_command(
        bin(),
        &["call", "--url", &base, "--login", "demo", "GetAllGoods"].map(String::from),
        &[("CLICKBILL_SECRET", "secret")],
    );
    assert_eq!(from_env.code, 1, "{from_env:?}");
    assert_eq!(
        from_env.json()["error_code"],
        700,
        "verified, and no products yet"
    );

    let healthy = run_command(
        bin(),
        &[
            "healthcheck",
            "--url",
            &format!("http://127.0.0.1:{}", server.port),
        ]
        .map(String::from),
        &[],
    );
    assert_eq!(healthy.code, 0, "{healthy:?}");
    assert_eq!(healthy.stdout, "{\"status\":\"ok\"}\n");
    let by_name = run_command(
        bin(),
        &["healthcheck", "--url", &base].map(String::from),
        &[],
    );
    assert_eq!(by_name.code, 0, "{by_name:?}");

    drop(server);
    // Nothing listens there any more.
    let down = call(&base, "demo", "secret", "GetAllGoods", &[]);
    assert_eq!(down.code, 1, "{down:?}");
    let unhealthy = run_command(
        bin(),
        &["healthcheck", "--url", &base, "--timeout", "2"].map(String::from),
        &[],
    );
    assert_eq!(unhealthy.code, 1, "{unhealthy:?}");
}
