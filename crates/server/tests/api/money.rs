//! Money to the kopeck: coupons × partner levels × prepayment, and what GetPartnerStats makes of
//! them (SPEC §9.3–§9.5, §14.5), over the §11 catalogue:
//! `code1` 1000.00 (level 1 10 %, level 2 5 %), `code2` 2500.00 (level 1 300.00 fixed);
//! `anna` (17) under `boris` (5); `coupon50proc` (585) 50 % on everything, `minus100` (586)
//! 100.00 on `code2` only; prepayment from 1000.00.

use crate::helpers::{
    entry, envelope, partners as item_partners, spawn_app, PartnerEntry, TestApp, EXAMPLES_TIME,
};
use serde_json::Value;

/// One item as the order object reports it: code, sum, price and `(level, login, fee)` entries.
type ItemFigures = (
    &'static str,
    &'static str,
    &'static str,
    Vec<(u32, &'static str, &'static str)>,
);

struct Case {
    name: &'static str,
    request: &'static str,
    kupon: &'static str,
    items: Vec<ItemFigures>,
    price: &'static str,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "no coupon, level 2 from the parent",
            request: "goods[0][good_name]=code1&bill_aff=17",
            kupon: "",
            items: vec![(
                "code1",
                "1000.00",
                "1000.00",
                vec![(1, "anna", "100.00"), (2, "boris", "50.00")],
            )],
            price: "1000.00",
        },
        Case {
            name: "percent coupon on both items, fixed fee below the sum",
            request: "goods[0][good_name]=code1&goods[1][good_name]=code2&bill_kupon=coupon50proc&bill_aff=17",
            kupon: "coupon50proc",
            items: vec![
                (
                    "code1",
                    "500.00",
                    "1000.00",
                    vec![(1, "anna", "50.00"), (2, "boris", "25.00")],
                ),
                (
                    "code2",
                    "1250.00",
                    "2500.00",
                    vec![(1, "anna", "300.00"), (2, "boris", "0.00")],
                ),
            ],
            price: "1750.00",
        },
        Case {
            name: "fixed coupon on a given price, fixed fee capped at the sum",
            request: "goods[0][good_name]=code2&goods[0][good_sum]=250&bill_kupon=MINUS100&bill_aff_name=anna",
            kupon: "minus100",
            items: vec![(
                "code2",
                "150.00",
                "2500.00",
                vec![(1, "anna", "150.00"), (2, "boris", "0.00")],
            )],
            price: "150.00",
        },
        Case {
            name: "half-kopeck roundings",
            request: "goods[0][good_name]=code1&goods[0][good_sum]=33.33&bill_kupon=585&utm[utm_medium]=affiliate&utm[utm_source]=anna",
            kupon: "coupon50proc",
            items: vec![(
                "code1",
                "16.66",
                "1000.00",
                vec![(1, "anna", "1.67"), (2, "boris", "0.83")],
            )],
            price: "16.66",
        },
        Case {
            name: "coupon by id applies to its product only; a partner without parent",
            request: "goods[0][good_name]=code1&goods[1][good_name]=code2&bill_kupon=586&bill_aff_name=boris",
            kupon: "minus100",
            items: vec![
                ("code1", "1000.00", "1000.00", vec![(1, "boris", "100.00")]),
                ("code2", "2400.00", "2500.00", vec![(1, "boris", "300.00")]),
            ],
            price: "3400.00",
        },
    ]
}

async fn details(app: &TestApp, bill_id: &str) -> Value {
    let answer = app
        .post_signed("getOrderDetails", &format!("bill_id={bill_id}"))
        .await;
    let json: Value = serde_json::from_str(&answer.body).unwrap();
    json["result"].clone()
}

async fn pay(app: &TestApp, bill_id: &str, sum: &str) -> String {
    app.post_signed(
        "UpdateOrderStatus",
        &format!("bill_id={bill_id}&status=paid&sum={sum}&date={EXAMPLES_TIME}"),
    )
    .await
    .body
}

async fn stats(app: &TestApp, partner: &str) -> Value {
    let answer = app
        .post_signed("GetPartnerStats", &format!("partner={partner}"))
        .await;
    let json: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(json["error_code"], 0, "{}", answer.body);
    json["result"].clone()
}

fn totals(stats: &Value) -> (&str, &str, &str) {
    (
        stats["earned_total"].as_str().unwrap(),
        stats["topay_total"].as_str().unwrap(),
        stats["bills_total"].as_str().unwrap(),
    )
}

#[tokio::test]
async fn coupons_partner_levels_and_payments_to_the_kopeck() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let mut bill_ids = Vec::new();
    for (n, case) in cases().into_iter().enumerate() {
        let body = format!("bill_email=buyer{n}%40example.com&{}", case.request);
        let answer = app.post_signed("CreateOrder", &body).await;
        let json: Value = serde_json::from_str(&answer.body).unwrap();
        let bill_id = json["result"]["bill_id"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: {}", case.name, answer.body))
            .to_owned();
        let order = details(&app, &bill_id).await;
        assert_eq!(order["kupon"], case.kupon, "{}", case.name);
        assert_eq!(order["price"], case.price, "{}", case.name);
        assert_eq!(order["bill_sum_topay"], case.price, "{}", case.name);
        let items = order["items"].as_array().unwrap();
        assert_eq!(items.len(), case.items.len(), "{}", case.name);
        for (item, (code, sum, price, partners)) in items.iter().zip(&case.items) {
            assert_eq!(
                (&item["id"], &item["sum"], &item["price"]),
                (
                    &Value::from(*code),
                    &Value::from(*sum),
                    &Value::from(*price)
                ),
                "{}",
                case.name
            );
            let expected: Vec<PartnerEntry> = partners
                .iter()
                .map(|(level, login, fee)| entry(&level.to_string(), login, fee))
                .collect();
            assert_eq!(item_partners(item), expected, "{} {code}", case.name);
        }
        bill_ids.push(bill_id);
    }

    // Nothing is earned before payment.
    assert_eq!(totals(&stats(&app, "anna").await), ("0.00", "0.00", "0"));

    let ok = envelope(0, "OK", "secret");
    let not_paid = envelope(202, "Order not paid", "secret");
    // Order 0 and order 2 are paid at once.
    assert_eq!(pay(&app, &bill_ids[0], "").await, ok);
    assert_eq!(pay(&app, &bill_ids[2], "150.00").await, ok);
    // Order 1 (1750.00) in two parts: below the minimum is refused, 1000.00 is a prepayment,
    // the rest completes it.
    assert_eq!(pay(&app, &bill_ids[1], "999.99").await, not_paid);
    assert_eq!(pay(&app, &bill_ids[1], "1000").await, ok);
    let prepaid = details(&app, &bill_ids[1]).await;
    assert_eq!(
        (
            &prepaid["pay_status"],
            &prepaid["bill_sum_topay"],
            &prepaid["prepayment_sum"],
            &prepaid["last_payment_sum"],
            &prepaid["paid"]
        ),
        (
            &Value::from("waiting"),
            &Value::from("750.00"),
            &Value::from("1000.00"),
            &Value::from("1000.00"),
            &Value::from("0")
        )
    );
    // A partial payment is no payment for the partners.
    assert_eq!(
        totals(&stats(&app, "anna").await),
        ("250.00", "250.00", "2")
    );
    assert_eq!(pay(&app, &bill_ids[1], "750").await, ok);
    let paid = details(&app, &bill_ids[1]).await;
    assert_eq!(
        (
            &paid["pay_status"],
            &paid["bill_sum_topay"],
            &paid["prepayment_sum"],
            &paid["last_payment_sum"]
        ),
        (
            &Value::from("paid"),
            &Value::from("0.00"),
            &Value::from("1000.00"),
            &Value::from("750.00")
        )
    );
    // Order 3 stays unpaid; order 4 is paid and then refunded.
    assert_eq!(pay(&app, &bill_ids[4], "").await, ok);
    assert_eq!(
        totals(&stats(&app, "boris").await),
        ("475.00", "475.00", "4")
    );
    app.post_signed(
        "UpdateOrderStatus",
        &format!("bill_id={}&status=moneyback&ext_ref_no=R-1", bill_ids[4]),
    )
    .await
    .assert_body(&envelope(0, "Order status changed", "secret"));

    // anna: 100.00 + (50.00 + 300.00) + 150.00 from orders 0, 1, 2.
    let anna = stats(&app, "anna").await;
    assert_eq!(totals(&anna), ("600.00", "600.00", "3"));
    assert_eq!(
        (&anna["clicks_total"], &anna["partners_total"]),
        (&Value::from("0"), &Value::from("0"))
    );
    // boris: 50.00 + 25.00 + 0.00 as anna's parent; his own order 4 was refunded.
    let boris = stats(&app, "boris").await;
    assert_eq!(totals(&boris), ("75.00", "75.00", "3"));
    assert_eq!(boris["partners_total"], "1", "anna is boris's sub-partner");
}
