//! `clickbill serve`: the `listening` line, the sandbox and the commands it prints, graceful
//! shutdown, refused database URLs.

use std::time::Duration;

use clickbill_client::Client;

use crate::support::{bin, call, php_with_curl, run_command, Scratch, Server};

/// The sandbox seeds the example fixture once, prints commands whose signatures are right for
/// the bodies they send, and keeps its data across restarts.
#[test]
fn sandbox_prints_working_examples_and_seeds_once() {
    let s = Scratch::new();
    let server = Server::start(&s, &["--sandbox"]);
    let lines = server.next_lines(6);
    let base = server.base("demo");
    assert!(
        lines[0].starts_with(&format!(
            "sandbox: tenant demo (secret secret, created now) at {base}"
        )),
        "{lines:#?}"
    );
    assert_eq!(lines[1], "try:");
    let goods_line = &lines[2];
    let details_line = &lines[3];
    let php_line = &lines[4];
    let call_line = &lines[5];
    assert_eq!(
        goods_line,
        &format!("  curl -s {base}/api/GetAllGoods -d 'hash=07d7c258e970b0e2fd9c7694ed0046c8'")
    );
    assert_eq!(
        details_line,
        &format!(
            "  curl -s {base}/api/getOrderDetails -d \
             'bill_id=12345&good_info=1&hash=f780f460f995b8bd78e136e000a9c068'"
        )
    );
    assert!(php_line.starts_with("  php -r '"), "{php_line}");
    assert!(
        call_line.starts_with(&format!("  clickbill call --url {base} ")),
        "{call_line}"
    );

    // Send exactly the bodies the curl lines send; the server must accept their hashes.
    let client = Client::new(&base, "demo", "secret").unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for line in [goods_line, details_line] {
        let (url, body) = line
            .trim()
            .strip_prefix("curl -s ")
            .and_then(|rest| rest.split_once(" -d '"))
            .expect("curl URL -d 'BODY'");
        let method = url.rsplit('/').next().unwrap();
        let body = body.strip_suffix('\'').unwrap().as_bytes().to_vec();
        let response = runtime.block_on(client.call_raw(method, body)).unwrap();
        assert_eq!(response.error_code, 0, "{line}: {response:?}");
    }
    // SPEC §13.2: the example order, byte for byte.
    let details = runtime
        .block_on(client.call_raw(
            "getOrderDetails",
            b"bill_id=12345&good_info=1&hash=f780f460f995b8bd78e136e000a9c068".to_vec(),
        ))
        .unwrap();
    let spec_13_2 = r#"{"error_code":0,"error_text":"OK","result":{"id":"12345","first_name":"\u0418\u0432\u0430\u043d","last_name":"Petrov","middle_name":"","email":"client@example.com","phone":"+77777777777","city":"\u041c\u043e\u0441\u043a\u0432\u0430","country":"","address":"Lenina 1, kv. 2","region":"","postalcode":"","created":"1700000000","pay_status":"waiting","paid":"0","type":"0","payway":"","comment":"Comment ~!*()'","domain":"","link":"\/bill\/?id=12345&crc=f88c7ebe4740db59","good_ids":["1","2"],"good_count":"2","price":"2999.50","bill_sum_topay":"2999.50","prepayment_enabled":"1","prepayment_minsum":"1000.00","is_recurrent":"0","last_payment_sum":"0.00","prepayment_sum":"0.00","tag":"Tag","kupon":"","delivery_status":"","delivery_date":"0","rpo":"","utm":{"medium":"medium","source":"source","campaign":"campaign","content":"","term":"term"},"items":[{"id":"code1","title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","sum":"1000.00","price":"1000.00","pincode":"","partners":[]},{"id":"code2","title":"Video pack","sum":"1999.50","price":"2500.00","pincode":"","partners":[]}]},"hash":"b60bb23ab72ead13463d1205065965a5"}"#;
    assert_eq!(String::from_utf8_lossy(&details.body), spec_13_2);

    // SPEC §11.3: order 12344 is paid, with its coupon and both partner levels.
    let paid = call(
        &base,
        "demo",
        "secret",
        "getOrderDetails",
        &["bill_id=12344"],
    )
    .json();
    let order = &paid["result"];
    assert_eq!(order["pay_status"], "paid");
    assert_eq!(order["kupon"], "coupon50proc");
    assert_eq!(order["payway"], "RussianPostService");
    assert_eq!(order["items"][0]["sum"], "500.00");
    assert_eq!(order["items"][0]["partners"][0]["partner_id"], "17");
    assert_eq!(order["items"][0]["partners"][0]["partner_name"], "anna");
    assert_eq!(order["items"][0]["partners"][0]["partner_fee"], "50.00");
    assert_eq!(order["items"][0]["partners"][1]["partner_id"], "5");
    assert_eq!(order["items"][0]["partners"][1]["partner_name"], "boris");
    assert_eq!(order["items"][0]["partners"][1]["partner_fee"], "25.00");

    // SPEC §11.2's groups, so that the contact examples of §12 work too (§12.6 byte for byte).
    let groups = call(&base, "demo", "secret", "GetAllGroups", &[]);
    let spec_12_6: serde_json::Value = serde_json::from_str(
        r##"{"error_code":0,"error_text":"OK","result":[{"rass_id":"1","rass_name":"grp1","rass_title":"Newsletter"},{"rass_id":"2","rass_name":"grp 2","rass_title":"Webinar"},{"rass_id":"3","rass_name":"1605189997.0025174394","rass_title":"#27950"}],"hash":"b60bb23ab72ead13463d1205065965a5"}"##,
    )
    .unwrap();
    assert_eq!(groups.json(), spec_12_6, "{groups:?}");

    // The `clickbill call` line works as printed (with this binary).
    let mut words: Vec<String> = call_line.split_whitespace().map(str::to_owned).collect();
    assert_eq!(words.remove(0), "clickbill");
    let out = run_command(bin(), &words, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["result"]["id"], "12345");

    // The php line, through a shell, as a user would paste it.
    if php_with_curl("sandbox_prints_working_examples_and_seeds_once (php line)") {
        let out = run_command("sh", &["-c".to_owned(), php_line.trim().to_owned()], &[]);
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(out.json()["result"]["id"], "12345", "{out:?}");
    }

    // A change survives a restart: the sandbox is not seeded again.
    let paid = call(
        &base,
        "demo",
        "secret",
        "UpdateOrderStatus",
        &["bill_id=12345", "status=paid", "date=1700003600"],
    );
    assert_eq!(paid.code, 0, "{paid:?}");
    drop(server);
    let server = Server::start(&s, &["--sandbox"]);
    let lines = server.next_lines(2);
    assert!(lines[0].contains("kept from an earlier run"), "{lines:#?}");
    let details = call(
        &server.base("demo"),
        "demo",
        "secret",
        "getOrderDetails",
        &["bill_id=12345"],
    );
    assert_eq!(details.json()["result"]["pay_status"], "paid");
    let goods = call(&server.base("demo"), "demo", "secret", "GetAllGoods", &[]);
    assert_eq!(goods.json()["result"].as_array().map(Vec::len), Some(3));
}

#[cfg(unix)]
#[test]
fn sigterm_and_sigint_shut_down_gracefully() {
    let s = Scratch::new();
    s.ok(&["tenant", "add", "demo", "--secret", "secret"]);
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let mut server = Server::start(&s, &[]);
        let created = call(
            &server.base("demo"),
            "demo",
            "secret",
            "AddGood",
            &[
                &format!("good_name=g{signal}"),
                "good_type=0",
                "good_title=t",
                "good_sum=1",
            ],
        );
        assert_eq!(created.code, 0, "{created:?}");
        server.signal(signal);
        let status = server.wait(Duration::from_secs(10));
        assert_eq!(status.code(), Some(0), "{}", server.stderr());
        let log = server.stderr();
        assert!(log.contains("shutting down gracefully"), "{log}");
        assert!(log.contains("shut down cleanly"), "{log}");
    }
    // Both products were committed before the servers stopped.
    let listed = s.ok(&["product", "list", "demo"]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
}

#[test]
fn serve_refuses_unsupported_databases_and_busy_ports() {
    let out = run_command(
        bin(),
        &[
            "serve",
            "--database",
            "mysql://u:hunter2@db.example/clickbill",
            "--listen",
            "127.0.0.1:0",
        ]
        .map(String::from),
        &[],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .starts_with("clickbill: error: unsupported database URL scheme \"mysql\""),
        "{out:?}"
    );
    assert!(!out.stderr.contains("hunter2"), "{out:?}");
    assert_eq!(out.stdout, "");

    let migrate = run_command(
        bin(),
        &["migrate", "--database", "postgres://h:notaport/db"].map(String::from),
        &[],
    );
    assert_eq!(migrate.code, 2, "{migrate:?}");

    // A port that is taken: the server cannot start (exit 1) and says why.
    let s = Scratch::new();
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let busy = s.run(&["serve", "--listen", &listen]);
    assert_eq!(busy.code, 1, "{busy:?}");
    assert!(busy.stderr.contains("cannot listen on"), "{busy:?}");
    assert_eq!(busy.stdout, "", "no `listening` line when not listening");
}

#[test]
fn migrate_reports_the_schema_version() {
    let s = Scratch::new();
    let first = s.ok(&["migrate"]);
    assert_eq!(
        first,
        format!(
            "{} at schema version {}\n",
            s.db_url(),
            clickbill_store_sqlite::SCHEMA_VERSION
        )
    );
    assert!(s.db_path().exists());
    assert_eq!(s.ok(&["migrate"]), first, "migrating twice changes nothing");
}

/// `--log-format json --access-log`: every log line is one JSON object, and each request's
/// access line names the request by an id of its own.
#[test]
fn json_logs_carry_a_request_id_on_every_request_line() {
    let s = Scratch::new();
    s.ok(&["tenant", "add", "demo", "--secret", "secret"]);
    let server = Server::start(&s, &["--log-format", "json", "--access-log"]);
    for _ in 0..2 {
        let goods = call(&server.base("demo"), "demo", "secret", "GetAllGoods", &[]);
        assert_eq!(goods.json()["error_code"], 700, "{goods:?}");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let access = loop {
        let lines: Vec<serde_json::Value> = server
            .stderr()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
            .collect();
        let access: Vec<serde_json::Value> = lines
            .into_iter()
            .filter(|line| line["target"] == "clickbill::access")
            .collect();
        if access.len() >= 2 || std::time::Instant::now() > deadline {
            break access;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(access.len(), 2, "{}", server.stderr());
    let ids: Vec<u64> = access
        .iter()
        .map(|line| {
            assert_eq!(line["method"], "GetAllGoods");
            assert_eq!(line["status"], 200);
            assert_eq!(line["error_code"], 700);
            assert!(line["duration_us"].is_u64());
            line["span"]["request_id"].as_u64().expect("a request id")
        })
        .collect();
    assert_ne!(ids[0], ids[1]);
}
