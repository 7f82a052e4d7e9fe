//! How coupons and partners shape an order (SPEC §9.3, §9.4, §13.1.3), one rule at a time.

use crate::helpers::{entry, partners, spawn_app, PartnerEntry, TestApp, EXAMPLES_TIME};
use clickbill_domain::model::{Discount, NewCoupon};
use clickbill_protocol::value::Percent;
use serde_json::Value;

/// Creates an order of `code1` for a new buyer with `extra` parameters and returns its first
/// item and its `kupon` as getOrderDetails reports them.
async fn first_item(app: &TestApp, buyer: &str, goods: &str, extra: &str) -> (Value, String) {
    let body = format!("bill_email={buyer}%40example.com&{goods}&{extra}");
    let created: Value =
        serde_json::from_str(&app.post_signed("CreateOrder", &body).await.body).unwrap();
    assert_eq!(created["error_code"], 0, "{body}: {created}");
    let bill_id = created["result"]["bill_id"].as_str().unwrap().to_owned();
    let details: Value = serde_json::from_str(
        &app.post_signed("getOrderDetails", &format!("bill_id={bill_id}"))
            .await
            .body,
    )
    .unwrap();
    let order = &details["result"];
    (
        order["items"][0].clone(),
        order["kupon"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn partners_are_attributed_in_the_documented_precedence() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let code1 = "goods[0][good_name]=code1";
    // code1 pays 10 % on level 1 and 5 % on level 2, nothing on level 3.
    let cases: &[(&str, Vec<PartnerEntry>)] = &[
        (
            "bill_aff_name=ANNA",
            vec![entry("1", "anna", "100.00"), entry("2", "boris", "50.00")],
        ),
        ("bill_aff=5", vec![entry("1", "boris", "100.00")]),
        (
            "utm[utm_medium]=affiliate&utm[utm_source]=anna",
            vec![entry("1", "anna", "100.00"), entry("2", "boris", "50.00")],
        ),
        ("utm[utm_medium]=cpc&utm[utm_source]=anna", vec![]),
        (
            "bill_aff=17&bill_paff[]=17",
            vec![entry("1", "anna", "100.00")],
        ),
        ("bill_aff=999&bill_aff_name=anna", vec![]),
        ("bill_paff_name=boris", vec![entry("2", "boris", "50.00")]),
        (
            "bill_aff=5&bill_paff[]=999&bill_paff[]=17",
            vec![entry("1", "boris", "100.00"), entry("3", "anna", "0.00")],
        ),
        (
            "bill_aff=17&bill_paff=5&bill_paff_name=anna",
            vec![entry("1", "anna", "100.00"), entry("2", "boris", "50.00")],
        ),
    ];
    for (i, (extra, expected)) in cases.iter().enumerate() {
        let (item, _) = first_item(&app, &format!("p{i}"), code1, extra).await;
        assert_eq!(&partners(&item), expected, "{extra}");
    }
}

#[tokio::test]
async fn coupons_apply_by_code_or_id_while_valid_and_applicable() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let tenant = app.demo.id;
    let ten_percent_until = |code: &str, expires_at| NewCoupon {
        id: None,
        code: code.to_owned(),
        discount: Discount::Percent(Percent::from_hundredths(1000).unwrap()),
        products: vec![],
        expires_at: Some(expires_at),
    };
    let store = &app.store.inner;
    store
        .add_coupon(tenant, ten_percent_until("old10", EXAMPLES_TIME - 1))
        .await
        .unwrap();
    store
        .add_coupon(tenant, ten_percent_until("last10", EXAMPLES_TIME))
        .await
        .unwrap();
    let code1 = "goods[0][good_name]=code1";
    let code2_at_50 = "goods[0][good_name]=code2&goods[0][good_sum]=50";
    let cases: &[(&str, &str, &str, &str)] = &[
        (code1, "bill_kupon=COUPON50PROC", "500.00", "coupon50proc"),
        (code1, "bill_kupon=585", "500.00", "coupon50proc"),
        (code1, "bill_kupon=minus100", "1000.00", ""),
        (code1, "bill_kupon=nosuch", "1000.00", ""),
        (code1, "bill_kupon=old10", "1000.00", ""),
        (code1, "bill_kupon=last10", "900.00", "last10"),
        (code2_at_50, "bill_kupon=586", "0.00", "minus100"),
    ];
    for (i, (goods, extra, sum, kupon)) in cases.iter().enumerate() {
        let (item, used) = first_item(&app, &format!("c{i}"), goods, extra).await;
        assert_eq!(
            (item["sum"].as_str().unwrap(), used.as_str()),
            (*sum, *kupon),
            "{goods}&{extra}"
        );
    }
}
