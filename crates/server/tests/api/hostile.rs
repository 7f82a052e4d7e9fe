//! Hostile input: every answer is a proper envelope, never a 5xx.

use crate::helpers::{envelope, signed, spawn_app};

#[tokio::test]
async fn oversized_body_is_the_empty_set() {
    let Some(app) = spawn_app().await else { return };
    let mut body = signed("", "demo", "secret").into_bytes();
    body.extend_from_slice(b"&pad=");
    body.resize(8 * 1024 * 1024 + 1, b'a');
    app.post("GetAllGoods", body)
        .await
        .assert_body(&envelope(2, "No transmitted data", "secret"));
    // The connection is still good for the next request.
    let answer = app.post_signed("GetAllGoods", "").await;
    assert!(answer.body.starts_with(r#"{"error_code":0,"#));
}

#[tokio::test]
async fn two_thousand_variables_are_cut_like_php() {
    let Some(app) = spawn_app().await else { return };
    let body: Vec<String> = (0..2000).map(|i| format!("v{i}={i}")).collect();
    let body = body.join("&");
    // A client signs all 2000 and appends the hash: PHP stops reading after 1001 variables,
    // so the hash is never seen.
    let all = clickbill_protocol::sign::md5_hex(format!("{body}::demo::secret").as_bytes());
    app.post("GetAllGoods", format!("{body}&hash={all}"))
        .await
        .assert_body(&envelope(1, "Not transferred hash", "secret"));
    // With the hash first, the signature over all 2000 does not match what was kept.
    app.post("GetAllGoods", format!("hash={all}&{body}"))
        .await
        .assert_body(&envelope(4, "Incorrect hash", "secret"));
    // With the hash first, what survives is exactly what PHP keeps.
    let kept: Vec<String> = (0..1000).map(|i| format!("v{i}={i}")).collect();
    let hash =
        clickbill_protocol::sign::md5_hex(format!("{}::demo::secret", kept.join("&")).as_bytes());
    let answer = app.post("GetAllGoods", format!("hash={hash}&{body}")).await;
    assert!(
        answer.body.starts_with(r#"{"error_code":0,"#),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn deep_nesting_removes_the_variable() {
    let Some(app) = spawn_app().await else { return };
    let deep = format!("x{}=1", "[a]".repeat(100));
    app.post("GetAllGoods", deep.clone())
        .await
        .assert_body(&envelope(2, "No transmitted data", "secret"));
    let answer = app
        .post(
            "GetAllGoods",
            format!("{deep}&{}", signed("", "demo", "secret")),
        )
        .await;
    assert!(
        answer.body.starts_with(r#"{"error_code":0,"#),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn invalid_utf8_is_replaced() {
    let Some(app) = spawn_app().await else { return };
    let answer = app
        .post_signed("CreateOrder", "bill_email=%FF%FE&goods[0][good_name]=code1")
        .await;
    answer.assert_body(&envelope(600, "Wrong email: '\u{fffd}\u{fffd}'", "secret"));
    assert!(answer
        .body
        .contains(r#""error_text":"Wrong email: '\ufffd\ufffd'""#));
    let answer = app
        .post_signed(
            "CreateOrder",
            "bill_email=a%40b.cd&goods[0][good_name]=%C0%80",
        )
        .await;
    answer.assert_body(&envelope(
        604,
        "Product not exist: \u{fffd}\u{fffd}",
        "secret",
    ));
    let answer = app
        .post_signed(
            "CreateOrder",
            "bill_email=a%40b.cd&goods[0][good_name]=code1&bill_comment=ok%E2%82&bill_city=%ED%A0%80",
        )
        .await;
    assert!(
        answer.body.contains(r#""bill_id":"12344""#),
        "{}",
        answer.body
    );
    let details = app
        .post_signed("getOrderDetails", "bill_id=12344")
        .await
        .body;
    assert!(details.contains(r#""comment":"ok\ufffd""#), "{details}");
    assert!(
        details.contains(r#""city":"\ufffd\ufffd\ufffd""#),
        "{details}"
    );
}

#[tokio::test]
async fn sql_looking_text_is_just_text() {
    let Some(app) = spawn_app().await else { return };
    let answer = app
        .post_signed(
            "CreateOrder",
            "bill_email=a%40b.cd&goods[0][good_name]=code1&bill_comment=%27%29%3B+DROP+TABLE+orders%3B+--&bill_tag=%22+OR+1%3D1+--",
        )
        .await;
    assert!(
        answer.body.contains(r#""bill_id":"12344""#),
        "{}",
        answer.body
    );
    let details = app
        .post_signed("getOrderDetails", "bill_id=12344")
        .await
        .body;
    assert!(
        details.contains(r#""comment":"'); DROP TABLE orders; --""#),
        "{details}"
    );
    assert!(details.contains(r#""tag":"\" OR 1=1 --""#), "{details}");
    for (method, body, expected) in [
        (
            "getOrderDetails",
            "bill_id=1+OR+1%3D1",
            envelope(400, "Order not found", "secret"),
        ),
        (
            "DeleteGood",
            "good_name=x%27+OR+%271%27%3D%271",
            envelope(302, "Failed to remove product", "secret"),
        ),
        (
            "UpdateGood",
            "good_name=%25&good_sum=1",
            envelope(300, "Product not found", "secret"),
        ),
        (
            "DeleteGood",
            "good_name=code_",
            envelope(302, "Failed to remove product", "secret"),
        ),
        (
            "CreateOrder",
            "bill_email=a%40b.cd&goods[0][good_name]=code%25",
            envelope(604, "Product not exist: code%", "secret"),
        ),
    ] {
        app.post_signed(method, body).await.assert_body(&expected);
    }
    let goods = app.post_signed("GetAllGoods", "").await.body;
    assert!(goods.contains("code1") && goods.contains("code2") && goods.contains("book1"));
}

#[tokio::test]
async fn garbage_bodies_and_names() {
    let Some(app) = spawn_app().await else { return };
    for body in [
        &b"%"[..],
        b"=",
        b"&=&=&",
        b"\x00\x01\x02",
        b"a[=1",
        b"]]]]=1",
        b"hash=%zz",
        b"\xff\xfe=\xff",
    ] {
        let answer = app.post("getOrderDetails", body.to_vec()).await;
        assert_eq!(answer.status, 200, "{body:?}");
        assert!(
            answer.body.starts_with(r#"{"error_code":"#) && answer.body.ends_with("\"}"),
            "{body:?}: {}",
            answer.body
        );
    }
}
