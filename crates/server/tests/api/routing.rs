//! Transport and routing (SPEC §2): 404, 405, HEAD, names, absolute targets, query strings,
//! chunked and multipart bodies, health.

use crate::helpers::{envelope, signed, spawn_app};

const NOT_ALLOWED_GET: &str = r#"{"error_code":3,"error_text":"Method not allowed: GET","hash":"c184ad9d2eb44d696cc6e28d0943c8e5"}"#;

#[tokio::test]
async fn non_post_is_405_with_allow() {
    let Some(app) = spawn_app().await else { return };
    let answer = app
        .client
        .get(app.url("/api/GetAllGoods"))
        .header("Host", "demo.justclick.ru")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 405);
    assert_eq!(answer.headers()["allow"], "POST");
    assert_eq!(
        answer.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(answer.text().await.unwrap(), NOT_ALLOWED_GET);

    // 405 comes before 404, and is signed with the secret of a disabled tenant too.
    for (method, path, host, secret) in [
        ("PUT", "/api/GetEverything", "demo.justclick.ru", "secret"),
        ("DELETE", "/api/", "off.localhost", "offsecret"),
        ("OPTIONS", "/api/CreateOrder", "nobody.localhost", ""),
        ("PATCH", "/api/x/y", "localhost", ""),
    ] {
        let answer = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .header("Host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 405, "{method} {path}");
        assert_eq!(answer.headers()["allow"], "POST");
        assert_eq!(
            answer.text().await.unwrap(),
            envelope(3, &format!("Method not allowed: {method}"), secret)
        );
    }
}

#[tokio::test]
async fn head_is_405_without_a_body() {
    let Some(app) = spawn_app().await else { return };
    let answer = app
        .raw(b"HEAD /api/GetAllGoods HTTP/1.1\r\nHost: demo.justclick.ru\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.header("allow"), Some("POST"));
    assert_eq!(
        answer.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert!(answer.body.is_empty());
}

#[tokio::test]
async fn unknown_names_are_404() {
    let Some(app) = spawn_app().await else { return };
    let answer = app.post("GetEverything", "x=1").await;
    assert_eq!(answer.status, 404);
    assert_eq!(
        answer.body,
        r#"{"error_code":3,"error_text":"Unknown method: GetEverything","hash":"f5541399b3a240df201c43893af12c66"}"#
    );
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
    for (name, quoted) in [
        ("", ""),
        ("GetEverything/", "GetEverything"),
        ("GetAllGoods//", "GetAllGoods/"),
        ("Get%41llGoods", "Get%41llGoods"),
        ("a/b", "a/b"),
    ] {
        let answer = app.post(name, "x=1").await;
        assert_eq!(answer.status, 404, "{name}");
        assert_eq!(
            answer.body,
            envelope(3, &format!("Unknown method: {quoted}"), "secret")
        );
    }
    // Signed with the empty secret on a host without tenant, before any tenant check.
    let answer = app.post_host("localhost", "Nope", "").await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.body, envelope(3, "Unknown method: Nope", ""));
    let answer = app.post_host("off.localhost", "Nope", "").await;
    assert_eq!(
        answer.body,
        envelope(3, "Unknown method: Nope", "offsecret")
    );
}

#[tokio::test]
async fn names_match_case_insensitively_with_one_trailing_slash() {
    let Some(app) = spawn_app().await else { return };
    let expected = app.post_signed("GetAllGoods", "").await.body;
    assert!(expected.starts_with(r#"{"error_code":0,"#));
    for name in ["getallgoods", "GETALLGOODS", "GetAllGoods/", "gEtAlLgOoDs/"] {
        let answer = app.post_signed(name, "").await;
        answer.assert_body(&expected);
    }
}

#[tokio::test]
async fn paths_outside_the_api_are_plain_404() {
    let Some(app) = spawn_app().await else { return };
    for path in ["/", "/api", "/API/GetAllGoods", "/apix/GetAllGoods"] {
        let answer = app
            .client
            .post(app.url(path))
            .header("Host", "demo.justclick.ru")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn the_query_string_is_ignored() {
    let Some(app) = spawn_app().await else { return };
    let path = "/api/GetAllGoods?hash=nonsense&x=1";
    let answer = app
        .client
        .post(app.url(path))
        .header("Host", "demo.justclick.ru")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(signed("", "demo", "secret"))
        .send()
        .await
        .unwrap();
    assert!(answer
        .text()
        .await
        .unwrap()
        .starts_with(r#"{"error_code":0,"#));
}

#[tokio::test]
async fn absolute_targets_are_routed_by_path_and_name_the_tenant() {
    let Some(app) = spawn_app().await else { return };
    let body = signed("", "demo", "secret");
    let request = format!(
        "POST http://demo.justclick.ru:8080/api/GetAllGoods?a=b HTTP/1.1\r\n\
         Host: other.localhost\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = app.raw(request.as_bytes()).await;
    assert_eq!(answer.status, 200);
    assert!(answer
        .body_text()
        .starts_with(r#"{"error_code":0,"error_text":"OK","result":[{"good_id":"1""#));

    let request = "GET http://nobody.localhost/api/GetAllGoods HTTP/1.1\r\nHost: demo.localhost\r\nConnection: close\r\n\r\n";
    let answer = app.raw(request.as_bytes()).await;
    assert_eq!(answer.status, 405);
    assert_eq!(
        answer.body_text(),
        envelope(3, "Method not allowed: GET", "")
    );
}

#[tokio::test]
async fn chunked_bodies_and_http_1_0() {
    let Some(app) = spawn_app().await else { return };
    let body = signed("bill_id=999999", "demo", "secret");
    let (first, second) = body.split_at(7);
    let request = format!(
        "POST /api/getOrderDetails HTTP/1.1\r\n\
         Host: demo.justclick.ru\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n\
         Transfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n\
         {:x}\r\n{first}\r\n{:x}\r\n{second}\r\n0\r\n\r\n",
        first.len(),
        second.len()
    );
    let answer = app.raw(request.as_bytes()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body_text(),
        envelope(400, "Order not found", "secret")
    );

    let request = format!(
        "POST /api/getOrderDetails HTTP/1.0\r\n\
         Host: demo.justclick.ru\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let answer = app.raw(request.as_bytes()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body_text(),
        envelope(400, "Order not found", "secret")
    );
}

#[tokio::test]
async fn multipart_bodies_are_parameters() {
    let Some(app) = spawn_app().await else { return };
    let form = "good_name=mp1&good_type=1&good_title=Multi+part&good_sum=10.5";
    let hash =
        clickbill_protocol::sign::request_hash(&php_form::parse(form.as_bytes()), "demo", "secret");
    let mut body = String::new();
    for (name, value) in [
        ("good_name", "mp1"),
        ("good_type", "1"),
        ("good_title", "Multi part"),
        ("good_sum", "10.5"),
        ("hash", hash.as_str()),
    ] {
        body.push_str(&format!(
            "--BoUnDaRy\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str("--BoUnDaRy\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nignored\r\n--BoUnDaRy--\r\n");
    let answer = app
        .client
        .post(app.url("/api/AddGood"))
        .header("Host", "demo.justclick.ru")
        .header("Content-Type", "Multipart/Form-Data; boundary=BoUnDaRy")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.text().await.unwrap(), envelope(0, "OK", "secret"));
    let goods = app.post_signed("GetAllGoods", "").await;
    assert!(goods.body.contains(r#"{"good_id":"4","good_name":"mp1","good_title":"Multi part","good_type":"1","good_sum":"10.50"}"#), "{}", goods.body);
}

#[tokio::test]
async fn encoded_bodies_give_no_parameters() {
    let Some(app) = spawn_app().await else { return };
    let answer = app
        .client
        .post(app.url("/api/GetAllGoods"))
        .header("Host", "demo.justclick.ru")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Content-Encoding", "gzip")
        .body(signed("", "demo", "secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.text().await.unwrap(),
        envelope(2, "No transmitted data", "secret")
    );
}

#[tokio::test]
async fn health() {
    let Some(app) = spawn_app().await else { return };
    let answer = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), r#"{"status":"ok"}"#);
    app.store
        .failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let answer = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(answer.status(), 503);
}
