//! Product methods beyond the SPEC's examples (§14.1–§14.4).

use crate::helpers::{envelope, spawn_app};

#[tokio::test]
async fn add_good_validates_in_order() {
    let Some(app) = spawn_app().await else { return };
    let no_data = envelope(2, "No transmitted data", "secret");
    let wrong = envelope(3, "Wrong posted data", "secret");
    let cases: &[(&str, &String)] = &[
        ("good_type=0&good_title=T&good_sum=1", &no_data),
        ("good_name=n&good_title=T&good_sum=1", &no_data),
        ("good_name=n&good_type=0&good_sum=1", &no_data),
        ("good_name=n&good_type=0&good_title=T", &no_data),
        ("good_name=n&good_type=0&good_title=+&good_sum=1", &no_data),
        (
            "good_name[]=n&good_type=0&good_title=T&good_sum=1",
            &no_data,
        ),
        (
            "good_name=bad+name&good_type=0&good_title=T&good_sum=1",
            &wrong,
        ),
        (
            "good_name=code1&good_type=0&good_title=T&good_sum=1.234.5",
            &wrong,
        ),
        (
            "good_name=code1&good_type=0&good_title=T&good_sum=-1",
            &wrong,
        ),
        (
            "good_name=code1&good_type=0&good_title=T&good_sum=1&good_prepayment_minsum=x",
            &wrong,
        ),
        (
            "good_name=code1&good_type=0&good_title=T&good_sum=1&good_timer_kill=-1",
            &wrong,
        ),
        (
            "good_name=code1&good_type=0&good_title=T&good_sum=1&good_timer_kill=1.5",
            &wrong,
        ),
        (
            "good_name=code1&good_type=0&good_title=T&good_sum=1&good_partner_fee[0]=5%25",
            &wrong,
        ),
        (
            "good_name=code1&good_type=0&good_title=T&good_sum=1&good_partner_fee[1]=150%25",
            &wrong,
        ),
        (
            "good_name=code1&good_type=0&good_title=T&good_sum=1&good_partner_fee=5",
            &wrong,
        ),
    ];
    for (body, expected) in cases {
        app.post_signed("AddGood", body).await.assert_body(expected);
    }
    app.post_signed(
        "AddGood",
        "good_name=CODE1&good_type=0&good_title=T&good_sum=1",
    )
    .await
    .assert_body(&envelope(301, "Product already exist", "secret"));
    let ok = envelope(0, "OK", "secret");
    app.post_signed(
        "AddGood",
        "good_name=free.item-1&good_type=real&good_title=%D0%9A%D0%BD%D0%B8%D0%B3%D0%B0+%FF&good_sum=0&good_partner_fee[1]=7.5%25&good_partner_fee[2]=300&good_timer_kill=60&good_prepayment_minsum=10&good_client_rassilki=grp1,+grp+2",
    )
    .await
    .assert_body(&ok);
    let goods = app.post_signed("GetAllGoods", "").await.body;
    assert!(
        goods.contains(r#"{"good_id":"4","good_name":"free.item-1","good_title":"\u041a\u043d\u0438\u0433\u0430 \ufffd","good_type":"1","good_sum":"0.00"}"#),
        "{goods}"
    );
    let stored = clickbill_domain::Store::products_by_codes(
        app.store.as_ref(),
        app.demo.id,
        &["FREE.ITEM-1".to_owned()],
    )
    .await
    .unwrap();
    let product = &stored[0].spec;
    assert_eq!(product.client_groups, ["grp1", "grp 2"]);
    assert_eq!(product.timer_kill, 60);
    assert_eq!(product.partner_fees.len(), 2);
    assert_eq!(
        product.prepayment_minsum.map(|m| m.to_string()),
        Some("10.00".into())
    );
}

#[tokio::test]
async fn update_good_checks_existence_before_values() {
    let Some(app) = spawn_app().await else { return };
    app.post_signed("UpdateGood", "good_sum=5")
        .await
        .assert_body(&envelope(2, "No transmitted data", "secret"));
    app.post_signed("UpdateGood", "good_name=nosuch&good_sum=bad")
        .await
        .assert_body(&envelope(300, "Product not found", "secret"));
    app.post_signed("UpdateGood", "good_name=code1&good_sum=bad")
        .await
        .assert_body(&envelope(3, "Wrong posted data", "secret"));
    app.post_signed(
        "UpdateGood",
        "good_name=CODE1&good_title=New+title&good_type=1&good_sum=",
    )
    .await
    .assert_body(&envelope(0, "OK", "secret"));
    let goods = app.post_signed("GetAllGoods", "").await.body;
    assert!(
        goods.contains(r#"{"good_id":"1","good_name":"code1","good_title":"New title","good_type":"1","good_sum":"1000.00"}"#),
        "{goods}"
    );
}

#[tokio::test]
async fn delete_good_and_the_empty_catalogue() {
    let Some(app) = spawn_app().await else { return };
    app.post_signed("DeleteGood", "x=1")
        .await
        .assert_body(&envelope(2, "No transmitted data", "secret"));
    app.post_signed("DeleteGood", "good_name=nosuch")
        .await
        .assert_body(&envelope(302, "Failed to remove product", "secret"));
    for code in ["code1", "CODE2", "book1"] {
        app.post_signed("DeleteGood", &format!("good_name={code}"))
            .await
            .assert_body(&envelope(0, "OK", "secret"));
    }
    app.post_signed("GetAllGoods", "")
        .await
        .assert_body(&envelope(700, "No products", "secret"));
    // A deleted code may be used again; the number is new.
    app.post_signed(
        "AddGood",
        "good_name=code1&good_type=0&good_title=Again&good_sum=1",
    )
    .await
    .assert_body(&envelope(0, "OK", "secret"));
    let goods = app.post_signed("GetAllGoods", "").await.body;
    assert!(
        goods.contains(r#""good_id":"4","good_name":"code1""#),
        "{goods}"
    );
}
